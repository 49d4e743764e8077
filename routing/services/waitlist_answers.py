"""A waitlist offer answered: accepted (the held slot is booked) or declined (it goes to the next entry).

The patient answers from their own link; an urgent entry may be booked by the waitlist itself when the clinic
allows it (``actor``). With the embedded scheduler an acceptance is one transaction. With a remote one the offer
is claimed first (``booking``, committed), the held slot booked over the network with no transaction open, and
the booking recorded after; a process that dies in between leaves the offer for :func:`finish_booking` (the
refill's), which asks the scheduling system for the booking by its key: recorded if it was made, else reopened.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from routing.adapters.db.models import Inquiry, TriageDecision, WaitlistEntry, WaitlistOffer
from routing.adapters.db.write_batch import WriteBatch
from routing.adapters.scheduling.interface import Booking, BookingRequest, SchedulingError, SlotTaken
from routing.domain import patient_messages
from routing.domain.vocabulary import InquiryStatus, OfferStatus, WaitlistStatus
from routing.observability import events
from routing.services import audit, event_data, outbox
from routing.services.booking import booking_request, record_booking
from routing.services.route_inquiry import Routing
from routing.services.waitlist_offers import (
    LEASE,
    WAITLIST_ACTOR,
    close_entry,
    end_offer,
    hold_of,
    offer_brief,
)


class OfferClosed(Exception):
    """The offer cannot be answered any more (answered, expired, withdrawn, or the inquiry was settled)."""


class OfferUnavailable(Exception):
    """The scheduling system could not be reached; the offer stays open, so the patient may try again."""


def request_for(session: Session, routing: Routing, entry: WaitlistEntry) -> BookingRequest:
    """What to ask the scheduler for when the entry's offer is accepted: as routing would have asked."""
    inquiry = session.get(Inquiry, entry.inquiry_id)
    reasons = session.scalar(
        select(TriageDecision.reasons).where(
            TriageDecision.inquiry_id == entry.inquiry_id, TriageDecision.superseded_at.is_(None)
        )
    )
    return booking_request(
        session,
        inquiry_id=entry.inquiry_id,
        slot_type=entry.slot_type,
        route=entry.route,
        urgency=entry.urgency,
        reasons=[reason.get("text", "") for reason in reasons or []],
        patient=(inquiry.payload or {}).get("patient"),
        terminology=routing.terminology,
    )


def accept(
    session: Session, routing: Routing, offer_id: uuid.UUID, inquiry_id: uuid.UUID, now: datetime, *, actor: str
) -> Booking:
    """Book the offer's held slot for the inquiry; the inquiry is ``booked`` and the patient told.

    Raises OfferClosed when the offer is not open (or not this inquiry's), has expired, or the slot was lost;
    OfferUnavailable when the scheduling system cannot be reached (the offer stays open).
    """
    scheduler = routing.scheduler
    if scheduler.capabilities.books_in_transaction:
        with session.begin():
            offer, entry = _open_offer(session, offer_id, inquiry_id, now)
            request = request_for(session, routing, entry)
            try:
                with session.begin_nested():
                    booking = scheduler.book_held(session, hold_of(offer), request)
            except SlotTaken:
                end_offer(session, routing, offer, OfferStatus.WITHDRAWN, now, why="the held slot was lost")
                lost = True
            else:
                record_accepted(session, routing, offer, entry, request, booking, now, actor=actor)
                lost = False
        if lost:
            raise OfferClosed("the slot is no longer available")
        return booking

    with session.begin():
        offer, entry = _open_offer(session, offer_id, inquiry_id, now)
        offer.status, offer.lease_until = OfferStatus.BOOKING, now + LEASE
        request = request_for(session, routing, entry)
        hold = hold_of(offer)
    try:
        booking = scheduler.book_held(session, hold, request)
    except SlotTaken:
        with session.begin():
            offer = _locked(session, offer_id)
            if offer.status == OfferStatus.BOOKING:
                end_offer(session, routing, offer, OfferStatus.WITHDRAWN, now, why="the held slot was lost")
        raise OfferClosed("the slot is no longer available") from None
    except SchedulingError:
        with session.begin():
            offer = _locked(session, offer_id)
            if offer.status == OfferStatus.BOOKING:
                offer.status, offer.lease_until = OfferStatus.OPEN, None
        raise OfferUnavailable("the scheduling system could not be reached") from None
    with session.begin():
        offer = _locked(session, offer_id)
        if offer.status == OfferStatus.BOOKING:  # else the refill found and recorded it meanwhile
            entry = session.get(WaitlistEntry, offer.entry_id, with_for_update=True, populate_existing=True)
            record_accepted(session, routing, offer, entry, request, booking, now, actor=actor)
    return booking


