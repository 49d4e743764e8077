"""Booking the earliest free slot with the calls every scheduler has: search, then book, page by page.

For a scheduling system that cannot claim "the earliest free slot" in one call (FHIR, the tests' fake),
its ``book_earliest`` is this loop: search the window, try to book each slot in order, moving on past
slots another booker takes first; when nothing in the window can be booked, propose the earliest slot
after it.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from routing.adapters.scheduling.interface import (
    PROPOSAL_HORIZON,
    BookingOutcome,
    BookingRequest,
    Scheduler,
    SlotTaken,
)
from routing.domain.booking_plan import BookingPlan

# Slots fetched per search; a page fully taken by other bookers is searched again, a few times.
_PAGE = 10
_PAGES = 3


def book_earliest_by_search(
    scheduler: Scheduler, session: Session, plan: BookingPlan, request: BookingRequest
) -> BookingOutcome:
    """Book the earliest free slot in the plan's window with ``find_free_slots`` and ``book``; else propose."""
    for _ in range(_PAGES):
        slots = scheduler.find_free_slots(
            session, plan.slot_type, plan.earliest, plan.latest, limit=_PAGE, locations=plan.locations
        )
        for slot in slots:
            try:
                booking = scheduler.book(session, slot, request)
            except SlotTaken:
                continue
            return BookingOutcome(booking.slot, booking=booking)
        if len(slots) < _PAGE:
            break
    later = scheduler.find_free_slots(
        session, plan.slot_type, plan.latest, plan.latest + PROPOSAL_HORIZON, limit=1, locations=plan.locations
    )
    return BookingOutcome(None, proposed=later[0] if later else None)
