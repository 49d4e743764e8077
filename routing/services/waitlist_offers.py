"""The life of a waitlist offer and entry, shared by the refill (``waitlist``) and the answers
(``waitlist_answers``): recording an offer, ending it, closing an entry. Each runs in the caller's transaction.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from routing.adapters.db.models import Inquiry, WaitlistEntry, WaitlistOffer
from routing.adapters.db.write_batch import WriteBatch
from routing.adapters.scheduling.interface import SlotHold, SlotTime
from routing.domain.vocabulary import InquiryStatus, OfferStatus, WaitlistStatus
from routing.observability import events
from routing.services import audit, event_data, outbox
from routing.services.route_inquiry import Routing
from routing.services.staff_tokens import Staff
from routing.services.waitlist_join import LIVE_ENTRY  # noqa: F401 - the waitlist's names, in one place

#: How the waitlist appears in the audit trail when it acts on its own.
WAITLIST_ACTOR = "waitlist"
LIVE_OFFER = (OfferStatus.HOLDING, OfferStatus.OPEN, OfferStatus.BOOKING)
#: Offers whose slot the entry turned down or let run out: never offered to it again.
REFUSED = (OfferStatus.DECLINED, OfferStatus.EXPIRED)
#: How long a process may take over a hold or a booking (``holding``, ``booking``) before the refill finishes
#: it instead: longer than the scheduling system's timeouts with their retries.
LEASE = timedelta(seconds=60)


def offer_brief(offer: WaitlistOffer) -> dict[str, Any]:
    """An offer as the audit trail and the API show it (no patient data)."""
    return {
        "offer": str(offer.id),
        "slot_type": offer.slot_type,
        "start": offer.start.isoformat(),
        "expires_at": offer.expires_at.isoformat(),
        "status": offer.status,
        "direct": offer.direct,
    }


def hold_of(offer: WaitlistOffer) -> SlotHold:
    """The scheduler's hold behind an offer (its key is the offer's id)."""
    slot = SlotTime(offer.slot_ref, offer.slot_type, offer.start, offer.end)
    return SlotHold(slot=slot, hold_key=str(offer.id), external_id=offer.hold_ref or offer.slot_ref)


def record_offered(session: Session, offer: WaitlistOffer, entry: WaitlistEntry, now: datetime) -> None:
    """The offer's event (the patient is told through their channel) and its audit line."""
    with WriteBatch(session.connection()) as writes:
        data = event_data.waitlist_offer(offer.inquiry_id, offer.id, offer.slot_type, offer.start, offer.expires_at)
        outbox.record_event(writes, outbox.WAITLIST_OFFERED, offer.inquiry_id, data, now)
    audit.record(
        session,
        None,
        "waitlist.offered",
        inquiry_id=entry.inquiry_id,
        details={**offer_brief(offer), "priority": entry.priority},
        now=now,
        actor_name=WAITLIST_ACTOR,
    )
    events.waitlist_offer(offer.slot_type, entry.urgency, OfferStatus.OPEN)


def end_offer(
    session: Session,
    routing: Routing,
    offer: WaitlistOffer,
    status: str,
    now: datetime,
    *,
    why: str,
    actor: str = WAITLIST_ACTOR,
) -> None:
    """End a live offer (declined, expired, withdrawn) in the caller's transaction; its entry waits again.

    The embedded scheduler releases the hold here; a remote one's hold is released after the commit by the
    next refill (``released_at`` stays empty until then), never with the transaction open. An expired offer
    counts as unanswered: after ``max_unanswered`` of them the entry goes to staff, who call instead.
    """
    offer.status, offer.answered_at, offer.lease_until = status, now, None
    if offer.hold_ref is None:
        offer.released_at = now  # nothing was held
    elif routing.scheduler.capabilities.books_in_transaction:
        routing.scheduler.release(session, hold_of(offer))
        offer.released_at = now
    entry = session.get(WaitlistEntry, offer.entry_id, with_for_update=True, populate_existing=True)
    audit.record(
        session,
        None,
        f"waitlist.{status}",
        inquiry_id=offer.inquiry_id,
        details=offer_brief(offer),
        reason=why,
        now=now,
        actor_name=actor,
    )
    events.waitlist_offer(offer.slot_type, entry.urgency, status)
    if entry.status != WaitlistStatus.OFFERED:
        return
    entry.status, entry.updated_at = WaitlistStatus.WAITING, now
    if status == OfferStatus.EXPIRED:
        entry.unanswered += 1
        if entry.unanswered >= routing.waitlist.max_unanswered:
            why = f"{entry.unanswered} offers went unanswered; staff to call the patient"
            close_entry(session, entry, WaitlistStatus.REMOVED, now, why)


def close_entry(
    session: Session, entry: WaitlistEntry, status: str, now: datetime, why: str, *, staff: Staff | None = None
) -> None:
    """End a live entry (booked, removed, window passed) in the caller's transaction, with its audit line (but
    for ``booked``, whose acceptance writes its own); the time it waited is measured. Unless booked, the
    inquiry's status line tells staff why (it is in their queue already, ``needs_review``)."""
    entry.status, entry.updated_at, entry.closed_at, entry.close_reason = status, now, now, why[:200]
    events.waitlist_closed(entry.slot_type, entry.urgency, status, (now - entry.joined_at).total_seconds())
    if status == WaitlistStatus.BOOKED:
        return
    inquiry = session.get(Inquiry, entry.inquiry_id, with_for_update=True)
    if inquiry is not None and inquiry.status == InquiryStatus.NEEDS_REVIEW:
        inquiry.status_detail, inquiry.updated_at = f"waitlist: {why}"[:500], now
    audit.record(
        session,
        staff,
        f"waitlist.{status}",
        inquiry_id=entry.inquiry_id,
        details={"entry": str(entry.id), "slot_type": entry.slot_type, "urgency": entry.urgency},
        reason=why,
        now=now,
        actor_name=WAITLIST_ACTOR,
    )


def withdraw_holding(session: Session, offer_id: uuid.UUID, now: datetime, why: str) -> None:
    """A ``holding`` offer whose slot could not be held, or whose hold was given back: withdrawn, the entry waits
    again. Nothing of it is held in the scheduling system any more. Runs its own transaction."""
    with session.begin():
        offer = session.get(WaitlistOffer, offer_id, with_for_update=True, populate_existing=True)
        if offer is None or offer.status != OfferStatus.HOLDING:
            return
        offer.status, offer.answered_at, offer.lease_until = OfferStatus.WITHDRAWN, now, None
        offer.released_at = now
        entry = session.get(WaitlistEntry, offer.entry_id, with_for_update=True, populate_existing=True)
        if entry.status == WaitlistStatus.OFFERED:
            entry.status, entry.updated_at = WaitlistStatus.WAITING, now
        audit.record(
            session,
            None,
            "waitlist.withdrawn",
            inquiry_id=offer.inquiry_id,
            details=offer_brief(offer),
            reason=why,
            now=now,
            actor_name=WAITLIST_ACTOR,
        )
