"""The waitlist: inquiries with no slot inside their urgency window wait for one to free up, most urgent first.

An inquiry joins when routing finds no free slot in its window (:func:`join`, in the routing's own
transaction). :func:`refill` then offers free slots to the entries, each to the most urgent entry whose window
it fits (then the one waiting longest; ``routing.domain.waitlist_matching``): the slot is held in the scheduling
system for that patient, who is told and may accept or decline from their own link
(``routing.services.waitlist_answers``) until the offer expires; an expired or declined offer's slot goes to the
next entry. An urgent entry may be booked straight away when the clinic allows it.

``refill`` runs in the worker every ``ROUTING_WAITLIST_SECONDS`` and at once after a cancellation frees a slot;
each run also expires offers, hands entries whose window has passed to staff, and finishes what a dead process
left half done. Nothing is ever offered twice or booked twice: the database keeps one live offer per slot and per
entry, the scheduler's hold keeps the slot from other bookers, and a remote scheduler is never called with a
transaction open (an offer is claimed first, ``holding``, then held, then opened).
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from routing.adapters.db.models import Inquiry, WaitlistEntry, WaitlistOffer
from routing.adapters.db.write_batch import WriteBatch
from routing.adapters.scheduling.interface import SchedulingError, SlotTaken, SlotTime
from routing.domain.time_preferences import read_preferences
from routing.domain.vocabulary import InquiryStatus, OfferStatus, WaitlistStatus
from routing.domain.waitlist_matching import Candidate, FreeSlot, match
from routing.services import event_data, outbox, waitlist_answers
from routing.services.route_inquiry import Routing
from routing.services.waitlist_join import split_times
from routing.services.waitlist_offers import (
    LEASE,
    LIVE_ENTRY,
    LIVE_OFFER,
    REFUSED,
    WAITLIST_ACTOR,
    close_entry,
    end_offer,
    hold_of,
    record_offered,
    withdraw_holding,
)

log = logging.getLogger(__name__)

#: Free slots read per slot type and run; the most urgent entries take the earliest.
_SLOTS_PER_RUN = 50


@dataclass
class RefillResult:
    """What one run of :func:`refill` did, for the worker's log and the tests."""

    offered: list[uuid.UUID] = field(default_factory=list)
    booked: list[uuid.UUID] = field(default_factory=list)
    expired: int = 0
    window_passed: int = 0
    closed: int = 0
    released: int = 0


def refill(session: Session, routing: Routing, now: datetime, slot_types: Iterable[str] | None = None) -> RefillResult:
    """One run of the waitlist: finish, expire and release what is due, close what is over, then offer free
    slots to waiting entries (of ``slot_types`` only, when given). Call with no transaction open.

    Raises nothing for a scheduling system that is unreachable: what could not be done waits for the next run.
    """
    result = RefillResult()
    try:
        _finish_interrupted(session, routing, now, result)
        _expire_due(session, routing, now, result)
        _release_ended(session, routing, now, result)
    except SchedulingError as error:
        log.warning("waitlist: the scheduling system failed while releasing holds: %s", type(error).__name__)
        session.rollback()
    _close_over(session, routing, now, result)
    wanted = set(slot_types) if slot_types is not None else None
    for slot_type in _slot_types_waiting(session):
        if wanted is not None and slot_type not in wanted:
            continue
        try:
            _offer_free_slots(session, routing, slot_type, now, result)
        except (SchedulingError, OperationalError) as error:
            # Unreachable, or a concurrent run won a lock (PostgreSQL's deadlock detector): the next run offers.
            log.warning("waitlist: no %s offers this run: %s", slot_type, type(error).__name__)
            session.rollback()
    return result


def run_safely(
    session: Session, routing: Routing, now: datetime, slot_types: Iterable[str] | None = None
) -> RefillResult | None:
    """:func:`refill`, for the worker's loop and after a cancellation: never raises (the next run tries again);
    None when it failed."""
    try:
        return refill(session, routing, now, slot_types)
    except Exception as error:
        log.error("waitlist: the run failed: %s", type(error).__name__)
        session.rollback()
        return None


def refill_after_freeing(session: Session, routing: Routing, now: datetime, slot_type: str | None = None) -> None:
    """Offer at once a slot a cancellation just freed (of ``slot_type``; any, when not known): the worker's next
    run would, a little later. Never raises: the change that freed it is done, whatever happens here.
    """
    if routing.waitlist.enabled:
        run_safely(session, routing, now, slot_types=None if slot_type is None else [slot_type])


