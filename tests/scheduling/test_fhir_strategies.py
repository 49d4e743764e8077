"""The FHIR scheduler's booking strategies (routing/adapters/scheduling/fhir_strategies.py) on real servers.

Which server each test runs against, and why:

* the conformance server (tests/scheduling/conformance_server.py, in-process on loopback) for the
  ``appointment`` and ``operations`` strategies: Medplum neither marks a slot busy when an Appointment
  references it nor has ``$find``/``$hold``/``$book``, so only a server written for them shows them work;
* Medplum (tests/fhir_server) where the test is about what ``auto`` makes of a general FHIR server that
  lets clients write Slots, or about the ``slot-update`` strategy's own writes (its waitlist holds).

The contract every strategy keeps (earliest first, one winner per slot, idempotent retries, cancel frees
the slot) is tests/scheduling/test_scheduler_contract.py; these are what sets the strategies apart.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import requests

from routing.adapters.scheduling.interface import (
    BookingRequest,
    PatientDetails,
    ReferralRequest,
    SchedulerUnavailable,
    SchedulingRejected,
    SlotHold,
    SlotTaken,
    SlotTime,
)
from routing.config import load_settings
from routing.domain.booking_plan import BookingPlan
from routing.domain.locations import DEFAULT_LOCATION
from routing.wiring import build_scheduler
from tests.faults.tcp_proxy import TcpProxy
from tests.scheduling.conformance_server import BASE
from tests.scheduling.conftest import TEST_IDENTITY

DAY = datetime(2031, 6, 2, tzinfo=UTC)
SESSION = None  # the FHIR scheduler ignores the database session
MRI = ReferralRequest("http://www.ama-assn.org/go/cpt", "72148", "MRI lumbar spine without contrast")
BOOKING_SYSTEM = TEST_IDENTITY.booking_system
HOLD_SYSTEM = TEST_IDENTITY.hold_system


def at(hour: int) -> datetime:
    return DAY + timedelta(hours=hour)


def request_for(slot_type: str = "consult", **overrides) -> BookingRequest:
    inquiry_id = uuid.uuid4()
    fields = {
        "inquiry_id": inquiry_id,
        "booking_key": str(inquiry_id),
        "slot_type": slot_type,
        "route": slot_type,
        "urgency": "soon",
        **overrides,
    }
    return BookingRequest(**fields)


def free(scheduler, slot_type: str = "consult") -> list[datetime]:
    return [slot.start for slot in scheduler.find_free_slots(SESSION, slot_type, DAY, at(23))]


def calls(server) -> list[tuple[str, str]]:
    """(method, path under the base) of every request the server received, in order."""
    return [(r.method, r.path.split("?", 1)[0].removeprefix(BASE)) for r in server.received]


def sent(server, method: str, path: str) -> list:
    return [r for r in server.received if (r.method, r.path.split("?", 1)[0].removeprefix(BASE)) == (method, path)]


# ---------------------------------------------------------------------- choosing the strategy


@pytest.mark.parametrize("mode", ["operations", "appointment"])
def test_auto_takes_the_strategy_the_capability_statement_offers(make_conformance_server, scheduler_for, mode):
    """Conformance server: it declares either the IHE operations or Appointment create with read-only Slots."""
    server = make_conformance_server(mode)

    assert scheduler_for(server.base_url).booking_strategy() == mode
    assert calls(server) == [("GET", "metadata")]


def test_auto_takes_slot_update_on_a_server_that_lets_clients_write_slots(fhir_base_url, scheduler_for):
    """Medplum: its CapabilityStatement allows Slot update (and has no scheduling operations)."""
    assert scheduler_for(fhir_base_url).booking_strategy() == "slot-update"


def test_auto_prefers_the_operations_when_the_server_also_allows_slot_writes(make_conformance_server, scheduler_for):
    """Conformance server serving a statement that offers everything: the server's own booking wins."""
    server = make_conformance_server("operations")
    statement = server.capability_statement()
    for resource in statement["rest"][0]["resource"]:
        resource["interaction"] = [{"code": code} for code in ("read", "search-type", "create", "update")]
    server.statement = statement

    assert scheduler_for(server.base_url).booking_strategy() == "operations"


