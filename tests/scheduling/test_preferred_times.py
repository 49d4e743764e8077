"""Booking honours the patient's preferred times in the same way with every scheduler behind the interface.

The preference is applied by the booking service to the window's free slots (``find_free_slots``, the one
search every scheduler offers), so these cases run against the embedded scheduler (on SQLite; its
PostgreSQL claim is covered by the intake concurrency tests) and a real FHIR R4 server on loopback, with the
same slots and the same expectations.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import make_url

from routing.adapters.db.database import Database
from routing.adapters.scheduling import embedded
from routing.adapters.scheduling.embedded import EmbeddedScheduler
from routing.adapters.scheduling.interface import BookingOutcome, BookingRequest, Scheduler, SlotTime
from routing.domain.booking_plan import BookingPlan
from routing.domain.demo_schedule import SlotSpec
from routing.domain.time_preferences import (
    PreferenceResult,
    load_time_words,
    preference_result,
    read_preferences,
)
from routing.domain.vocabulary import SlotType
from routing.services.booking import book_earliest, propose_earliest
from tests.fake_scheduler import FakeScheduler

NEW_YORK = ZoneInfo("America/New_York")
WORDS = load_time_words()
# A week far in the future (so no server clock matters), Monday 2031-03-10, clinic time.
MONDAY = datetime(2031, 3, 10, tzinfo=NEW_YORK)
PLAN = BookingPlan("consult", MONDAY, MONDAY + timedelta(days=7))


def local(day: int, hour: int) -> datetime:
    """``hour`` o'clock (New York) ``day`` days after Monday."""
    return MONDAY + timedelta(days=day, hours=hour)


TUESDAY_9 = local(1, 9)
WEDNESDAY_10 = local(2, 10)
THURSDAY_9 = local(3, 9)
THURSDAY_15 = local(3, 15)
FRIDAY_16 = local(4, 16)
SLOTS = (TUESDAY_9, WEDNESDAY_10, THURSDAY_9, THURSDAY_15, FRIDAY_16)


@dataclass
class Backend:
    """One scheduler with the week's slots, and a way to run a booking call as the service does."""

    scheduler: Scheduler
    run: Callable[[Callable], object]


def _request() -> BookingRequest:
    inquiry_id = uuid.uuid4()
    return BookingRequest(inquiry_id, str(inquiry_id), "consult", "consult", "routine")


@pytest.fixture(params=["embedded", "fhir"])
def backend(request) -> Iterator[Backend]:
    """The week's five consult slots in the embedded scheduler (each database backend) or on a FHIR server."""
    if request.param == "fhir":
        fhir_server = request.getfixturevalue("fhir_server")
        service_types = request.getfixturevalue("service_types")
        fhir_server.seed_slots(service_types["consult"], SLOTS)
        yield Backend(request.getfixturevalue("scheduler"), lambda call: call(None))
        return
    path = request.getfixturevalue("tmp_path") / "routing.sqlite3"
    shutil.copyfile(request.getfixturevalue("sqlite_template"), path)  # the migrations, run once per session
    url = make_url(f"sqlite:///{path}")
    db = Database(url)
    with db.session() as session, session.begin():
        embedded.add_slots(session, [SlotSpec(SlotType.CONSULT, s, s + timedelta(minutes=30)) for s in SLOTS])

    def run(call):
        with db.session() as session, session.begin():  # the embedded scheduler books in our transaction
            return call(session)

    yield Backend(EmbeddedScheduler(), run)
    db.dispose()


def book(backend: Backend, texts: list[str], language: str = "en") -> tuple[BookingOutcome, PreferenceResult]:
    preference = read_preferences(texts, WORDS, NEW_YORK, language)
    outcome = backend.run(lambda session: book_earliest(session, backend.scheduler, PLAN, _request(), preference))
    return outcome, preference_result(preference, outcome.appointment.start)


