"""The embedded scheduler: slots kept in our own database, the default scheduling system."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
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


def free_slots(session: Session, slot_type: str, after: datetime, limit: int = 5) -> list[Slot]:
    """Free slots of ``slot_type`` starting after ``after``, earliest first."""
    return list(
        session.scalars(
            select(Slot)
            .where(Slot.slot_type == slot_type, Slot.status == SlotStatus.FREE, Slot.start > after)
            .order_by(Slot.start, Slot.id)
            .limit(limit)
        )
    )


def claim_slot(session: Session, slot: Slot) -> bool:
    """Mark ``slot`` busy if it is still free; False when another booking took it first.

    A conditional UPDATE rather than read-then-write: on PostgreSQL two transactions racing for one
    slot serialise on the row, and the loser sees zero rows updated and moves on to the next slot.
    """
    result = session.execute(
        update(Slot)
        .where(Slot.id == slot.id, Slot.status == SlotStatus.FREE)
        .values(status=SlotStatus.BUSY, version=Slot.version + 1)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


@dataclass(frozen=True)
class BookingOutcome:
    """Either an appointment was booked, or none fit the window and ``proposed`` is the earliest later slot."""

    appointment: Appointment | None
    proposed: Slot | None = None


class EmbeddedScheduler:
    """Books slots kept in our own database, in the caller's transaction."""

    name = "embedded"

    def book(self, session: Session, plan: BookingPlan, inquiry_id: uuid.UUID) -> BookingOutcome:
        """Book the earliest free slot the plan allows; when none fits, propose the earliest later one.

        Lost races (another inquiry claimed a slot between our read and our update) move on to the
        next slot, re-reading when a whole batch was taken.
        """
        while True:
            candidates = free_slots(session, plan.slot_type, after=plan.earliest)
            if not candidates:
                return BookingOutcome(None)
            for slot in candidates:
                if not plan.fits(slot.start):
                    return BookingOutcome(None, proposed=slot)
                if claim_slot(session, slot):
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
                    session.flush()
                    return BookingOutcome(appointment)
