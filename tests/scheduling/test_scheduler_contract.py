"""The scheduler contract: one set of tests run against every implementation of the Scheduler protocol.

Embedded (slots in our SQLite database), FHIR and the tests' shared fake (tests/fake_scheduler.py). A new
back-end joins ``IMPLEMENTATIONS`` and must pass them all.

FHIR runs once per booking strategy (routing/adapters/scheduling/fhir_strategies.py), each against a real
server on loopback that supports it: ``fhir-slot-update`` against Medplum (tests/fhir_server, which lets
clients write Slots), ``fhir-appointment`` and ``fhir-operations`` against the conformance server
(tests/scheduling/conformance_server.py), since Medplum neither marks a slot busy for an Appointment that
references it nor has ``$find``/``$hold``/``$book``.

Every implementation runs on a practice of three sites (``SITES``): ``main`` (the default site, no FHIR
Location: on FHIR, its slots are on Schedules naming no mapped Location), ``north`` and ``south`` (on FHIR,
each a Location its Schedules name).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session

import routing.adapters.scheduling
from routing.adapters.db.models import Location
from routing.adapters.scheduling import embedded
from routing.adapters.scheduling.embedded import EmbeddedScheduler
from routing.adapters.scheduling.fhir import FhirScheduler
from routing.adapters.scheduling.interface import (
    Booking,
    BookingRequest,
    Capabilities,
    Scheduler,
    SlotHold,
    SlotTaken,
    UnknownAppointment,
)
from routing.domain.booking_plan import BookingPlan
from routing.domain.demo_schedule import SlotSpec
from routing.domain.locations import DEFAULT_LOCATION, Site
from routing.domain.terminology import SLOT_TYPES
from routing.domain.vocabulary import SlotType
from tests.conftest import migrated_postgres_copy
from tests.fake_scheduler import FakeScheduler
from tests.scheduling.test_fhir_scheduler import race

IMPLEMENTATIONS: dict[str, type] = {
    "embedded": EmbeddedScheduler,
    "embedded-postgres": EmbeddedScheduler,
    "fhir-slot-update": FhirScheduler,
    "fhir-appointment": FhirScheduler,
    "fhir-operations": FhirScheduler,
    "fake": FakeScheduler,
}
# Far in the future so no server's clock matters; whole hours keep the arithmetic readable.
DAY = datetime(2031, 5, 12, tzinfo=UTC)


#: The practice's sites in every contract test: the default one and two more.
SITES = (DEFAULT_LOCATION, "north", "south")


def at(hour: int) -> datetime:
    return DAY + timedelta(hours=hour)


def practice(fhir_locations: dict[str, str]) -> tuple[Site, ...]:
    """The contract's sites as the location directory gives them, with the FHIR Locations of the mapped ones."""
    return tuple(
        Site(site_id, site_id.title(), frozenset(SLOT_TYPES), fhir_location=fhir_locations.get(site_id))
        for site_id in SITES
    )


@dataclass
class Contract:
    """One implementation under test, with a way to give it free slots."""

    scheduler: Scheduler
    session: Any
    seed_slots: Any  # (slot_type, starts, site=DEFAULT_LOCATION) -> None
    #: A second scheduler on the same slots (another worker), for races; None where that is not tested here.
    rival: Scheduler | None = None
    #: Whether holding a slot again under the same hold key returns the first hold. Not the embedded
    #: scheduler's (its hold commits with the caller's record of it, as a booking does, so no retry meets
    #: one half made; its slots keep no hold key) nor FHIR ``operations``' (``$hold`` takes no key of ours):
    #: there the slot counts as taken.
    holds_again: bool = True

    def free(self, slot_type: str = "consult", start: datetime = DAY, end: datetime = DAY + timedelta(hours=23)):
        """The free slots in the test's day (after midnight, up to 23:00)."""
        return self.scheduler.find_free_slots(self.session, slot_type, start, end, 10)

    def free_at(self, locations: tuple[str, ...] | None, slot_type: str = "consult") -> list[tuple[datetime, str]]:
        """(start, site) of the free slots in the test's day at ``locations`` (None: any site)."""
        found = self.scheduler.find_free_slots(self.session, slot_type, DAY, at(23), 10, locations)
        return [(slot.start, slot.location) for slot in found]


