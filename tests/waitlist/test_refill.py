"""The waitlist on the embedded scheduler, on SQLite and PostgreSQL: who gets a freed slot, and what happens next."""

from __future__ import annotations

import threading
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from routing import create_app
from routing.adapters.db.models import Appointment, Inquiry, OutboxEvent
from routing.services import waitlist, waitlist_answers
from routing.services.booking_queue import run_worker
from routing.services.waitlist_answers import OfferClosed
from tests.conftest import settings_for
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


def run(app, at):
    w = wiring(app)
    with w.db.session() as session:
        return waitlist.refill(session, w.routing, at)


def test_a_declined_offer_passes_to_the_next_entry_and_is_never_offered_to_the_decliner_again(app, full_clinic):
    start, booked, routine, urgent = full_clinic
    cancel(app, booked)
    w = wiring(app)

    with w.db.session() as session:
        waitlist_answers.decline(session, w.routing, offer_id(app, urgent), urgent, later(0), actor="patient")
    run(app, later(0))
    run(app, later(3))  # the routine patient lets theirs expire: the slot is free, and the urgent one declined it

    assert sorted(offers(app), key=lambda offer: offer[1]) == [(urgent, "declined", start), (routine, "expired", start)]
    assert entries(app) == {routine: ("waiting", 60), urgent: ("waiting", 20)}


def test_no_slot_is_offered_after_the_window_ends_or_too_soon_to_come(app, client):
    booked_early = submit(client, URGENT_IMAGING)  # nothing free: joins
    one_slot(app, 60)  # after the urgent window (2 days)
    one_slot(app, 1)  # inside it, but starts within the notice (2 hours)

    result = run(app, later(0))

    assert (result.offered, offers(app)) == ([], [])
    assert entries(app) == {booked_early: ("waiting", 20)}


def test_a_slot_at_a_time_the_patient_excluded_is_not_offered_and_the_next_one_is(app, client):
    excluded = later(20).replace(microsecond=0)
    day = excluded.astimezone(ZoneInfo("America/New_York")).strftime("%A")  # the clinic's
    urgent = submit(client, URGENT_IMAGING, unavailable_times=[day])  # nothing free yet: joins
    one_slot(app, 20)
    other = one_slot(app, 44)  # a day later: another day of the week in any time zone

    run(app, later(0))

    assert offers(app) == [(urgent, "open", other)]


def test_unavailable_times_that_cannot_be_read_stop_offers_until_staff_restate_them(app, client):
    urgent = submit(client, URGENT_IMAGING, unavailable_times=["when the moon is full"])
    one_slot(app, 30)

    result = run(app, later(0))

    assert (result.offered, entries(app)) == ([], {urgent: ("waiting", 20)})


def test_an_entry_whose_window_passed_goes_to_staff_with_the_reason(app, client):
    urgent = submit(client, URGENT_IMAGING)

    result = run(app, later(49))

    assert (result.window_passed, entries(app)) == (1, {urgent: ("window_passed", 20)})
    w = wiring(app)
    with w.db.session() as session:
        inquiry = session.get(Inquiry, urgent)
        events = session.scalars(select(OutboxEvent.data).where(OutboxEvent.type == "inquiry.held")).all()
        assert inquiry.status == "needs_review"
        assert inquiry.status_detail == (
            "waitlist: no imaging slot freed inside the urgent window; staff to arrange one"
        )
    assert [event["reason"] for event in events] == ["no_slot", "waitlist_window_passed"]


def test_offers_left_unanswered_twice_hand_the_entry_to_staff(app, client):
    urgent = submit(client, URGENT_IMAGING)
    one_slot(app, 30)
    one_slot(app, 40)

    run(app, later(0))
    run(app, later(2.1))  # the first expired (two hours to answer); the second slot is offered
    run(app, later(4.2))

    assert [status for _, status, _ in offers(app)] == ["expired", "expired"]
    assert entries(app) == {urgent: ("removed", 20)}


def test_an_urgent_entry_is_booked_directly_when_the_clinic_allows_it(migrated_url):
    app = create_app(settings_for(migrated_url, ROUTING_WAITLIST_BOOK_URGENT="on"))
    client = app.test_client()
    try:
        start = one_slot(app, 30)
        booked = submit(client, ROUTINE_IMAGING)
        routine = submit(client, ROUTINE_IMAGING)
        urgent = submit(client, URGENT_IMAGING)

        cancel(app, booked)

        assert offers(app) == [(urgent, "accepted", start)]
        assert (status_of(app, urgent), status_of(app, routine)) == ("booked", "needs_review")
        assert entries(app) == {routine: ("waiting", 60), urgent: ("booked", 20)}
    finally:
        app.extensions["routing"].db.dispose()


def test_an_entry_whose_inquiry_staff_settled_is_closed_and_its_offer_withdrawn(app, full_clinic):
    start, booked, routine, urgent = full_clinic
    cancel(app, booked)
    w = wiring(app)
    with w.db.session() as session, session.begin():
        session.get(Inquiry, urgent).status = "closed"

    run(app, later(0))

    assert sorted(offers(app), key=lambda offer: offer[1]) == [(routine, "open", start), (urgent, "withdrawn", start)]
    assert entries(app) == {routine: ("offered", 60), urgent: ("removed", 20)}


def test_intake_books_the_earliest_slot_not_at_a_time_the_patient_excluded(app, client):
    first = later(20).replace(microsecond=0)
    day = first.astimezone(ZoneInfo("America/New_York")).strftime("%A")
    one_slot(app, 20)
    other = one_slot(app, 44)

    urgent = submit(client, URGENT_IMAGING, unavailable_times=[day])

    w = wiring(app)
    with w.db.session() as session:
        booked = session.scalar(select(Appointment.start).where(Appointment.inquiry_id == urgent))
    assert (status_of(app, urgent), booked) == ("booked", other)


def test_the_worker_offers_a_slot_published_after_the_patient_joined(app, client):
    urgent = submit(client, URGENT_IMAGING)
    start = one_slot(app, 30)  # added straight to the schedule: nothing ran the waitlist yet
    w = wiring(app)

    run_worker(w.db.session, w.routing, stop=threading.Event(), until_idle=True, waitlist_every=timedelta(seconds=30))

    assert offers(app) == [(urgent, "open", start)]