def test_the_setting_overrides_the_capability_statement_which_is_then_not_read(make_conformance_server):
    """Conformance server (operations mode); the scheduler is built from settings as the service builds it."""
    server = make_conformance_server("operations")
    scheduler = build_scheduler(load_settings(environ=_env(server, FHIR_BOOKING_STRATEGY="Appointment")))

    assert scheduler.booking_strategy() == "appointment"
    assert calls(server) == []
    assert build_scheduler(load_settings(environ=_env(server))).booking_strategy() == "operations"  # auto


def test_an_unknown_strategy_is_refused_when_the_scheduler_is_built(scheduler_for):
    """No server: the mistake shows when the scheduler is made, not at its first booking."""
    with pytest.raises(ValueError, match=r"^unknown FHIR booking strategy 'slots' or appointment status 'booked'$"):
        scheduler_for("http://127.0.0.1:9/fhir/", strategy="slots")


def _env(server, **settings: str) -> dict[str, str]:
    return {
        "ROUTING_SCHEDULER": "fhir",
        "ROUTING_SCHEDULER_EVENTS_SECRET": "whsec_dGVzdHNlY3JldA==",
        "FHIR_BASE_URL": server.base_url,
        **settings,
    }


def test_a_server_unreachable_at_start_is_asked_again_on_the_next_call(
    make_conformance_server, scheduler_for, service_types
):
    """Conformance server (operations) behind a proxy that is cut first: nothing is assumed meanwhile."""
    server = make_conformance_server("operations")
    server.seed_slots(service_types["consult"], [at(9)])
    address = urlsplit(server.base_url)
    proxy = TcpProxy(address.hostname, address.port)
    try:
        scheduler = scheduler_for(server.base_url.replace(f":{address.port}/", f":{proxy.port}/"), retries=0)
        proxy.cut()
        with pytest.raises(SchedulerUnavailable):
            scheduler.find_free_slots(SESSION, "consult", DAY, at(23))
        proxy.restore()

        assert free(scheduler) == [at(9)]
        assert scheduler.booking_strategy() == "operations"
    finally:
        proxy.close()
    assert calls(server).count(("GET", "metadata")) == 1


def test_a_capability_statement_that_fits_no_strategy_is_refused_naming_what_is_missing(
    make_conformance_server, scheduler_for
):
    """Conformance server serving a read-only statement, then its real one: the next call reads it again."""
    server = make_conformance_server("appointment")
    server.statement = {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-01-01",
        "kind": "instance",
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [{"mode": "server", "resource": [{"type": "Appointment", "interaction": [{"code": "read"}]}]}],
    }
    scheduler = scheduler_for(server.base_url)

    with pytest.raises(SchedulingRejected) as refused:
        scheduler.find_free_slots(SESSION, "consult", DAY, at(23))
    server.statement = None

    assert str(refused.value) == (
        "the FHIR server's CapabilityStatement fits no booking strategy (operations needs Appointment "
        "search-type, Appointment $find, Appointment $hold, Appointment $book; slot-update needs Appointment "
        "search-type, Appointment create, Appointment update, Slot search-type, Slot read, Slot update; "
        "appointment needs Appointment search-type, Appointment create, Appointment update, Slot search-type, "
        "Slot read); set FHIR_BOOKING_STRATEGY if it does more than it says"
    )
    assert scheduler.booking_strategy() == "appointment"


def test_metadata_that_is_not_a_capability_statement_is_refused(make_conformance_server, scheduler_for):
    """Conformance server answering a Bundle at metadata, as Medplum's bare router does."""
    server = make_conformance_server("appointment")
    server.statement = {"resourceType": "Bundle", "type": "searchset", "total": 0}

    with pytest.raises(SchedulingRejected, match=r"^the server's metadata is a Bundle, not a CapabilityStatement; set"):
        scheduler_for(server.base_url).booking_strategy()


# ---------------------------------------------------------------------- operations ($find, $hold, $book)


