"""The FHIR scheduler against a real FHIR R4 server on loopback (see conftest.py): no mocked HTTP."""

from __future__ import annotations

import socket
import threading
import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from routing.adapters.scheduling.interface import (
    Booking,
    BookingRequest,
    ReferralRequest,
    SchedulerUnavailable,
    SchedulingRejected,
    SlotTaken,
    SlotTime,
    UnknownAppointment,
)
from routing.domain.locations import DEFAULT_LOCATION
from tests.scheduling.conftest import TEST_IDENTITY

# Far in the future so the server's own clock never matters; whole hours keep the arithmetic readable.
DAY = datetime(2031, 3, 10, tzinfo=UTC)
SESSION = None  # the FHIR scheduler ignores the database session
MRI = ReferralRequest("http://www.ama-assn.org/go/cpt", "72148", "MRI lumbar spine without contrast")
BOOKING_SYSTEM = TEST_IDENTITY.booking_system
INQUIRY_SYSTEM = TEST_IDENTITY.inquiry_system


def at(hour: int, minute: int = 0) -> datetime:
    return DAY.replace(hour=hour, minute=minute)


def request_for(slot_type: str = "consult", **overrides) -> BookingRequest:
    inquiry_id = uuid.uuid4()
    fields = {
        "inquiry_id": inquiry_id,
        "booking_key": str(inquiry_id),
        "slot_type": slot_type,
        "route": slot_type,
        "urgency": "soon",
        "reasons": ("low back pain for 8 weeks", "pain radiates to the left leg"),
        "patient_display": "Alex Example",
        **overrides,
    }
    return BookingRequest(**fields)


def free_slot(scheduler, slot_type: str = "consult") -> SlotTime:
    """The one free slot of ``slot_type`` the test seeded."""
    (slot,) = scheduler.find_free_slots(SESSION, slot_type, at(0), at(23))
    return slot


def appointments_with_key(fhir_server, key: str) -> list[dict]:
    return fhir_server.search("Appointment", identifier=f"{BOOKING_SYSTEM}|{key}")


# ---------------------------------------------------------------------- find_free_slots


def test_search_returns_free_slots_of_the_type_only(fhir_server, scheduler, service_types):
    (consult,) = fhir_server.seed_slots(service_types["consult"], [at(9)])
    fhir_server.seed_slots(service_types["imaging"], [at(10)])
    fhir_server.seed_slots(service_types["consult"], [at(11)], status="busy")

    slots = scheduler.find_free_slots(SESSION, "consult", at(0), at(23))

    # At the default site: no site of the practice names a FHIR Location here (tests/scheduling/test_fhir_locations.py).
    assert slots == [SlotTime(consult, "consult", at(9), at(9, 30), DEFAULT_LOCATION)]
    assert [slot.slot_type for slot in scheduler.find_free_slots(SESSION, "imaging", at(0), at(23))] == ["imaging"]
    assert scheduler.find_free_slots(SESSION, "injection", at(0), at(23)) == []


def test_search_window_excludes_its_start_and_includes_its_end(fhir_server, scheduler, service_types):
    fhir_server.seed_slots(service_types["consult"], [at(8), at(8, 30), at(9), at(12), at(12, 30)])

    slots = scheduler.find_free_slots(SESSION, "consult", at(8), at(12))

    # After the start (08:00 excluded), at or before the end (12:00 included), like the embedded scheduler.
    assert [slot.start for slot in slots] == [at(8, 30), at(9), at(12)]


def test_search_window_in_another_timezone_selects_the_same_instants(fhir_server, scheduler, service_types):
    fhir_server.seed_slots(service_types["consult"], [at(13), at(14), at(15)])
    new_york = ZoneInfo("America/New_York")  # UTC-4 on this day (daylight saving time began March 9)

    slots = scheduler.find_free_slots(
        SESSION, "consult", at(13).astimezone(new_york), datetime(2031, 3, 10, 11, tzinfo=new_york)
    )

    assert [slot.start for slot in slots] == [at(14), at(15)]
    assert all(slot.start.utcoffset() is not None and slot.end.utcoffset() is not None for slot in slots)


