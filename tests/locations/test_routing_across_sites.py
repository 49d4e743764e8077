"""Routing across a practice's sites: the chosen site first, then sites within the travel radius, then any."""

from __future__ import annotations

import uuid
from datetime import date
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from routing.adapters.db.models import Slot, WaitlistEntry
from routing.services.schedule import seed_demo_schedule
from tests.http.intake_helpers import inquiry
from tests.locations.helpers import appointment_sites, open_sites, site_of_inquiry, slots_at, wiring

NEAR_CHOSEN = "The site you chose had no free appointment soon enough, so we booked the nearest one that had."
ELSEWHERE = "No site near you had a free appointment soon enough, so we booked the earliest one at another of our sites"
#: A month ahead: outside every urgency window (routine is 21 days), so only ever proposed.
A_MONTH = 24 * 30


@pytest.fixture
def sites(app):
    open_sites(app)


def post(client, **extra):
    response = client.post("/v1/inquiries", json=inquiry(**extra), headers={"Idempotency-Key": str(uuid.uuid4())})
    return response.status_code, response.get_json()


def test_the_chosen_site_is_booked_even_when_another_site_is_earlier(app, client, sites):
    slots_at(app, "downtown", "consult", [26])
    slots_at(app, "north", "consult", [30])

    status, body = post(client, preferred_location="north")

    assert status == 201
    assert body["status"] == "booked"
    assert body["appointment"]["location"] == "north"
    assert "North side, 200 Liberty Street, Springfield" in body["patient_message"]
    assert "(555) 010-0102" in body["patient_message"]
    assert NEAR_CHOSEN not in body["patient_message"]
    assert site_of_inquiry(app, body["id"]) == "north"
    assert appointment_sites(app) == ["north"]


def test_a_full_chosen_site_books_the_nearest_site_with_a_slot_in_time_and_says_why(app, client, sites):
    slots_at(app, "north", "consult", [A_MONTH])
    slots_at(app, "worcester", "consult", [26])  # the earliest, but 67 km away
    slots_at(app, "downtown", "consult", [40])

    status, body = post(client, preferred_location="north")

    assert (status, body["status"], body["appointment"]["location"]) == (201, "booked", "downtown")
    assert NEAR_CHOSEN in body["patient_message"]
    assert "Downtown, 1 Court Square, Springfield" in body["patient_message"]


def test_with_nothing_near_in_time_any_site_is_booked_and_the_patient_is_told(app, client, sites):
    slots_at(app, "north", "consult", [A_MONTH])
    slots_at(app, "worcester", "consult", [26])

    _, body = post(client, preferred_location="north")

    assert (body["status"], body["appointment"]["location"]) == ("booked", "worcester")
    assert ELSEWHERE in body["patient_message"]


def test_a_postal_code_alone_books_the_sites_near_the_patient_first(app, client, sites):
    slots_at(app, "downtown", "consult", [26])
    slots_at(app, "worcester", "consult", [40])

    _, body = post(client, postal_code="01601-2231")

    assert (body["status"], body["appointment"]["location"]) == ("booked", "worcester")
    assert ELSEWHERE not in body["patient_message"]


def test_without_a_wish_the_earliest_slot_at_any_site_is_booked(app, client, sites):
    slots_at(app, "downtown", "consult", [40])
    slots_at(app, "holyoke", "consult", [26])

    _, body = post(client)

    assert (body["status"], body["appointment"]["location"]) == ("booked", "holyoke")
    assert "Holyoke, 50 Dwight Street, Holyoke" in body["patient_message"]


def test_a_site_the_practice_does_not_have_is_refused_naming_the_field(app, client, sites):
    slots_at(app, "downtown", "consult", [26])

    status, body = post(client, preferred_location="mars", postal_code="x" * 17)

    assert status == 422
    assert sorted(body["errors"]) == ["postal_code", "preferred_location"]


def test_no_slot_in_time_anywhere_proposes_the_chosen_sites_slot_and_waitlists_near_sites_only(app, client, sites):
    proposed = slots_at(app, "north", "consult", [A_MONTH])[0]
    slots_at(app, "worcester", "consult", [A_MONTH - 48])  # earlier, but far away

    _, body = post(client, preferred_location="north")

    assert body["status"] == "needs_review"
    assert body["proposed_slot"]["location"] == "north"
    assert body["proposed_slot"]["start"].startswith(
        proposed.astimezone(ZoneInfo("America/New_York")).date().isoformat()
    )
    assert "North side" in body["patient_message"]
    assert site_of_inquiry(app, body["id"]) == "north"
    with wiring(app).db.session() as session:
        assert session.scalars(select(WaitlistEntry.locations)).all() == [["north", "downtown", "holyoke"]]


def test_the_patients_page_and_calendar_file_name_the_site(app, client, sites):
    slots_at(app, "holyoke", "consult", [26])
    _, body = post(client, preferred_location="holyoke")

    page = client.get(body["patient_link"]).get_data(as_text=True)
    calendar = client.get(body["patient_link"] + "/appointment.ics").get_data(as_text=True).replace("\r\n ", "")

    assert "Holyoke, 50 Dwight Street, Holyoke" in page
    assert "LOCATION:Riverside Spine & Pain Clinic (demo)\\, Holyoke\\, 50 Dwight Street\\, Holyoke" in calendar


def test_with_one_site_messages_name_the_clinic_alone(app, client):
    slots_at(app, "main", "consult", [26])

    _, body = post(client)

    assert body["appointment"]["location"] == "main"
    assert "Main site" not in body["patient_message"]
    clinic = "Riverside Spine & Pain Clinic (demo), 100 Example Avenue"
    assert body["patient_message"].startswith(f"Your pain-management consultation at {clinic}")


def test_the_demo_schedule_fills_each_site_with_the_kinds_of_appointment_it_offers(app, sites):
    seed_demo_schedule(db=wiring(app).db, days=7, tz=ZoneInfo("America/New_York"), first_day=date(2026, 12, 7))

    with wiring(app).db.session() as session:
        kinds = set(
            session.execute(select(Slot.location_id, Slot.slot_type).group_by(Slot.location_id, Slot.slot_type))
        )
        at_main = session.scalar(select(func.count()).select_from(Slot).where(Slot.location_id == "main"))

    assert kinds == {
        ("downtown", "consult"),
        ("downtown", "imaging"),
        ("downtown", "injection"),
        ("north", "consult"),
        ("holyoke", "consult"),
        ("holyoke", "injection"),
        ("worcester", "consult"),
        ("worcester", "imaging"),
    }
    assert at_main == 0
