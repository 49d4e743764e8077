"""Staff actions through the admin API: overrides (all or nothing, ETag-guarded), cancel, call-backs, re-triage."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from routing import create_app
from routing.adapters.db.models import Appointment, AuditEvent, Inquiry, Referral, Slot, TriageDecision
from routing.adapters.scheduling.embedded import EmbeddedScheduler
from routing.adapters.scheduling.interface import SchedulerUnavailable
from routing.services import staff_actions, staff_tokens
from tests.conftest import settings_for
from tests.fake_scheduler import FakeScheduler
from tests.http.admin_helpers import RED_FLAG, bearer, etag_of, make_token, new_inquiry
from tests.http.intake_helpers import add_slots

PROBLEM = "application/problem+json"


@pytest.fixture
def app(migrated_url):
    application = create_app(settings_for(migrated_url))
    add_slots(application, "consult", [26, 27, 28])
    add_slots(application, "imaging", [72, 96], minutes=60)
    yield application
    application.extensions["routing"].db.dispose()


@pytest.fixture
def token(app):
    return make_token(app, "Sam Staff", "staff")


def rows(app, model, *where):
    with app.extensions["routing"].db.session() as session:
        return session.scalars(select(model).where(*where)).all()


def act(client, token, inquiry_id, action, body, etag=None):
    headers = {**bearer(token), "If-Match": etag or etag_of(client, token, inquiry_id)}
    return client.post(f"/v1/admin/inquiries/{inquiry_id}/{action}", json=body, headers=headers)


def audit_events(app, inquiry_id):
    return rows(app, AuditEvent, AuditEvent.inquiry_id == uuid.UUID(inquiry_id))


def test_an_override_books_the_new_route_cancels_the_old_and_leaves_one_audit_event(app, client, token):
    inquiry_id = new_inquiry(client)
    old = rows(app, Appointment)[0]

    response = act(client, token, inquiry_id, "override", {"route": "imaging", "reason": "Dr Lee wants an MRI first"})

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert response.headers["ETag"] == body["etag"]
    by_status = {a["status"]: a for a in body["appointments"]}
    assert by_status["cancelled"]["id"] == str(old.id)
    assert "Dr Lee wants an MRI first" in by_status["cancelled"]["cancel_reason"]
    assert by_status["booked"]["slot_type"] == "imaging"
    assert body["status"] == "booked"
    assert "MRI scan" in body["patient_message"]
    assert rows(app, Slot, Slot.id == old.slot_id)[0].status == "free"  # the old slot is offered again
    assert rows(app, Referral)[0].code == "72148"  # CPT: MRI lumbar spine without contrast
    [event] = audit_events(app, inquiry_id)
    assert (event.action, event.actor_name, event.reason) == ("override", "Sam Staff", "Dr Lee wants an MRI first")
    assert event.details["from"]["route"] == "consult"
    assert event.details["from"]["appointment"]["id"] == str(old.id)
    assert event.details["to"]["route"] == "imaging"
    assert body["audit"][0]["action"] == "override"


def test_an_override_into_a_chosen_slot(app, client, token):
    inquiry_id = new_inquiry(client)
    latest = max(rows(app, Slot, Slot.slot_type == "imaging"), key=lambda s: s.start)

    response = act(
        client,
        token,
        inquiry_id,
        "override",
        {"route": "imaging", "reason": "patient prefers Friday", "slot_id": str(latest.id)},
    )

    assert response.status_code == 200, response.get_json()
    booked = next(a for a in response.get_json()["appointments"] if a["status"] == "booked")
    assert booked["slot_id"] == str(latest.id)


def test_an_override_to_urgent_review_cancels_and_books_nothing(app, client, token):
    inquiry_id = new_inquiry(client)

    response = act(client, token, inquiry_id, "override", {"route": "urgent_review", "reason": "nurse heard red flags"})

    assert response.status_code == 200
    assert response.get_json()["status"] == "urgent_review"
    assert [a.status for a in rows(app, Appointment)] == ["cancelled"]


@pytest.mark.parametrize(
    ("change", "route", "urgency", "needs_review", "status"),
    [
        ({"route": "imaging"}, "imaging", "routine", False, "booked"),
        ({"route": "imaging", "urgency": "soon"}, "imaging", "soon", False, "booked"),
        ({"route": "urgent_review", "urgency": "urgent"}, "urgent_review", "urgent", True, "urgent_review"),
    ],
)
def test_after_an_override_the_queue_its_filters_and_the_public_outcome_show_the_decision_in_force(
    app, client, token, change, route, urgency, needs_review, status
):
    inquiry_id = new_inquiry(client)

    response = act(client, token, inquiry_id, "override", {**change, "reason": "Dr Lee read it"})

    assert response.status_code == 200, response.get_json()
    listed = client.get(f"/v1/admin/inquiries?route={route}", headers=bearer(token)).get_json()["items"]
    assert [(i["id"], i["route"], i["urgency"], i["status"]) for i in listed] == [(inquiry_id, route, urgency, status)]
    assert client.get("/v1/admin/inquiries?route=consult", headers=bearer(token)).get_json()["items"] == []
    public = client.get(f"/v1/inquiries/{inquiry_id}", headers=bearer(token)).get_json()
    assert (public["status"], public["triage"]["route"], public["triage"]["urgency"]) == (status, route, urgency)
    assert public["triage"]["needs_review"] is needs_review
    assert public["triage"]["rule"] == "STAFF"
    assert public["triage"]["reasons"][0] == {"rule": "STAFF", "text": "Route set by Sam Staff: Dr Lee read it"}
    decisions = rows(app, TriageDecision, TriageDecision.inquiry_id == uuid.UUID(inquiry_id))
    assert sorted((d.rule_id, d.superseded_at is None) for d in decisions) == [("R10", False), ("STAFF", True)]


def test_an_override_needs_a_reason(app, client, token):
    inquiry_id = new_inquiry(client)

    response = act(client, token, inquiry_id, "override", {"route": "imaging"})

    assert response.status_code == 422
    assert "reason" in response.get_json()["errors"]
    assert audit_events(app, inquiry_id) == []


def test_an_override_with_a_stale_etag_is_412_and_changes_nothing(app, client, token):
    inquiry_id = new_inquiry(client)
    stale = etag_of(client, token, inquiry_id)
    act(client, token, inquiry_id, "callback", {"outcome": "booked"}, etag=stale)  # refused: not urgent_review
    act(client, token, inquiry_id, "override", {"route": "imaging", "reason": "first change"})

    response = act(client, token, inquiry_id, "override", {"route": "consult", "reason": "second"}, etag=stale)

    assert response.status_code == 412
    assert response.content_type == PROBLEM
    assert response.headers["ETag"] == etag_of(client, token, inquiry_id)
    assert [e.reason for e in audit_events(app, inquiry_id)] == ["first change"]


def test_an_override_without_if_match_is_428(client, token):
    inquiry_id = new_inquiry(client)

    response = client.post(
        f"/v1/admin/inquiries/{inquiry_id}/override",
        json={"route": "imaging", "reason": "no etag"},
        headers=bearer(token),
    )

    assert response.status_code == 428


def test_a_chosen_slot_that_is_taken_leaves_the_old_appointment_standing(app, client, token):
    inquiry_id = new_inquiry(client)
    taken = rows(app, Appointment)[0].slot_id  # its own consult slot: busy
    other = new_inquiry(client)

    response = act(client, token, other, "override", {"route": "consult", "reason": "move", "slot_id": str(taken)})

    assert response.status_code == 409
    assert "current appointment stands" in response.get_json()["detail"]
    assert [a.status for a in rows(app, Appointment, Appointment.inquiry_id == uuid.UUID(other))] == ["booked"]
    assert audit_events(app, other) == []
    assert inquiry_id


def test_no_free_slot_in_the_window_is_409_with_the_earliest_proposed(app, client, token):
    inquiry_id = new_inquiry(client)

    response = act(client, token, inquiry_id, "override", {"route": "injection", "reason": "facet block"})

    assert response.status_code == 409
    assert [a.status for a in rows(app, Appointment)] == ["booked"]


def test_a_slow_scheduler_during_an_override_does_not_hold_up_a_call_back_on_the_same_inquiry(app, client, token):
    fake = FakeScheduler().slowed("book", 3)
    for hours in (26, 27):
        start = datetime.now(UTC) + timedelta(hours=hours)
        fake.add_slot("consult", start, start + timedelta(minutes=30))
    app.extensions["routing"].scheduler = fake
    inquiry_id = new_inquiry(client, RED_FLAG)
    etag = etag_of(client, token, inquiry_id)
    answers: dict[str, tuple[int, float]] = {}

    def override() -> None:
        started = time.monotonic()
        response = act(
            app.test_client(), token, inquiry_id, "override", {"route": "consult", "reason": "seen by Dr Lee"}, etag
        )
        answers["override"] = (response.status_code, time.monotonic() - started)

    thread = threading.Thread(target=override)
    thread.start()
    time.sleep(0.5)  # the override is now waiting on the scheduler
    started = time.monotonic()
    callback = act(client, token, inquiry_id, "callback", {"outcome": "referred_to_er"}, etag)
    answers["callback"] = (callback.status_code, time.monotonic() - started)
    thread.join()

    assert answers["callback"][0] == 200
    assert answers["callback"][1] < 1.5  # not held up by the 3 s the scheduler takes
    assert answers["override"][0] == 412  # the call-back changed the inquiry meanwhile
    assert [a.status for a in fake.appointments.values()] == ["cancelled"]  # its booking undone
    assert rows(app, Appointment) == []
    assert [e.action for e in audit_events(app, inquiry_id)] == ["override.started", "callback", "override.undone"]


def test_a_cancel_through_a_remote_scheduler_is_recorded_after_its_call(app, client, token):
    fake = FakeScheduler()
    start = datetime.now(UTC) + timedelta(hours=26)
    fake.add_slot("consult", start, start + timedelta(minutes=30))
    app.extensions["routing"].scheduler = fake
    inquiry_id = new_inquiry(client)

    response = act(client, token, inquiry_id, "cancel", {"reason": "patient will call back"})

    assert response.status_code == 200, response.get_json()
    assert [a.status for a in fake.appointments.values()] == ["cancelled"]
    assert [(a.status, a.scheduler) for a in rows(app, Appointment)] == [("cancelled", "fake")]
    assert response.get_json()["status"] == "needs_review"
    assert [e.action for e in audit_events(app, inquiry_id)] == ["cancel"]


class ProcessDied(BaseException):
    """The process running the override is killed (not an error anyone could catch and record)."""


def _remote(app) -> FakeScheduler:
    fake = FakeScheduler()
    for slot_type, hours in (("consult", 26), ("imaging", 50)):
        start = datetime.now(UTC) + timedelta(hours=hours)
        fake.add_slot(slot_type, start, start + timedelta(minutes=30))
    app.extensions["routing"].scheduler = fake
    return fake


def _die_mid_override(app, client, token, fake) -> str:
    """An override whose process dies after booking the new slot, while cancelling the old one."""
    inquiry_id = new_inquiry(client)
    etag = etag_of(client, token, inquiry_id)
    wiring = app.extensions["routing"]
    fake.failing("cancel", ProcessDied())
    with wiring.db.session() as session:
        staff = staff_tokens.authenticate(session, token)
        change = staff_actions.Override(route="imaging", reason="MRI first, per Dr Lee")
        with pytest.raises(ProcessDied):
            staff_actions.override_route(session, wiring.routing, staff, uuid.UUID(inquiry_id), etag, change)
    fake.failing("cancel", None)
    return inquiry_id


def _finish_later(app) -> int:
    wiring = app.extensions["routing"]
    later = datetime.now(UTC) + timedelta(minutes=5)
    with wiring.db.session() as session:
        return staff_actions.finish_interrupted_overrides(session, wiring.routing, later, timedelta(seconds=50))


def test_an_override_interrupted_after_the_scheduler_call_is_finished_by_the_worker(app, client, token):
    fake = _remote(app)
    inquiry_id = _die_mid_override(app, client, token, fake)
    assert [a.slot_type for a in rows(app, Appointment, Appointment.status == "booked")] == ["consult"]

    assert _finish_later(app) == 1
    assert _finish_later(app) == 0  # finished once

    assert sorted((a.slot_type, a.status) for a in rows(app, Appointment)) == [
        ("consult", "cancelled"),
        ("imaging", "booked"),
    ]
    assert sorted((a.slot.slot_type, a.status) for a in fake.appointments.values()) == [
        ("consult", "cancelled"),
        ("imaging", "booked"),
    ]
    assert [e.action for e in audit_events(app, inquiry_id)] == ["override.started", "override"]


def test_an_interrupted_override_on_an_inquiry_changed_since_is_undone_not_finished(app, client, token):
    fake = _remote(app)
    inquiry_id = _die_mid_override(app, client, token, fake)
    assert act(client, token, inquiry_id, "cancel", {"reason": "patient will call back"}).status_code == 200

    assert _finish_later(app) == 1

    assert [(a.slot.slot_type, a.status) for a in fake.appointments.values()] == [
        ("consult", "cancelled"),
        ("imaging", "cancelled"),  # the dead process's booking, found by its key and cancelled
    ]
    assert [(a.slot_type, a.status) for a in rows(app, Appointment)] == [("consult", "cancelled")]
    assert [e.action for e in audit_events(app, inquiry_id)] == ["override.started", "cancel", "override.undone"]


class CannotCancel(EmbeddedScheduler):
    """Books, but the scheduling system fails when asked to cancel."""

    def cancel(self, session, external_id, reason):
        raise SchedulerUnavailable("down")


def test_when_the_old_appointment_cannot_be_cancelled_nothing_changes(app, client, token):
    inquiry_id = new_inquiry(client)
    before = {(str(s.id), s.status) for s in rows(app, Slot)}
    app.extensions["routing"].scheduler = CannotCancel()

    response = act(client, token, inquiry_id, "override", {"route": "imaging", "reason": "MRI first"})

    assert response.status_code == 503
    assert "current appointment stands" in response.get_json()["detail"]
    assert [a.status for a in rows(app, Appointment)] == ["booked"]
    assert {(str(s.id), s.status) for s in rows(app, Slot)} == before
    assert audit_events(app, inquiry_id) == []


def test_concurrent_overrides_of_one_inquiry_one_wins_one_is_412(app, client, token, database_url):
    if database_url.get_backend_name() != "postgresql":
        pytest.skip("row locks under concurrency are proven on PostgreSQL, the production database")
    inquiry_id = new_inquiry(client)
    etag = etag_of(client, token, inquiry_id)
    barrier = threading.Barrier(2)
    statuses = []

    def override(route):
        local = app.test_client()
        barrier.wait()
        statuses.append(act(local, token, inquiry_id, "override", {"route": route, "reason": route}, etag).status_code)

    threads = [threading.Thread(target=override, args=(route,)) for route in ("imaging", "urgent_review")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200, 412]
    assert len(audit_events(app, inquiry_id)) == 1


def test_staff_cancel_an_appointment_with_a_reason(app, client, token):
    inquiry_id = new_inquiry(client)

    response = act(client, token, inquiry_id, "cancel", {"reason": "patient will call back"})

    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "needs_review"
    assert body["appointments"][0]["status"] == "cancelled"
    assert rows(app, Slot, Slot.id == rows(app, Appointment)[0].slot_id)[0].status == "free"
    [event] = audit_events(app, inquiry_id)
    assert (event.action, event.actor_name, event.reason) == ("cancel", "Sam Staff", "patient will call back")
    again = act(client, token, inquiry_id, "cancel", {"reason": "twice"})
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("outcome", "status", "detail"),
    [
        ("booked", "closed", "call-back done by Sam Staff: booked by phone"),
        ("referred_to_er", "closed", "call-back done by Sam Staff: sent to the emergency department"),
        ("no_answer", "urgent_review", "call-back by Sam Staff: no answer; call again"),
    ],
)
def test_a_call_back_is_recorded_on_an_urgent_review_in_words(app, client, token, outcome, status, detail):
    inquiry_id = new_inquiry(client, RED_FLAG)

    response = act(client, token, inquiry_id, "callback", {"outcome": outcome, "note": "spoke to daughter"})

    assert response.status_code == 200
    assert (response.get_json()["status"], response.get_json()["status_detail"]) == (status, detail)
    [event] = audit_events(app, inquiry_id)
    assert (event.action, event.actor_name, event.details["outcome"]) == ("callback", "Sam Staff", outcome)


def test_a_call_back_on_a_booked_inquiry_is_refused(client, token):
    inquiry_id = new_inquiry(client)

    response = act(client, token, inquiry_id, "callback", {"outcome": "booked"})

    assert response.status_code == 409
    assert "urgent_review" in response.get_json()["detail"]


def test_retriage_previews_then_applies_the_current_rulebook(app, client, token):
    inquiry_id = new_inquiry(client)
    # As if an older rulebook had decided otherwise.
    with app.extensions["routing"].db.session() as session, session.begin():
        session.execute(update(TriageDecision).values(route="imaging", rulebook_version="2026-01-01.1"))
        session.execute(update(Inquiry).values(updated_at=Inquiry.updated_at))

    preview = client.post(f"/v1/admin/inquiries/{inquiry_id}/retriage", headers=bearer(token)).get_json()
    assert preview["changed"] is True
    assert (preview["current"]["route"], preview["proposed"]["route"]) == ("imaging", "consult")
    assert len(rows(app, TriageDecision)) == 1  # the preview changed nothing

    applied = client.post(
        f"/v1/admin/inquiries/{inquiry_id}/retriage/apply",
        headers={**bearer(token), "If-Match": preview["etag"]},
    )

    assert applied.status_code == 200, applied.get_json()
    assert applied.get_json()["route_changed"] is True
    decisions = rows(app, TriageDecision)
    assert sorted(d.superseded_at is None for d in decisions) == [False, True]
    detail = client.get(f"/v1/admin/inquiries/{inquiry_id}", headers=bearer(token)).get_json()
    assert detail["decision"]["rulebook_version"] == "2026-12-06.4+2"
    assert detail["earlier_decisions"][0]["rulebook_version"] == "2026-01-01.1"
    [event] = audit_events(app, inquiry_id)
    assert (event.action, event.actor_name) == ("retriage", "Sam Staff")


def test_acknowledging_an_emergency_marks_it_handled_by_whom_and_audits_it(app, client, token):
    inquiry_id = new_inquiry(client, RED_FLAG)

    response = act(client, token, inquiry_id, "acknowledge", {"note": "called from the front desk phone"})

    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "urgent_review"  # unchanged: a call-back, when recorded, closes it
    assert (body["handled"]["by"], body["handled"]["action"]) == ("Sam Staff", "acknowledge")
    [event] = audit_events(app, inquiry_id)
    assert (event.action, event.actor_name, event.reason) == (
        "acknowledge",
        "Sam Staff",
        "called from the front desk phone",
    )


def test_an_emergency_is_acknowledged_once(client, token):
    inquiry_id = new_inquiry(client, RED_FLAG)
    assert act(client, token, inquiry_id, "acknowledge", {}).status_code == 200

    again = act(client, token, inquiry_id, "acknowledge", {})

    assert again.status_code == 409
    assert again.get_json()["detail"].startswith("Already handled by Sam Staff at ")


def test_acknowledging_a_routine_booked_inquiry_is_refused(app, client, token):
    inquiry_id = new_inquiry(client)

    response = act(client, token, inquiry_id, "acknowledge", {})

    assert response.status_code == 409
    assert response.headers["Content-Type"] == PROBLEM
    assert audit_events(app, inquiry_id) == []


def test_acknowledging_with_a_stale_etag_is_412(client, token):
    inquiry_id = new_inquiry(client, RED_FLAG)

    response = act(client, token, inquiry_id, "acknowledge", {}, etag='"stale"')

    assert response.status_code == 412


@pytest.mark.parametrize(("outcome", "handled"), [("referred_to_er", True), ("no_answer", False)])
def test_a_call_back_that_reached_the_patient_handles_the_inquiry_no_answer_does_not(client, token, outcome, handled):
    inquiry_id = new_inquiry(client, RED_FLAG)

    body = act(client, token, inquiry_id, "callback", {"outcome": outcome}).get_json()

    expected = {"by": "Sam Staff", "action": "callback", "outcome": outcome} if handled else None
    got = body["handled"] and {key: body["handled"][key] for key in ("by", "action", "outcome")}
    assert got == expected
