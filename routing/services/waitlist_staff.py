"""What staff do to the waitlist: put an inquiry on it by hand, take an entry off, reprioritise it or restate
when the patient cannot come. Each is one transaction with one audit line per change, naming the staff member
and their reason; then the waitlist runs at once for the entry's slot type, so a free slot is offered now.

An inquiry goes on the waitlist only while it waits for staff (``needs_review``): the refill offers only to
those, and closes the entries of inquiries settled another way, so a booked inquiry is refused rather than
added and silently taken off again (and the waitlist never books a second appointment for one inquiry).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from routing.adapters.db.models import Inquiry, TriageDecision, WaitlistEntry, WaitlistOffer
from routing.adapters.db.types import utcnow
from routing.domain.booking_plan import SLOT_TYPE_FOR_ROUTE, plan_booking
from routing.domain.time_preferences import read_preferences
from routing.domain.vocabulary import InquiryStatus, OfferStatus, WaitlistStatus
from routing.domain.waitlist_matching import priority_for, unreadable
from routing.services import audit, waitlist
from routing.services.route_inquiry import Routing
from routing.services.staff_tokens import Staff
from routing.services.waitlist_join import joined_times, split_times
from routing.services.waitlist_offers import LIVE_ENTRY, LIVE_OFFER, close_entry, end_offer

#: The audit actions of staff's changes (the waitlist's own are in ``waitlist_offers``).
ADDED = "waitlist.added"
REPRIORITISED = "waitlist.reprioritised"
UNAVAILABLE_TIMES_CHANGED = "waitlist.unavailable_times_changed"


class NotFound(LookupError):
    """No inquiry, or no waitlist entry, with that id."""


class Refused(Exception):
    """The change cannot be made as asked; nothing changed. ``errors`` names the fields at fault, if any."""

    def __init__(self, message: str, *, status: int = 409, errors: Mapping[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.errors = dict(errors or {})


def add(
    session: Session,
    routing: Routing,
    staff: Staff,
    inquiry_id: uuid.UUID,
    reason: str,
    *,
    priority: int | None = None,
    unavailable_times: list[str] | None = None,
    window_end: datetime | None = None,
    now: datetime | None = None,
) -> uuid.UUID:
    """Put an inquiry waiting for staff on the waitlist of its route's slot type; the new entry's id.

    Its route and urgency are its decision in force; ``window_end`` defaults to the end of the urgency window
    counted from now, ``priority`` to the urgency's. Refused (409) when it has a live entry already, is not
    waiting for staff (booked, being booked, urgent review, closed) or its route books no slot; (422) when the
    window or the unavailable times cannot be used.
    """
    now = now or utcnow()
    try:
        with session.begin():
            inquiry = session.get(Inquiry, inquiry_id, with_for_update=True, populate_existing=True)
            if inquiry is None:
                raise NotFound(inquiry_id)
            if not routing.waitlist.enabled:
                raise Refused("The waitlist is off here (ROUTING_WAITLIST=off): nothing would be offered.")
            _refuse_live_entry(session, inquiry_id)
            _refuse_unless_waiting_for_staff(inquiry)
            decision = _decision_in_force(session, inquiry_id)
            slot_type = SLOT_TYPE_FOR_ROUTE.get(decision.route) if decision else None
            if slot_type is None:
                route = decision.route if decision else "none (not triaged)"
                raise Refused(f"Its route, {route}, books no slot: there is nothing to wait for.")
            window_end = _window_end(routing, decision.route, decision.urgency, window_end, now)
            times = _readable_times(routing, unavailable_times, inquiry.language)
            entry = WaitlistEntry(
                id=uuid.uuid4(),
                inquiry_id=inquiry_id,
                route=decision.route,
                slot_type=slot_type.value,
                urgency=decision.urgency,
                priority=priority if priority is not None else priority_for(decision.urgency),
                window_end=window_end,
                proposed_slot=inquiry.proposed_slot,
                unavailable_times=joined_times(times),
                status=WaitlistStatus.WAITING,
                unanswered=0,
                joined_at=now,
                updated_at=now,
            )
            session.add(entry)
            session.flush()  # the one-live-entry index refuses an entry another request added meanwhile
            inquiry.status_detail, inquiry.updated_at = f"on the waitlist: added by {staff.name}"[:500], now
            audit.record(
                session,
                staff,
                ADDED,
                inquiry_id=inquiry_id,
                details={**_brief(entry), "window_end": window_end.isoformat(), "unavailable_times": times},
                reason=reason,
                now=now,
            )
            entry_id, slot = entry.id, entry.slot_type
    except IntegrityError:
        raise Refused("This inquiry was put on the waitlist meanwhile; reload it.") from None
    waitlist.refill_after_freeing(session, routing, now, slot)
    return entry_id


def remove(
    session: Session, routing: Routing, staff: Staff, entry_id: uuid.UUID, reason: str, *, now: datetime | None = None
) -> None:
    """Take a live entry off the waitlist; its open offer, if any, is withdrawn first and its slot offered to the
    next entry. Refused (409) when the entry is closed already, or while an offer to it is being held or booked
    (a minute at most: the process at work, or the next run, finishes it)."""
    now = now or utcnow()
    with session.begin():
        offer = _lock_in_answer_order(session, entry_id)
        entry = _live_entry(session, entry_id)
        if offer is not None and offer.status != OfferStatus.OPEN:
            raise Refused(
                f"A slot is being {'held' if offer.status == OfferStatus.HOLDING else 'booked'} for this entry right "
                "now; try again in a minute."
            )
        if offer is not None:
            why = "the entry was taken off the waitlist by staff"
            end_offer(session, routing, offer, OfferStatus.WITHDRAWN, now, why=why, actor=staff.name)
        close_entry(session, entry, WaitlistStatus.REMOVED, now, reason, staff=staff)
        slot_type, freed = entry.slot_type, offer is not None
    if freed:
        waitlist.refill_after_freeing(session, routing, now, slot_type)


def update(
    session: Session,
    routing: Routing,
    staff: Staff,
    entry_id: uuid.UUID,
    reason: str,
    *,
    priority: int | None = None,
    unavailable_times: list[str] | None = None,
    now: datetime | None = None,
) -> list[str]:
    """Reprioritise a live entry (1 first .. 99 last) and/or restate when the patient cannot come (``[]``: no
    longer any such time; None: unchanged). One audit line per change, with before and after; the actions
    audited (none when nothing changed). An open offer stands: the patient may still decline it.
    Refused (409) when the entry is closed; (422) when an unavailable time cannot be read.
    """
    now = now or utcnow()
    done = []
    with session.begin():
        entry = _live_entry(session, entry_id)
        if priority is not None and priority != entry.priority:
            details = {**_brief(entry), "from": entry.priority, "to": priority}
            entry.priority = priority
            audit.record(
                session, staff, REPRIORITISED, inquiry_id=entry.inquiry_id, details=details, reason=reason, now=now
            )
            done.append(REPRIORITISED)
        if unavailable_times is not None:
            language = session.scalar(select(Inquiry.language).where(Inquiry.id == entry.inquiry_id))
            times = _readable_times(routing, unavailable_times, language)
            before = split_times(entry.unavailable_times)
            if times != before:
                entry.unavailable_times = joined_times(times)
                details = {**_brief(entry), "from": before, "to": times}
                audit.record(
                    session,
                    staff,
                    UNAVAILABLE_TIMES_CHANGED,
                    inquiry_id=entry.inquiry_id,
                    details=details,
                    reason=reason,
                    now=now,
                )
                done.append(UNAVAILABLE_TIMES_CHANGED)
        if done:
            entry.updated_at = now
        slot_type = entry.slot_type
    if done:  # a higher priority, or fewer excluded times, may make a free slot fit it now
        waitlist.refill_after_freeing(session, routing, now, slot_type)
    return done


# -- helpers ------------------------------------------------------------------------------------------------------


def _brief(entry: WaitlistEntry) -> dict:
    return {"entry": str(entry.id), "slot_type": entry.slot_type, "urgency": entry.urgency, "priority": entry.priority}


def _lock_in_answer_order(session: Session, entry_id: uuid.UUID) -> WaitlistOffer | None:
    """Lock the entry's live offer (if any), its inquiry, then the entry, in the order a patient's answer locks
    them (``waitlist_answers``): taking the entry first could deadlock with an acceptance on PostgreSQL. The
    live offer, locked; None when there is none. Once the entry is locked no new offer can be made to it, so an
    offer made between the first look and the entry's lock is refused (try again), never left behind."""
    entry = session.get(WaitlistEntry, entry_id)
    if entry is None:
        raise NotFound(entry_id)
    first = _live_offer_id(session, entry_id)
    offer = session.get(WaitlistOffer, first, with_for_update=True, populate_existing=True) if first else None
    session.get(Inquiry, entry.inquiry_id, with_for_update=True, populate_existing=True)
    session.get(WaitlistEntry, entry_id, with_for_update=True, populate_existing=True)
    now_live = _live_offer_id(session, entry_id)
    if now_live != (offer.id if offer is not None and offer.status in LIVE_OFFER else None):
        raise Refused("A slot was just offered to this entry; try again in a minute.")
    return offer if now_live is not None else None