def decline(
    session: Session, routing: Routing, offer_id: uuid.UUID, inquiry_id: uuid.UUID, now: datetime, *, actor: str
) -> str:
    """Decline the open offer: its slot goes back for the next entry, this entry waits on. The slot's type.

    Raises OfferClosed when the offer is not open (or not this inquiry's) or has expired. Call
    ``waitlist.refill_after_freeing`` after it to offer the slot to the next entry at once.
    """
    with session.begin():
        offer, _entry = _open_offer(session, offer_id, inquiry_id, now)
        end_offer(session, routing, offer, OfferStatus.DECLINED, now, why="declined", actor=actor)
        return offer.slot_type


def finish_booking(session: Session, routing: Routing, offer_id: uuid.UUID, now: datetime) -> None:
    """An offer left ``booking`` by a process that stopped: record the booking if the scheduling system made
    it, else open the offer again (or expire it when its time is up). Raises SchedulingError if unreachable."""
    with session.begin():
        offer = _locked(session, offer_id)
        if offer.status != OfferStatus.BOOKING:
            return
        entry = session.get(WaitlistEntry, offer.entry_id)
        request = request_for(session, routing, entry)
    booking = routing.scheduler.find_booking(session, request.booking_key)
    with session.begin():
        offer = _locked(session, offer_id)
        if offer.status != OfferStatus.BOOKING:
            return
        entry = session.get(WaitlistEntry, offer.entry_id, with_for_update=True, populate_existing=True)
        if booking is not None:
            record_accepted(session, routing, offer, entry, request, booking, now, actor=WAITLIST_ACTOR)
        elif offer.expires_at > now:
            offer.status, offer.lease_until = OfferStatus.OPEN, None
        else:
            end_offer(session, routing, offer, OfferStatus.EXPIRED, now, why="not booked before it expired")


def record_accepted(
    session: Session,
    routing: Routing,
    offer: WaitlistOffer,
    entry: WaitlistEntry,
    request: BookingRequest,
    booking: Booking,
    now: datetime,
    *,
    actor: str,
) -> None:
    """Record a booked offer in the caller's transaction: our appointment, the inquiry ``booked`` with the
    patient's confirmation, the entry closed, ``appointment.booked`` for the patient and subscribers, the audit."""
    offer.status, offer.answered_at, offer.released_at, offer.lease_until = OfferStatus.ACCEPTED, now, now, None
    inquiry = session.get(Inquiry, entry.inquiry_id, with_for_update=True, populate_existing=True)
    with WriteBatch(session.connection()) as writes:
        appointment = record_booking(writes, routing.scheduler, request, booking, now)
        data = event_data.appointment(
            inquiry.id,
            appointment.id,
            appointment.slot_type,
            appointment.start,
            appointment.end,
            routing.scheduler.name,
            scheduler_appointment_id=booking.external_id,
            by="waitlist",
        )
        outbox.record_event(writes, outbox.APPOINTMENT_BOOKED, inquiry.id, data, now)
    inquiry.status = InquiryStatus.BOOKED
    inquiry.status_detail = "booked from the waitlist" + (" directly" if offer.direct else ": the patient accepted")
    inquiry.patient_message = patient_messages.booked(
        appointment.slot_type, appointment.start, routing.tz, inquiry.language, clinic=routing.clinic
    )
    inquiry.proposed_slot, inquiry.updated_at = None, now
    close_entry(session, entry, WaitlistStatus.BOOKED, now, "booked")
    audit.record(
        session,
        None,
        "waitlist.booked_directly" if offer.direct else "waitlist.accepted",
        inquiry_id=inquiry.id,
        details={**offer_brief(offer), "appointment": appointment.id},
        now=now,
        actor_name=actor,
    )
    events.waitlist_offer(offer.slot_type, entry.urgency, OfferStatus.ACCEPTED)


def _open_offer(
    session: Session, offer_id: uuid.UUID, inquiry_id: uuid.UUID, now: datetime
) -> tuple[WaitlistOffer, WaitlistEntry]:
    """The offer, locked, if it is this inquiry's, open, unexpired, and the inquiry still waits; else OfferClosed."""
    offer = _locked(session, offer_id)
    if offer is None or offer.inquiry_id != inquiry_id:
        raise OfferClosed("no such offer")
    if offer.status != OfferStatus.OPEN or offer.expires_at <= now:
        raise OfferClosed("the offer is no longer open")
    inquiry = session.get(Inquiry, inquiry_id, with_for_update=True, populate_existing=True)
    if inquiry.status != InquiryStatus.NEEDS_REVIEW:
        raise OfferClosed("the inquiry was settled another way")
    entry = session.get(WaitlistEntry, offer.entry_id, with_for_update=True, populate_existing=True)
    return offer, entry


def _locked(session: Session, offer_id: uuid.UUID) -> WaitlistOffer | None:
    return session.get(WaitlistOffer, offer_id, with_for_update=True, populate_existing=True)