def test_operations_book_our_appointment_on_the_held_one(make_conformance_server, scheduler_for, service_types):
    """Conformance server (operations): $find proposes, $hold holds, $book books our content, nothing else."""
    server = make_conformance_server("operations")
    (slot_ref,) = server.seed_slots(service_types["imaging"], [at(10)], minutes=60, actors=["Practitioner/dr-lee"])
    scheduler = scheduler_for(server.base_url)
    (proposal,) = scheduler.find_free_slots(SESSION, "imaging", DAY, at(23))
    patient = PatientDetails("Ana", "Ortega", email="ana@example.org")
    request = request_for("imaging", referral=MRI, patient=patient, reasons=("low back pain",))

    booking = scheduler.book(SESSION, proposal, request)

    assert proposal.id.startswith("Appointment/")
    assert (booking.external_id, booking.status, booking.slot) == (
        proposal.id,
        "booked",
        SlotTime(slot_ref, "imaging", at(10), at(11), DEFAULT_LOCATION),
    )
    assert [path for method, path in calls(server) if method == "POST"] == [
        "Appointment/$find",
        "Patient",
        "Appointment/$hold",
        "ServiceRequest",
        "Appointment/$book",
    ]
    (book,) = sent(server, "POST", "Appointment/$book")
    assert [(p["name"], p["resource"]["id"], p["resource"]["status"]) for p in book.body["parameter"]] == [
        ("appointment-resource", proposal.id.removeprefix("Appointment/"), "pending")
    ]
    stored = server.get(booking.external_id)
    assert {"system": BOOKING_SYSTEM, "value": request.booking_key} in stored["identifier"]
    assert stored["basedOn"] == [{"reference": booking.referral_external_id}]
    (record,) = server.search("Patient")
    assert [p["actor"].get("reference") for p in stored["participant"]] == [
        f"Patient/{record['id']}",
        "Practitioner/dr-lee",
    ]
    assert server.get(slot_ref)["status"] == "busy"


def test_operations_search_sends_the_window_and_service_type_and_keeps_the_contracts_bounds(
    make_conformance_server, scheduler_for, service_types
):
    """Conformance server (operations): its $find window includes its start, which ours excludes."""
    server = make_conformance_server("operations")
    server.seed_slots(service_types["consult"], [at(9), at(10), at(11), at(12)])
    scheduler = scheduler_for(server.base_url)

    found = scheduler.find_free_slots(SESSION, "consult", at(9), at(12), limit=2)

    (find,) = sent(server, "POST", "Appointment/$find")
    assert find.path.endswith("?_count=3")
    assert find.body["parameter"] == [
        {"name": "start", "valueDateTime": "2031-06-02T09:00:00Z"},
        {"name": "end", "valueDateTime": "2031-06-02T12:00:00Z"},
        {"name": "visit-type", "valueString": "|".join(service_types["consult"])},
    ]
    assert [slot.start for slot in found] == [at(10), at(11)]


def test_a_hold_never_booked_expires_and_the_slot_is_offered_again(
    make_conformance_server, scheduler_for, service_types
):
    """Conformance server (operations, holds of 300 s on its own clock): another client holds and walks away."""
    server = make_conformance_server("operations", hold_seconds=300)
    server.seed_slots(service_types["consult"], [at(9)])
    scheduler = scheduler_for(server.base_url)
    (proposal,) = scheduler.find_free_slots(SESSION, "consult", DAY, at(23))
    held = requests.post(
        f"{server.base_url}Appointment/$hold",
        json={
            "resourceType": "Parameters",
            "parameter": [{"name": "appointment-reference", "valueReference": {"reference": proposal.id}}],
        },
        timeout=10,
    )
    assert held.json()["entry"][0]["resource"]["status"] == "pending"

    while_held = free(scheduler)
    with pytest.raises(SlotTaken):
        scheduler.book(SESSION, proposal, request_for())
    server.clock.advance(299)
    still_held = free(scheduler)
    server.clock.advance(2)

    assert (while_held, still_held, free(scheduler)) == ([], [], [at(9)])
    assert server.get(proposal.id)["status"] == "cancelled"
    assert scheduler.book_earliest(SESSION, BookingPlan("consult", DAY, at(23)), request_for()).appointment.start == at(
        9
    )


