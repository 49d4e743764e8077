"""POST /v1/scheduling/events: the scheduling system reports a change; we rebook or queue for staff, once."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import select

from routing import create_app
from routing.adapters.db.models import Appointment, AuditEvent, Inquiry, SchedulerEvent, Slot
from tests.conftest import settings_for
from tests.http.intake_helpers import SECRET, add_slots, inquiry, signed_headers

PROBLEM = "application/problem+json"


@pytest.fixture
def slots(app):
    add_slots(app, "consult", [26, 27])
    return app


@pytest.fixture
def booked(client, slots) -> Appointment:
    """An inquiry booked into the earliest consult; its appointment."""
    response = client.post("/v1/inquiries", json=inquiry())
    assert response.get_json()["status"] == "booked"
    return rows(slots, Appointment)[0]


def rows(app, model, *where):
    with app.extensions["routing"].db.session() as session:
        return session.scalars(select(model).where(*where)).all()


def send(client, event: dict, key: str = "evt_1"):
    return client.post("/v1/scheduling/events", json=event, headers={"webhook-id": key})


def test_a_clinic_cancellation_is_rebooked_into_the_next_slot_and_audited(app, client, booked):
    response = send(
        client, {"type": "appointment.cancelled", "appointment": booked.external_id, "reason": "doctor ill"}
    )

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["action"] == "rebooked"
    assert body["replayed"] is False
    assert body["previous_appointment"]["id"] == str(booked.id)
    assert body["new_appointment"]["start"] > body["previous_appointment"]["start"]
    old, new = sorted(rows(app, Appointment), key=lambda a: a.start)
    assert (old.status, old.cancel_reason) == ("cancelled", "doctor ill")
    assert new.status == "booked"
    assert new.booking_key == f"{booked.inquiry_id}/2"
    assert rows(app, Inquiry)[0].status == "booked"
    # The cancelled time is not offered again; the patient holds the next one.
    assert {str(s.id): s.status for s in rows(app, Slot)} == {old.external_id: "busy", new.external_id: "busy"}
    actions = [(e.actor_name, e.action) for e in rows(app, AuditEvent)]
    assert actions == [("scheduling system", "appointment.cancelled"), ("scheduling system", "scheduler.rebooked")]


def test_a_replayed_event_acts_once_and_answers_the_same(app, client, booked):
    event = {"type": "appointment.cancelled", "appointment": booked.external_id}
    first = send(client, event).get_json()

    again = send(client, event)

    assert again.status_code == 200
    assert again.get_json() == {**first, "replayed": True}
    assert len(rows(app, Appointment)) == 2
    assert len(rows(app, SchedulerEvent)) == 1
    assert len(rows(app, AuditEvent)) == 2


def test_a_reused_event_key_with_another_body_is_a_conflict(client, booked):
    send(client, {"type": "appointment.cancelled", "appointment": booked.external_id})

    response = send(client, {"type": "appointment.noshow", "appointment": booked.external_id})

    assert response.status_code == 409
    assert response.content_type == PROBLEM


def test_a_no_show_goes_to_the_staff_queue_without_rebooking(app, client, booked):
    response = send(client, {"type": "appointment.noshow", "appointment": booked.external_id})

    assert response.get_json()["action"] == "queued_for_staff"
    assert [a.status for a in rows(app, Appointment)] == ["noshow"]
    inquiry_row = rows(app, Inquiry)[0]
    assert inquiry_row.status == "needs_review"
    assert "did not attend" in inquiry_row.status_detail
    assert [e.action for e in rows(app, AuditEvent)] == ["appointment.noshow", "scheduler.queued_for_staff"]


def test_a_withdrawn_slot_with_nothing_else_free_puts_the_inquiry_in_the_staff_queue(app, client, booked):
    other = next(s for s in rows(app, Slot) if s.status == "free")
    client.post("/v1/inquiries", json=inquiry(), headers={"Idempotency-Key": "second-patient"})
    assert rows(app, Slot, Slot.id == other.id)[0].status == "busy"

    response = send(client, {"type": "slot.withdrawn", "appointment": booked.external_id})

    assert response.get_json()["action"] == "queued_for_staff"
    inquiry_row = rows(app, Inquiry, Inquiry.id == booked.inquiry_id)[0]
    assert inquiry_row.status == "needs_review"
    # A withdrawn slot is not offered to anyone else.
    assert rows(app, Slot, Slot.id == uuid.UUID(booked.external_id))[0].status == "busy"


def test_an_event_for_an_appointment_already_cancelled_changes_nothing(app, client, booked):
    send(client, {"type": "appointment.noshow", "appointment": booked.external_id}, key="evt_a")

    response = send(client, {"type": "appointment.cancelled", "appointment": booked.external_id}, key="evt_b")

    assert response.status_code == 200
    assert response.get_json()["action"] == "none"
    assert len(rows(app, AuditEvent)) == 2  # only the first event's


def test_an_unknown_appointment_is_404_and_nothing_is_recorded(app, client, slots):
    response = send(client, {"type": "appointment.cancelled", "appointment": "Appointment/nope"})

    assert response.status_code == 404
    assert response.content_type == PROBLEM
    assert rows(app, SchedulerEvent) == []


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"type": "appointment.moved", "appointment": "Appointment/1"}, "type"),
        ({"type": "appointment.cancelled"}, "appointment"),
        ({"type": "appointment.cancelled", "appointment": "x", "reason": "r" * 501}, "reason"),
    ],
)
def test_invalid_events_are_422_with_the_field_named(client, slots, event, field):
    response = send(client, event)

    assert response.status_code == 422
    assert field in response.get_json()["errors"]


def test_events_must_be_signed_when_a_secret_is_set(migrated_url):
    app = create_app(settings_for(migrated_url, ROUTING_WEBHOOK_SECRET=SECRET))
    client = app.test_client()
    body = json.dumps({"type": "appointment.cancelled", "appointment": "Appointment/1"}).encode()

    unsigned = client.post("/v1/scheduling/events", data=body, headers={"Content-Type": "application/json"})
    signed = client.post("/v1/scheduling/events", data=body, headers=signed_headers(body))

    assert unsigned.status_code == 401
    assert signed.status_code == 404  # verified, then: no such appointment
    app.extensions["routing"].db.dispose()


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"[" * 50000, "The JSON body is nested too deeply."),
        (b'{"type": NaN}', "The body is not valid JSON: NaN is not a JSON number."),
        (b'{"type": ', "The body is not valid JSON at line 1 column 10."),
        (b"[1, 2]", "The body must be a JSON object."),
    ],
)
def test_a_body_that_is_not_a_json_object_is_a_400_problem_never_a_500(client, slots, body, detail):
    response = client.post("/v1/scheduling/events", data=body, headers={"Content-Type": "application/json"})

    assert response.status_code == 400
    assert response.content_type == PROBLEM
    assert response.get_json()["detail"] == detail
