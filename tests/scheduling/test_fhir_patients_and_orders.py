"""Who an appointment is for, and the orders behind it, on a real FHIR R4 server (see conftest.py).

Every test names its patient with a family name of its own, since the server is shared by the session.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from routing.adapters.scheduling.fhir_resources import FhirIdentity
from routing.adapters.scheduling.interface import BookingRequest, PatientDetails, PatientNotIdentified, ReferralRequest
from tests.scheduling.conftest import TEST_IDENTITY

DAY = datetime(2031, 4, 14, tzinfo=UTC)
SESSION = None
MRI = ReferralRequest("http://www.ama-assn.org/go/cpt", "72148", "MRI lumbar spine without contrast")


def at(hour: int) -> datetime:
    return DAY.replace(hour=hour)


def patient(**changes) -> PatientDetails:
    details = {
        "first_name": "Lucía",
        "last_name": f"Test{uuid.uuid4().hex[:10]}",
        "birth_date": date(1980, 5, 17),
        "email": "lucia@example.org",
        "phone": "+1 (555) 010-0199",
    }
    return PatientDetails(**{**details, **changes})


def request_for(details: PatientDetails | None, slot_type: str = "consult", **changes) -> BookingRequest:
    inquiry_id = changes.pop("inquiry_id", uuid.uuid4())
    fields = {
        "inquiry_id": inquiry_id,
        "booking_key": str(inquiry_id),
        "slot_type": slot_type,
        "route": slot_type,
        "urgency": "soon",
        "reasons": ("low back pain for 8 weeks",),
        "patient_display": details.display if details else None,
        "patient": details,
    }
    return BookingRequest(**{**fields, **changes})


def book_one(scheduler, fhir_server, service_types, request, slot_type="consult", hour=9, **seed):
    fhir_server.seed_slots(service_types[slot_type], [at(hour)], **seed)
    (slot,) = scheduler.find_free_slots(SESSION, slot_type, at(hour - 1), at(hour))
    return scheduler.book(SESSION, slot, request)


def existing_patient(fhir_server, details: PatientDetails, **changes) -> dict:
    resource = {
        "resourceType": "Patient",
        "name": [{"family": details.last_name, "given": [details.first_name]}],
        "birthDate": details.birth_date.isoformat(),
        "telecom": [{"system": "email", "value": details.email}],
        **changes,
    }
    return fhir_server.create(resource)


# ---------------------------------------------------------------------- patient identity


def test_a_new_patient_is_registered_under_our_identifier_and_referenced(fhir_server, scheduler, service_types):
    details = patient()
    request = request_for(details)

    booking = book_one(scheduler, fhir_server, service_types, request)

    appointment = fhir_server.get(booking.external_id)
    actor = appointment["participant"][0]["actor"]
    assert actor["display"] == details.display
    record = fhir_server.get(actor["reference"])
    assert record["identifier"] == [{"system": TEST_IDENTITY.patient_system, "value": str(request.inquiry_id)}]
    assert record["name"] == [{"use": "official", "family": details.last_name, "given": ["Lucía"]}]
    assert record["birthDate"] == "1980-05-17"
    assert record["telecom"] == [
        {"system": "phone", "value": "+1 (555) 010-0199"},
        {"system": "email", "value": "lucia@example.org"},
    ]


def test_a_returning_patient_is_found_by_name_birth_date_and_contact(fhir_server, scheduler, service_types):
    details = patient()
    known = existing_patient(fhir_server, details)

    booking = book_one(scheduler, fhir_server, service_types, request_for(details))

    actor = fhir_server.get(booking.external_id)["participant"][0]["actor"]
    assert actor["reference"] == f"Patient/{known['id']}"
    assert fhir_server.search("Patient", family=details.last_name) == [fhir_server.get(f"Patient/{known['id']}")]


def test_names_match_without_case_or_accents_and_phones_by_their_digits(fhir_server, scheduler, service_types):
    details = patient(email=None)
    known = existing_patient(
        fhir_server,
        details,
        name=[{"family": details.last_name.upper(), "given": ["LUCIA"]}],
        telecom=[{"system": "phone", "value": "555.010.0199"}],
    )

    booking = book_one(scheduler, fhir_server, service_types, request_for(details))

    assert fhir_server.get(booking.external_id)["participant"][0]["actor"]["reference"] == f"Patient/{known['id']}"


def test_two_records_that_could_be_the_patient_book_nothing(fhir_server, scheduler, service_types):
    details = patient()
    existing_patient(fhir_server, details)
    existing_patient(fhir_server, details)
    fhir_server.seed_slots(service_types["consult"], [at(9)])
    (slot,) = scheduler.find_free_slots(SESSION, "consult", at(8), at(9))

    with pytest.raises(PatientNotIdentified, match="2 patient records share this name, birth date and contact"):
        scheduler.book(SESSION, slot, request_for(details))

    assert fhir_server.get(slot.id)["status"] == "free"


def test_a_record_with_the_name_and_birth_date_but_other_contacts_is_left_to_staff(
    fhir_server, scheduler, service_types
):
    details = patient()
    existing_patient(fhir_server, details, telecom=[{"system": "email", "value": "someone.else@example.org"}])
    fhir_server.seed_slots(service_types["consult"], [at(9)])
    (slot,) = scheduler.find_free_slots(SESSION, "consult", at(8), at(9))

    with pytest.raises(PatientNotIdentified, match="none with the contact details given"):
        scheduler.book(SESSION, slot, request_for(details))


def test_a_retried_booking_registers_the_new_patient_once(fhir_server, scheduler, service_types):
    details = patient()
    request = request_for(details)
    first = book_one(scheduler, fhir_server, service_types, request)
    scheduler.cancel(SESSION, first.external_id, "test")

    book_one(scheduler, fhir_server, service_types, request, hour=10)

    assert len(fhir_server.search("Patient", family=details.last_name)) == 1


# ---------------------------------------------------------------------- participants from the schedule


def test_the_slots_practitioner_and_location_take_part_in_the_appointment(fhir_server, scheduler, service_types):
    doctor = fhir_server.create({"resourceType": "Practitioner", "name": [{"family": "Reyes"}]})
    room = fhir_server.create({"resourceType": "Location", "name": "Room 2"})
    actors = [f"Practitioner/{doctor['id']}", f"Location/{room['id']}"]

    booking = book_one(scheduler, fhir_server, service_types, request_for(patient()), actors=actors)

    participants = fhir_server.get(booking.external_id)["participant"]
    assert [p["actor"].get("reference", "").split("/")[0] for p in participants] == [
        "Patient",
        "Practitioner",
        "Location",
    ]
    assert [p["actor"]["reference"] for p in participants[1:]] == actors
    assert {(p["required"], p["status"]) for p in participants} == {("required", "accepted")}


# ---------------------------------------------------------------------- the order's life


def test_an_order_names_its_patient_requester_category_and_time(fhir_server, make_scheduler, service_types):
    scheduler = make_scheduler(identity=FhirIdentity(TEST_IDENTITY.identifier_base, "Organization/7", "Pain Clinic"))
    details = patient()

    booking = book_one(scheduler, fhir_server, service_types, request_for(details, "imaging", referral=MRI), "imaging")

    order = fhir_server.get(booking.referral_external_id)
    assert order["subject"]["reference"].startswith("Patient/")
    assert order["subject"]["display"] == details.display
    assert order["requester"] == {"reference": "Organization/7", "display": "Pain Clinic"}
    assert order["category"][0]["coding"][0]["code"] == "363679005"
    assert order["code"]["coding"] == [{"system": MRI.code_system, "code": "72148", "display": MRI.display}]
    assert order["reasonCode"] == [{"text": "low back pain for 8 weeks"}]
    assert datetime.fromisoformat(order["authoredOn"]).tzinfo is not None


def test_a_rebook_after_a_cancellation_by_the_clinic_reuses_the_order(fhir_server, scheduler, service_types):
    details = patient()
    inquiry_id = uuid.uuid4()
    first = book_one(
        scheduler,
        fhir_server,
        service_types,
        request_for(details, "imaging", referral=MRI, inquiry_id=inquiry_id),
        "imaging",
    )
    # The clinic cancels in its EHR (not through us): the order stays, and our rebook is based on it.
    appointment = fhir_server.get(first.external_id)
    fhir_server.update({**appointment, "status": "cancelled"})
    again = request_for(details, "imaging", referral=MRI, inquiry_id=inquiry_id, booking_key=f"{inquiry_id}/2")

    second = book_one(scheduler, fhir_server, service_types, again, "imaging", hour=11)

    assert second.referral_external_id == first.referral_external_id
    orders = fhir_server.search("ServiceRequest", identifier=f"{TEST_IDENTITY.inquiry_system}|{inquiry_id}")
    assert [order["status"] for order in orders] == ["active"]


def test_cancelling_the_last_appointment_revokes_its_order(fhir_server, scheduler, service_types):
    booking = book_one(
        scheduler, fhir_server, service_types, request_for(patient(), "imaging", referral=MRI), "imaging"
    )

    scheduler.cancel(SESSION, booking.external_id, "patient called to cancel")

    assert fhir_server.get(booking.referral_external_id)["status"] == "revoked"


def test_cancelling_an_appointment_another_is_based_on_keeps_the_order(fhir_server, scheduler, service_types):
    details, inquiry_id = patient(), uuid.uuid4()
    old = book_one(
        scheduler,
        fhir_server,
        service_types,
        request_for(details, "imaging", referral=MRI, inquiry_id=inquiry_id),
        "imaging",
    )
    # A staff override books the new appointment first, then cancels the old one.
    moved = request_for(details, "imaging", referral=MRI, inquiry_id=inquiry_id, booking_key=f"{inquiry_id}/2")
    new = book_one(scheduler, fhir_server, service_types, moved, "imaging", hour=12)

    scheduler.cancel(SESSION, old.external_id, "moved by staff")

    assert new.referral_external_id == old.referral_external_id
    assert fhir_server.get(new.referral_external_id)["status"] == "active"