def test_search_is_sorted_by_start_and_limited(fhir_server, scheduler, service_types):
    # Created out of order, so insertion order cannot pass for sorting.
    fhir_server.seed_slots(service_types["consult"], [at(16), at(9), at(14), at(10), at(11)])

    slots = scheduler.find_free_slots(SESSION, "consult", at(0), at(23), limit=3)

    assert [slot.start for slot in slots] == [at(9), at(10), at(11)]
    assert all(slot.id.startswith("Slot/") for slot in slots)


def test_search_refuses_naive_times_and_unknown_slot_types(scheduler):
    with pytest.raises(ValueError, match="timezone-aware"):
        scheduler.find_free_slots(SESSION, "consult", datetime(2031, 3, 10), datetime(2031, 3, 11))
    with pytest.raises(SchedulingRejected, match="no FHIR service type"):
        scheduler.find_free_slots(SESSION, "massage", at(0), at(23))


# ---------------------------------------------------------------------- book


def test_book_creates_a_booked_appointment_and_marks_the_slot_busy(fhir_server, scheduler, service_types):
    fhir_server.seed_slots(service_types["consult"], [at(9)])
    slot = free_slot(scheduler)
    request = request_for(urgency="urgent")

    booking = scheduler.book(SESSION, slot, request)

    assert booking.external_id.startswith("Appointment/")
    assert booking.slot == slot
    assert booking.status == "booked"
    assert booking.referral_external_id is None
    appointment = fhir_server.get(booking.external_id)
    assert appointment["status"] == "booked"
    assert appointment["slot"] == [{"reference": slot.id}]
    assert datetime.fromisoformat(appointment["start"]) == at(9)
    assert datetime.fromisoformat(appointment["end"]) == at(9, 30)
    assert appointment["participant"] == [
        {"actor": {"display": "Alex Example"}, "required": "required", "status": "accepted"}
    ]
    assert appointment["serviceType"] == [{"coding": [{"system": service_types["consult"][0], "code": "consult"}]}]
    assert appointment["specialty"] == [
        {"coding": [{"system": "http://snomed.info/sct", "code": "394882004", "display": "Pain management"}]}
    ]
    assert appointment["appointmentType"] == {
        "coding": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/v2-0276",
                "code": "ROUTINE",
                "display": "Routine appointment - default if not valued",
            }
        ]
    }
    assert appointment["priority"] == 2
    assert [reason["text"] for reason in appointment["reasonCode"]] == list(request.reasons)
    assert appointment["comment"] == "low back pain for 8 weeks; pain radiates to the left leg"
    assert {"system": BOOKING_SYSTEM, "value": request.booking_key} in appointment["identifier"]
    assert {"system": INQUIRY_SYSTEM, "value": str(request.inquiry_id)} in appointment["identifier"]
    assert "basedOn" not in appointment
    fhir_slot = fhir_server.get(slot.id)
    assert fhir_slot["status"] == "busy"
    assert {"system": BOOKING_SYSTEM, "value": request.booking_key} in fhir_slot["identifier"]
    assert scheduler.find_free_slots(SESSION, "consult", at(0), at(23)) == []


def test_book_without_patient_name_or_reasons(fhir_server, scheduler, service_types):
    fhir_server.seed_slots(service_types["consult"], [at(9)])

    booking = scheduler.book(SESSION, free_slot(scheduler), request_for(patient_display=None, reasons=()))

    appointment = fhir_server.get(booking.external_id)
    assert appointment["participant"][0]["actor"] == {"display": "Patient"}
    assert "reasonCode" not in appointment
    assert "comment" not in appointment