def test_a_refused_book_releases_the_hold_at_once(make_conformance_server, scheduler_for, service_types):
    """Conformance server (operations) refusing one $book with 400: the client gives the hold back."""
    server = make_conformance_server("operations")
    server.seed_slots(service_types["consult"], [at(9)])
    scheduler = scheduler_for(server.base_url)
    (proposal,) = scheduler.find_free_slots(SESSION, "consult", DAY, at(23))
    server.refuse("$book", 400)
    request = request_for()

    with pytest.raises(SchedulingRejected, match=r"Appointment \$book refused: HTTP 400"):
        scheduler.book(SESSION, proposal, request)

    (_, release) = sent(server, "POST", "Appointment/$book")
    assert release.body["parameter"][0]["resource"]["status"] == "cancelled"
    assert free(scheduler) == [at(9)]  # no clock moved: released, not expired
    assert scheduler.find_booking(SESSION, request.booking_key) is None


def test_a_hold_whose_release_is_refused_too_expires(make_conformance_server, scheduler_for, service_types):
    """Conformance server (operations) refusing the $book and the release: the server's expiry frees it."""
    server = make_conformance_server("operations", hold_seconds=60)
    server.seed_slots(service_types["consult"], [at(9)])
    scheduler = scheduler_for(server.base_url)
    (proposal,) = scheduler.find_free_slots(SESSION, "consult", DAY, at(23))
    server.refuse("$book", 400, 400)

    with pytest.raises(SchedulingRejected):
        scheduler.book(SESSION, proposal, request_for())
    held = free(scheduler)
    server.clock.advance(61)

    assert (held, free(scheduler)) == ([], [at(9)])


def test_an_unanswered_book_leaves_the_hold_for_the_retry_or_the_expiry(
    make_conformance_server, scheduler_for, service_types
):
    """Conformance server (operations) answering $book 503: it may have booked, so the hold is not released."""
    server = make_conformance_server("operations", hold_seconds=60)
    server.seed_slots(service_types["consult"], [at(9)])
    scheduler = scheduler_for(server.base_url, retries=0)
    (proposal,) = scheduler.find_free_slots(SESSION, "consult", DAY, at(23))
    server.refuse("$book", 503)

    with pytest.raises(SchedulerUnavailable):
        scheduler.book(SESSION, proposal, request_for())

    assert len(sent(server, "POST", "Appointment/$book")) == 1
    assert server.get(proposal.id)["status"] == "pending"
    server.clock.advance(61)
    assert free(scheduler) == [at(9)]


def test_a_retried_book_after_a_lost_answer_returns_the_booking_it_made(
    make_conformance_server, scheduler_for, service_types
):
    """Conformance server (operations): the booking landed, its answer did not; the retry finds it by the key."""
    server = make_conformance_server("operations")
    server.seed_slots(service_types["consult"], [at(9), at(10)])
    scheduler = scheduler_for(server.base_url)
    first, second = scheduler.find_free_slots(SESSION, "consult", DAY, at(23))
    request = request_for()
    booking = scheduler.book(SESSION, first, request)

    again = scheduler.book(SESSION, second, request)

    assert again == booking
    assert len(sent(server, "POST", "Appointment/$hold")) == 1
    assert free(scheduler) == [at(10)]


def test_a_slot_staff_chose_is_booked_through_its_proposal(make_conformance_server, scheduler_for, service_types):
    """Conformance server (operations): staff name a Slot from their EHR, not a proposal."""
    server = make_conformance_server("operations")
    _, chosen = server.seed_slots(service_types["consult"], [at(9), at(10)])
    scheduler = scheduler_for(server.base_url)

    booking = scheduler.book(SESSION, SlotTime(chosen, "consult", DAY, DAY), request_for())

    assert (booking.slot.id, booking.slot.start, booking.status) == (chosen, at(10), "booked")
    assert free(scheduler) == [at(9)]