# -- offering ---------------------------------------------------------------------------------------------------


def _slot_types_waiting(session: Session) -> list[str]:
    with session.begin():
        return list(
            session.scalars(
                select(WaitlistEntry.slot_type).where(WaitlistEntry.status == WaitlistStatus.WAITING).distinct()
            )
        )


def _offer_free_slots(session: Session, routing: Routing, slot_type: str, now: datetime, result: RefillResult) -> None:
    """Match the waiting entries of ``slot_type`` with its free slots and offer (or book) each pair."""
    policy, scheduler = routing.waitlist, routing.scheduler
    with session.begin():
        candidates = _candidates(session, routing, slot_type)
    if not candidates:
        return
    latest = max(candidate.window_end for candidate in candidates)
    earliest = now + policy.notice
    if latest < earliest:
        return
    if scheduler.capabilities.books_in_transaction:
        with session.begin():
            slots = scheduler.find_free_slots(session, slot_type, earliest, latest, limit=_SLOTS_PER_RUN)
            for candidate, slot in _pairs(slots, candidates, now, routing):
                _offer_in_transaction(session, routing, candidate, slots_by_id(slots)[slot.id], now, result)
        return
    slots = scheduler.find_free_slots(session, slot_type, earliest, latest, limit=_SLOTS_PER_RUN)
    for candidate, slot in _pairs(slots, candidates, now, routing):
        _offer_remote(session, routing, candidate, slots_by_id(slots)[slot.id], now, result)


def slots_by_id(slots: Iterable[SlotTime]) -> dict[str, SlotTime]:
    """The slots by their ids."""
    return {slot.id: slot for slot in slots}


def _pairs(slots: list[SlotTime], candidates: list[Candidate], now: datetime, routing: Routing):
    free = [FreeSlot(slot.id, slot.slot_type, slot.start, slot.location) for slot in slots]
    return match(free, candidates, now, routing.waitlist)


def _candidates(session: Session, routing: Routing, slot_type: str) -> list[Candidate]:
    """The waiting entries of ``slot_type`` whose inquiry still waits for staff, with what they refused."""
    rows = session.execute(
        select(WaitlistEntry, Inquiry.language)
        .join(Inquiry, Inquiry.id == WaitlistEntry.inquiry_id)
        .where(
            WaitlistEntry.status == WaitlistStatus.WAITING,
            WaitlistEntry.slot_type == slot_type,
            Inquiry.status == InquiryStatus.NEEDS_REVIEW,
        )
    ).all()
    if not rows:
        return []
    refused: dict[uuid.UUID, set[str]] = {}
    for entry_id, slot_ref in session.execute(
        select(WaitlistOffer.entry_id, WaitlistOffer.slot_ref).where(
            WaitlistOffer.entry_id.in_([entry.id for entry, _ in rows]), WaitlistOffer.status.in_(REFUSED)
        )
    ):
        refused.setdefault(entry_id, set()).add(slot_ref)
    candidates = []
    for entry, language in rows:
        unavailable = None
        if entry.unavailable_times:
            texts = split_times(entry.unavailable_times)
            unavailable = read_preferences(texts, routing.time_words, routing.tz, language)
        candidates.append(
            Candidate(
                id=entry.id,
                slot_type=entry.slot_type,
                priority=entry.priority,
                joined_at=entry.joined_at,
                window_end=entry.window_end,
                unavailable=unavailable,
                refused=frozenset(refused.get(entry.id, ())),
                locations=frozenset(entry.locations) if entry.locations is not None else None,
            )
        )
    return candidates


def _books_directly(routing: Routing, entry: WaitlistEntry) -> bool:
    return routing.waitlist.book_urgent_directly and entry.urgency == "urgent"


def _offer_in_transaction(
    session: Session, routing: Routing, candidate: Candidate, slot: SlotTime, now: datetime, result: RefillResult
) -> None:
    """Hold the slot and open the offer (or book it) in the caller's transaction, under a savepoint: a slot or
    entry another run took meanwhile is skipped, with nothing of this pair written."""
    offer_id = uuid.uuid4()
    try:
        with session.begin_nested():
            entry = _claim_entry(session, candidate.id, now)
            if entry is None:
                return
            hold = routing.scheduler.hold(session, slot, str(offer_id))
            offer = _new_offer(
                session, entry, slot, offer_id, OfferStatus.OPEN, now, routing, hold_ref=hold.external_id
            )
            if _books_directly(routing, entry):
                offer.direct = True
                request = waitlist_answers.request_for(session, routing, entry)
                booking = routing.scheduler.book_held(session, hold, request)
                waitlist_answers.record_accepted(
                    session, routing, offer, entry, request, booking, now, actor=WAITLIST_ACTOR
                )
                result.booked.append(offer_id)
                return
            record_offered(session, offer, entry, now)
    except (SlotTaken, IntegrityError):
        return
    result.offered.append(offer_id)


