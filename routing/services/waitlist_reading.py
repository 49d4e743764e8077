"""What staff read of the waitlist: its entries per slot type, most urgent first, with their open offers and the
time left to answer them; one inquiry's entries with all their offers; and its length for the metrics."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from routing.adapters.db.models import Inquiry, WaitlistEntry, WaitlistOffer
from routing.domain.time_preferences import read_preferences
from routing.domain.vocabulary import SlotType, Urgency
from routing.domain.waitlist_matching import unreadable
from routing.services.reading import read_only
from routing.services.route_inquiry import Routing
from routing.services.waitlist_join import split_times
from routing.services.waitlist_offers import LIVE_ENTRY, LIVE_OFFER

#: The urgencies an entry can have (an emergency is called, never waitlisted).
_URGENCIES = (Urgency.URGENT, Urgency.SOON, Urgency.ROUTINE)


@read_only
def board(
    session: Session,
    routing: Routing,
    now: datetime,
    *,
    slot_type: str | None = None,
    status: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[dict[str, Any]], int]:
    """A page of waitlist entries (of ``slot_type``; live ones, or those of ``status``) and how many match in
    all: live entries most urgent first, then the longest waiting (the order offers follow); closed ones
    most recently closed first."""
    query = select(WaitlistEntry, Inquiry).join(Inquiry, Inquiry.id == WaitlistEntry.inquiry_id)
    query = query.where(WaitlistEntry.status.in_(LIVE_ENTRY) if status is None else WaitlistEntry.status == status)
    if slot_type is not None:
        query = query.where(WaitlistEntry.slot_type == slot_type)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    live = status is None or status in LIVE_ENTRY
    order = (
        (WaitlistEntry.priority, WaitlistEntry.joined_at, WaitlistEntry.id)
        if live
        else (WaitlistEntry.closed_at.desc(), WaitlistEntry.id)
    )
    rows = session.execute(query.order_by(*order).offset((page - 1) * per_page).limit(per_page)).all()
    offers = _live_offers(session, [entry.id for entry, _ in rows])
    return [entry_dict(entry, inquiry, routing, now, offers.get(entry.id)) for entry, inquiry in rows], total


@read_only
def entry(session: Session, routing: Routing, entry_id: uuid.UUID, now: datetime) -> dict[str, Any] | None:
    """One entry with its live offer, or None."""
    row = session.execute(
        select(WaitlistEntry, Inquiry)
        .join(Inquiry, Inquiry.id == WaitlistEntry.inquiry_id)
        .where(WaitlistEntry.id == entry_id)
    ).first()
    if row is None:
        return None
    return entry_dict(row[0], row[1], routing, now, _live_offers(session, [entry_id]).get(entry_id))


def for_inquiry(session: Session, routing: Routing | None, inquiry_id: uuid.UUID, now: datetime) -> list[dict]:
    """The inquiry's waitlist entries, newest first, each with all its offers (oldest first), in the caller's
    transaction (the inquiry page's read). Without ``routing`` whether the times could be read is not said."""
    rows = session.execute(
        select(WaitlistEntry, Inquiry)
        .join(Inquiry, Inquiry.id == WaitlistEntry.inquiry_id)
        .where(WaitlistEntry.inquiry_id == inquiry_id)
        .order_by(WaitlistEntry.joined_at.desc(), WaitlistEntry.id)
    ).all()
    if not rows:
        return []
    offers: dict[uuid.UUID, list[WaitlistOffer]] = {}
    for offer in session.scalars(
        select(WaitlistOffer)
        .where(WaitlistOffer.entry_id.in_([entry.id for entry, _ in rows]))
        .order_by(WaitlistOffer.offered_at, WaitlistOffer.id)
    ):
        offers.setdefault(offer.entry_id, []).append(offer)
    views = []
    for entry, inquiry in rows:
        mine = offers.get(entry.id, [])
        live = next((offer for offer in mine if offer.status in LIVE_OFFER), None)
        view = entry_dict(entry, inquiry, routing, now, live)
        view["offers"] = [offer_dict(offer, now) for offer in mine]
        views.append(view)
    return views


@read_only
def lengths(session: Session) -> dict[tuple[str, str], int]:
    """Live entries per (slot type, urgency), every pair listed (0 when none): a gauge read at scrape time, whose
    series must drop to 0 rather than linger at their last count when a list empties."""
    counts = {(slot_type.value, urgency.value): 0 for slot_type in SlotType for urgency in _URGENCIES}
    for slot_type, urgency, count in session.execute(
        select(WaitlistEntry.slot_type, WaitlistEntry.urgency, func.count())
        .where(WaitlistEntry.status.in_(LIVE_ENTRY))
        .group_by(WaitlistEntry.slot_type, WaitlistEntry.urgency)
    ):
        counts[(slot_type, urgency)] = count
    return counts


def entry_dict(
    entry: WaitlistEntry, inquiry: Inquiry, routing: Routing | None, now: datetime, offer: WaitlistOffer | None
) -> dict[str, Any]:
    """An entry as the admin API and the console show it, with its live offer (``offer``, or None)."""
    patient = (inquiry.payload or {}).get("patient") or {}
    times = split_times(entry.unavailable_times)
    ended = entry.closed_at or now
    return {
        "id": str(entry.id),
        "inquiry_id": str(entry.inquiry_id),
        "patient_name": " ".join(str(patient.get(k) or "") for k in ("first_name", "last_name")).strip(),
        "inquiry_status": inquiry.status,
        "route": entry.route,
        "slot_type": entry.slot_type,
        "urgency": entry.urgency,
        "priority": entry.priority,
        "status": entry.status,
        "joined_at": entry.joined_at.isoformat(),
        "window_end": entry.window_end.isoformat(),
        "waited_seconds": max(0, int((ended - entry.joined_at).total_seconds())),
        "unavailable_times": times,
        "unavailable_times_readable": _readable(routing, times, inquiry.language),
        "proposed_slot": entry.proposed_slot,
        "unanswered": entry.unanswered,
        "closed_at": entry.closed_at.isoformat() if entry.closed_at else None,
        "close_reason": entry.close_reason,
        "offer": offer_dict(offer, now) if offer is not None else None,
    }


def offer_dict(offer: WaitlistOffer, now: datetime) -> dict[str, Any]:
    """An offer as the admin API and the console show it: the slot, its state and, while live, the time left."""
    live = offer.status in LIVE_OFFER
    return {
        "id": str(offer.id),
        "status": offer.status,
        "slot_type": offer.slot_type,
        "start": offer.start.isoformat(),
        "end": offer.end.isoformat(),
        "direct": offer.direct,
        "offered_at": offer.offered_at.isoformat(),
        "expires_at": offer.expires_at.isoformat(),
        "seconds_left": max(0, int((offer.expires_at - now).total_seconds())) if live else None,
        "answered_at": offer.answered_at.isoformat() if offer.answered_at else None,
    }


def _live_offers(session: Session, entry_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, WaitlistOffer]:
    ids = list(entry_ids)
    if not ids:
        return {}
    rows = session.scalars(
        select(WaitlistOffer).where(WaitlistOffer.entry_id.in_(ids), WaitlistOffer.status.in_(LIVE_OFFER))
    )
    return {offer.entry_id: offer for offer in rows}


def _readable(routing: Routing | None, times: list[str], language: str | None) -> bool | None:
    """Whether every unavailable time could be read (None: there are none, or no routing to read them with)."""
    if not times or routing is None:
        return None
    return not unreadable(read_preferences(times, routing.time_words, routing.tz, language))
