"""Presentation helpers for the staff console: highlighted messages and times in the clinic's zone."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo


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


def local(moment: str | datetime | None, tz: ZoneInfo) -> str:
    """``Thu 26 Nov 2026, 09:00`` in the clinic's time zone (from an ISO string or a datetime)."""
    if moment is None:
        return ""
    when = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return when.astimezone(tz).strftime("%a %d %b %Y, %H:%M")


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
