"""The embedded scheduler: slots kept in our own database, the default scheduling system."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Row, func, select, update
from sqlalchemy.orm import Session

from routing.adapters.db.models import Appointment, Slot
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


def first_free_slot(session: Session, slot_type: str, after: datetime) -> Slot | None:
    """The earliest free slot of ``slot_type`` starting after ``after``."""
    return session.scalar(
        select(Slot)
        .where(Slot.slot_type == slot_type, Slot.status == SlotStatus.FREE, Slot.start > after)
        .order_by(Slot.start, Slot.id)
        .limit(1)
    )


def claim_earliest_slot(session: Session, plan: BookingPlan) -> Row | None:
    """Mark the earliest free slot inside the plan's window busy, in one statement; its row, or None.

    The candidate is chosen ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so concurrent bookings each take
    a different slot without waiting on or retrying after one another; the ``status = 'free'`` guard
    keeps the update safe on any database. SQLite runs one writer at a time (BEGIN IMMEDIATE).
    """
    candidate = (
        select(Slot.id)
        .where(
            Slot.slot_type == plan.slot_type,
            Slot.status == SlotStatus.FREE,
            Slot.start > plan.earliest,
            Slot.start <= plan.latest,
        )
        .order_by(Slot.start, Slot.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    return session.execute(
        update(Slot)
        .where(Slot.id == candidate, Slot.status == SlotStatus.FREE)
        .values(status=SlotStatus.BUSY, version=Slot.version + 1)
        .returning(Slot.id, Slot.slot_type, Slot.start, Slot.end),
        execution_options={"synchronize_session": False},
    ).one_or_none()


@dataclass(frozen=True)
class BookingOutcome:
    """Either an appointment was booked, or none fit the window and ``proposed`` is the earliest later slot."""

    appointment: Appointment | None
    proposed: Slot | None = None


class EmbeddedScheduler:
    """Books slots kept in our own database, in the caller's transaction."""

    name = "embedded"

    def book(self, session: Session, plan: BookingPlan, inquiry_id: uuid.UUID) -> BookingOutcome:
        """Book the earliest free slot the plan allows; when none fits, propose the earliest later one."""
        slot = claim_earliest_slot(session, plan)
        if slot is None:
            return BookingOutcome(None, proposed=first_free_slot(session, plan.slot_type, after=plan.latest))
        appointment = Appointment(
            inquiry_id=inquiry_id,
            slot_type=slot.slot_type,
            start=slot.start,
            end=slot.end,
            scheduler=self.name,
            external_id=str(slot.id),
            slot_id=slot.id,
        )
        session.add(appointment)
        return BookingOutcome(appointment)
