"""Joining the waitlist: an inquiry with no free slot inside its urgency window waits for one to free up.

Written into routing's own write batch (``route_inquiry``), so an inquiry is held for staff and on the waitlist
in one commit, or neither. What happens next is ``routing.services.waitlist``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import exists, insert, select, type_coerce

from routing.adapters.db.models import Inquiry, WaitlistEntry
from routing.adapters.db.write_batch import RowWrite, WriteBatch
from routing.adapters.scheduling.interface import SlotTime
from routing.domain.booking_plan import BookingPlan
from routing.domain.vocabulary import InquiryStatus, WaitlistStatus
from routing.domain.waitlist_matching import priority_for

LIVE_ENTRY = (WaitlistStatus.WAITING, WaitlistStatus.OFFERED)

_entries = WaitlistEntry.__table__
_inquiries = Inquiry.__table__
_JOIN_COLUMNS = (
    "id",
    "inquiry_id",
    "route",
    "slot_type",
    "urgency",
    "priority",
    "window_end",
    "proposed_slot",
    "unavailable_times",
    "locations",
    "status",
    "unanswered",
    "joined_at",
    "updated_at",
)


def _join_if_pending(_keys: frozenset[str], bind) -> Any:
    # INSERT ... SELECT ... WHERE the inquiry is still pending (the settle it goes with applies) and has no live
    # entry (a rebook after a cancellation that found no slot either): a late duplicate of a job adds nothing.
    values = [type_coerce(bind(name), _entries.c[name].type) for name in _JOIN_COLUMNS]
    still_pending = exists().where(
        _inquiries.c.id == bind("inquiry_id"), _inquiries.c.status == InquiryStatus.PENDING_BOOKING
    )
    no_live_entry = ~exists().where(_entries.c.inquiry_id == bind("inquiry_id"), _entries.c.status.in_(LIVE_ENTRY))
    return insert(_entries).from_select(list(_JOIN_COLUMNS), select(*values).where(still_pending, no_live_entry))


_JOIN = RowWrite("join_waitlist_if_pending", _join_if_pending)


def join(
    writes: WriteBatch,
    *,
    inquiry_id: uuid.UUID,
    route: str,
    urgency: str,
    plan: BookingPlan,
    proposed: SlotTime | None,
    unavailable_times: list[str] | None,
    now: datetime,
    locations: list[str] | None = None,
) -> None:
    """Put the inquiry on the waitlist for ``plan``'s slot type until its window ends, in the caller's batch;
    offers only at ``locations`` (None: at any site).

    Add it before the settle that holds the inquiry for staff: it applies only if that settle does.
    """
    writes.add(
        _JOIN,
        {
            "id": uuid.uuid4(),
            "inquiry_id": inquiry_id,
            "route": route,
            "slot_type": plan.slot_type,
            "urgency": urgency,
            "priority": priority_for(urgency),
            "window_end": plan.latest,
            "proposed_slot": _slot_record(proposed),
            "unavailable_times": joined_times(unavailable_times),
            "locations": locations,
            "status": WaitlistStatus.WAITING,
            "unanswered": 0,
            "joined_at": now,
            "updated_at": now,
        },
    )


def _slot_record(slot: SlotTime | None) -> dict[str, str] | None:
    if slot is None:
        return None
    return {"id": slot.id, "slot_type": slot.slot_type, "start": slot.start.isoformat(), "end": slot.end.isoformat()}


def joined_times(entries: list[str] | None) -> str | None:
    """The patient's unavailable times as stored on the entry: one per line (read back with :func:`split_times`)."""
    kept = [entry.strip() for entry in entries or () if entry and entry.strip()]
    return "\n".join(kept)[:500] or None


def split_times(stored: str | None) -> list[str]:
    """The unavailable times stored by :func:`joined_times`, one entry each."""
    return [line for line in (stored or "").splitlines() if line.strip()]
