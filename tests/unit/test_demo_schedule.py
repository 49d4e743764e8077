"""The demo timetable puts realistic slots in clinic hours, in the clinic's time zone."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, date, time, timedelta
from zoneinfo import ZoneInfo

from routing.domain.demo_schedule import demo_slots
from routing.domain.vocabulary import SlotType

NEW_YORK = ZoneInfo("America/New_York")
MONDAY = date(2026, 11, 30)


def test_a_week_has_consult_imaging_and_injection_slots():
    slots = demo_slots(MONDAY, 7, NEW_YORK)

    assert Counter(slot.slot_type for slot in slots) == {
        SlotType.CONSULT: 5 * 14,
        SlotType.IMAGING: 3 * 8,
        SlotType.INJECTION: 2 * 3,
    }


def test_slots_are_on_weekdays_within_clinic_hours_local_time():
    for slot in demo_slots(MONDAY, 14, NEW_YORK):
        start, end = slot.start.astimezone(NEW_YORK), slot.end.astimezone(NEW_YORK)
        assert start.weekday() < 5
        assert time(8, 0) <= start.time()
        assert end.time() <= time(17, 0)
        assert start.date() == end.date()


def test_consults_skip_the_lunch_hour():
    starts = {
        slot.start.astimezone(NEW_YORK).time()
        for slot in demo_slots(MONDAY, 1, NEW_YORK)
        if slot.slot_type == "consult"
    }

    assert time(12, 0) not in starts
    assert time(12, 30) not in starts
    assert time(11, 30) in starts
    assert time(13, 0) in starts


def test_times_are_timezone_aware_utc_and_ordered():
    slots = demo_slots(MONDAY, 7, NEW_YORK)

    assert all(slot.start.tzinfo is UTC and slot.end.tzinfo is UTC for slot in slots)
    assert slots == sorted(slots, key=lambda slot: (slot.start, slot.slot_type))


def test_slots_of_one_type_never_overlap():
    by_type: dict[str, list] = {}
    for slot in demo_slots(MONDAY, 7, NEW_YORK):
        by_type.setdefault(slot.slot_type, []).append(slot)
    for slots in by_type.values():
        for earlier, later in itertools.pairwise(slots):
            assert earlier.end <= later.start


def test_wall_clock_hours_hold_across_the_daylight_saving_change():
    # US clocks fall back on Sunday 2026-11-01: 9:00 local is 13:00 UTC before and 14:00 UTC after.
    slots = demo_slots(date(2026, 10, 30), 4, NEW_YORK)
    first_consults = [
        slot.start
        for slot in slots
        if slot.slot_type == "consult" and slot.start.astimezone(NEW_YORK).time() == time(9, 0)
    ]

    assert [moment.hour for moment in first_consults] == [13, 14]
    assert first_consults[1] - first_consults[0] == timedelta(days=3, hours=1)


def test_weekend_only_range_has_no_slots():
    assert demo_slots(date(2026, 11, 28), 2, NEW_YORK) == []
