"""The waitlist with a scheduling system over the network (the tests' fake, which books outside our transaction),
on SQLite and PostgreSQL: a process that dies between claiming an offer and the scheduler's answer leaves nothing
held and nothing booked twice; the next run finishes its work."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from routing.adapters.db.models import Appointment, WaitlistEntry, WaitlistOffer
from routing.services import waitlist, waitlist_answers
from routing.services.waitlist_offers import hold_of
from tests.fake_scheduler import FakeScheduler
from tests.waitlist.helpers import URGENT_IMAGING, later, offer_id, offers, status_of, submit, wiring

AFTER_THE_LEASE = timedelta(seconds=61)


class ProcessDied(Exception):
    """Stands for a process killed in the middle of a call."""


@pytest.fixture
def remote(app, client):
    """The app on a remote-style scheduler; one urgent inquiry waiting (nothing was free), then a slot frees up."""
    fake = FakeScheduler("fhir")
    wiring(app).scheduler = fake
    waiting = submit(client, URGENT_IMAGING)
    start = later(30).replace(microsecond=0)
    slot = fake.add_slot("imaging", start, start + timedelta(minutes=30))
    return fake, waiting, slot


def run(app, at):
    w = wiring(app)
    with w.db.session() as session:
        return waitlist.refill(session, w.routing, at)


def test_a_hold_made_by_a_process_that_died_is_found_by_its_key_given_back_and_the_slot_offered_again(app, remote):
    fake, _waiting, slot = remote
    fake.failing("hold", ProcessDied())
    now = later(0)
    with pytest.raises(ProcessDied):
        run(app, now)
    fake.failing("hold", None)
    with wiring(app).db.session() as session:  # the hold had reached the scheduler before the process died
        stuck = session.scalar(select(WaitlistOffer))
        fake.hold(session, slot, str(stuck.id))

    run(app, now + timedelta(seconds=30))  # still within the dead process's lease: left alone
    assert [status for _, status, _ in offers(app)] == ["holding"]
    run(app, now + AFTER_THE_LEASE)

    assert sorted(status for _, status, _ in offers(app)) == ["open", "withdrawn"]
    with wiring(app).db.session() as session:
        live = session.scalar(select(WaitlistOffer.id).where(WaitlistOffer.status == "open"))
    assert fake.holds == {slot.id: str(live)}


def test_an_acceptance_whose_process_died_before_the_scheduler_booked_reopens_the_offer(app, remote):
    fake, waiting, _slot = remote
    now = later(0)
    run(app, now)
    offer = offers(app)
    fake.failing("book_held", ProcessDied())
    w = wiring(app)
    with w.db.session() as session, pytest.raises(ProcessDied):
        waitlist_answers.accept(session, w.routing, offer_id(app, waiting), waiting, now, actor="patient")
    fake.failing("book_held", None)

    run(app, now + AFTER_THE_LEASE)

    assert [status for _, status, _ in offers(app)] == ["open"]
    assert (status_of(app, waiting), offer[0][0]) == ("needs_review", waiting)


def test_an_acceptance_whose_process_died_after_the_scheduler_booked_is_recorded_once(app, remote):
    fake, waiting, slot = remote
    now = later(0)
    run(app, now)
    w = wiring(app)
    fake.failing("book_held", ProcessDied())
    accepted = offer_id(app, waiting)
    with w.db.session() as session, pytest.raises(ProcessDied):
        waitlist_answers.accept(session, w.routing, accepted, waiting, now, actor="patient")
    fake.failing("book_held", None)
    with w.db.session() as session:  # the booking had reached the scheduler before the process died
        offer = session.get(WaitlistOffer, accepted)
        entry_request = waitlist_answers.request_for(session, w.routing, offer_entry(session, offer))
        fake.book_held(session, hold_of(offer), entry_request)

    run(app, now + AFTER_THE_LEASE)
    run(app, now + AFTER_THE_LEASE * 2)

    assert [status for _, status, _ in offers(app)] == ["accepted"]
    assert status_of(app, waiting) == "booked"
    with w.db.session() as session:
        booked = session.scalars(select(Appointment.external_slot_id).where(Appointment.inquiry_id == waiting)).all()
    assert (booked, len(fake.appointments)) == ([slot.id], 1)


def offer_entry(session, offer: WaitlistOffer) -> WaitlistEntry:
    return session.get(WaitlistEntry, offer.entry_id)
