"""The figures of one simulated month (``bench/waitlist_month.py``), read from the database it ran on, and the
checks that nothing impossible happened (a slot booked twice, an offer outside its window or at an excluded time).
"""

from __future__ import annotations

import statistics
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bench.waitlist_clinic import AWAKE
from routing.adapters.db.models import (
    Appointment,
    AuditEvent,
    Inquiry,
    OutboxEvent,
    Slot,
    TriageDecision,
    WaitlistEntry,
    WaitlistOffer,
)
from routing.domain.time_preferences import read_preferences
from routing.domain.vocabulary import AppointmentStatus, InquiryStatus, OfferStatus, SlotStatus, WaitlistStatus
from routing.services.route_inquiry import Routing
from routing.services.waitlist_join import LIVE_ENTRY, split_times

URGENCIES = ("urgent", "soon", "routine")
ROUTES = ("consult", "imaging", "injection")
#: Offers that ended in an answer or its absence (withdrawn ones are counted apart).
OFFER_ENDS = (OfferStatus.ACCEPTED, OfferStatus.DECLINED, OfferStatus.EXPIRED, OfferStatus.WITHDRAWN)


@dataclass
class Figures:
    """One run's month: freed slots and their fate, offers, waits by urgency, the list's length, staff's share."""

    inquiries: int = 0
    by_urgency: dict[str, int] = field(default_factory=dict)
    #: Inquiries of the month booked when they wrote, from the waitlist, or never (left to staff), by urgency.
    booked_at_intake: Counter = field(default_factory=Counter)
    booked_from_list: Counter = field(default_factory=Counter)
    left_to_staff: Counter = field(default_factory=Counter)
    #: Why the waitlist gave inquiries up: window passed, offers unanswered.
    staff_reasons: Counter = field(default_factory=Counter)
    #: Days from writing in to the appointment, by urgency (inquiries of the month that were booked).
    waits: dict[str, list[float]] = field(default_factory=dict)
    #: Appointments cancelled in the month, and what became of each freed slot.
    freed: int = 0
    refilled_from_list: int = 0
    refilled_by_new: int = 0
    left_empty: int = 0
    left_empty_late: int = 0  # freed less than the waitlist's notice before it started: nobody could be asked
    not_yet: int = 0  # starts after the simulation's end
    offers: Counter = field(default_factory=Counter)
    offers_at_night: int = 0
    #: Waitlist length over the month (time-weighted mean, max), by route and in all.
    length_mean: dict[str, float] = field(default_factory=dict)
    length_max: dict[str, int] = field(default_factory=dict)
    days_on_list_booked: list[float] = field(default_factory=list)
    #: Slots that started in the month, and how many of them nobody came to.
    slots: int = 0
    slots_empty: int = 0
    problems: list[str] = field(default_factory=list)
    checks: int = 0

    def refilled(self) -> int:
        """Freed slots booked again before they started, by anyone."""
        return self.refilled_from_list + self.refilled_by_new


def read_figures(
    session: Session, routing: Routing, month: tuple[datetime, datetime], simulated: tuple[datetime, datetime]
) -> Figures:
    """The figures of the ``month`` (start, end) of a run that simulated the ``simulated`` (start, end) period."""
    end = simulated[1]
    first, last = month
    figures = Figures()
    decisions = {
        inquiry_id: (route, urgency)
        for inquiry_id, route, urgency in session.execute(
            select(TriageDecision.inquiry_id, TriageDecision.route, TriageDecision.urgency).where(
                TriageDecision.superseded_at.is_(None)
            )
        )
    }
    inquiries = session.execute(select(Inquiry.id, Inquiry.received_at)).all()
    appointments = session.scalars(select(Appointment).order_by(Appointment.created_at)).all()
    offers = session.scalars(select(WaitlistOffer)).all()
    entries = session.scalars(select(WaitlistEntry)).all()
    accepted = {(offer.inquiry_id, offer.slot_ref) for offer in offers if offer.status == OfferStatus.ACCEPTED}
    _cohort(
        figures, month, inquiries, decisions, appointments, accepted, {entry.inquiry_id: entry for entry in entries}
    )
    _freed_slots(figures, appointments, accepted, first, last, end, routing)
    for offer in offers:
        if first <= offer.offered_at < last:
            figures.offers[offer.status] += 1
            local = offer.offered_at.astimezone(routing.tz).time()
            figures.offers_at_night += not AWAKE[0] <= local < AWAKE[1]
    _lengths(figures, entries, first, last)
    figures.days_on_list_booked = [
        (entry.closed_at - entry.joined_at) / timedelta(days=1)
        for entry in entries
        if entry.status == WaitlistStatus.BOOKED and first <= entry.joined_at < last
    ]
    slots = session.execute(select(Slot.status).where(Slot.start >= first, Slot.start < last)).scalars().all()
    figures.slots, figures.slots_empty = len(slots), sum(status != SlotStatus.BUSY for status in slots)
    _check(session, routing, figures, decisions, inquiries, appointments, offers, {e.id: e for e in entries})
    _check_clock(session, figures.problems, simulated)
    return figures


