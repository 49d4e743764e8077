"""When the patient said appointments suit them ("Thursday", "jueves por la tarde", "after 3pm"), read exactly.

The words are data: one TOML file per language in ``time_words/`` (see ``en.toml`` for the format), validated
when loaded, so a bad edit stops the service at start. Reading is strict: a preference is read only when every
word in it is known; otherwise it is left unread and counted, and the patient is told the clinic will try to
accommodate it. Nothing is guessed.

A read preference is a union of :class:`Window` (days of the week, parts of the day, a start-time bound),
in the clinic's local time. "Mon or Wed mornings" is Monday mornings or Wednesday mornings: a list of bare days
takes the time of day of the clause that ends it.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from routing.domain.triage.lexicon import fold

TIME_WORDS_DIR = Path(__file__).with_name("time_words")

DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
#: Day groups a file may name besides the seven days.
DAY_GROUPS = {"weekdays": frozenset(range(5)), "weekend": frozenset({5, 6})}
PARTS = ("morning", "midday", "afternoon", "evening")
#: Phrase lists of a file besides [days] and [parts]; each is a list of phrases.
LISTS = ("ignore", "join", "anytime", "after", "before", "between", "to", "pm", "am")
DAY_MINUTES = 24 * 60
# Hours without am/pm up to this one read as afternoon: clinics open in the day ("after 3" is 3 pm).
_AFTERNOON_UP_TO = 7

_TOKEN = re.compile(r"\d{1,2}(?::\d{2})?|[a-z']+|-|[,;/&+.!?()]")
_AM_PM = re.compile(r"\b([ap])\.\s?m\b\.?")  # "p.m." -> "pm", before "." is read as a separator
_SEPARATORS = frozenset(",;/&+.!?()")
_CLOCK = re.compile(r"(\d{1,2})(?::(\d{2}))?")


class TimeWordsError(ValueError):
    """A time-words file is invalid; the message names the file, the entry and what is wrong."""


@dataclass(frozen=True)
class Window:
    """Appointment starts that suit the patient: on ``days`` (empty: any day), inside one of ``ranges``
    (minutes after midnight, start included; empty: any time), at or after ``after`` and before ``before``."""

    days: frozenset[int] = frozenset()
    ranges: tuple[tuple[int, int], ...] = ()
    after: int | None = None
    before: int | None = None

    @property
    def has_time(self) -> bool:
        """True when the window limits the time of day."""
        return bool(self.ranges) or self.after is not None or self.before is not None

    def fits(self, local: datetime) -> bool:
        """True when an appointment starting at ``local`` (clinic time) is inside the window."""
        if self.days and local.weekday() not in self.days:
            return False
        minute = local.hour * 60 + local.minute
        if self.after is not None and minute < self.after:
            return False
        if self.before is not None and minute >= self.before:
            return False
        return not self.ranges or any(start <= minute < end for start, end in self.ranges)


@dataclass(frozen=True)
class TimePreference:
    """What the patient's preferred times say: the windows read, and how many entries could not be read."""

    windows: tuple[Window, ...] = ()
    unread: int = 0
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    #: When appointments do not suit the patient (their unavailable times, read): a slot inside one is chosen only
    #: when nothing else in the window is free.
    excluded: tuple[Window, ...] = ()

    @property
    def stated(self) -> bool:
        """True when the patient gave any preference (read or not)."""
        return bool(self.windows) or self.unread > 0 or bool(self.excluded)

    @property
    def limits(self) -> bool:
        """True when something read narrows the choice of slot (not only "any time")."""
        wanted = bool(self.windows) and not any(window == Window() for window in self.windows)
        return wanted or bool(self.excluded)

    def fits(self, start: datetime) -> bool:
        """True when an appointment starting at ``start`` suits a window read and no excluded one (always, when
        nothing limits)."""
        if not self.limits:
            return True
        local = start.astimezone(self.tz)
        if any(window.fits(local) for window in self.excluded):
            return False
        wanted = [window for window in self.windows if window != Window()]
        return not wanted or any(window.fits(local) for window in wanted)

    def excluding(self, unavailable: TimePreference) -> TimePreference:
        """This preference, also avoiding the windows read from the patient's unavailable times (an "any time"
        among them excludes nothing: it says nothing about when)."""
        excluded = tuple(window for window in unavailable.windows if window != Window())
        return replace(self, excluded=self.excluded + excluded) if excluded else self