def _live_offer_id(session: Session, entry_id: uuid.UUID) -> uuid.UUID | None:
    return session.scalar(
        select(WaitlistOffer.id).where(WaitlistOffer.entry_id == entry_id, WaitlistOffer.status.in_(LIVE_OFFER))
    )


def _live_entry(session: Session, entry_id: uuid.UUID) -> WaitlistEntry:
    entry = session.get(WaitlistEntry, entry_id, with_for_update=True, populate_existing=True)
    if entry is None:
        raise NotFound(entry_id)
    if entry.status not in LIVE_ENTRY:
        raise Refused(f"This entry is off the waitlist already ({entry.status.replace('_', ' ')}).")
    return entry


def _refuse_live_entry(session: Session, inquiry_id: uuid.UUID) -> None:
    live = session.scalar(
        select(WaitlistEntry.id).where(WaitlistEntry.inquiry_id == inquiry_id, WaitlistEntry.status.in_(LIVE_ENTRY))
    )
    if live is not None:
        raise Refused(f"This inquiry is on the waitlist already (entry {live}); reprioritise or remove that entry.")


#: Why an inquiry in each other status does not go on the waitlist.
_NOT_WAITING = {
    InquiryStatus.BOOKED: (
        "This inquiry is booked. Only an inquiry waiting for staff (needs review) goes on the waitlist: the waitlist "
        "never books a second appointment for one inquiry. To move the patient to an earlier free slot, override "
        "the route and choose that slot."
    ),
    InquiryStatus.PENDING_BOOKING: "This inquiry is being booked right now; add it once it is settled, if needed.",
    InquiryStatus.URGENT_REVIEW: "This inquiry is for urgent review: a clinician calls the patient; nothing is booked.",
    InquiryStatus.CLOSED: "This inquiry is closed.",
}


