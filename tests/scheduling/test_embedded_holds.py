"""The embedded scheduler's waitlist holds on each database backend, in transactions as the service runs them.

The contract (tests/scheduling/test_scheduler_contract.py) runs the embedded scheduler in one SQLite session;
these are what only separate transactions show (a race, a rollback) and PostgreSQL's own ``book_earliest``
statement (claim-or-propose in one round trip), which must pass over held slots like any other claim.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from routing.adapters.db.database import Database
from routing.adapters.scheduling import embedded
from routing.adapters.scheduling.embedded import EmbeddedScheduler
from routing.adapters.scheduling.interface import BookingRequest, SlotHold, SlotTaken, SlotTime
from routing.domain.booking_plan import BookingPlan
from routing.domain.demo_schedule import SlotSpec
from routing.domain.vocabulary import SlotType

DAY = datetime(2031, 5, 12, tzinfo=UTC)
SCHEDULER = EmbeddedScheduler()


def at(hour: int) -> datetime:
    return DAY + timedelta(hours=hour)


def request_for() -> BookingRequest:
    inquiry_id = uuid.uuid4()
    return BookingRequest(inquiry_id, str(inquiry_id), "consult", "consult", "soon")


@pytest.fixture
def db(migrated_url) -> Iterator[Database]:
    database = Database(migrated_url)
    yield database
    database.dispose()


def seed(db: Database, hours: list[int]) -> list[SlotTime]:
    """Free consult slots at the given hours of the test's day, committed; the free slots of the day."""
    with db.session() as session, session.begin():
        embedded.add_slots(session, [SlotSpec(SlotType.CONSULT, at(h), at(h) + timedelta(minutes=30)) for h in hours])
    return free(db)


def free(db: Database) -> list[SlotTime]:
    with db.session() as session:
        return SCHEDULER.find_free_slots(session, "consult", DAY, at(23))


def test_two_workers_holding_one_slot_at_once_in_their_own_transactions_have_exactly_one_winner(db):
    (slot,) = seed(db, [9])
    barrier = threading.Barrier(2)
    results: list[object] = [None, None]

    def offer(index: int) -> None:
        with db.session() as session:
            barrier.wait()
            try:
                with session.begin():
                    results[index] = SCHEDULER.hold(session, slot, f"offer-{index}")
            except Exception as error:  # collected for the assertion
                results[index] = error

    threads = [threading.Thread(target=offer, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(type(result).__name__ for result in results) == ["SlotHold", "SlotTaken"], results
    assert free(db) == []


def test_a_hold_rolled_back_with_the_callers_transaction_leaves_the_slot_free(db):
    (slot,) = seed(db, [9])

    with db.session() as session:
        session.begin()
        SCHEDULER.hold(session, slot, "offer-1")
        held = SCHEDULER.find_free_slots(session, "consult", DAY, at(23))
        session.rollback()  # say, recording the offer failed

    assert (held, [s.start for s in free(db)]) == ([], [at(9)])


def test_book_earliest_neither_claims_nor_proposes_a_held_slot(db):
    held_slot, _ = seed(db, [9, 10])
    with db.session() as session, session.begin():
        hold = SCHEDULER.hold(session, held_slot, "offer-1")

    with db.session() as session, session.begin():
        inside = SCHEDULER.book_earliest(session, BookingPlan("consult", at(8), at(11)), request_for())
    with db.session() as session, session.begin():
        before = SCHEDULER.book_earliest(session, BookingPlan("consult", at(7), at(8)), request_for())
    with db.session() as session, session.begin():
        accepted = SCHEDULER.book_held(session, hold, request_for())

    assert hold == SlotHold(held_slot, "offer-1", held_slot.id)
    assert (inside.appointment.start, before.appointment, before.proposed) == (at(10), None, None)
    assert (accepted.slot.start, free(db)) == (at(9), [])
    with db.session() as session:
        assert SCHEDULER.read(session, accepted.external_id).status == "booked"


def test_holding_a_held_slot_again_raises_slot_taken_whatever_the_key(db):
    (slot,) = seed(db, [9])
    with db.session() as session, session.begin():
        SCHEDULER.hold(session, slot, "offer-1")

    for key in ("offer-1", "offer-2"):
        with db.session() as session, session.begin(), pytest.raises(SlotTaken):
            SCHEDULER.hold(session, slot, key)
