"""The clinic's demo timetable: which slots of which type exist on which weekdays.

Pure data and arithmetic, so the seed command and its tests share one definition of clinic hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from routing.domain.locations import DEFAULT_LOCATION
from routing.domain.vocabulary import SlotType

MON, TUE, WED, THU, FRI = range(5)


@dataclass(frozen=True)
class Session:
    """A block of equal slots of one type on some weekdays, in clinic local time."""

    slot_type: SlotType
    weekdays: tuple[int, ...]
    first_start: time
    last_end: time
    minutes: int


# Consults all week around lunch; the MRI runs three days; facet joint blocks two afternoons.
DEMO_TIMETABLE: tuple[Session, ...] = (
    Session(SlotType.CONSULT, (MON, TUE, WED, THU, FRI), time(9, 0), time(12, 0), 30),
    Session(SlotType.CONSULT, (MON, TUE, WED, THU, FRI), time(13, 0), time(17, 0), 30),
    Session(SlotType.IMAGING, (MON, WED, FRI), time(8, 0), time(16, 0), 60),
    Session(SlotType.INJECTION, (TUE, THU), time(13, 0), time(16, 0), 60),
)


@dataclass(frozen=True)
class SlotSpec:
    """One slot to create: type, UTC start/end, and the site it is at."""

    slot_type: SlotType
    start: datetime
    end: datetime
    location: str = DEFAULT_LOCATION


def demo_slots(
    first_day: date,
    days: int,
    tz: ZoneInfo,
    timetable: tuple[Session, ...] = DEMO_TIMETABLE,
    location: str = DEFAULT_LOCATION,
    slot_types: frozenset[str] | None = None,
) -> list[SlotSpec]:
    """Slots for ``days`` calendar days from ``first_day`` at ``location`` (of ``slot_types`` only, when given), in
    UTC, ordered by start then type."""
    specs = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        for session in timetable:
            if day.weekday() not in session.weekdays or (
                slot_types is not None and session.slot_type not in slot_types
            ):
                continue
            # Local wall-clock times, converted per slot so a DST change mid-range stays on the hour.
            start = datetime.combine(day, session.first_start, tz)
            last_end = datetime.combine(day, session.last_end, tz)
            step = timedelta(minutes=session.minutes)
            while start + step <= last_end:
                specs.append(
                    SlotSpec(session.slot_type, start.astimezone(UTC), (start + step).astimezone(UTC), location)
                )
                start += step
    return sorted(specs, key=lambda spec: (spec.start, spec.slot_type))
