"""``Patient/$match`` where the server offers it: the server's own matching decides who the patient is.

Runs against the conformance server (tests/scheduling/conformance_server.py): Medplum's router has no
``$match``. The server grades candidates as FHIR R4's operation describes (certain / probable / possible,
in the ``match-grade`` extension); the grading rule is the test server's, the decisions are ours.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from routing.adapters.scheduling.interface import BookingRequest, PatientDetails, PatientNotIdentified
from tests.scheduling.conftest import TEST_IDENTITY

DAY = datetime(2031, 5, 5, tzinfo=UTC)
SESSION = None


def patient() -> PatientDetails:
    return PatientDetails("Noor", f"Match{uuid.uuid4().hex[:8]}", date(1988, 8, 8), "noor@example.org", None)


def record(details: PatientDetails, **changes) -> dict:
    return {
        "resourceType": "Patient",
        "name": [{"family": details.last_name, "given": [details.first_name]}],
        "birthDate": details.birth_date.isoformat(),
        "telecom": [{"system": "email", "value": details.email}],
        **changes,
    }


def request_for(details: PatientDetails) -> BookingRequest:
    inquiry_id = uuid.uuid4()
    return BookingRequest(
        inquiry_id=inquiry_id,
        booking_key=str(inquiry_id),
        slot_type="consult",
        route="consult",
        urgency="soon",
        patient_display=details.display,
        patient=details,
    )


@pytest.fixture
def server(make_conformance_server, service_types):
    server = make_conformance_server("appointment", patient_match=True)
    server.seed_slots(service_types["consult"], [DAY.replace(hour=9)])
    return server


def book(scheduler_for, server, details):
    scheduler = scheduler_for(server.base_url)
    (slot,) = scheduler.find_free_slots(SESSION, "consult", DAY, DAY.replace(hour=23))
    return scheduler.book(SESSION, slot, request_for(details))


def patient_calls(server) -> list[str]:
    return [f"{r.method} {r.path.split('?')[0]}" for r in server.received if "/Patient" in r.path]


def test_the_one_certain_match_is_the_patient_and_no_search_is_made(server, scheduler_for):
    details = patient()
    known = server.add(record(details))
    server.add(record(details, telecom=[{"system": "email", "value": "other@example.org"}]))  # probable only

    booking = book(scheduler_for, server, details)

    assert server.get(booking.external_id)["participant"][0]["actor"]["reference"] == f"Patient/{known['id']}"
    assert patient_calls(server) == ["POST /fhir/R4/Patient/$match"]
    asked = next(r.body for r in server.received if r.path.startswith("/fhir/R4/Patient/$match"))
    assert [p["name"] for p in asked["parameter"]] == ["resource", "onlyCertainMatches", "count"]
    assert "identifier" not in asked["parameter"][0]["resource"]


def test_two_certain_matches_book_nothing(server, scheduler_for):
    details = patient()
    server.add(record(details))
    server.add(record(details))

    with pytest.raises(PatientNotIdentified, match=r"^2 patient records are certain matches$"):
        book(scheduler_for, server, details)


def test_a_probable_match_and_no_certain_one_is_left_to_staff(server, scheduler_for):
    details = patient()
    server.add(record(details, telecom=[{"system": "email", "value": "old@example.org"}]))

    with pytest.raises(PatientNotIdentified, match=r"^1 patient record\(s\) are probable matches, none certain$"):
        book(scheduler_for, server, details)


def test_no_plausible_match_registers_the_patient_under_our_identifier(server, scheduler_for):
    details = patient()
    server.add(record(details, birthDate="1950-01-01", telecom=[]))  # a namesake: only "possible"

    booking = book(scheduler_for, server, details)

    reference = server.get(booking.external_id)["participant"][0]["actor"]["reference"]
    created = server.get(reference)
    assert created["identifier"][0]["system"] == TEST_IDENTITY.patient_system
    assert patient_calls(server) == ["POST /fhir/R4/Patient/$match", "POST /fhir/R4/Patient"]