def request_for(slot_type: str = "consult", key: str | None = None) -> BookingRequest:
    inquiry_id = uuid.uuid4()
    return BookingRequest(
        inquiry_id=inquiry_id, booking_key=key or str(inquiry_id), slot_type=slot_type, route=slot_type, urgency="soon"
    )


@pytest.fixture(params=list(IMPLEMENTATIONS))
def contract(request, tmp_path) -> Iterator[Contract]:
    """The implementation named by the parameter, checked to be of its class."""
    for built in _build(request, tmp_path):
        assert type(built.scheduler) is IMPLEMENTATIONS[request.param]
        yield built


@contextmanager
def _embedded_database(request, tmp_path) -> Iterator[URL]:
    """The embedded scheduler's migrated database: SQLite, or PostgreSQL for ``embedded-postgres`` (its claims
    are one statement there: tests/http runs the service on both, this the contract)."""
    if request.param == "embedded-postgres":
        with migrated_postgres_copy(request) as url:
            yield url
        return
    shutil.copyfile(request.getfixturevalue("sqlite_template"), tmp_path / "contract.sqlite3")
    yield make_url(f"sqlite:///{tmp_path / 'contract.sqlite3'}")


def _build(request, tmp_path) -> Iterator[Contract]:
    if request.param in ("embedded", "embedded-postgres"):
        with _embedded_database(request, tmp_path) as url:
            engine = create_engine(url)
            with Session(engine) as session:
                # The migration made the default site; the others are added as staff would.
                session.add_all(Location(id=site, name=site.title(), slot_types=list(SLOT_TYPES)) for site in SITES[1:])
                session.commit()

                def seed(slot_type: str, starts: list[datetime], site: str = DEFAULT_LOCATION) -> None:
                    specs = [
                        SlotSpec(SlotType(slot_type), start, start + timedelta(minutes=30), site) for start in starts
                    ]
                    embedded.add_slots(session, specs)

                yield Contract(EmbeddedScheduler(), session, seed, holds_again=False)
            engine.dispose()  # before the database is dropped
    elif request.param == "fhir-slot-update":
        server = request.getfixturevalue("fhir_server")
        service_types = request.getfixturevalue("service_types")
        make = request.getfixturevalue("make_scheduler")
        locations = {
            site: f"Location/{server.create({'resourceType': 'Location', 'name': site.title()})['id']}"
            for site in SITES[1:]
        }
        sites = practice(locations)

        def seed(slot_type: str, starts: list[datetime], site: str = DEFAULT_LOCATION) -> None:
            actors = [locations[site]] if site in locations else []
            server.seed_slots(service_types[slot_type], starts, actors=actors)

        yield Contract(make(sites=lambda: sites), None, seed, rival=make(sites=lambda: sites))
    elif request.param in ("fhir-appointment", "fhir-operations"):
        strategy = request.param.removeprefix("fhir-")
        server = request.getfixturevalue("make_conformance_server")(strategy)
        service_types = request.getfixturevalue("service_types")
        make = request.getfixturevalue("scheduler_for")
        locations = {
            site: f"Location/{server.add({'resourceType': 'Location', 'name': site.title()})['id']}"
            for site in SITES[1:]
        }
        sites = practice(locations)

        def seed(slot_type: str, starts: list[datetime], site: str = DEFAULT_LOCATION) -> None:
            actors = [locations[site]] if site in locations else []
            server.seed_slots(service_types[slot_type], starts, actors=actors)

        scheduler = make(server.base_url, strategy=strategy, sites=lambda: sites)
        assert scheduler.booking_strategy() == strategy
        rival = make(server.base_url, strategy=strategy, sites=lambda: sites)
        yield Contract(scheduler, None, seed, rival=rival, holds_again=strategy != "operations")
    else:
        fake = FakeScheduler()

        def seed(slot_type: str, starts: list[datetime], site: str = DEFAULT_LOCATION) -> None:
            for start in starts:
                fake.add_slot(slot_type, start, start + timedelta(minutes=30), site)

        yield Contract(fake, None, seed)


