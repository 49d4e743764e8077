"""The outbox records an event at every change, in the change's own transaction, with ids and codes only."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from routing.adapters.db.models import Appointment, Inquiry, OutboxEvent, TriageDecision
from routing.adapters.db.write_batch import WriteBatch
from routing.adapters.scheduling.embedded import EmbeddedScheduler
from routing.services import booking_queue, outbox
from tests.http.admin_helpers import RED_FLAG, bearer, etag_of, make_token, new_inquiry
from tests.http.intake_helpers import PATIENT, STRAIN, add_slots, inquiry
from tests.http.test_booking_queue import down_scheduler
from tests.outbox.helpers import recorded, types_of

FACET = "I was diagnosed with facet joint arthritis last year. The relaxants no longer work."
WOBBLY = "My legs feel funny and wobbly since the lifting."


@pytest.fixture
def slots(app):
    add_slots(app, "consult", [26, 27, 28])
    add_slots(app, "imaging", [72, 73], minutes=60)
    return app


@pytest.fixture
def token(app):
    return make_token(app, "Sam Staff", "staff")


def one(app, model, *where):
    with app.extensions["routing"].db.session() as session:
        return session.scalars(select(model).where(*where)).one()


def version(app, inquiry_id: str) -> str:
    decision = one(app, TriageDecision, TriageDecision.inquiry_id == uuid.UUID(inquiry_id))
    return decision.rulebook_version


def booked_data(appointment: Appointment, **extra) -> dict:
    return {
        "inquiry_id": str(appointment.inquiry_id),
        "appointment_id": str(appointment.id),
        "slot_type": appointment.slot_type,
        "start": appointment.start.isoformat(),
        "end": appointment.end.isoformat(),
        "scheduler": "embedded",
        **extra,
    }


def test_a_booked_inquiry_records_received_routed_and_booked(app, client, slots):
    inquiry_id = client.post("/v1/inquiries", json=inquiry()).get_json()["id"]
    appointment = one(app, Appointment)

    assert recorded(app) == [
        ("inquiry.received", {"inquiry_id": inquiry_id, "language": "en"}),
        (
            "inquiry.routed",
            {
                "inquiry_id": inquiry_id,
                "status": "booked",
                "route": "consult",
                "urgency": "routine",
                "rule": "R10",
                "reasons": ["R10", "TEXT"],
                "hold": None,
                "rulebook_version": version(app, inquiry_id),
            },
        ),
        ("appointment.booked", booked_data(appointment, scheduler_appointment_id=appointment.external_id)),
    ]


def test_an_emergency_records_its_routing_and_an_urgent_review(app, client, slots):
    inquiry_id = client.post("/v1/inquiries", json=inquiry(RED_FLAG)).get_json()["id"]

    events = recorded(app)

    assert [kind for kind, _ in events] == ["inquiry.received", "inquiry.routed", "inquiry.urgent_review"]
    assert events[2][1] == {
        "inquiry_id": inquiry_id,
        "urgency": "emergency",
        "rule": "R1",
        "reasons": ["R1", "NR", "TEXT"],
    }
    assert (events[1][1]["status"], events[1][1]["route"]) == ("urgent_review", "urgent_review")


@pytest.mark.parametrize(
    ("message", "held"),
    [
        (WOBBLY, {"reason": "possible_red_flag", "route": "consult", "urgency": "routine"}),
        (FACET, {"reason": "no_slot", "route": "injection", "urgency": "soon"}),  # no injection slot at all
    ],
)
def test_an_inquiry_held_for_staff_records_why_as_a_code(app, client, slots, message, held):
    inquiry_id = client.post("/v1/inquiries", json=inquiry(message)).get_json()["id"]

    events = recorded(app)

    assert [kind for kind, _ in events] == ["inquiry.received", "inquiry.routed", "inquiry.held"]
    assert events[2][1] == {"inquiry_id": inquiry_id, **held}


def test_an_inquiry_left_pending_records_its_routing_when_the_worker_books_it(app, client, slots):
    app.extensions["routing"].scheduler = down_scheduler()
    inquiry_id = client.post("/v1/inquiries", json=inquiry()).get_json()["id"]
    app.extensions["routing"].scheduler = EmbeddedScheduler()
    after_intake = types_of(app)

    with app.extensions["routing"].db.session() as session:
        # An hour on: the retry the intake scheduled is due.
        booking_queue.work_one(session, app.extensions["routing"].routing, datetime.now(UTC) + timedelta(hours=1))

    assert after_intake == ["inquiry.received"]
    assert types_of(app, inquiry_id) == ["inquiry.received", "inquiry.routed", "appointment.booked"]


def test_a_staff_cancel_records_the_appointment_cancelled_by_staff(app, client, slots, token):
    inquiry_id = new_inquiry(client)
    appointment = one(app, Appointment)

    response = client.post(
        f"/v1/admin/inquiries/{inquiry_id}/cancel",
        json={"reason": "patient asked"},
        headers={**bearer(token), "If-Match": etag_of(client, token, inquiry_id)},
    )

    assert response.status_code == 200, response.get_json()
    assert recorded(app)[-1] == ("appointment.cancelled", booked_data(appointment, by="staff"))


def test_an_override_records_the_new_route_and_the_rebooking_as_one_change(app, client, slots, token):
    inquiry_id = new_inquiry(client)
    old = one(app, Appointment)

    response = client.post(
        f"/v1/admin/inquiries/{inquiry_id}/override",
        json={"route": "imaging", "reason": "MRI first, per Dr Lee"},
        headers={**bearer(token), "If-Match": etag_of(client, token, inquiry_id)},
    )

    assert response.status_code == 200, response.get_json()
    new = one(app, Appointment, Appointment.status == "booked")
    events = recorded(app)[3:]
    assert [kind for kind, _ in events] == ["inquiry.routed", "appointment.rebooked"]
    routed, rebooked = (data for _, data in events)
    assert (routed["route"], routed["rule"], routed["status"]) == ("imaging", "STAFF", "booked")
    assert rebooked == booked_data(new, previous_appointment_id=str(old.id), by="staff")
    assert inquiry_id == rebooked["inquiry_id"]


def test_an_override_to_urgent_review_records_an_urgent_review(app, client, slots, token):
    inquiry_id = new_inquiry(client)

    client.post(
        f"/v1/admin/inquiries/{inquiry_id}/override",
        json={"route": "urgent_review", "reason": "Called: new numbness", "urgency": "urgent"},
        headers={**bearer(token), "If-Match": etag_of(client, token, inquiry_id)},
    )

    assert types_of(app)[3:] == ["inquiry.routed", "inquiry.urgent_review", "appointment.cancelled"]
    assert recorded(app)[4][1] == {
        "inquiry_id": inquiry_id,
        "urgency": "urgent",
        "rule": "STAFF",
        "reasons": ["STAFF", "R10", "TEXT"],
    }


def test_a_clinic_cancellation_records_the_cancel_then_the_rebooking_that_replaces_it(app, client, slots):
    inquiry_id = new_inquiry(client)
    old = one(app, Appointment)

    client.post(
        "/v1/scheduling/events",
        json={"type": "appointment.cancelled", "appointment": old.external_id, "reason": "doctor ill"},
        headers={"webhook-id": "evt_1"},
    )

    new = one(app, Appointment, Appointment.status == "booked")
    events = recorded(app)[3:]
    assert [kind for kind, _ in events] == ["inquiry.routed", "appointment.cancelled", "appointment.rebooked"]
    assert events[1][1] == booked_data(old, by="scheduler", cause="appointment.cancelled")
    assert events[2][1] == booked_data(new, previous_appointment_id=str(old.id), by="routing")
    assert events[2][1]["inquiry_id"] == inquiry_id


def test_a_no_show_records_appointment_noshow(app, client, slots):
    new_inquiry(client)
    appointment = one(app, Appointment)

    client.post(
        "/v1/scheduling/events",
        json={"type": "appointment.noshow", "appointment": appointment.external_id},
        headers={"webhook-id": "evt_2"},
    )

    assert recorded(app)[3:] == [
        ("appointment.noshow", booked_data(appointment, by="scheduler", cause="appointment.noshow"))
    ]


def test_a_redelivered_inquiry_records_nothing_new(app, client, slots):
    headers = {"Idempotency-Key": "form-123"}
    client.post("/v1/inquiries", json=inquiry(), headers=headers)
    first = recorded(app)

    again = client.post("/v1/inquiries", json=inquiry(), headers=headers)

    assert again.status_code == 200
    assert recorded(app) == first


def test_a_refused_staff_action_records_nothing(app, client, slots, token):
    inquiry_id = new_inquiry(client)
    before = recorded(app)

    response = client.post(
        f"/v1/admin/inquiries/{inquiry_id}/cancel",
        json={"reason": "patient asked"},
        headers={**bearer(token), "If-Match": '"stale"'},
    )

    assert response.status_code == 412
    assert recorded(app) == before


def test_an_event_rolls_back_with_the_change_it_describes(app):
    def change_that_fails() -> None:
        with app.extensions["routing"].db.session() as session, session.begin():
            with WriteBatch(session.connection()) as writes:
                outbox.record_event(writes, "inquiry.received", None, {"inquiry_id": None}, datetime.now(UTC))
            raise RuntimeError("the change failed after its event was written")

    with pytest.raises(RuntimeError):
        change_that_fails()

    assert recorded(app) == []


def test_a_settle_that_finds_the_inquiry_settled_already_records_no_event(app, client, slots):
    # A late duplicate of a booking job (its lease ran out while it worked) settles nothing: no event either.
    inquiry_id = uuid.UUID(new_inquiry(client))
    db = app.extensions["routing"].db
    before = recorded(app)

    with db.session() as session, session.begin(), WriteBatch(session.connection()) as writes:
        outbox.record_event_if_pending(
            writes, "inquiry.held", inquiry_id, {"inquiry_id": inquiry_id}, datetime.now(UTC)
        )

    assert recorded(app) == before


def test_event_data_with_a_patient_field_or_an_unknown_type_is_refused():
    now = datetime.now(UTC)
    with pytest.raises(ValueError, match="event data must hold ids and codes only, not email, first_name"):
        outbox.record_event(None, "inquiry.received", None, {"first_name": "Ana", "email": "ana@example.org"}, now)
    with pytest.raises(ValueError, match=r"unknown event type 'inquiry\.exploded'"):
        outbox.record_event(None, "inquiry.exploded", None, {}, now)


def test_no_event_holds_the_patient_s_name_contact_or_words(app, client, slots, token):
    for message in (STRAIN, RED_FLAG, WOBBLY, FACET):
        new_inquiry(client, message)
    inquiry_id = new_inquiry(client)
    etag = etag_of(client, token, inquiry_id)
    client.post(
        f"/v1/admin/inquiries/{inquiry_id}/cancel",
        json={"reason": "Ana Diaz asked by phone"},
        headers={**bearer(token), "If-Match": etag},
    )

    with app.extensions["routing"].db.session() as session:
        text = json.dumps([row.data for row in session.scalars(select(OutboxEvent))])

    for value in (*PATIENT.values(), "couch", "bladder", "wobbly", "arthritis", "Ana", "Diaz"):
        assert value not in text


def test_a_rebooking_the_worker_makes_later_is_told_as_rebooked_too(app, client, slots):
    # The clinic cancelled while the scheduling system was unreachable for the rebooking: the inquiry waits,
    # pending, and the worker books it later; the new appointment replaces the cancelled one.
    inquiry_id = new_inquiry(client)
    old = one(app, Appointment)
    later = datetime.now(UTC) + timedelta(minutes=5)
    with app.extensions["routing"].db.session() as session, session.begin():
        session.execute(update(Appointment).values(status="cancelled"))
        session.execute(update(Inquiry).values(status="pending_booking", next_attempt_at=later, lease_until=None))

    with app.extensions["routing"].db.session() as session:
        booking_queue.work_one(session, app.extensions["routing"].routing, later)

    new = one(app, Appointment, Appointment.status == "booked")
    assert recorded(app)[3:] == [
        ("inquiry.routed", recorded(app)[3][1]),
        ("appointment.rebooked", booked_data(new, previous_appointment_id=str(old.id), by="routing")),
    ]
    assert recorded(app)[3][1]["inquiry_id"] == inquiry_id
