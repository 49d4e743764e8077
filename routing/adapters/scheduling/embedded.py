"""The embedded scheduler: slots kept in our own database, the default scheduling system."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from routing.adapters.db.models import Slot
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