def _offer_remote(
    session: Session, routing: Routing, candidate: Candidate, slot: SlotTime, now: datetime, result: RefillResult
) -> None:
    """Claim the pair (``holding``, committed), hold the slot over the network, then open the offer (or book)."""
    offer_id = uuid.uuid4()
    try:
        with session.begin():
            entry = _claim_entry(session, candidate.id, now)
            if entry is None:
                return
            offer = _new_offer(session, entry, slot, offer_id, OfferStatus.HOLDING, now, routing)
            offer.lease_until = now + LEASE
    except IntegrityError:  # the slot or the entry has a live offer already
        session.rollback()
        return
    try:
        hold = routing.scheduler.hold(session, slot, str(offer_id))
    except SlotTaken:
        withdraw_holding(session, offer_id, now, "the slot was taken before it could be held")
        return
    # Any other failure leaves the offer ``holding``: whether a hold was made is unknown, and once the lease runs
    # out a later run finds it again by its key and gives it back (_recover_holding).
    with session.begin():
        offer = session.get(WaitlistOffer, offer_id, with_for_update=True, populate_existing=True)
        opened = offer.status == OfferStatus.HOLDING
        if opened:
            offer.status, offer.hold_ref, offer.lease_until = OfferStatus.OPEN, hold.external_id, None
            entry = session.get(WaitlistEntry, offer.entry_id)
            offer.direct = _books_directly(routing, entry)
            if not offer.direct:
                record_offered(session, offer, entry, now)
    if not opened:  # the worker gave up on this process meanwhile: give the hold back
        routing.scheduler.release(session, hold)
        return
    if _books_directly(routing, entry):
        waitlist_answers.accept(session, routing, offer_id, entry.inquiry_id, now, actor=WAITLIST_ACTOR)
        result.booked.append(offer_id)
        return
    result.offered.append(offer_id)


def _claim_entry(session: Session, entry_id: uuid.UUID, now: datetime) -> WaitlistEntry | None:
    """waiting -> offered, guarded: None when another run offered it something first."""
    claimed = session.execute(
        update(WaitlistEntry)
        .where(WaitlistEntry.id == entry_id, WaitlistEntry.status == WaitlistStatus.WAITING)
        .values(status=WaitlistStatus.OFFERED, updated_at=now)
        .returning(WaitlistEntry.id)
    ).first()
    return None if claimed is None else session.get(WaitlistEntry, entry_id, populate_existing=True)


def _new_offer(
    session: Session,
    entry: WaitlistEntry,
    slot: SlotTime,
    offer_id: uuid.UUID,
    status: str,
    now: datetime,
    routing: Routing,
    hold_ref: str | None = None,
) -> WaitlistOffer:
    offer = WaitlistOffer(
        id=offer_id,
        entry_id=entry.id,
        inquiry_id=entry.inquiry_id,
        slot_ref=slot.id,
        slot_type=slot.slot_type,
        start=slot.start,
        end=slot.end,
        status=status,
        direct=False,
        hold_ref=hold_ref,
        offered_at=now,
        expires_at=routing.waitlist.expires_at(now, slot.start),
    )
    session.add(offer)
    session.flush()  # the live-offer indexes refuse a second offer of the slot or to the entry here
    return offer


def _expire_due(session: Session, routing: Routing, now: datetime, result: RefillResult) -> None:
    with session.begin():
        due = session.scalars(
            select(WaitlistOffer)
            .where(WaitlistOffer.status == OfferStatus.OPEN, WaitlistOffer.expires_at <= now)
            .with_for_update(skip_locked=True)
        ).all()
        for offer in due:
            end_offer(session, routing, offer, OfferStatus.EXPIRED, now, why="not answered in time")
            result.expired += 1


