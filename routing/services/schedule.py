"""Use cases for the timetable: the embedded scheduler's demo slots, and free slots for staff to choose."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from routing.adapters.db.database import Database
from routing.adapters.db.models import Location
from routing.adapters.scheduling import embedded
from routing.adapters.scheduling.interface import PROPOSAL_HORIZON, Scheduler, SlotTime
from routing.domain.demo_schedule import demo_slots
from routing.services.reading import read_only


def seed_demo_schedule(*, db: Database, days: int, tz: ZoneInfo, first_day: date) -> tuple[int, dict[str, int]]:
    """Fill the embedded scheduler with the demo timetable for ``days`` days from ``first_day``, at every active
    site, for the kinds of appointment each offers (in the site's own time zone, when it has one).

    Idempotent: slots that already exist are left alone. Returns (slots added, free slots by type).
    """
    with db.session() as session, session.begin():
        sites = session.execute(
            select(Location.id, Location.time_zone, Location.slot_types).where(Location.active.is_(True))
        ).all()
        specs = [
            spec
            for site in sites
            for spec in demo_slots(
                first_day,
                days,
                ZoneInfo(site.time_zone) if site.time_zone else tz,
                location=site.id,
                slot_types=frozenset(site.slot_types),
            )
        ]
        added = embedded.add_slots(session, specs)
        free = embedded.count_free_slots(session)
    return added, free


@read_only
def next_free_slots(
    session: Session,
    scheduler: Scheduler,
    slot_type: str,
    now: datetime,
    limit: int,
    locations: tuple[str, ...] | None = None,
) -> list[SlotTime]:
    """The next free slots of ``slot_type`` from ``now`` (for staff choosing one), at ``locations`` (None: any
    site); SchedulingError if unreachable."""
    return scheduler.find_free_slots(session, slot_type, now, now + PROPOSAL_HORIZON, limit, locations=locations)