NO_PREFERENCE = TimePreference()


@dataclass(frozen=True)
class PreferenceResult:
    """What the patient is told about their preference: whether the booked time fits it, and what was unread.

    ``fitted`` is None when nothing read limits the choice (no preference, "any time", or nothing readable).
    """

    fitted: bool | None = None
    unread: bool = False


def preference_result(preference: TimePreference | None, start: datetime) -> PreferenceResult:
    """How the appointment starting at ``start`` relates to the patient's preference."""
    if preference is None or not preference.stated:
        return PreferenceResult()
    fitted = preference.fits(start) if preference.limits else None
    if fitted and not any(window != Window() for window in preference.windows):
        fitted = None  # only unavailable times were given: "one of the times you said suit you" would be untrue
    return PreferenceResult(fitted=fitted, unread=preference.unread > 0)


@dataclass(frozen=True)
class TimeWords:
    """One language's time words, compiled: phrase (a tuple of tokens) -> meaning, per table."""

    language: str
    days: Mapping[tuple[str, ...], frozenset[int]]
    parts: Mapping[tuple[str, ...], tuple[int, int]]
    lists: Mapping[str, frozenset[tuple[str, ...]]]
    #: Longest phrase in tokens: how far ahead the reader looks.
    longest: int


def read_preferences(
    texts: Iterable[str] | None, words: Sequence[TimeWords], tz: ZoneInfo, language: str | None = None
) -> TimePreference:
    """Read the patient's preferred times (the form's list) with the words of each language.

    The inquiry's ``language`` is tried first, then the others; an entry no language reads is counted unread.
    """
    ordered = sorted(words, key=lambda w: w.language != language)
    windows: list[Window] = []
    unread = 0
    for text in texts or ():
        if not text or not text.strip():
            continue
        read = next((found for w in ordered if (found := read_one(text, w)) is not None), None)
        if read is None:
            unread += 1
        else:
            windows.extend(window for window in read if window not in windows)
    return TimePreference(tuple(windows), unread, tz)


def read_one(text: str, words: TimeWords) -> tuple[Window, ...] | None:
    """The windows one entry names, or None when any word in it is not a time word of ``words``."""
    return _Reader(tokens(text), words).read()


def tokens(text: str) -> list[str]:
    """The entry as folded tokens: words, clock times ("15", "3:30"), dashes and separators."""
    return _TOKEN.findall(_AM_PM.sub(r"\1m", fold(text)))


