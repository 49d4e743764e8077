"""Keyset pages and bounded counts: lists that cost the same on a year of rows as on a day's.

A page number makes the database read and skip every row before the page; a cursor (the sort key of the
last row shown) lets it start at the next row through the list's index. Counting every matching row costs
as much as reading them all, so lists count up to ``COUNT_LIMIT`` and say when there are more.
"""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

#: Counting stops past this many (a page then says "1,000+").
COUNT_LIMIT = 1_000
#: Whole numbers in a cursor fit the database's 32-bit integers (a larger one is refused, not sent).
_INT_RANGE = range(-(2**31), 2**31)


class BadCursor(ValueError):
    """A cursor this service did not make (or made for another list)."""


def encode(*key: Any) -> str:
    """An opaque cursor for a position in a list (the sort key of its last row), safe in a URL."""
    text = "|".join(value.isoformat() if isinstance(value, datetime) else str(value) for value in key)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode(cursor: str, *kinds: type) -> tuple:
    """The sort key in ``cursor``, each part of the kind given (int, datetime, uuid.UUID); BadCursor if not."""
    try:
        parts = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split("|")
        if len(parts) != len(kinds):
            raise ValueError(cursor)
        key = tuple(_PARSERS[kind](part) for kind, part in zip(kinds, parts, strict=True))
        if any(isinstance(value, int) and value not in _INT_RANGE for value in key):
            raise ValueError(cursor)
        # In UTC, as stored; a time without its offset is not one this service wrote.
        return tuple(_utc(value) if isinstance(value, datetime) else value for value in key)
    except (ValueError, UnicodeDecodeError, OverflowError):
        raise BadCursor(cursor) from None


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(moment)
    return moment.astimezone(UTC)  # OverflowError at the ends of the calendar


_PARSERS = {int: int, datetime: datetime.fromisoformat, uuid.UUID: uuid.UUID}


def count_upto(session: Session, query: Select, limit: int = COUNT_LIMIT) -> tuple[int, bool]:
    """How many rows ``query`` gives, counting no further than ``limit``; and whether there are more."""
    counted = session.scalar(select(func.count()).select_from(query.limit(limit + 1).subquery())) or 0
    return min(counted, limit), counted > limit