def _refuse_unless_waiting_for_staff(inquiry: Inquiry) -> None:
    if inquiry.status != InquiryStatus.NEEDS_REVIEW:
        raise Refused(_NOT_WAITING.get(inquiry.status, f"This inquiry is {inquiry.status}."))


def _decision_in_force(session: Session, inquiry_id: uuid.UUID) -> TriageDecision | None:
    return session.scalar(
        select(TriageDecision)
        .where(TriageDecision.inquiry_id == inquiry_id, TriageDecision.superseded_at.is_(None))
        .order_by(TriageDecision.created_at.desc())
        .limit(1)
    )


def _window_end(routing: Routing, route: str, urgency: str, given: datetime | None, now: datetime) -> datetime:
    """The end of the entry's window: as given, else the urgency's window from now. A window ending before the
    earliest slot the waitlist may offer (``notice`` from now) could never be filled."""
    earliest = now + routing.waitlist.notice
    if given is not None:
        if given <= earliest:
            raise Refused(
                "The window must end after the earliest slot the waitlist may offer.",
                status=422,
                errors={"window_end": [f"Must be later than {earliest.isoformat(timespec='minutes')}."]},
            )
        return given
    plan = plan_booking(route, urgency, routing.rulebook.urgency_windows_days, now)
    if plan is None:
        raise Refused(
            f"The {urgency} urgency has no booking window; give the window's end.",
            status=422,
            errors={"window_end": [f"Required: the {urgency} urgency has no booking window."]},
        )
    return plan.latest


def _readable_times(routing: Routing, texts: list[str] | None, language: str | None) -> list[str]:
    """The unavailable times as stored (blank ones dropped), each readable: an entry the time words cannot read
    would keep every offer from the entry (matching does not guess), so staff are asked to restate it."""
    kept = split_times(joined_times(texts))
    errors = {}
    for index, text in enumerate(texts or ()):
        if text and text.strip() and unreadable(read_preferences([text], routing.time_words, routing.tz, language)):
            errors[f"unavailable_times.{index}"] = [
                "Not understood; use days and times such as 'Mondays', 'before 10am' or 'Friday afternoons'."
            ]
    if errors:
        raise Refused("Some unavailable times could not be read.", status=422, errors=errors)
    return kept