def hold_key() -> str:
    return f"offer-{uuid.uuid4()}"


def test_every_scheduler_in_the_package_is_under_contract():
    found = set()
    for module_info in pkgutil.iter_modules(routing.adapters.scheduling.__path__):
        module = importlib.import_module(f"routing.adapters.scheduling.{module_info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and hasattr(cls, "book_earliest") and hasattr(cls, "capabilities"):
                found.add(cls)

    assert found == {EmbeddedScheduler, FhirScheduler}
    assert found <= set(IMPLEMENTATIONS.values())


def test_it_declares_its_capabilities_and_breaker_state(contract):
    assert isinstance(contract.scheduler.capabilities, Capabilities)
    assert contract.scheduler.breaker_state() in (None, "closed")
    assert isinstance(contract.scheduler.name, str)


def test_search_finds_free_slots_of_the_type_after_start_up_to_end_earliest_first_limited(contract):
    contract.seed_slots("consult", [at(12), at(9), at(10), at(20)])
    contract.seed_slots("imaging", [at(11)])

    found = contract.scheduler.find_free_slots(contract.session, "consult", at(9), at(12), limit=2)
    starts = [slot.start for slot in found]

    assert starts == [at(10), at(12)]  # at(9) is the start itself: excluded; the limit cuts at two
    assert [slot.slot_type for slot in contract.free("imaging")] == ["imaging"]


def test_a_booked_slot_is_no_longer_free_and_reads_back_booked(contract):
    contract.seed_slots("consult", [at(9), at(10)])
    first, second = contract.free()

    booking = contract.scheduler.book(contract.session, first, request_for())

    assert (booking.slot.start, booking.status) == (at(9), "booked")
    assert [slot.start for slot in contract.free()] == [second.start]
    read = contract.scheduler.read(contract.session, booking.external_id)
    assert (read.status, read.slot.start, read.slot.slot_type) == ("booked", at(9), "consult")


def test_booking_again_with_the_same_key_never_makes_a_second_appointment(contract):
    contract.seed_slots("consult", [at(9), at(10)])
    first, second = contract.free()
    request = request_for()

    once = contract.scheduler.book(contract.session, first, request)
    if contract.scheduler.capabilities.books_in_transaction:
        # Its booking commits with our record of it, so no retry meets it half made: the slot is just taken.
        with pytest.raises(SlotTaken):
            contract.scheduler.book(contract.session, first, request)
    else:
        assert contract.scheduler.book(contract.session, first, request).external_id == once.external_id
    assert [slot.start for slot in contract.free()] == [second.start]


def test_booking_a_slot_someone_else_holds_raises_slot_taken(contract):
    contract.seed_slots("consult", [at(9)])
    (slot,) = contract.free()
    contract.scheduler.book(contract.session, slot, request_for())

    with pytest.raises(SlotTaken):
        contract.scheduler.book(contract.session, slot, request_for())


def test_concurrent_bookings_of_one_slot_have_exactly_one_winner(contract):
    if contract.rival is None:
        pytest.skip("books in the caller's transaction, or in memory: races are the database's (tests/http)")
    contract.seed_slots("consult", [at(9), at(10), at(11)])

    for slot in contract.free():
        results = race(slot, [(contract.scheduler, request_for()), (contract.rival, request_for())])

        winners = [result for result in results if isinstance(result, Booking)]
        assert (len(winners), [type(r) for r in results if r not in winners]) == (1, [SlotTaken]), results
        assert winners[0].slot.start == slot.start
    assert contract.free() == []


def test_cancel_frees_the_slot_reads_back_cancelled_and_twice_is_harmless(contract):
    contract.seed_slots("consult", [at(9)])
    (slot,) = contract.free()
    booking = contract.scheduler.book(contract.session, slot, request_for())

    contract.scheduler.cancel(contract.session, booking.external_id, "patient called")
    contract.scheduler.cancel(contract.session, booking.external_id, "patient called")

    assert [free.start for free in contract.free()] == [at(9)]
    assert contract.scheduler.read(contract.session, booking.external_id).status == "cancelled"


def test_a_booking_is_found_again_by_its_key_until_cancelled(contract):
    contract.seed_slots("consult", [at(9)])
    (slot,) = contract.free()
    request = request_for()
    booking = contract.scheduler.book(contract.session, slot, request)

    found = contract.scheduler.find_booking(contract.session, request.booking_key)
    contract.scheduler.cancel(contract.session, booking.external_id, "patient called")
    gone = contract.scheduler.find_booking(contract.session, request.booking_key)

    if contract.scheduler.capabilities.books_in_transaction:
        assert (found, gone) == (None, None)  # its bookings commit with our records: none is left behind
    else:
        assert (found.external_id, found.slot.start, gone) == (booking.external_id, at(9), None)
    assert contract.scheduler.find_booking(contract.session, "never-used") is None


def test_an_unknown_appointment_is_unknown(contract):
    with pytest.raises(UnknownAppointment):
        contract.scheduler.read(contract.session, "Appointment/does-not-exist")


def test_book_earliest_books_the_earliest_in_the_window(contract):
    contract.seed_slots("consult", [at(14), at(11), at(16)])

    outcome = contract.scheduler.book_earliest(contract.session, BookingPlan("consult", at(10), at(15)), request_for())

    assert (outcome.appointment.start, outcome.booking.slot.start, outcome.proposed) == (at(11), at(11), None)
    assert [slot.start for slot in contract.free()] == [at(14), at(16)]


def test_book_earliest_proposes_the_earliest_later_slot_when_the_window_is_full(contract):
    contract.seed_slots("consult", [at(16), at(20)])

    outcome = contract.scheduler.book_earliest(contract.session, BookingPlan("consult", at(10), at(15)), request_for())

    assert (outcome.appointment, outcome.booking, outcome.proposed.start) == (None, None, at(16))
    assert [slot.start for slot in contract.free()] == [at(16), at(20)]  # proposed, not booked


def test_changed_appointments_lists_ours_changed_after_a_moment_with_their_status_now(contract):
    contract.seed_slots("consult", [at(9)])
    (slot,) = contract.free()
    booking = contract.scheduler.book(contract.session, slot, request_for())
    before = datetime.now(UTC) - timedelta(minutes=5)  # a server's clock may be a little off ours
    contract.scheduler.cancel(contract.session, booking.external_id, "clinic closed")

    changes = contract.scheduler.changed_appointments(contract.session, before)

    if contract.scheduler.capabilities.books_in_transaction:
        assert changes == []  # its appointments live in our database: nothing changes there unseen
        return
    ours = [change for change in changes if change.external_id == booking.external_id]
    assert [change.status for change in ours] == ["cancelled"]
    assert [change.updated_at for change in changes] == sorted(change.updated_at for change in changes)
    later = contract.scheduler.changed_appointments(contract.session, ours[0].updated_at)
    assert booking.external_id not in {change.external_id for change in later}


# ---------------------------------------------------------------------- holds (waitlist offers)


def test_a_held_slot_is_neither_found_nor_booked_nor_proposed_to_anyone_else(contract):
    contract.seed_slots("consult", [at(9), at(10)])
    held, _ = contract.free()

    contract.scheduler.hold(contract.session, held, hold_key())

    assert [slot.start for slot in contract.free()] == [at(10)]
    with pytest.raises(SlotTaken):
        contract.scheduler.book(contract.session, held, request_for())
    earliest = contract.scheduler.book_earliest(contract.session, BookingPlan("consult", at(8), at(11)), request_for())
    assert (earliest.appointment.start, contract.free()) == (at(10), [])
    before = contract.scheduler.book_earliest(contract.session, BookingPlan("consult", at(7), at(8)), request_for())
    assert (before.booking, before.proposed) == (None, None)  # the held slot is not proposed either


def test_book_held_books_the_held_slot_reads_back_booked_and_release_then_leaves_it_booked(contract):
    contract.seed_slots("consult", [at(9)])
    (slot,) = contract.free()
    hold = contract.scheduler.hold(contract.session, slot, hold_key())
    request = request_for()

    booking = contract.scheduler.book_held(contract.session, hold, request)
    contract.scheduler.release(contract.session, hold)  # too late: the hold is a booking now

    read = contract.scheduler.read(contract.session, booking.external_id)
    assert (booking.status, booking.slot.start) == ("booked", at(9))
    assert (read.status, read.slot.start, read.slot.slot_type) == ("booked", at(9), "consult")
    assert contract.free() == []
    if contract.scheduler.capabilities.books_in_transaction:
        with pytest.raises(SlotTaken):  # it committed with our record of it: the slot is simply taken
            contract.scheduler.book_held(contract.session, hold, request)
    else:
        assert contract.scheduler.book_held(contract.session, hold, request).external_id == booking.external_id


def test_release_frees_the_held_slot_for_anyone_and_releasing_twice_is_harmless(contract):
    contract.seed_slots("consult", [at(9)])
    (slot,) = contract.free()
    hold = contract.scheduler.hold(contract.session, slot, hold_key())

    contract.scheduler.release(contract.session, hold)
    contract.scheduler.release(contract.session, hold)

    (again,) = contract.free()
    assert again.start == at(9)
    assert contract.scheduler.book(contract.session, again, request_for()).slot.start == at(9)


def test_book_held_after_release_raises_slot_taken_and_books_nothing(contract):
    contract.seed_slots("consult", [at(9)])
    (slot,) = contract.free()
    hold = contract.scheduler.hold(contract.session, slot, hold_key())
    contract.scheduler.release(contract.session, hold)
    request = request_for()

    with pytest.raises(SlotTaken):
        contract.scheduler.book_held(contract.session, hold, request)

    assert [free.start for free in contract.free()] == [at(9)]
    assert contract.scheduler.find_booking(contract.session, request.booking_key) is None


def test_holding_a_booked_or_held_slot_raises_slot_taken(contract):
    contract.seed_slots("consult", [at(9), at(10)])
    booked, held = contract.free()
    contract.scheduler.book(contract.session, booked, request_for())
    contract.scheduler.hold(contract.session, held, hold_key())

    with pytest.raises(SlotTaken):
        contract.scheduler.hold(contract.session, booked, hold_key())
    with pytest.raises(SlotTaken):
        contract.scheduler.hold(contract.session, held, hold_key())
    assert contract.free() == []


def test_holding_again_with_the_same_key_returns_the_same_hold_where_it_can(contract):
    contract.seed_slots("consult", [at(9)])
    (slot,) = contract.free()
    key = hold_key()
    first = contract.scheduler.hold(contract.session, slot, key)

    if contract.holds_again:
        assert contract.scheduler.hold(contract.session, slot, key) == first
    else:
        with pytest.raises(SlotTaken):  # see Contract.holds_again; the first hold stands
            contract.scheduler.hold(contract.session, slot, key)

    assert contract.free() == []
    assert contract.scheduler.book_held(contract.session, first, request_for()).slot.start == at(9)


def test_concurrent_holds_of_one_slot_have_exactly_one_winner(contract):
    if contract.rival is None:
        pytest.skip("holds in the caller's transaction, or in memory: see tests/scheduling/test_embedded_holds.py")
    contract.seed_slots("consult", [at(9), at(10), at(11)])

    for slot in contract.free():
        results = race(slot, [(contract.scheduler, hold_key()), (contract.rival, hold_key())], call="hold")

        winners = [result for result in results if isinstance(result, SlotHold)]
        assert (len(winners), [type(r) for r in results if r not in winners]) == (1, [SlotTaken]), results
    assert contract.free() == []


# ---------------------------------------------------------------------- sites (issue 24)


def test_search_at_sites_finds_only_their_slots_each_with_its_site(contract):
    contract.seed_slots("consult", [at(9)])
    contract.seed_slots("consult", [at(10)], site="north")
    contract.seed_slots("consult", [at(11)], site="south")
    contract.seed_slots("imaging", [at(12)], site="north")

    assert contract.free_at(("north", "south")) == [(at(10), "north"), (at(11), "south")]
    assert contract.free_at(("south", DEFAULT_LOCATION)) == [(at(9), DEFAULT_LOCATION), (at(11), "south")]
    assert contract.free_at((DEFAULT_LOCATION,)) == [(at(9), DEFAULT_LOCATION)]
    assert contract.free_at(("east",)) == []  # a site with no slots (here not even known)
    assert contract.free_at(None) == [(at(9), DEFAULT_LOCATION), (at(10), "north"), (at(11), "south")]
    assert contract.free_at(("north",), slot_type="imaging") == [(at(12), "north")]


def test_search_at_the_default_site_skips_the_earlier_slots_of_the_others_page_after_page(contract):
    # More slots elsewhere than one page of the search asks for, before the default site's first one.
    contract.seed_slots("consult", [at(1) + timedelta(minutes=5 * n) for n in range(25)], site="north")
    contract.seed_slots("consult", [at(12)])

    found = contract.scheduler.find_free_slots(contract.session, "consult", DAY, at(23), 1, (DEFAULT_LOCATION,))

    assert [(slot.start, slot.location) for slot in found] == [(at(12), DEFAULT_LOCATION)]


def test_book_earliest_at_sites_books_the_earliest_there_and_says_where(contract):
    contract.seed_slots("consult", [at(9)])
    contract.seed_slots("consult", [at(12)], site="north")
    contract.seed_slots("consult", [at(11)], site="south")
    plan = BookingPlan("consult", at(8), at(13), locations=("north",))

    outcome = contract.scheduler.book_earliest(contract.session, plan, request_for())

    booked = (outcome.appointment.start, outcome.appointment.location, outcome.booking.slot.location)
    assert (booked, outcome.proposed) == ((at(12), "north", "north"), None)
    assert contract.scheduler.read(contract.session, outcome.booking.external_id).slot.location == "north"
    assert contract.free_at(None) == [(at(9), DEFAULT_LOCATION), (at(11), "south")]


def test_book_earliest_at_the_default_site_books_its_slot_not_an_earlier_one_elsewhere(contract):
    contract.seed_slots("consult", [at(9), at(10)], site="north")
    contract.seed_slots("consult", [at(11)])
    plan = BookingPlan("consult", at(8), at(13), locations=(DEFAULT_LOCATION,))

    outcome = contract.scheduler.book_earliest(contract.session, plan, request_for())

    assert (outcome.appointment.start, outcome.booking.slot.location) == (at(11), DEFAULT_LOCATION)
    assert contract.free_at(None) == [(at(9), "north"), (at(10), "north")]


def test_book_earliest_at_sites_proposes_only_a_later_slot_there(contract):
    contract.seed_slots("consult", [at(12)])
    contract.seed_slots("consult", [at(14)], site="north")
    contract.seed_slots("consult", [at(16)], site="south")
    plan = BookingPlan("consult", at(8), at(11), locations=("south",))

    outcome = contract.scheduler.book_earliest(contract.session, plan, request_for())

    assert (outcome.booking, outcome.proposed.start, outcome.proposed.location) == (None, at(16), "south")
    assert len(contract.free_at(None)) == 3  # proposed, not booked


def test_a_slot_held_at_a_site_is_booked_there(contract):
    contract.seed_slots("consult", [at(9)], site="south")
    (slot,) = contract.scheduler.find_free_slots(contract.session, "consult", DAY, at(23), 10, ("south",))

    hold = contract.scheduler.hold(contract.session, slot, hold_key())
    booking = contract.scheduler.book_held(contract.session, hold, request_for())

    assert (booking.slot.start, booking.slot.location) == (at(9), "south")
    assert contract.scheduler.read(contract.session, booking.external_id).slot.location == "south"