def test_book_with_a_referral_creates_the_service_request_first(fhir_server, scheduler, service_types):
    fhir_server.seed_slots(service_types["imaging"], [at(10)])
    request = request_for("imaging", referral=MRI, urgency="routine")

    booking = scheduler.book(SESSION, free_slot(scheduler, "imaging"), request)

    assert booking.referral_external_id is not None
    assert booking.referral_external_id.startswith("ServiceRequest/")
    order = fhir_server.get(booking.referral_external_id)
    assert order["status"] == "active"
    assert order["intent"] == "order"
    assert order["priority"] == "routine"
    assert order["code"]["coding"] == [{"system": MRI.code_system, "code": MRI.code, "display": MRI.display}]
    assert order["subject"] == {"display": "Alex Example"}
    assert [reason["text"] for reason in order["reasonCode"]] == list(request.reasons)
    assert order["note"] == [{"text": "low back pain for 8 weeks; pain radiates to the left leg"}]
    assert order["identifier"] == [{"system": INQUIRY_SYSTEM, "value": str(request.inquiry_id)}]
    assert order["category"] == [
        {"coding": [{"system": "http://snomed.info/sct", "code": "363679005", "display": "Imaging"}]}
    ]
    assert "requester" not in order  # none configured in this scheduler
    assert datetime.fromisoformat(order["authoredOn"]).tzinfo is not None
    appointment = fhir_server.get(booking.external_id)
    assert appointment["basedOn"] == [{"reference": booking.referral_external_id}]
    assert appointment["priority"] == 9


def test_booking_twice_with_the_same_key_makes_one_appointment(fhir_server, scheduler, service_types):
    first_slot, second_slot = fhir_server.seed_slots(service_types["imaging"], [at(9), at(10)])
    request = request_for("imaging", referral=MRI)
    slots = scheduler.find_free_slots(SESSION, "imaging", at(0), at(23))

    first = scheduler.book(SESSION, slots[0], request)
    # A retry (say the worker crashed before recording the outcome), even offered another slot.
    again = scheduler.book(SESSION, slots[1], request)

    assert again == first
    assert len(appointments_with_key(fhir_server, request.booking_key)) == 1
    assert len(fhir_server.search("ServiceRequest", identifier=f"{INQUIRY_SYSTEM}|{request.inquiry_id}")) == 1
    assert fhir_server.get(first_slot)["status"] == "busy"
    assert fhir_server.get(second_slot)["status"] == "free"


def test_retry_after_a_crash_between_claim_and_appointment_reuses_the_slot(fhir_server, scheduler, service_types):
    claimed_ref, other_ref = fhir_server.seed_slots(service_types["consult"], [at(9), at(10)])
    request = request_for()
    # What a first attempt that died after claiming the slot leaves behind: the slot busy, tagged with the key.
    claimed = fhir_server.get(claimed_ref)
    fhir_server.update(
        {**claimed, "status": "busy", "identifier": [{"system": BOOKING_SYSTEM, "value": request.booking_key}]}
    )
    # The retry is offered the next free slot, since the claimed one is no longer free.
    (offered,) = scheduler.find_free_slots(SESSION, "consult", at(0), at(23))
    assert offered.id == other_ref

    booking = scheduler.book(SESSION, offered, request)

    assert booking.slot == SlotTime(claimed_ref, "consult", at(9), at(9, 30), DEFAULT_LOCATION)
    assert len(appointments_with_key(fhir_server, request.booking_key)) == 1
    assert fhir_server.get(other_ref)["status"] == "free"


def test_booking_a_slot_another_booking_holds_raises_slot_taken(fhir_server, scheduler, service_types):
    fhir_server.seed_slots(service_types["consult"], [at(9)])
    slot = free_slot(scheduler)
    scheduler.book(SESSION, slot, request_for())
    other = request_for()

    with pytest.raises(SlotTaken):
        scheduler.book(SESSION, slot, other)
    assert appointments_with_key(fhir_server, other.booking_key) == []


def test_booking_a_slot_that_no_longer_exists_raises_slot_taken(scheduler):
    with pytest.raises(SlotTaken):
        scheduler.book(SESSION, SlotTime("Slot/gone", "consult", at(9), at(9, 30)), request_for())