def test_cancelling_with_the_operations_books_the_appointment_cancelled(
    make_conformance_server, scheduler_for, service_types
):
    """Conformance server (operations): Appointments cannot be updated there; ITI-117's $book cancels."""
    server = make_conformance_server("operations")
    (slot_ref,) = server.seed_slots(service_types["consult"], [at(9)])
    scheduler = scheduler_for(server.base_url)
    (proposal,) = scheduler.find_free_slots(SESSION, "consult", DAY, at(23))
    booking = scheduler.book(SESSION, proposal, request_for())

    scheduler.cancel(SESSION, booking.external_id, "patient called")

    cancel = sent(server, "POST", "Appointment/$book")[-1].body["parameter"][0]["resource"]
    assert (cancel["status"], cancel["cancelationReason"]) == ("cancelled", {"text": "patient called"})
    assert sent(server, "PUT", booking.external_id) == []
    assert (server.get(booking.external_id)["status"], server.get(slot_ref)["status"]) == ("cancelled", "free")


# ---------------------------------------------------------------------- appointment (the server reserves)


def test_the_appointment_strategy_lets_the_server_mark_the_slot_busy(
    make_conformance_server, scheduler_for, service_types
):
    """Conformance server (appointment mode): clients cannot write Slots there, so none is written."""
    server = make_conformance_server("appointment")
    (slot_ref,) = server.seed_slots(service_types["consult"], [at(9)], actors=["Practitioner/dr-lee"])
    scheduler = scheduler_for(server.base_url)
    (slot,) = scheduler.find_free_slots(SESSION, "consult", DAY, at(23))

    booking = scheduler.book(SESSION, slot, request_for())

    assert (booking.slot, booking.status) == (slot, "booked")
    assert [call for call in calls(server) if call[0] != "GET"] == [("POST", "Appointment")]
    stored = server.get(booking.external_id)
    assert stored["slot"] == [{"reference": slot_ref}]
    assert stored["participant"][1]["actor"] == {"reference": "Practitioner/dr-lee"}
    assert server.get(slot_ref)["status"] == "busy"


@pytest.mark.parametrize("conditional", [True, False])
def test_the_create_is_conditional_only_when_the_capability_statement_says_so(
    make_conformance_server, scheduler_for, service_types, conditional
):
    """Conformance server (appointment mode) with and without conditionalCreate on Appointment (without, it
    refuses If-None-Exist): the search by the booking key before the create is what prevents a second one."""
    server = make_conformance_server("appointment", conditional_create=conditional)
    server.seed_slots(service_types["consult"], [at(9)])
    scheduler = scheduler_for(server.base_url)
    (slot,) = scheduler.find_free_slots(SESSION, "consult", DAY, at(23))
    request = request_for()

    scheduler.book(SESSION, slot, request)

    (create,) = sent(server, "POST", "Appointment")
    assert ("If-None-Exist" in create.headers) is conditional
    searched = [r for r in server.received if r.method == "GET" and "identifier=" in r.path]
    assert server.received.index(searched[0]) < server.received.index(create)


def test_a_slot_taken_between_reading_and_booking_is_slot_taken(make_conformance_server, scheduler_for, service_types):
    """Conformance server (appointment mode): another booker takes the slot just before our create; 409."""
    server = make_conformance_server("appointment")
    (slot_ref,) = server.seed_slots(service_types["consult"], [at(9)])
    scheduler = scheduler_for(server.base_url)
    (slot,) = scheduler.find_free_slots(SESSION, "consult", DAY, at(23))
    server.interfere("create Appointment", lambda: server.book_for_someone_else(slot_ref))
    request = request_for()

    with pytest.raises(SlotTaken, match=r"taken by another booking \(HTTP 409\)"):
        scheduler.book(SESSION, slot, request)
    assert scheduler.find_booking(SESSION, request.booking_key) is None


