"""Which waitlist entry gets which freed slot: the most urgent entry first, then the one waiting longest.

Pure: the waitlist service (``routing.services.waitlist``) reads the entries and the free slots, asks
:func:`match`, and makes the offers. A slot is offered to an entry only when it starts inside the entry's
urgency window, far enough ahead for the patient to answer and come, at a time the patient did not exclude,
and not one the entry has already declined or let expire.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from routing.domain.time_preferences import TimePreference
from routing.domain.vocabulary import Urgency

#: The priority an entry joins with, by urgency (lower is offered first). Staff may set any of 1..99;
#: the gaps leave room to move an entry between two levels.
PRIORITY_FOR_URGENCY: Mapping[str, int] = {Urgency.URGENT: 20, Urgency.SOON: 40, Urgency.ROUTINE: 60}
LOWEST_PRIORITY = 99


def priority_for(urgency: str) -> int:
    """The priority an entry of this urgency joins with."""
    return PRIORITY_FOR_URGENCY.get(urgency, LOWEST_PRIORITY)


@dataclass(frozen=True)
class WaitlistPolicy:
    """How the waitlist offers slots (``ROUTING_WAITLIST_*`` settings)."""

    #: Off: inquiries with no slot in their window are held for staff only, as before the waitlist.
    enabled: bool = True
    #: How long a patient has to answer an offer.
    offer_time: timedelta = timedelta(hours=2)
    #: How long when the slot starts within ``soon_slot`` (a slot tomorrow cannot wait two hours).
    short_offer_time: timedelta = timedelta(minutes=30)
    soon_slot: timedelta = timedelta(hours=24)
    #: No slot starting sooner than this is offered: the patient must be able to answer and come.
    notice: timedelta = timedelta(hours=2)
    #: Book urgent entries straight away instead of asking (the patient is told, and may cancel).
    book_urgent_directly: bool = False
    #: Offers left unanswered before the entry goes to staff (who call instead).
    max_unanswered: int = 2

    def expires_at(self, now: datetime, slot_start: datetime) -> datetime:
        """When an offer made ``now`` of a slot starting at ``slot_start`` runs out: its answer time, and
        never later than the last moment the slot could still be offered to someone else."""
        answer = self.short_offer_time if slot_start - now <= self.soon_slot else self.offer_time
        return min(now + answer, slot_start - self.notice)


@dataclass(frozen=True)
class Candidate:
    """A waitlist entry as matching sees it."""

    id: uuid.UUID
    slot_type: str
    priority: int
    joined_at: datetime
    window_end: datetime
    #: When appointments do not suit the patient, read; None when they said nothing.
    unavailable: TimePreference | None = None
    #: Slots this entry declined or let expire (their ids): never offered to it again.
    refused: frozenset[str] = field(default_factory=frozenset)
    #: The sites an offer may be at; None: any site.
    locations: frozenset[str] | None = None

    def order(self) -> tuple[int, datetime, str]:
        """Most urgent first, then the longest waiting; the id only makes the order total."""
        return (self.priority, self.joined_at, str(self.id))


@dataclass(frozen=True)
class FreeSlot:
    """A free slot as matching sees it (``SlotTime``'s id, type and start)."""

    id: str
    slot_type: str
    start: datetime
    #: The site it is at, if the scheduling system says.
    location: str | None = None


def unreadable(preference: TimePreference | None) -> bool:
    """True when the patient's unavailable times could not all be read: offering would be a guess."""
    return preference is not None and preference.unread > 0


def fits(candidate: Candidate, slot: FreeSlot, now: datetime, policy: WaitlistPolicy) -> bool:
    """True when ``slot`` may be offered to ``candidate`` now."""
    if slot.slot_type != candidate.slot_type or slot.id in candidate.refused:
        return False
    if candidate.locations is not None and slot.location not in candidate.locations:
        return False
    if slot.start > candidate.window_end or slot.start < now + policy.notice:
        return False
    if unreadable(candidate.unavailable):
        return False
    excluded = candidate.unavailable is not None and candidate.unavailable.limits
    return not (excluded and candidate.unavailable.fits(slot.start))


def match(
    slots: Iterable[FreeSlot], candidates: Iterable[Candidate], now: datetime, policy: WaitlistPolicy
) -> list[tuple[Candidate, FreeSlot]]:
    """Pair free slots with entries: each entry, most urgent (then oldest) first, gets the earliest slot that
    fits it and no one before it took. An entry or a slot is in at most one pair."""
    by_start: Sequence[FreeSlot] = sorted(slots, key=lambda slot: (slot.start, slot.id))
    taken: set[str] = set()
    pairs = []
    for candidate in sorted(candidates, key=Candidate.order):
        slot = next((s for s in by_start if s.id not in taken and fits(candidate, s, now, policy)), None)
        if slot is not None:
            taken.add(slot.id)
            pairs.append((candidate, slot))
    return pairs
