"""The waitlist on a real FHIR R4 scheduling server (Medplum on loopback, the slot-update strategy), on SQLite and
PostgreSQL: a cancelled appointment's slot is held busy-tentative for the most urgent waiting patient, who accepts
(booked in the EHR) or declines (the slot is free there again)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from routing import create_app
from routing.adapters.db.models import Appointment, WaitlistOffer
from routing.services import staff_actions, waitlist, waitlist_answers
from routing.services.staff_actions import Canceller
from tests.http.intake_helpers import inquiry
from tests.scheduling.test_fhir_end_to_end import MRI_MESSAGE, fhir_settings

LATER_MRI = "Back spasms on and off for 4 months. Muscle relaxants didn't help at all."


@pytest.fixture
def fhir_app(migrated_url, fhir_base_url, service_types):
    application = create_app(fhir_settings(migrated_url, fhir_base_url, service_types))
    yield application
    application.extensions["routing"].db.dispose()


@pytest.fixture
def offered(fhir_app, fhir_server, service_types):
    """One imaging slot five hours ahead on the FHIR server, booked by a first patient and cancelled by staff while
    a second waits: the waitlist's offer to the second. (slot reference, waiting inquiry id, offer id)."""
    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(hours=5)
    [slot] = fhir_server.seed_slots(service_types["imaging"], [start], minutes=60)
    client = fhir_app.test_client()
    booked = client.post("/v1/inquiries", json=inquiry(message=MRI_MESSAGE)).get_json()
    waiting = client.post("/v1/inquiries", json=inquiry(message=LATER_MRI)).get_json()
    assert (booked["status"], waiting["status"]) == ("booked", "needs_review"), (booked, waiting)
    w = fhir_app.extensions["routing"]
    with w.db.session() as session:
        staff_actions.cancel_booked(
            session,
            w.routing,
            uuid.UUID(booked["id"]),
            Canceller("Sam (front desk)", "patient phoned"),
            expect=lambda *_: None,
        )
    with w.db.session() as session:
        offer = session.scalar(select(WaitlistOffer))
    return slot, uuid.UUID(waiting["id"]), offer


def test_a_cancelled_fhir_slot_is_held_busy_tentative_for_the_waiting_patient(offered, fhir_server):
    slot, waiting, offer = offered

    assert (offer.inquiry_id, offer.status, offer.slot_ref) == (waiting, "open", slot)
    assert fhir_server.get(slot)["status"] == "busy-tentative"


def test_accepting_books_the_held_fhir_slot_for_the_waiting_patient(offered, fhir_app, fhir_server):
    slot, waiting, offer = offered
    w = fhir_app.extensions["routing"]

    with w.db.session() as session:
        booking = waitlist_answers.accept(session, w.routing, offer.id, waiting, datetime.now(UTC), actor="patient")

    remote = fhir_server.get(booking.external_id)
    assert (remote["status"], remote["slot"][0]["reference"]) == ("booked", slot)
    assert fhir_server.get(slot)["status"] == "busy"
    with w.db.session() as session:
        ours = session.scalar(select(Appointment).where(Appointment.inquiry_id == waiting))
        assert (ours.external_id, ours.status, session.get(WaitlistOffer, offer.id).status) == (
            booking.external_id,
            "booked",
            "accepted",
        )


def test_a_declined_fhir_offer_gives_the_slot_back_to_the_ehr(offered, fhir_app, fhir_server):
    slot, waiting, offer = offered
    w = fhir_app.extensions["routing"]
    now = datetime.now(UTC)

    with w.db.session() as session:
        waitlist_answers.decline(session, w.routing, offer.id, waiting, now, actor="patient")
    with w.db.session() as session:
        result = waitlist.refill(session, w.routing, now)

    assert (result.released, result.offered) == (1, [])  # no one else waits; the decliner never gets it again
    assert fhir_server.get(slot)["status"] == "free"