def test_a_create_refused_because_our_own_lost_attempt_holds_the_slot_returns_that_appointment(
    make_conformance_server, scheduler_for, service_types
):
    """Conformance server (appointment mode, no conditional create): our first create landed, its answer was
    lost; the repeat gets 409 for the slot, and the appointment is found by the booking key."""
    server = make_conformance_server("appointment", conditional_create=False)
    (slot_ref,) = server.seed_slots(service_types["consult"], [at(9)])
    scheduler = scheduler_for(server.base_url)
    (slot,) = scheduler.find_free_slots(SESSION, "consult", DAY, at(23))
    request = request_for()
    landed = {}
    server.interfere(
        "create Appointment", lambda: landed.update(server.book_for_someone_else(slot_ref, request.booking_key))
    )

    booking = scheduler.book(SESSION, slot, request)

    assert booking.external_id == f"Appointment/{landed['id']}"
    assert len(server.search("Appointment", identifier=f"{BOOKING_SYSTEM}|{request.booking_key}")) == 1


def test_a_conflict_that_is_not_about_the_slot_is_a_rejection(make_conformance_server, scheduler_for, service_types):
    """Conformance server (appointment mode) answering one create 409 while the slot stays free."""
    server = make_conformance_server("appointment")
    server.seed_slots(service_types["consult"], [at(9)])
    scheduler = scheduler_for(server.base_url)
    (slot,) = scheduler.find_free_slots(SESSION, "consult", DAY, at(23))
    server.refuse("create Appointment", 409)

    with pytest.raises(SchedulingRejected, match="create Appointment refused: HTTP 409"):
        scheduler.book(SESSION, slot, request_for())
    assert free(scheduler) == [at(9)]


def test_a_server_that_takes_proposed_appointments_gets_them_proposed(
    make_conformance_server, scheduler_for, service_types
):
    """Conformance server (appointment mode) that accepts only ``proposed`` creates and confirms them."""
    server = make_conformance_server("appointment", create_status="proposed")
    server.seed_slots(service_types["consult"], [at(9), at(10)])
    proposing = scheduler_for(server.base_url, appointment_status="proposed")
    booking = scheduler_for(server.base_url)
    first, second = proposing.find_free_slots(SESSION, "consult", DAY, at(23))

    made = proposing.book(SESSION, first, request_for())
    with pytest.raises(SchedulingRejected, match="HTTP 422"):
        booking.book(SESSION, second, request_for())

    assert [r.body["status"] for r in sent(server, "POST", "Appointment")] == ["proposed", "booked"]
    assert made.status == "booked"
    assert free(proposing) == [at(10)]


# ---------------------------------------------------------------------- waitlist holds, per strategy


def test_slot_update_holds_the_slot_busy_tentative_under_the_hold_key_and_books_it_under_the_booking_key(
    fhir_server, make_scheduler, service_types
):
    """Medplum (slot-update): the hold and the booking are the Slot's status and our tag on it."""
    (slot_ref,) = fhir_server.seed_slots(service_types["imaging"], [at(10)])
    scheduler = make_scheduler()
    (slot,) = scheduler.find_free_slots(SESSION, "imaging", DAY, at(23))
    request = request_for("imaging", referral=MRI, reasons=("low back pain",))

    hold = scheduler.hold(SESSION, slot, "offer-1")
    held = fhir_server.get(slot_ref)
    booking = scheduler.book_held(SESSION, hold, request)

    assert hold == SlotHold(slot, "offer-1", slot_ref)
    assert (held["status"], held["identifier"]) == ("busy-tentative", [{"system": HOLD_SYSTEM, "value": "offer-1"}])
    booked = fhir_server.get(slot_ref)
    assert (booked["status"], booked["identifier"]) == (
        "busy",
        [{"system": BOOKING_SYSTEM, "value": request.booking_key}],
    )
    appointment = fhir_server.get(booking.external_id)
    assert (appointment["status"], appointment["slot"]) == ("booked", [{"reference": slot_ref}])
    assert appointment["basedOn"] == [{"reference": booking.referral_external_id}]
    assert {"system": BOOKING_SYSTEM, "value": request.booking_key} in appointment["identifier"]


