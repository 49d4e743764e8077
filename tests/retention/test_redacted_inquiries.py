"""An inquiry whose text was removed still works everywhere: staff see a note instead of the message, re-triage and
the booking worker decide on its stored facts, and the patient's own page is as it was."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from routing.adapters.db.models import Appointment, Inquiry, TriageDecision
from routing.services.booking_queue import work_one
from tests.http.admin_helpers import bearer, make_token
from tests.http.intake_helpers import STRAIN, inquiry
from tests.retention.helpers import DAYS, QUOTED, post, received_at, run, sessions, stored

NOTE = f"Text removed after {DAYS} days under the retention policy; the facts and decisions read from it are kept."


def redacted(app, client) -> tuple[str, object]:
    """A booked strain whose text was removed; its id and when the text was removed."""
    inquiry_id = post(client, inquiry())
    now = received_at(app, inquiry_id) + timedelta(days=DAYS)
    run(app, now)
    return inquiry_id, now


def sign_in(client, token: str) -> None:
    page = client.get("/console/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/console/login", data={"token": token, "csrf_token": csrf}).status_code == 303


def test_the_admin_api_gives_no_message_but_says_when_the_text_was_removed(app, client):
    token = make_token(app, "Nina Nurse", "staff")
    inquiry_id, removed_at = redacted(app, client)
    kept_id = post(client, inquiry())

    kept = client.get(f"/v1/admin/inquiries/{kept_id}", headers=bearer(token)).get_json()
    body = client.get(f"/v1/admin/inquiries/{inquiry_id}", headers=bearer(token)).get_json()

    assert (kept["message"], kept["text_removed"]) == (STRAIN, None)
    assert body["message"] is None
    assert body["text_removed"] == {"at": removed_at.isoformat(), "note": NOTE}
    assert [e["phrase"] for e in body["evidence"] if e["source"] == "text"] == [None] * len(
        [e for e in kept["evidence"] if e["source"] == "text"]
    )
    assert body["facts"] == kept["facts"]


def test_the_console_shows_the_note_instead_of_the_message(app, client):
    inquiry_id, _ = redacted(app, client)
    sign_in(client, make_token(app, "Nina Nurse", "staff"))

    page = client.get(f"/console/inquiries/{inquiry_id}")
    text = page.get_data(as_text=True)

    assert page.status_code == 200
    assert NOTE in text
    assert [word for word in QUOTED if word in text] == []


def test_retriage_of_a_redacted_inquiry_decides_on_its_stored_facts(app, client):
    token = make_token(app, "Dr Lee", "staff")
    inquiry_id, _ = redacted(app, client)

    preview = client.post(f"/v1/admin/inquiries/{inquiry_id}/retriage", headers=bearer(token))
    etag = client.get(f"/v1/admin/inquiries/{inquiry_id}", headers=bearer(token)).headers["ETag"]
    applied = client.post(
        f"/v1/admin/inquiries/{inquiry_id}/retriage/apply", headers={**bearer(token), "If-Match": etag}
    )

    assert preview.status_code == 200, preview.get_json()
    body = preview.get_json()
    current = body["current"]
    assert body["changed"] is False
    assert (body["proposed"]["route"], body["proposed"]["urgency"], body["proposed"]["rule"]) == (
        current["route"],
        current["urgency"],
        current["rule"],
    )
    assert applied.status_code == 200, applied.get_json()
    decisions = stored(app, inquiry_id)["decisions"]
    assert len(decisions) == 2
    assert decisions[0][5] == decisions[1][5]  # the same facts, not a re-reading of nothing


def test_the_booking_worker_decides_a_redacted_inquiry_on_its_stored_facts(app, client):
    inquiry_id, _ = redacted(app, client)
    key = uuid.UUID(inquiry_id)
    with sessions(app)() as session, session.begin():
        # As when the scheduling system cancels the appointment and rebooking waits for the worker.
        session.execute(update(Appointment).where(Appointment.inquiry_id == key).values(status="cancelled"))
        session.execute(update(Inquiry).where(Inquiry.id == key).values(status="pending_booking", next_attempt_at=None))
    first = stored(app, inquiry_id)["decisions"][0]

    with sessions(app)() as session:
        outcome = work_one(session, app.extensions["routing"].routing, datetime.now(UTC))
    with sessions(app)() as session:
        newest = session.scalars(
            select(TriageDecision).where(TriageDecision.inquiry_id == key, TriageDecision.superseded_at.is_(None))
        ).one()

    assert outcome.status == "booked"
    assert (newest.route, newest.urgency, newest.rule_id, newest.facts) == (first[0], first[1], first[2], first[5])


def test_the_patient_s_own_page_is_the_same_after_the_text_is_removed(app, client):
    response = client.post("/v1/inquiries", json=inquiry(), headers={"Idempotency-Key": uuid.uuid4().hex})
    created = response.get_json()
    before = client.get(created["patient_link"])

    run(app, received_at(app, created["id"]) + timedelta(days=DAYS))
    after = client.get(created["patient_link"])

    assert (before.status_code, after.status_code) == (200, 200)
    assert after.get_data(as_text=True) == before.get_data(as_text=True)


def test_a_cancellation_by_the_scheduling_system_rebooks_a_redacted_inquiry_on_its_stored_facts(app, client):
    inquiry_id, _ = redacted(app, client)
    first = stored(app, inquiry_id)["decisions"][0]
    with sessions(app)() as session:
        appointment = session.scalars(select(Appointment).where(Appointment.inquiry_id == uuid.UUID(inquiry_id))).one()
    event = {"type": "appointment.cancelled", "appointment": appointment.external_id, "reason": "doctor ill"}

    response = client.post("/v1/scheduling/events", json=event, headers={"webhook-id": "evt_1"})

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["action"] == "rebooked"
    decisions = stored(app, inquiry_id)["decisions"]
    assert [d[:6] for d in decisions] == [first[:6], first[:6]]


def test_a_redelivery_of_a_redacted_inquiry_gets_its_stored_outcome(app, client):
    body, key = inquiry(), uuid.uuid4().hex
    created = client.post("/v1/inquiries", json=body, headers={"Idempotency-Key": key})
    run(app, received_at(app, created.get_json()["id"]) + timedelta(days=DAYS))

    again = client.post("/v1/inquiries", json=body, headers={"Idempotency-Key": key})

    assert (created.status_code, again.status_code) == (201, 200)
    assert (again.get_json()["id"], again.get_json()["status"]) == (created.get_json()["id"], "booked")