def test_concurrent_bookings_of_one_slot_have_exactly_one_winner(fhir_server, make_scheduler, service_types):
    # Two schedulers (two HTTP clients, as two workers would have) race for each of several slots.
    rounds = 5
    fhir_server.seed_slots(service_types["consult"], [at(9 + hour) for hour in range(rounds)])
    first, second = make_scheduler(), make_scheduler()
    slots = first.find_free_slots(SESSION, "consult", at(0), at(23))
    assert len(slots) == rounds

    for slot in slots:
        results = race(slot, [(first, request_for()), (second, request_for())])

        winners = [result for result in results if isinstance(result, Booking)]
        losers = [result for result in results if isinstance(result, SlotTaken)]
        assert len(winners) == 1, results
        assert len(losers) == 1, results
        holders = fhir_server.search("Appointment", slot=slot.id)
        assert [f"Appointment/{holder['id']}" for holder in holders] == [winners[0].external_id]


def race(slot: SlotTime, contenders, call: str = "book") -> list[object]:
    """Each (scheduler, argument) calls ``call`` on ``slot`` in its own thread, released together: ``book``
    with a request, ``hold`` with a hold key. The results or exceptions."""
    results: list[object] = [None] * len(contenders)
    barrier = threading.Barrier(len(contenders))

    def run(index: int, scheduler, argument: BookingRequest | str) -> None:
        barrier.wait()
        try:
            results[index] = getattr(scheduler, call)(SESSION, slot, argument)
        except Exception as error:  # collected for the assertions
            results[index] = error

    threads = [
        threading.Thread(target=run, args=(index, scheduler, argument))
        for index, (scheduler, argument) in enumerate(contenders)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


# ---------------------------------------------------------------------- cancel and read


def test_cancel_cancels_the_appointment_and_frees_the_slot(fhir_server, scheduler, service_types):
    fhir_server.seed_slots(service_types["consult"], [at(9)])
    slot = free_slot(scheduler)
    booking = scheduler.book(SESSION, slot, request_for())

    scheduler.cancel(SESSION, booking.external_id, "patient asked to cancel")

    appointment = fhir_server.get(booking.external_id)
    assert appointment["status"] == "cancelled"
    assert appointment["cancelationReason"] == {"text": "patient asked to cancel"}
    fhir_slot = fhir_server.get(slot.id)
    assert fhir_slot["status"] == "free"
    assert "identifier" not in fhir_slot
    assert scheduler.find_free_slots(SESSION, "consult", at(0), at(23)) == [slot]
    assert scheduler.read(SESSION, booking.external_id).status == "cancelled"


def test_cancelling_twice_is_harmless(fhir_server, scheduler, service_types):
    fhir_server.seed_slots(service_types["consult"], [at(9)])
    slot = free_slot(scheduler)
    booking = scheduler.book(SESSION, slot, request_for())
    scheduler.cancel(SESSION, booking.external_id, "first")
    version = fhir_server.get(booking.external_id)["meta"]["versionId"]

    scheduler.cancel(SESSION, booking.external_id, "second")

    appointment = fhir_server.get(booking.external_id)
    assert appointment["meta"]["versionId"] == version
    assert appointment["cancelationReason"] == {"text": "first"}
    assert fhir_server.get(slot.id)["status"] == "free"


def test_cancel_does_not_free_a_slot_rebooked_by_someone_else(fhir_server, scheduler, service_types):
    fhir_server.seed_slots(service_types["consult"], [at(9)])
    slot = free_slot(scheduler)
    booking = scheduler.book(SESSION, slot, request_for())
    scheduler.cancel(SESSION, booking.external_id, "first")
    rebooked = scheduler.book(SESSION, slot, request_for())

    scheduler.cancel(SESSION, booking.external_id, "again")

    assert fhir_server.get(slot.id)["status"] == "busy"
    assert scheduler.read(SESSION, rebooked.external_id).status == "booked"


def test_the_same_key_can_book_again_after_its_appointment_was_cancelled(fhir_server, scheduler, service_types):
    fhir_server.seed_slots(service_types["consult"], [at(9), at(10)])
    request = request_for()
    first = scheduler.book(SESSION, free_slot_at(scheduler, at(9)), request)
    scheduler.cancel(SESSION, first.external_id, "clinic closed that morning")

    second = scheduler.book(SESSION, free_slot_at(scheduler, at(10)), request)

    assert second.external_id != first.external_id
    assert second.status == "booked"
    assert second.slot.start == at(10)


def free_slot_at(scheduler, start: datetime) -> SlotTime:
    return next(slot for slot in scheduler.find_free_slots(SESSION, "consult", at(0), at(23)) if slot.start == start)


def test_read_returns_the_appointment_as_the_server_has_it(fhir_server, scheduler, service_types):
    fhir_server.seed_slots(service_types["injection"], [at(15)])
    slot = free_slot(scheduler, "injection")
    booking = scheduler.book(SESSION, slot, request_for("injection"))

    assert scheduler.read(SESSION, booking.external_id) == booking

    # The clinic marks a no-show in its own system; read reports it.
    appointment = fhir_server.get(booking.external_id)
    fhir_server.update({**appointment, "status": "noshow"})
    current = scheduler.read(SESSION, booking.external_id)
    assert current.status == "noshow"
    assert current.slot == SlotTime(slot.id, "injection", at(15), at(15, 30), DEFAULT_LOCATION)


@pytest.mark.parametrize("external_id", ["Appointment/does-not-exist", "does-not-exist", "Slot/1", "Appointment/../x"])
def test_unknown_appointment(scheduler, external_id):
    with pytest.raises(UnknownAppointment):
        scheduler.read(SESSION, external_id)
    with pytest.raises(UnknownAppointment):
        scheduler.cancel(SESSION, external_id, "no reason")


# ---------------------------------------------------------------------- failures


def test_other_client_errors_are_rejections_without_patient_data(fhir_base_url, make_scheduler):
    # A wrong base path: the server answers 404 to everything there, a 4xx that retrying cannot fix.
    scheduler = make_scheduler(fhir_base_url.replace("/fhir/R4/", "/not-fhir/"))
    request = request_for()

    with pytest.raises(SchedulingRejected) as caught:
        scheduler.book(SESSION, SlotTime("Slot/1", "consult", at(9), at(9, 30)), request)
    with pytest.raises(SchedulingRejected, match="HTTP 404"):
        scheduler.find_free_slots(SESSION, "consult", at(0), at(23))

    message = str(caught.value)
    assert "HTTP 404" in message
    assert request.patient_display not in message
    assert request.booking_key not in message
    assert all(reason not in message for reason in request.reasons)


def test_an_unreachable_server_is_unavailable(make_scheduler):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on the port now: connection refused at once.
    scheduler = make_scheduler(f"http://127.0.0.1:{port}/fhir/R4/", retries=0)

    with pytest.raises(SchedulerUnavailable):
        scheduler.find_free_slots(SESSION, "consult", at(0), at(23))


# ---------------------------------------------------------------------- changed_appointments


def our_appointment(fhir_server, status: str = "booked") -> dict:
    """An Appointment carrying our booking identifier, made directly on the server."""
    return fhir_server.create(
        {
            "resourceType": "Appointment",
            "identifier": [{"system": BOOKING_SYSTEM, "value": str(uuid.uuid4())}],
            "status": status,
            "participant": [{"actor": {"display": "Patient"}, "status": "accepted"}],
        }
    )


def test_changed_appointments_reads_every_change_past_a_full_page_once_oldest_first(fhir_server, scheduler):
    marker = our_appointment(fhir_server)
    since = datetime.fromisoformat(marker["meta"]["lastUpdated"])
    # More than one page (100): the test server gives no next link, so the pages are asked for by time.
    made = [our_appointment(fhir_server, status="cancelled" if n % 2 else "booked") for n in range(130)]
    fhir_server.create({"resourceType": "Appointment", "status": "cancelled", "participant": [{"status": "accepted"}]})

    changes = scheduler.changed_appointments(SESSION, since)

    # Oldest first; appointments stamped in the same millisecond may come in either order.
    assert [change.updated_at for change in changes] == sorted(change.updated_at for change in changes)
    assert sorted((c.external_id, c.status, c.version, c.updated_at) for c in changes) == sorted(
        (
            f"Appointment/{a['id']}",
            a["status"],
            a["meta"]["versionId"],
            datetime.fromisoformat(a["meta"]["lastUpdated"]),
        )
        for a in made
    )
