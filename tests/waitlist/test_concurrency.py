"""The waitlist under concurrency, on SQLite and PostgreSQL: freed slots refilled at once by several processes,
one offer accepted twice at once. Never a slot offered twice, never an inquiry booked twice."""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy import func, select

from routing.adapters.db.models import Appointment, Inquiry, Slot
from routing.services import waitlist, waitlist_answers
from tests.waitlist.helpers import (
    ROUTINE_IMAGING,
    URGENT_IMAGING,
    cancel,
    entries,
    later,
    offer_id,
    offers,
    one_slot,
    submit,
    wiring,
)


def together(*calls: Callable[[], object]) -> list[object]:
    """Run each call in its own thread, released at once; their results or the exceptions they raised."""
    results: list[object] = [None] * len(calls)
    barrier = threading.Barrier(len(calls))

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = calls[index]()
        except Exception as error:  # collected for the assertions
            results[index] = error

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def refill_in_own_session(app):
    w = wiring(app)

    def call():
        with w.db.session() as session:
            return waitlist.refill(session, w.routing, later(0))

    return call


def test_slots_freed_at_once_are_each_offered_once_to_a_different_entry(app, client):
    first, second = one_slot(app, 20), one_slot(app, 30)
    booked = [submit(client, ROUTINE_IMAGING), submit(client, ROUTINE_IMAGING)]
    waiting = [submit(client, URGENT_IMAGING), submit(client, URGENT_IMAGING), submit(client, ROUTINE_IMAGING)]
    w = wiring(app)
    with w.db.session() as session, session.begin():  # free both without running the waitlist, then race it
        session.execute(Slot.__table__.update().values(status="free"))
        session.execute(Appointment.__table__.update().values(status="cancelled"))
        for inquiry in session.scalars(select(Inquiry).where(Inquiry.id.in_(booked))):
            inquiry.status = "needs_review"

    results = together(*(refill_in_own_session(app) for _ in range(4)))

    assert [type(result).__name__ for result in results] == ["RefillResult"] * 4
    assert sorted((inquiry, status, start) for inquiry, status, start in offers(app)) == sorted(
        [(waiting[0], "open", first), (waiting[1], "open", second)]
    )
    assert {inquiry: entry for inquiry, entry in entries(app).items() if inquiry in waiting} == {
        waiting[0]: ("offered", 20),
        waiting[1]: ("offered", 20),
        waiting[2]: ("waiting", 60),
    }


def test_one_offer_accepted_twice_at_once_books_once(app, client):
    one_slot(app, 30)
    booked = submit(client, ROUTINE_IMAGING)
    urgent = submit(client, URGENT_IMAGING)
    cancel(app, booked)
    offered = offer_id(app, urgent)
    w = wiring(app)

    def accept():
        with w.db.session() as session:
            return waitlist_answers.accept(session, w.routing, offered, urgent, later(0), actor="patient")

    results = together(accept, accept, accept)

    assert sorted(type(result).__name__ for result in results) == ["Booking", "OfferClosed", "OfferClosed"]
    with w.db.session() as session:
        live = session.scalar(
            select(func.count()).where(Appointment.inquiry_id == urgent, Appointment.status == "booked")
        )
        busy = session.scalar(select(func.count()).where(Slot.status == "busy"))
    assert (live, busy) == (1, 1)
