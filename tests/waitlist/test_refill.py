"""The waitlist on the embedded scheduler, on SQLite and PostgreSQL: who gets a freed slot, and what happens next."""

from __future__ import annotations

import pytest

from routing.services import waitlist, waitlist_answers
from routing.services.waitlist_answers import OfferClosed
from tests.waitlist.helpers import (
    ROUTINE_IMAGING,
    URGENT_IMAGING,
    cancel,
    entries,
    later,
    offer_id,
    offers,
    one_slot,
    status_of,
    submit,
    wiring,
)


@pytest.fixture
def full_clinic(app, client):
    """One imaging slot 30 hours ahead, booked by a first patient; then a routine and an urgent patient who find
    nothing free inside their windows, in that order."""
    start = one_slot(app, 30)
    booked = submit(client, ROUTINE_IMAGING)
    routine = submit(client, ROUTINE_IMAGING)
    urgent = submit(client, URGENT_IMAGING)
    return start, booked, routine, urgent


def test_inquiries_without_a_slot_in_their_window_join_the_waitlist_by_urgency(app, full_clinic):
    _start, booked, routine, urgent = full_clinic

    assert status_of(app, booked) == "booked"
    assert entries(app) == {routine: ("waiting", 60), urgent: ("waiting", 20)}


def test_a_cancelled_slot_is_offered_to_the_most_urgent_entry_whose_window_it_fits(app, full_clinic):
    start, booked, routine, urgent = full_clinic

    cancel(app, booked)

    assert offers(app) == [(urgent, "open", start)]
    assert entries(app) == {routine: ("waiting", 60), urgent: ("offered", 20)}


def test_accepting_the_offer_books_the_held_slot(app, full_clinic):
    start, booked, routine, urgent = full_clinic
    cancel(app, booked)
    w = wiring(app)

    with w.db.session() as session:
        waitlist_answers.accept(session, w.routing, offer_id(app, urgent), urgent, later(0), actor="patient")

    assert status_of(app, urgent) == "booked"
    assert offers(app) == [(urgent, "accepted", start)]
    assert entries(app) == {routine: ("waiting", 60), urgent: ("booked", 20)}


def test_an_offer_not_answered_in_time_passes_to_the_next_entry(app, full_clinic):
    start, booked, routine, urgent = full_clinic
    cancel(app, booked)
    w = wiring(app)

    with w.db.session() as session:
        result = waitlist.refill(session, w.routing, later(2.1))

    assert (result.expired, len(result.offered)) == (1, 1)
    assert sorted(offers(app), key=lambda offer: offer[1]) == [(urgent, "expired", start), (routine, "open", start)]
    assert entries(app) == {routine: ("offered", 60), urgent: ("waiting", 20)}


def test_an_expired_offer_cannot_be_accepted(app, full_clinic):
    _start, booked, _routine, urgent = full_clinic
    cancel(app, booked)
    w = wiring(app)
    expired = offer_id(app, urgent)

    with w.db.session() as session, pytest.raises(OfferClosed):
        waitlist_answers.accept(session, w.routing, expired, urgent, later(2.1), actor="patient")

    assert status_of(app, urgent) == "needs_review"
