"""The embedded scheduler: slots kept in our own database, the default scheduling system."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Row, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from routing.adapters.db.models import Appointment, Slot
from routing.adapters.scheduling.interface import BookingOutcome, SlotTime
from routing.domain.booking_plan import BookingPlan
from routing.domain.demo_schedule import SlotSpec
from routing.domain.vocabulary import SlotStatus


def add_slots(session: Session, specs: Iterable[SlotSpec]) -> int:
    """Add free slots that do not exist yet (same type and start); return how many were added.

    Runs inside the caller's transaction; re-running with the same specs adds nothing.
    """
    specs = list(specs)
    if not specs:
        return 0
    earliest = min(spec.start for spec in specs)
    latest = max(spec.start for spec in specs)
    existing = {
        (slot_type, start)
        for slot_type, start in session.execute(
            select(Slot.slot_type, Slot.start).where(Slot.start >= earliest, Slot.start <= latest)
        )
    }
    added = 0
    for spec in specs:
        if (str(spec.slot_type), spec.start) in existing:
            continue
        session.add(Slot(slot_type=spec.slot_type, start=spec.start, end=spec.end, status=SlotStatus.FREE))
        added += 1
    session.flush()
    return added


def count_free_slots(session: Session) -> dict[str, int]:
    """Free slots per slot type, for the seed command's summary."""
    rows = session.execute(
        select(Slot.slot_type, func.count()).where(Slot.status == SlotStatus.FREE).group_by(Slot.slot_type)
    )
    return dict(rows.all())


# Built once at import: on a local database, building a statement costs more than running it.
_slots = Slot.__table__
_FIRST_FREE_AFTER = (
    select(_slots.c.id, _slots.c.slot_type, _slots.c.start, _slots.c.end)
    .where(_slots.c.slot_type == bindparam("want_type"), _slots.c.status == SlotStatus.FREE)
    .where(_slots.c.start > bindparam("after"))
    # (slot_type, start) is unique, so the start alone orders slots of one type, and the
    # (slot_type, status, start) index returns them in that order without sorting.
    .order_by(_slots.c.start)
    .limit(1)
)
_EARLIEST_IN_WINDOW = (
    select(_slots.c.id)
    .where(_slots.c.slot_type == bindparam("want_type"), _slots.c.status == SlotStatus.FREE)
    .where(_slots.c.start > bindparam("window_start"), _slots.c.start <= bindparam("window_end"))
    .order_by(_slots.c.start)
    .limit(1)
    .with_for_update(skip_locked=True)
    .scalar_subquery()
)
_CLAIM = (
    update(_slots)
    .where(_slots.c.id == _EARLIEST_IN_WINDOW, _slots.c.status == SlotStatus.FREE)
    .values(status=SlotStatus.BUSY, version=_slots.c.version + 1)
    .returning(_slots.c.id, _slots.c.slot_type, _slots.c.start, _slots.c.end)
)
_INSERT_APPOINTMENT = insert(Appointment.__table__)


def first_free_slot(session: Session, slot_type: str, after: datetime) -> SlotTime | None:
    """The earliest free slot of ``slot_type`` starting after ``after``."""
    row = session.connection().execute(_FIRST_FREE_AFTER, {"want_type": slot_type, "after": after}).first()
    return _slot_time(row)


def claim_earliest_slot(session: Session, plan: BookingPlan) -> SlotTime | None:
    """Mark the earliest free slot inside the plan's window busy, in one statement; the slot, or None.

    The candidate is chosen ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so concurrent bookings each take
    a different slot without waiting on or retrying after one another; the ``status = 'free'`` guard
    keeps the update safe on any database. SQLite runs one writer at a time (BEGIN IMMEDIATE).
    """
    params = {"want_type": plan.slot_type, "window_start": plan.earliest, "window_end": plan.latest}
    return _slot_time(session.connection().execute(_CLAIM, params).first())


def _slot_time(row: Row | None) -> SlotTime | None:
    return None if row is None else SlotTime(str(row.id), row.slot_type, row.start, row.end)


class EmbeddedScheduler:
    """Books slots kept in our own database, in the caller's transaction."""

    name = "embedded"

    def book(self, session: Session, plan: BookingPlan, inquiry_id: uuid.UUID) -> BookingOutcome:
        """Book the earliest free slot the plan allows; when none fits, propose the earliest later one."""
        slot = claim_earliest_slot(session, plan)
        if slot is None:
            return BookingOutcome(None, proposed=first_free_slot(session, plan.slot_type, after=plan.latest))
        appointment_id = uuid.uuid4()
        session.connection().execute(
            _INSERT_APPOINTMENT,
            {
                "id": appointment_id,
                "inquiry_id": inquiry_id,
                "slot_type": slot.slot_type,
                "start": slot.start,
                "end": slot.end,
                "scheduler": self.name,
                "external_id": slot.id,
                "slot_id": uuid.UUID(slot.id),
            },
        )
        return BookingOutcome(SlotTime(str(appointment_id), slot.slot_type, slot.start, slot.end))
