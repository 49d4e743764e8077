"""Presentation for the staff console: human labels for stored codes, highlighted messages, local times.

The words are not here: they are the staff words of the one labels table (``routing.domain.labels``), so a
new code needs one line there and nothing in the templates; the rulebook's own ``labels`` name the values of
the facts other than red flags.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from routing.domain.labels import LABELS as LABEL_TABLE

#: What the console shows for each stored code, by kind: the staff words of the one labels table
#: (``routing/domain/labels/en.toml``), which the API's descriptions read too.
LABELS: Mapping[str, Mapping[str, str]] = LABEL_TABLE.staff

_KNOWN_LIST = re.compile(r"(\(known: )([^)]*)\)")
#: How the number facts read, from their value.
_NUMBER_FORMATS = {"duration_days": "{value} days", "pain_score": "{value}/10"}
#: Facts whose values the labels table names (the others are named by the rulebook's own ``labels``).
_VALUE_KINDS = {"red_flags": "red_flag"}


def highlight(message: str, phrases: Iterable[str]) -> list[tuple[str, bool]]:
    """The message cut into (text, highlighted) pieces, with every phrase that set a fact highlighted.

    Matching ignores case and runs of spaces; overlapping phrases merge. The template escapes each piece,
    so nothing in the message can become markup.
    """
    spans: list[tuple[int, int]] = []
    for phrase in {p.strip() for p in phrases if p and p.strip()}:
        pattern = r"\s+".join(re.escape(word) for word in phrase.split())
        spans += [match.span() for match in re.finditer(pattern, message, flags=re.IGNORECASE)]
    pieces: list[tuple[str, bool]] = []
    position = 0
    for start, end in _merged(spans):
        if start > position:
            pieces.append((message[position:start], False))
        pieces.append((message[start:end], True))
        position = end
    if position < len(message):
        pieces.append((message[position:], False))
    return pieces


def label(code: str | None, kind: str) -> str:
    """The human words for a stored ``code`` of ``kind``; an unlisted code shows itself, spaced."""
    if code is None:
        return "—"
    return LABEL_TABLE.staff_words(kind, code)


def fact_value(fact: str, value: Any, rulebook_labels: dict[str, Any]) -> str:
    """A fact's value in words: the labels table's words for a red flag, the rulebook's label for another
    choice or a flag, a unit for a number."""
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(fact_value(fact, item, rulebook_labels) for item in value) or "none"
    if value is None or value == "unknown":
        return "not known"
    if fact in _NUMBER_FORMATS and not isinstance(value, bool):
        return _NUMBER_FORMATS[fact].format(value=value)
    if fact in _VALUE_KINDS:
        return LABEL_TABLE.staff_words(_VALUE_KINDS[fact], str(value))
    names = rulebook_labels.get(fact)
    key = str(value).lower() if isinstance(value, bool) else str(value)
    if isinstance(names, dict) and key in names:
        return names[key]
    return str(value).replace("_", " ")


def reason_text(reason: dict[str, Any]) -> str:
    """A stored reason as the console shows it: the facts a needs-review reason lists, named in words."""
    text = reason.get("text") or ""
    spaced = {code.replace("_", " "): words for code, words in LABELS["fact"].items()}

    def named(match: re.Match) -> str:
        names = [spaced.get(name.strip(), name.strip()) for name in match.group(2).split(",")]
        return match.group(1) + ", ".join(names) + ")"

    # Decisions made before rulebook 2026-12-06.4+2 list the known facts by code, spaced ("known: duration
    # days"); later ones name them in words already. Only that list changes.
    return _KNOWN_LIST.sub(named, text) if reason.get("rule") == "NR" else text


_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def rule_text(reason: Any) -> str:
    """A rule's reason as the rulebook page shows it: its variants in turn, each placeholder as
    ``[what goes there]`` in words (``{red_flags}`` reads ``[red flags]``), never a Python repr."""
    if isinstance(reason, list):
        texts = (variant.get("text") if isinstance(variant, dict) else variant for variant in reason)
        return " / ".join(rule_text(text) for text in texts)
    if not isinstance(reason, str):
        return ""
    return _PLACEHOLDER.sub(lambda match: f"[{label(match.group(1), 'fact')}]", reason)


def local(moment: str | datetime | None, tz: ZoneInfo) -> str:
    """``Thu 26 Nov 2026, 09:00 EST`` in the clinic's time zone, named (from an ISO string or a datetime)."""
    if moment is None:
        return ""
    when = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return when.astimezone(tz).strftime("%a %d %b %Y, %H:%M %Z")


def duration(seconds: float | None) -> str:
    """A stretch of time as a person says it, to the minute: ``45 min``, ``1 h 59 min``, ``3 days 2 h``."""
    if seconds is None:
        return ""
    minutes = max(0, int(seconds)) // 60
    days, hours, minutes = minutes // 1440, minutes % 1440 // 60, minutes % 60
    if days:
        return f"{days} day{'s' if days != 1 else ''}" + (f" {hours} h" if hours else "")
    if hours:
        return f"{hours} h" + (f" {minutes} min" if minutes else "")
    return f"{minutes} min" if minutes else "less than a minute"


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