def _cohort(figures: Figures, month, inquiries, decisions, appointments, accepted, entry_of) -> None:
    """The month's inquiries: booked when they wrote, from the list, or never; the wait to the first appointment."""
    first, last = month
    first_appointment: dict[uuid.UUID, Appointment] = {}
    for appointment in appointments:  # oldest first
        first_appointment.setdefault(appointment.inquiry_id, appointment)
    waits: dict[str, list[float]] = defaultdict(list)
    for inquiry_id, received_at in inquiries:
        if not first <= received_at < last:
            continue
        urgency = decisions[inquiry_id][1]
        figures.inquiries += 1
        figures.by_urgency[urgency] = figures.by_urgency.get(urgency, 0) + 1
        appointment = first_appointment.get(inquiry_id)
        if appointment is None:
            figures.left_to_staff[urgency] += 1
            figures.staff_reasons[_staff_reason(entry_of.get(inquiry_id))] += 1
            continue
        if (inquiry_id, str(appointment.slot_id)) in accepted:
            figures.booked_from_list[urgency] += 1
        else:
            figures.booked_at_intake[urgency] += 1
        waits[urgency].append((appointment.start - received_at) / timedelta(days=1))
    figures.waits = dict(waits)


def settled(month: tuple[datetime, datetime]) -> Callable[[Session, datetime], bool]:
    """For the simulation's cool-down: True at ``now`` once the month is over, none of its inquiries is still on
    the waitlist, and every slot its cancellations freed has started (the figures cannot change any more)."""
    first, last = month

    def check(session: Session, now: datetime) -> bool:
        if now < last:
            return False
        on_list = session.scalar(
            select(func.count())
            .select_from(WaitlistEntry)
            .join(Inquiry, Inquiry.id == WaitlistEntry.inquiry_id)
            .where(WaitlistEntry.status.in_(LIVE_ENTRY), Inquiry.received_at >= first, Inquiry.received_at < last)
        )
        to_come = session.scalar(
            select(func.count())
            .select_from(Appointment)
            .where(Appointment.cancelled_at >= first, Appointment.cancelled_at < last, Appointment.start > now)
        )
        session.rollback()
        return not on_list and not to_come

    return check


def _staff_reason(entry: WaitlistEntry | None) -> str:
    if entry is None:
        return "held for staff, no slot in the window"
    if entry.status == WaitlistStatus.WINDOW_PASSED:
        return "window passed on the waitlist"
    if entry.status == WaitlistStatus.REMOVED:
        return "offers unanswered"
    return f"still on the waitlist ({entry.status})"


def _freed_slots(figures, appointments, accepted, first, last, end, routing) -> None:
    """Each appointment cancelled in the month freed its slot: booked again before it started (from the list or
    by a new inquiry), left empty, or not started yet when the simulation ended."""
    by_slot: dict[uuid.UUID, list[Appointment]] = defaultdict(list)
    for appointment in appointments:
        by_slot[appointment.slot_id].append(appointment)
    for appointment in appointments:
        cancelled = appointment.cancelled_at
        if appointment.status != AppointmentStatus.CANCELLED or cancelled is None or not first <= cancelled < last:
            continue
        figures.freed += 1
        again = next(
            (later for later in by_slot[appointment.slot_id] if cancelled <= later.created_at < later.start),
            None,
        )
        if again is not None:
            if (again.inquiry_id, str(again.slot_id)) in accepted:
                figures.refilled_from_list += 1
            else:
                figures.refilled_by_new += 1
        elif appointment.start > end:
            figures.not_yet += 1
        else:
            figures.left_empty += 1
            figures.left_empty_late += appointment.start - cancelled < routing.waitlist.notice


def _lengths(figures: Figures, entries, first: datetime, last: datetime) -> None:
    """The list's length over the month from each entry's time on it: a time-weighted mean, and the most at once."""
    month = (last - first).total_seconds()
    for route in (*ROUTES, "all"):
        steps, area = [], 0.0
        for entry in entries:
            if route not in (entry.route, "all"):
                continue
            joined, left = max(entry.joined_at, first), min(entry.closed_at or last, last)
            if joined < left:
                steps += [(joined, 1), (left, -1)]
                area += (left - joined).total_seconds()
        level = peak = 0
        for _moment, step in sorted(steps):  # at one moment, leaving (-1) sorts before joining
            level += step
            peak = max(peak, level)
        figures.length_mean[route] = area / month
        figures.length_max[route] = peak