@pytest.mark.parametrize(
    ("texts", "language", "start"),
    [
        (["Thursday"], "en", THURSDAY_9),
        (["Thursday afternoon"], "en", THURSDAY_15),
        (["after 3pm"], "en", THURSDAY_15),
        (["Mon or Wed"], "en", WEDNESDAY_10),
        (["Fri", "Wednesday mornings"], "en", WEDNESDAY_10),
        (["jueves"], "es", THURSDAY_9),
        (["jueves por la tarde"], "es", THURSDAY_15),
        (["viernes después de las 3"], "es", FRIDAY_16),
    ],
)
def test_the_earliest_slot_that_suits_the_preferred_times_is_booked(backend, texts, language, start):
    outcome, told = book(backend, texts, language)

    assert outcome.appointment.start == start
    assert told == PreferenceResult(fitted=True)


@pytest.mark.parametrize("texts", [["weekends"], ["fines de semana"], ["Monday before 8am"]])
def test_when_no_slot_suits_the_preference_the_earliest_in_the_window_is_booked_and_the_patient_told(backend, texts):
    outcome, told = book(backend, texts, "es" if texts == ["fines de semana"] else "en")

    assert outcome.appointment.start == TUESDAY_9
    assert told == PreferenceResult(fitted=False)


def test_an_unreadable_preference_is_ignored_and_the_earliest_is_booked(backend):
    outcome, told = book(backend, ["any day except Tuesday"])

    assert outcome.appointment.start == TUESDAY_9
    assert told == PreferenceResult(unread=True)


def test_a_slot_already_taken_is_skipped_for_the_next_that_suits(backend):
    first, _ = book(backend, ["Thursday"])
    second, told = book(backend, ["Thursday"])

    assert (first.appointment.start, second.appointment.start) == (THURSDAY_9, THURSDAY_15)
    assert told == PreferenceResult(fitted=True)


def test_the_slot_proposed_to_staff_suits_the_preference_when_one_does(backend):
    preference = read_preferences(["Friday"], WORDS, NEW_YORK, "en")

    proposed: SlotTime = backend.run(lambda session: propose_earliest(session, backend.scheduler, PLAN, preference))

    assert proposed.start == FRIDAY_16


class LosesOneSlot(FakeScheduler):
    """A scheduling system in which another patient books the slot ``lost`` a moment before we ask for it."""

    lost: str | None = None

    def book(self, session, slot, request):
        if slot.id == self.lost:
            self.slots.pop(slot.id)  # booked by someone else between our search and our booking
        return super().book(session, slot, request)


def test_a_slot_lost_to_a_race_gives_way_to_another_site_at_the_same_time_across_a_page_of_slots():
    scheduler = LosesOneSlot()
    for n in range(49):  # Tuesday's slots, none in the afternoon the patient prefers: one page less one
        start = local(1, 8) + timedelta(minutes=10 * n)
        scheduler.add_slot("consult", start, start + timedelta(minutes=10), "main")
    main = scheduler.add_slot("consult", THURSDAY_15, THURSDAY_15 + timedelta(minutes=30), "main")  # ends the page
    scheduler.add_slot("consult", THURSDAY_15, THURSDAY_15 + timedelta(minutes=30), "north")
    scheduler.add_slot("consult", local(3, 16), local(3, 16) + timedelta(minutes=30), "main")
    scheduler.lost = main.id
    preference = read_preferences(["Thursday afternoon"], WORDS, NEW_YORK, "en")

    outcome = book_earliest(None, scheduler, PLAN, _request(), preference)

    assert (outcome.appointment.start, outcome.appointment.location) == (THURSDAY_15, "north")


def test_a_whole_page_of_slots_at_one_time_is_read_past():
    scheduler = FakeScheduler()
    for n in range(50):  # fifty rooms free at Tuesday 9:00, which the patient does not prefer
        scheduler.add_slot("consult", TUESDAY_9, TUESDAY_9 + timedelta(minutes=30), f"room-{n}")
    scheduler.add_slot("consult", THURSDAY_15, THURSDAY_15 + timedelta(minutes=30), "main")
    preference = read_preferences(["Thursday afternoon"], WORDS, NEW_YORK, "en")

    outcome = book_earliest(None, scheduler, PLAN, _request(), preference)

    assert outcome.appointment.start == THURSDAY_15