class _Reader:
    """Reads one entry left to right, longest phrase first; any unknown word makes it unreadable."""

    def __init__(self, toks: list[str], words: TimeWords) -> None:
        self.toks = toks
        self.words = words
        self.at = 0

    def read(self) -> tuple[Window, ...] | None:
        clauses: list[Window] = []
        current: Window | None = None
        while self.at < len(self.toks):
            token = self.toks[self.at]
            if token in _SEPARATORS or self.take("join"):
                if token in _SEPARATORS:
                    self.at += 1
                if current is not None:
                    clauses.append(current)
                current = None
                continue
            step = self.clause_part()
            if step is None:
                return None
            if step is _SKIP:
                continue
            current = _merge(current or Window(), step)
        if current is not None:
            clauses.append(current)
        if not clauses:
            return None
        return _distribute(clauses)

    def clause_part(self) -> Window | object | None:
        """The next meaningful piece of a clause, _SKIP for a filler word, None when unreadable."""
        if (days := self.phrase(self.words.days)) is not None:
            return Window(days=days)
        if self.take("anytime"):
            return Window()
        for bound in ("between", "after", "before"):
            start = self.at
            if self.take(bound):
                window = self.bounded(bound)
                if window is not None:
                    return window
                self.at = start  # "from" with no time after it is not a bound: try it as another word
        if (part := self.phrase(self.words.parts)) is not None:
            return Window(ranges=(part,))
        if _CLOCK.fullmatch(self.toks[self.at]):
            minute = self.clock()
            if minute is None:
                return None
            if self.take("to"):  # "9-11", "9 to 11"
                until = self.clock()
                return None if until is None or until <= minute else Window(after=minute, before=until)
            return Window(after=minute, before=min(minute + 60, DAY_MINUTES))  # "at 3pm": that hour
        if self.take("ignore"):
            return _SKIP
        return None

    def bounded(self, bound: str) -> Window | None:
        self.skip_ignored()
        minute = self.clock()
        if minute is None:
            return None
        if bound == "after":
            return Window(after=minute)
        if bound == "before":
            return Window(before=minute)
        # The joining word first: Spanish "a" joins ("de 9 a 11") but is also a filler word ("a las 3").
        if not self.joined():
            self.skip_ignored()
            if not self.joined():
                return None
        self.skip_ignored()
        until = self.clock()
        if until is None or until <= minute:
            return None
        return Window(after=minute, before=until)

    def clock(self) -> int | None:
        """Minutes after midnight of the clock time at the reader, with its am/pm; None if there is none."""
        if self.at >= len(self.toks) or not (match := _CLOCK.fullmatch(self.toks[self.at])):
            return None
        hour, minute = int(match[1]), int(match[2] or 0)
        self.at += 1
        if self.at < len(self.toks) and self.toks[self.at] in ("h", "hs", "hrs"):
            self.at += 1
            marker = "24h"
        elif self.take("pm"):
            marker = "pm"
        elif self.take("am"):
            marker = "am"
        else:
            marker = None
        if minute > 59 or hour > 24 or (marker in ("am", "pm") and not 1 <= hour <= 12):
            return None
        if marker == "pm" and hour < 12:
            hour += 12
        elif marker == "am" and hour == 12:
            hour = 0
        elif marker is None and 1 <= hour <= _AFTERNOON_UP_TO:
            hour += 12
        total = hour * 60 + minute
        return total if total <= DAY_MINUTES else None

    def joined(self) -> bool:
        return self.take("to") or self.take("join")

    def skip_ignored(self) -> None:
        while self.at < len(self.toks) and self.take("ignore"):
            pass

    def take(self, table: str) -> bool:
        return self.phrase(self.words.lists[table]) is not None

    def phrase(self, table: Mapping[tuple[str, ...], Any] | frozenset[tuple[str, ...]]) -> Any:
        """The meaning of the longest phrase of ``table`` at the reader (True for lists); None if none starts here."""
        for length in range(min(self.words.longest, len(self.toks) - self.at), 0, -1):
            key = tuple(self.toks[self.at : self.at + length])
            if key in table:
                self.at += length
                return table[key] if isinstance(table, Mapping) else True
        return None


_SKIP = object()


def _merge(window: Window, part: Window) -> Window:
    """A clause's pieces together: days add up, parts of the day add up, bounds narrow."""
    after = max((bound for bound in (window.after, part.after) if bound is not None), default=None)
    before = min((bound for bound in (window.before, part.before) if bound is not None), default=None)
    return Window(window.days | part.days, window.ranges + part.ranges, after, before)


def _distribute(clauses: list[Window]) -> tuple[Window, ...]:
    """Bare days borrow the time of day of the next clause that has one: "Mon or Wed mornings"."""
    result = list(clauses)
    for index in range(len(result) - 2, -1, -1):
        clause, following = result[index], result[index + 1]
        if clause.days and not clause.has_time and following.days and following.has_time:
            result[index] = replace(following, days=clause.days)
    unique: list[Window] = []
    for window in result:
        if window not in unique:
            unique.append(window)
    return tuple(unique)


# --- loading -------------------------------------------------------------------------------------------


def load_time_words(directory: Path = TIME_WORDS_DIR) -> tuple[TimeWords, ...]:
    """Every ``*.toml`` time-words file in ``directory``, English first; TimeWordsError names a bad entry."""
    paths = sorted(directory.glob("*.toml"), key=lambda path: (path.stem != "en", path.stem))
    if not paths:
        raise TimeWordsError(f"no time-words files (*.toml) in {directory}")
    loaded = []
    for path in paths:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise TimeWordsError(f"{path.name}: cannot be read: {error}") from None
        loaded.append(compile_time_words(data, path.name))
    return tuple(loaded)


