"""From a triage decision to what to book: which slot type, and by when."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from routing.domain.vocabulary import Route, SlotType

SLOT_TYPE_FOR_ROUTE = {
    Route.CONSULT: SlotType.CONSULT,
    Route.IMAGING: SlotType.IMAGING,
    Route.INJECTION: SlotType.INJECTION,
}


@dataclass(frozen=True)
class BookingPlan:
    """Book the earliest free ``slot_type`` slot starting after ``earliest`` and before ``latest``, at one of
    ``locations`` (None: at any site)."""

    slot_type: str
    earliest: datetime
    latest: datetime
    locations: tuple[str, ...] | None = None


def plan_booking(route: str, urgency: str, windows: Mapping[str, int | None], now: datetime) -> BookingPlan | None:
    """The booking for a routed inquiry; None for ``urgent_review`` (a clinician calls, nothing is booked)."""
    if route == Route.URGENT_REVIEW or route not in SLOT_TYPE_FOR_ROUTE:
        return None
    days = windows.get(urgency)
    if days is None:
        return None
    return BookingPlan(SLOT_TYPE_FOR_ROUTE[Route(route)].value, now, now + timedelta(days=days))