def _release_ended(session: Session, routing: Routing, now: datetime, result: RefillResult) -> None:
    """Give a remote scheduler back the holds of ended offers, one call each, no transaction open."""
    with session.begin():
        ended = session.scalars(
            select(WaitlistOffer).where(
                WaitlistOffer.status.in_((*REFUSED, OfferStatus.WITHDRAWN)), WaitlistOffer.released_at.is_(None)
            )
        ).all()
        holds = [(offer.id, hold_of(offer)) for offer in ended]
    for offer_id, hold in holds:
        routing.scheduler.release(session, hold)
        with session.begin():
            session.execute(update(WaitlistOffer).where(WaitlistOffer.id == offer_id).values(released_at=now))
        result.released += 1


def _finish_interrupted(session: Session, routing: Routing, now: datetime, result: RefillResult) -> None:
    """Offers a dead process left ``holding`` (withdrawn; the hold, if made, released) or ``booking`` (finished
    from what the scheduling system says: booked, or open again)."""
    with session.begin():
        stuck = session.execute(
            select(WaitlistOffer.id, WaitlistOffer.status).where(
                WaitlistOffer.status.in_((OfferStatus.HOLDING, OfferStatus.BOOKING)), WaitlistOffer.lease_until < now
            )
        ).all()
    for offer_id, status in stuck:
        if status == OfferStatus.HOLDING:
            _recover_holding(session, routing, offer_id, now)
        else:
            waitlist_answers.finish_booking(session, routing, offer_id, now)


def _recover_holding(session: Session, routing: Routing, offer_id: uuid.UUID, now: datetime) -> None:
    """An offer left ``holding``: a hold may have been made under its key. Hold again under the same key (the
    scheduler returns the hold it made, where it can find it) and give it back; then withdraw the offer."""
    with session.begin():
        slot = hold_of(session.get(WaitlistOffer, offer_id)).slot
    # SlotTaken: not ours: never made, or a server that cannot find it by key (one that expires its holds itself).
    with contextlib.suppress(SlotTaken):
        routing.scheduler.release(session, routing.scheduler.hold(session, slot, str(offer_id)))
    withdraw_holding(session, offer_id, now, "the process holding the slot stopped")


# -- closing entries ----------------------------------------------------------------------------------------------


def _close_over(session: Session, routing: Routing, now: datetime, result: RefillResult) -> None:
    """Entries whose window has passed go to staff; entries whose inquiry was settled otherwise are removed."""
    with session.begin():
        passed = session.scalars(
            select(WaitlistEntry)
            .where(WaitlistEntry.status == WaitlistStatus.WAITING, WaitlistEntry.window_end < now)
            .with_for_update(skip_locked=True)
        ).all()
        for entry in passed:
            why = f"no {entry.slot_type} slot freed inside the {entry.urgency} window; staff to arrange one"
            close_entry(session, entry, WaitlistStatus.WINDOW_PASSED, now, why)
            with WriteBatch(session.connection()) as writes:
                data = event_data.held(entry.inquiry_id, "waitlist_window_passed", entry.route, entry.urgency)
                outbox.record_event(writes, outbox.INQUIRY_HELD, entry.inquiry_id, data, now)
            result.window_passed += 1
        settled = session.scalars(
            select(WaitlistEntry)
            .join(Inquiry, Inquiry.id == WaitlistEntry.inquiry_id)
            .where(WaitlistEntry.status.in_(LIVE_ENTRY), Inquiry.status != InquiryStatus.NEEDS_REVIEW)
            .with_for_update(of=WaitlistEntry, skip_locked=True)
        ).all()
        for entry in settled:
            if _withdraw_open_offer(session, routing, entry, now):
                close_entry(session, entry, WaitlistStatus.REMOVED, now, "the inquiry was settled another way")
                result.closed += 1


def _withdraw_open_offer(session: Session, routing: Routing, entry: WaitlistEntry, now: datetime) -> bool:
    """End the entry's open offer, if any, before the entry closes; False while one is in flight (``holding``,
    ``booking``: the process at work, or the next run, finishes it first)."""
    if entry.status == WaitlistStatus.WAITING:
        return True
    # SKIP LOCKED: a patient's answer locks the offer before the entry, the reverse of this order; waiting for it
    # could deadlock. An offered entry always has a live offer, so none found means one is locked: next run.
    offer = session.scalar(
        select(WaitlistOffer)
        .where(WaitlistOffer.entry_id == entry.id, WaitlistOffer.status.in_(LIVE_OFFER))
        .with_for_update(skip_locked=True)
    )
    if offer is None or offer.status != OfferStatus.OPEN:
        return False
    end_offer(session, routing, offer, OfferStatus.WITHDRAWN, now, why="the inquiry was settled another way")
    return True
