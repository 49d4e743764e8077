"""Use cases for the embedded scheduler's timetable."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from routing.adapters.db.database import Database
from routing.adapters.scheduling import embedded
from routing.domain.demo_schedule import demo_slots


def seed_demo_schedule(*, db: Database, days: int, tz: ZoneInfo, first_day: date) -> tuple[int, dict[str, int]]:
    """Fill the embedded scheduler with the demo timetable for ``days`` days from ``first_day``.

    Idempotent: slots that already exist are left alone. Returns (slots added, free slots by type).
    """
    with db.session() as session, session.begin():
        added = embedded.add_slots(session, demo_slots(first_day, days, tz))
        free = embedded.count_free_slots(session)
    return added, free