def _check(session, routing, figures, decisions, inquiries, appointments, offers, entry_of) -> None:
    """What must never happen, whatever the load: checked over the whole run, each a line in ``problems``."""
    problems = figures.problems
    booked = Counter(a.slot_id for a in appointments if a.status == AppointmentStatus.BOOKED)
    problems += [f"slot {slot} has {n} live appointments" for slot, n in booked.items() if n > 1]
    statuses = dict(session.execute(select(Slot.id, Slot.status)).all())
    problems += [
        f"slot {slot} is {status} with {booked.get(slot, 0)} live appointments"
        for slot, status in statuses.items()
        if (status == SlotStatus.BUSY) != (booked.get(slot, 0) == 1)
    ]
    live = {offer.slot_ref for offer in offers if offer.status == OfferStatus.OPEN}
    problems += [
        f"slot {slot} is held with no open offer"
        for slot, status in statuses.items()
        if status == SlotStatus.HELD and str(slot) not in live
    ]
    received = dict(inquiries)
    windows = routing.rulebook.urgency_windows_days
    for appointment in appointments:
        urgency = decisions[appointment.inquiry_id][1]
        latest = received[appointment.inquiry_id] + timedelta(days=windows[urgency])
        if appointment.start > latest:
            problems.append(f"appointment {appointment.id} ({urgency}) starts after the window")
    _check_offers(routing, problems, offers, entry_of, appointments)
    _check_entries(session, problems, offers, entry_of)
    figures.checks = len(appointments) + len(statuses) + len(offers) + len(entry_of)


#: The times services write: each must be the simulated clock's, never the real one.
_STAMPS = (
    Inquiry.received_at,
    Inquiry.updated_at,
    TriageDecision.created_at,
    Appointment.created_at,
    AuditEvent.at,
    OutboxEvent.occurred_at,
    WaitlistEntry.updated_at,
    WaitlistOffer.offered_at,
)


def _check_clock(session: Session, problems: list[str], simulated: tuple[datetime, datetime]) -> None:
    """Every time written lies in the simulated period: a service that read the real clock instead of ``now``
    would write today's date (the simulation runs in another year)."""
    start, end = simulated
    for column in _STAMPS:
        outside = session.scalar(select(func.count()).where((column < start) | (column > end)))
        if outside:
            problems.append(f"{outside} rows of {column} are outside the simulated period (the real clock was read)")


def _check_offers(routing, problems, offers, entry_of, appointments) -> None:
    """Every offer inside its entry's window and notice, at no excluded time, answered in time, and an accepted
    one booked: the inquiry's appointment on that slot, made when it was accepted."""
    made = {(a.inquiry_id, str(a.slot_id), a.created_at) for a in appointments}
    for offer in offers:
        entry = entry_of.get(offer.entry_id)
        if entry is None or offer.start > entry.window_end or offer.start < offer.offered_at + routing.waitlist.notice:
            problems.append(f"offer {offer.id} is outside its entry's window or notice")
        elif entry.unavailable_times:
            excluded = read_preferences(split_times(entry.unavailable_times), routing.time_words, routing.tz, "en")
            if excluded.limits and excluded.fits(offer.start):
                problems.append(f"offer {offer.id} is at a time the patient excluded")
        if not offer.offered_at < offer.expires_at:
            problems.append(f"offer {offer.id} expires when it is made")
        if offer.status in (OfferStatus.HOLDING, OfferStatus.BOOKING):
            problems.append(f"offer {offer.id} was left {offer.status}")
        answered = offer.status in (OfferStatus.ACCEPTED, OfferStatus.DECLINED)
        if answered and not offer.direct and offer.answered_at > offer.expires_at:
            problems.append(f"offer {offer.id} was {offer.status} after it expired")
        if offer.status == OfferStatus.ACCEPTED and (offer.inquiry_id, offer.slot_ref, offer.answered_at) not in made:
            problems.append(f"offer {offer.id} was accepted but its appointment is not the slot offered")


def _check_entries(session, problems, offers, entry_of) -> None:
    """One live entry an inquiry, live only while the inquiry waits for staff; an entry offered something has
    exactly one open offer, a waiting one none."""
    statuses = dict(session.execute(select(Inquiry.id, Inquiry.status)).all())
    live = Counter(entry.inquiry_id for entry in entry_of.values() if entry.status in LIVE_ENTRY)
    problems += [f"inquiry {inquiry} has {n} live waitlist entries" for inquiry, n in live.items() if n > 1]
    open_offers = Counter(offer.entry_id for offer in offers if offer.status == OfferStatus.OPEN)
    for entry in entry_of.values():
        if entry.status in LIVE_ENTRY and statuses[entry.inquiry_id] != InquiryStatus.NEEDS_REVIEW:
            problems.append(f"entry {entry.id} is {entry.status} but its inquiry is {statuses[entry.inquiry_id]}")
        expected = 1 if entry.status == WaitlistStatus.OFFERED else 0
        if open_offers[entry.id] != expected:
            problems.append(f"entry {entry.id} is {entry.status} with {open_offers[entry.id]} open offers")
        if entry.closed_at is not None and entry.closed_at < entry.joined_at:
            problems.append(f"entry {entry.id} closed before it joined")


def median(values: list[float]) -> float | None:
    """The median, or None for no values."""
    return statistics.median(values) if values else None


def p90(values: list[float]) -> float | None:
    """The 90th percentile (nearest rank), or None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, -(-len(ordered) * 9 // 10) - 1)]