def test_slot_update_release_frees_only_a_slot_its_own_hold_still_keeps(fhir_server, make_scheduler, service_types):
    """Medplum (slot-update): a stale release (its offer long over) must not free the next offer's hold."""
    (slot_ref,) = fhir_server.seed_slots(service_types["consult"], [at(9)])
    scheduler = make_scheduler()
    (slot,) = scheduler.find_free_slots(SESSION, "consult", DAY, at(23))
    first = scheduler.hold(SESSION, slot, "offer-1")

    scheduler.release(SESSION, first)
    freed = fhir_server.get(slot_ref)
    scheduler.hold(SESSION, slot, "offer-2")
    scheduler.release(SESSION, first)

    assert (freed["status"], "identifier" in freed) == ("free", False)
    kept = fhir_server.get(slot_ref)
    assert (kept["status"], kept["identifier"]) == ("busy-tentative", [{"system": HOLD_SYSTEM, "value": "offer-2"}])
    with pytest.raises(SlotTaken):
        scheduler.book_held(SESSION, first, request_for())


def test_slot_update_book_held_retried_after_a_crash_between_claim_and_appointment_finishes_it(
    fhir_server, make_scheduler, service_types
):
    """Medplum (slot-update): the first attempt claimed the held slot and died before the Appointment."""
    (slot_ref,) = fhir_server.seed_slots(service_types["consult"], [at(9)])
    scheduler = make_scheduler()
    (slot,) = scheduler.find_free_slots(SESSION, "consult", DAY, at(23))
    hold = scheduler.hold(SESSION, slot, "offer-1")
    request = request_for()
    claimed = fhir_server.get(slot_ref)
    fhir_server.update(
        {**claimed, "status": "busy", "identifier": [{"system": BOOKING_SYSTEM, "value": request.booking_key}]}
    )

    booking = scheduler.book_held(SESSION, hold, request)

    assert (booking.status, booking.slot.id, booking.slot.start) == ("booked", slot_ref, at(9))
    assert len(fhir_server.search("Appointment", identifier=f"{BOOKING_SYSTEM}|{request.booking_key}")) == 1


def test_the_appointment_strategy_holds_with_a_pending_appointment_naming_no_patient_and_books_it_by_update(
    make_conformance_server, scheduler_for, service_types
):
    """Conformance server (appointment mode): the pending Appointment holds the slot; the update books it."""
    server = make_conformance_server("appointment")
    (slot_ref,) = server.seed_slots(service_types["consult"], [at(9)], actors=["Practitioner/dr-lee"])
    scheduler = scheduler_for(server.base_url)  # auto: reads that the server creates conditionally
    (slot,) = scheduler.find_free_slots(SESSION, "consult", DAY, at(23))
    request = request_for(patient=PatientDetails("Ana", "Ortega", email="ana@example.org"))

    hold = scheduler.hold(SESSION, slot, "offer-1")
    pending = server.get(hold.external_id)
    held_slot = server.get(slot_ref)["status"]
    booking = scheduler.book_held(SESSION, hold, request)

    (create,) = sent(server, "POST", "Appointment")
    assert create.headers["If-None-Exist"] == f"identifier={HOLD_SYSTEM}|offer-1&status=pending"
    assert (pending["status"], pending["slot"], pending["identifier"]) == (
        "pending",
        [{"reference": slot_ref}],
        [{"system": HOLD_SYSTEM, "value": "offer-1"}],
    )
    assert [p["actor"] for p in pending["participant"]] == [
        {"display": "Waitlist patient"},
        {"reference": "Practitioner/dr-lee"},
    ]
    assert held_slot == "busy-tentative"
    (update,) = sent(server, "PUT", hold.external_id)
    assert update.headers["If-Match"] == 'W/"1"'
    stored = server.get(booking.external_id)
    assert (booking.external_id, stored["status"], server.get(slot_ref)["status"]) == (
        hold.external_id,
        "booked",
        "busy",
    )
    (record,) = server.search("Patient")
    assert [p["actor"].get("reference") for p in stored["participant"]] == [
        f"Patient/{record['id']}",
        "Practitioner/dr-lee",
    ]
    assert {"system": BOOKING_SYSTEM, "value": request.booking_key} in stored["identifier"]


