"""Which waitlist entry gets which free slot (pure), and when an offer runs out."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from routing.domain.time_preferences import TimePreference, Window
from routing.domain.waitlist_matching import Candidate, FreeSlot, WaitlistPolicy, match, priority_for

NOW = datetime(2031, 3, 3, 12, tzinfo=UTC)  # a Monday, 7 am in New York
POLICY = WaitlistPolicy()
NEW_YORK = ZoneInfo("America/New_York")


def candidate(name: str, priority: int, joined_hours_ago: float, window_hours: float = 48, **extra) -> Candidate:
    return Candidate(
        id=uuid.uuid5(uuid.NAMESPACE_OID, name),
        slot_type="imaging",
        priority=priority,
        joined_at=NOW - timedelta(hours=joined_hours_ago),
        window_end=NOW + timedelta(hours=window_hours),
        **extra,
    )


def slot(name: str, hours: float, slot_type: str = "imaging") -> FreeSlot:
    return FreeSlot(name, slot_type, NOW + timedelta(hours=hours))


def names(pairs) -> list[tuple[int, str]]:
    return [(c.priority, s.id) for c, s in pairs]


def test_the_most_urgent_entry_takes_the_earliest_slot_then_the_next_takes_the_next():
    entries = [candidate("routine", 60, 10), candidate("urgent", 20, 1), candidate("soon", 40, 5)]

    pairs = match([slot("b", 30), slot("a", 20)], entries, NOW, POLICY)

    assert names(pairs) == [(20, "a"), (40, "b")]


def test_between_equally_urgent_entries_the_one_waiting_longest_goes_first():
    older, newer = candidate("older", 20, 9), candidate("newer", 20, 1)

    pairs = match([slot("a", 20)], [newer, older], NOW, POLICY)

    assert [(c.id, s.id) for c, s in pairs] == [(older.id, "a")]


def test_an_entry_gets_no_slot_after_its_window_of_another_type_within_the_notice_or_one_it_refused():
    entry = candidate("urgent", 20, 1, window_hours=48, refused=frozenset({"refused"}))
    slots = [slot("late", 49), slot("consult", 20, "consult"), slot("too-soon", 1.5), slot("refused", 10)]

    assert match(slots, [entry], NOW, POLICY) == []


def test_a_slot_inside_the_patients_unavailable_times_is_skipped_for_the_next():
    mondays = TimePreference(windows=(Window(days=frozenset({0})),), tz=NEW_YORK)
    entry = candidate("urgent", 20, 1, unavailable=mondays)

    pairs = match([slot("monday-3pm", 8), slot("tuesday-9am", 26)], [entry], NOW, POLICY)

    assert names(pairs) == [(20, "tuesday-9am")]


def test_unavailable_times_not_all_read_stop_every_offer():
    entry = candidate("urgent", 20, 1, unavailable=TimePreference(unread=1, tz=NEW_YORK))

    assert match([slot("a", 20)], [entry], NOW, POLICY) == []


def test_an_offer_runs_out_after_two_hours_or_thirty_minutes_for_a_slot_within_a_day_never_past_the_notice():
    assert POLICY.expires_at(NOW, NOW + timedelta(hours=30)) == NOW + timedelta(hours=2)
    assert POLICY.expires_at(NOW, NOW + timedelta(hours=20)) == NOW + timedelta(minutes=30)
    assert POLICY.expires_at(NOW, NOW + timedelta(hours=2, minutes=10)) == NOW + timedelta(minutes=10)


def test_entries_join_with_a_priority_by_urgency():
    assert [priority_for(u) for u in ("urgent", "soon", "routine", "emergency")] == [20, 40, 60, 99]


def test_a_preference_excluding_unavailable_times_refuses_them_and_keeps_its_own_windows():
    afternoons = TimePreference(windows=(Window(ranges=((12 * 60, 17 * 60),)),), tz=NEW_YORK)
    mondays = TimePreference(windows=(Window(days=frozenset({0})),), tz=NEW_YORK)

    both = afternoons.excluding(mondays)

    monday_3pm, tuesday_3pm, tuesday_9am = (
        datetime(2031, 3, d, h, tzinfo=NEW_YORK) for d, h in ((3, 15), (4, 15), (4, 9))
    )
    assert [both.fits(t) for t in (monday_3pm, tuesday_3pm, tuesday_9am)] == [False, True, False]
