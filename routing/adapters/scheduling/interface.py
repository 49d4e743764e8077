"""What the booking service needs from a scheduling system, whichever one sits behind it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class SlotTime:
    """A slot or appointment as the patient and staff see it: what, when, and its id."""

    id: str
    slot_type: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class BookingOutcome:
    """Either ``appointment`` was booked, or none fit the window and ``proposed`` is the earliest later slot."""

    appointment: SlotTime | None
    proposed: SlotTime | None = None