def test_the_appointment_strategy_releases_by_cancelling_the_pending_appointment(
    make_conformance_server, scheduler_for, service_types
):
    """Conformance server (appointment mode): cancelling the pending Appointment frees the slot."""
    server = make_conformance_server("appointment")
    (slot_ref,) = server.seed_slots(service_types["consult"], [at(9)])
    scheduler = scheduler_for(server.base_url, strategy="appointment")
    (slot,) = scheduler.find_free_slots(SESSION, "consult", DAY, at(23))
    hold = scheduler.hold(SESSION, slot, "offer-1")

    scheduler.release(SESSION, hold)

    cancelled = server.get(hold.external_id)
    assert (cancelled["status"], cancelled["cancelationReason"]) == ("cancelled", {"text": "waitlist offer ended"})
    assert server.get(slot_ref)["status"] == "free"


def test_the_appointment_strategy_does_not_book_a_hold_staff_cancelled(
    make_conformance_server, scheduler_for, service_types
):
    """Conformance server (appointment mode): the clinic's staff cancel the pending Appointment in their EHR."""
    server = make_conformance_server("appointment")
    server.seed_slots(service_types["consult"], [at(9)])
    scheduler = scheduler_for(server.base_url, strategy="appointment")
    (slot,) = scheduler.find_free_slots(SESSION, "consult", DAY, at(23))
    hold = scheduler.hold(SESSION, slot, "offer-1")
    pending = server.get(hold.external_id)
    staff = requests.put(f"{server.base_url}{hold.external_id}", json={**pending, "status": "cancelled"}, timeout=10)
    assert staff.status_code == 200

    with pytest.raises(SlotTaken, match="no longer holds its slot"):
        scheduler.book_held(SESSION, hold, request_for())
    assert free(scheduler) == [at(9)]


def test_operations_hold_is_a_hold_booked_with_book_and_released_with_book_cancelled(
    make_conformance_server, scheduler_for, service_types
):
    """Conformance server (operations): ``$hold`` keeps the slot; ``$book`` books our content, or cancels."""
    server = make_conformance_server("operations")
    server.seed_slots(service_types["consult"], [at(9), at(10)])
    scheduler = scheduler_for(server.base_url, strategy="operations")
    first, second = scheduler.find_free_slots(SESSION, "consult", DAY, at(23))
    request = request_for()

    booked_hold = scheduler.hold(SESSION, first, "offer-1")
    released_hold = scheduler.hold(SESSION, second, "offer-2")
    booking = scheduler.book_held(SESSION, booked_hold, request)
    scheduler.release(SESSION, released_hold)

    assert (booked_hold.external_id, released_hold.external_id) == (first.id, second.id)
    assert [path for method, path in calls(server) if method == "POST"] == [
        "Appointment/$find",
        "Appointment/$hold",
        "Appointment/$hold",
        "Appointment/$book",
        "Appointment/$book",
    ]
    book, release = (r.body["parameter"][0]["resource"] for r in sent(server, "POST", "Appointment/$book"))
    assert (book["id"], book["status"], release["id"], release["status"]) == (
        booking.external_id.removeprefix("Appointment/"),
        "pending",
        released_hold.external_id.removeprefix("Appointment/"),
        "cancelled",
    )
    assert {"system": BOOKING_SYSTEM, "value": request.booking_key} in book["identifier"]
    assert (server.get(booking.external_id)["status"], free(scheduler)) == ("booked", [at(10)])


def test_operations_book_held_after_the_servers_hold_expired_raises_slot_taken(
    make_conformance_server, scheduler_for, service_types
):
    """Conformance server (operations, holds of 60 s on its clock): the patient answered too late for it."""
    server = make_conformance_server("operations", hold_seconds=60)
    server.seed_slots(service_types["consult"], [at(9)])
    scheduler = scheduler_for(server.base_url, strategy="operations")
    (slot,) = scheduler.find_free_slots(SESSION, "consult", DAY, at(23))
    hold = scheduler.hold(SESSION, slot, "offer-1")
    server.clock.advance(61)

    with pytest.raises(SlotTaken, match="no longer holds its slot"):
        scheduler.book_held(SESSION, hold, request_for())
    scheduler.release(SESSION, hold)  # nothing left to give back: harmless
    assert [method_path for method_path in calls(server) if method_path == ("POST", "Appointment/$book")] == []