def compile_time_words(data: Mapping[str, Any], name: str) -> TimeWords:
    """Validate one file's data (parsed TOML) and compile it."""

    def fail(problem: str) -> TimeWordsError:
        return TimeWordsError(f"{name}: {problem}")

    language = data.get("language")
    if not isinstance(language, str) or not re.fullmatch(r"[a-z]{2}", language):
        raise fail("'language' must be a two-letter code such as \"en\"")
    unknown = set(data) - {"language", "days", "parts", *LISTS}
    if unknown:
        raise fail(f"unknown key(s) {', '.join(sorted(unknown))}; known: language, days, parts, {', '.join(LISTS)}")

    def phrase_list(value: Any, where: str) -> list[tuple[str, ...]]:
        if not isinstance(value, list) or not value or not all(isinstance(item, str) for item in value):
            raise fail(f"{where} must be a non-empty list of phrases")
        phrases = []
        for item in value:
            toks = tuple(tokens(item))
            if not toks or any(tok in _SEPARATORS or _CLOCK.fullmatch(tok) for tok in toks):
                raise fail(f"{where}: {item!r} is not a phrase of words")
            phrases.append(toks)
        return phrases

    # Where each word phrase was defined: a phrase with two meanings would be read by whichever table is
    # tried first, so it is refused. Bounds (after/before/between/to) and am/pm are read only next to a
    # clock time, so they may repeat a filler word ("de", "from", "y").
    meaning: dict[tuple[str, ...], str] = {}

    def claim(phrase: tuple[str, ...], where: str) -> None:
        if phrase in meaning:
            raise fail(f"{where}: {' '.join(phrase)!r} is also in {meaning[phrase]}")
        meaning[phrase] = where

    days: dict[tuple[str, ...], frozenset[int]] = {}
    day_table = data.get("days")
    if not isinstance(day_table, dict):
        raise fail("[days] must be a table of day = [phrases]")
    missing = [day for day in DAY_NAMES if day not in day_table]
    if missing:
        raise fail(f"[days] lacks {', '.join(missing)}")
    for key, value in day_table.items():
        if key in DAY_NAMES:
            named = frozenset({DAY_NAMES.index(key)})
        elif key in DAY_GROUPS:
            named = DAY_GROUPS[key]
        else:
            raise fail(f"unknown day days.{key}; known: {', '.join((*DAY_NAMES, *DAY_GROUPS))}")
        for phrase in phrase_list(value, f"days.{key}"):
            claim(phrase, f"days.{key}")
            days[phrase] = named

    parts: dict[tuple[str, ...], tuple[int, int]] = {}
    part_table = data.get("parts")
    if not isinstance(part_table, dict):
        raise fail("[parts] must hold tables [parts.morning] ... with phrases, from and until")
    for key, spec in part_table.items():
        if key not in PARTS:
            raise fail(f"unknown part of day parts.{key}; known: {', '.join(PARTS)}")
        if not isinstance(spec, dict) or set(spec) != {"phrases", "from", "until"}:
            raise fail(f"[parts.{key}] must have exactly phrases, from and until")
        start, end = _hhmm(spec["from"], f"parts.{key}.from", fail), _hhmm(spec["until"], f"parts.{key}.until", fail)
        if start >= end:
            raise fail(f"parts.{key}: 'from' must be before 'until'")
        for phrase in phrase_list(spec["phrases"], f"parts.{key}.phrases"):
            claim(phrase, f"parts.{key}")
            parts[phrase] = (start, end)

    lists: dict[str, frozenset[tuple[str, ...]]] = {}
    for table in LISTS:
        if table not in data:
            raise fail(f"missing list {table!r}")
        phrases = phrase_list(data[table], table)
        if table in ("ignore", "join", "anytime"):
            for phrase in phrases:
                claim(phrase, table)
        lists[table] = frozenset(phrases)
    longest = max(len(phrase) for phrase in [*days, *parts, *(p for ps in lists.values() for p in ps)])
    return TimeWords(language, days, parts, lists, longest)


def _hhmm(value: Any, where: str, fail) -> int:
    match = re.fullmatch(r"(\d{2}):(\d{2})", value) if isinstance(value, str) else None
    if match is None or int(match[2]) > 59 or int(match[1]) * 60 + int(match[2]) > DAY_MINUTES:
        raise fail(f'{where} must be a clock time "HH:MM" from 00:00 to 24:00, not {value!r}')
    return int(match[1]) * 60 + int(match[2])
