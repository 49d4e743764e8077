"""Book a routed inquiry through the scheduling system, and keep our record of what was booked."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from routing.adapters.db.models import Appointment, Referral
from routing.adapters.db.write_batch import RowWrite, WriteBatch
from routing.adapters.scheduling.interface import (
    PROPOSAL_HORIZON,
    Booking,
    BookingOutcome,
    BookingRequest,
    PatientDetails,
    ReferralRequest,
    Scheduler,
    SlotTaken,
    SlotTime,
)
from routing.domain.booking_plan import BookingPlan
from routing.domain.locations import Tier
from routing.domain.terminology import REQUEST_PRIORITY, Terminology
from routing.domain.time_preferences import TimePreference

# Looking for a slot that suits the patient's preferred times: the window's free slots are read in pages,
# up to a bound (a routine window of three weeks holds about 200 consult slots in the demo timetable).
_PREFERENCE_PAGE = 50
_PREFERENCE_PAGES = 10

_RECORD_APPOINTMENT = RowWrite.insert(Appointment.__table__)
_RECORD_REFERRAL = RowWrite.insert(Referral.__table__)


def booking_request(
    session: Session,
    *,
    inquiry_id: uuid.UUID,
    slot_type: str,
    route: str,
    urgency: str,
    reasons: Sequence[str],
    patient: dict[str, Any] | None,
    terminology: Terminology,
    first: bool = False,
) -> BookingRequest:
    """What to ask the scheduler for. ``first`` marks the inquiry's first booking (no query needed).

    Imaging and injection routes order their procedure (codes from the practice's ``terminology``).

    The booking key is the inquiry id for the first booking and gets a counter for later ones
    (rebooking after a cancellation), so each booking is idempotent on its own.
    """
    key = str(inquiry_id)
    if not first:
        earlier = session.scalar(select(func.count()).where(Appointment.inquiry_id == inquiry_id))
        key = f"{inquiry_id}/{earlier + 1}" if earlier else key
    return BookingRequest(
        inquiry_id=inquiry_id,
        booking_key=key,
        slot_type=slot_type,
        route=route,
        urgency=urgency,
        reasons=tuple(reasons),
        patient_display=_display_name(patient),
        referral=_referral(route, terminology),
        patient=_patient_details(patient),
    )


def book_earliest(
    session: Session,
    scheduler: Scheduler,
    plan: BookingPlan,
    request: BookingRequest,
    preference: TimePreference | None = None,
) -> BookingOutcome:
    """Book the earliest free slot inside the plan's window, moving on past slots others take first.

    With a ``preference`` that limits the choice (the patient's preferred times, read), the earliest free
    slot in the window that suits it is booked; when none does, the earliest in the window, as without one
    (the caller tells the patient, see ``time_preferences.preference_result``). When nothing fits the
    window, ``proposed`` is the earliest free slot after the window (not booked). Raises
    SchedulerUnavailable when the scheduling system cannot be reached.
    """
    if preference is not None and preference.limits:
        for slot in _slots_suiting(session, scheduler, plan, preference):
            try:
                booking = scheduler.book(session, slot, request)
            except SlotTaken:
                continue
            return BookingOutcome(booking.slot, booking=booking)
    return scheduler.book_earliest(session, plan, request)


def book_at_sites(
    session: Session,
    scheduler: Scheduler,
    plan: BookingPlan,
    request: BookingRequest,
    preference: TimePreference | None,
    tiers: Sequence[Tier],
) -> BookingOutcome:
    """Book the earliest free slot inside the plan's window at the sites of the first tier that has one (see
    ``routing.domain.locations.tiers``); with no tiers, at any site. When no tier has one, the slot proposed is
    the first tier's earliest later one (the site nearest the patient's wish that has any)."""
    proposed = None
    for plan_at in _plans_at(plan, tiers):
        outcome = book_earliest(session, scheduler, plan_at, request, preference)
        if outcome.booking is not None:
            return outcome
        proposed = proposed or outcome.proposed
    return BookingOutcome(None, proposed=proposed)


def propose_at_sites(
    session: Session,
    scheduler: Scheduler,
    plan: BookingPlan,
    preference: TimePreference | None,
    tiers: Sequence[Tier],
) -> SlotTime | None:
    """The slot :func:`book_at_sites` would book (or propose), without booking it."""
    later = None
    for plan_at in _plans_at(plan, tiers):  # asks no further tier once one has a slot inside the window
        slot = propose_earliest(session, scheduler, plan_at, preference)
        if slot is not None and slot.start <= plan.latest:
            return slot
        later = later or slot
    return later


def _plans_at(plan: BookingPlan, tiers: Sequence[Tier]) -> list[BookingPlan]:
    return [replace(plan, locations=tier.sites) for tier in tiers] or [plan]


def propose_earliest(
    session: Session, scheduler: Scheduler, plan: BookingPlan, preference: TimePreference | None = None
) -> SlotTime | None:
    """The earliest free slot for the plan, inside its window or after it, without booking it.

    With a ``preference`` that limits the choice, the earliest slot in the window that suits it comes first.
    Raises SchedulerUnavailable when the scheduling system cannot be reached.
    """
    if preference is not None and preference.limits:
        suiting = next(_slots_suiting(session, scheduler, plan, preference), None)
        if suiting is not None:
            return suiting
    slots = scheduler.find_free_slots(
        session, plan.slot_type, plan.earliest, plan.latest + PROPOSAL_HORIZON, limit=1, locations=plan.locations
    )
    return slots[0] if slots else None


def _slots_suiting(
    session: Session, scheduler: Scheduler, plan: BookingPlan, preference: TimePreference
) -> Iterator[SlotTime]:
    """Free slots in the plan's window that suit the preference, earliest first, read page by page.

    The scheduler is asked only for the window's free slots (the one search every scheduler offers); the
    preference is applied here, so every implementation honours it the same way.
    """
    after = plan.earliest
    for _ in range(_PREFERENCE_PAGES):
        page = scheduler.find_free_slots(
            session, plan.slot_type, after, plan.latest, limit=_PREFERENCE_PAGE, locations=plan.locations
        )
        full = len(page) == _PREFERENCE_PAGE
        if full:
            # A full page may stop partway through one instant's slots (9:00 at several sites), and the next page
            # starts after a time, not after a slot: leave that instant whole to the next page (unless the page
            # holds nothing else: then take it and go past it).
            page = [slot for slot in page if slot.start < page[-1].start] or page
        yield from (slot for slot in page if preference.fits(slot.start))
        if not full:
            return
        after = page[-1].start


def record_booking(
    writes: WriteBatch, scheduler: Scheduler, request: BookingRequest, booking: Booking, now: datetime
) -> SlotTime:
    """Add our appointment (and referral) rows for a booking to ``writes``; the appointment as shown to people."""
    referral_id = None
    if request.referral is not None:
        referral_id = uuid.uuid4()
        writes.add(
            _RECORD_REFERRAL,
            {
                "id": referral_id,
                "inquiry_id": request.inquiry_id,
                "route": request.route,
                "code_system": request.referral.code_system,
                "code": request.referral.code,
                "display": request.referral.display,
                "priority": REQUEST_PRIORITY.get(request.urgency, "routine"),
                "reasons": list(request.reasons),
                "status": "active",
                "scheduler": scheduler.name,
                "external_id": booking.referral_external_id,
                "created_at": now,
            },
        )
    appointment_id = uuid.uuid4()
    slot = booking.slot
    writes.add(
        _RECORD_APPOINTMENT,
        {
            "id": appointment_id,
            "inquiry_id": request.inquiry_id,
            "slot_type": slot.slot_type,
            "start": slot.start,
            "end": slot.end,
            "scheduler": scheduler.name,
            "external_id": booking.external_id,
            "external_slot_id": slot.id,
            "slot_id": uuid.UUID(slot.id) if scheduler.capabilities.local_slots else None,
            "booking_key": request.booking_key,
            "referral_id": referral_id,
            "location_id": slot.location,
            "created_at": now,
        },
    )
    return SlotTime(str(appointment_id), slot.slot_type, slot.start, slot.end, slot.location)


def _referral(route: str, terminology: Terminology) -> ReferralRequest | None:
    """The order the route makes (imaging: the MRI; injection: the facet joint block), or None."""
    code = terminology.procedure.get(route)
    return ReferralRequest(code.system, code.code, code.display) if code is not None else None


def _patient_details(patient: dict[str, Any] | None) -> PatientDetails | None:
    """The patient as the form gave them; None without both names (nothing to look a record up by)."""
    if not patient:
        return None
    first, last = (str(patient.get(part) or "").strip() for part in ("first_name", "last_name"))
    if not first or not last:
        return None
    birth_date = patient.get("date_of_birth")
    if isinstance(birth_date, str):  # a payload read back from JSON rather than loaded by the schema
        birth_date = date.fromisoformat(birth_date)
    return PatientDetails(
        first_name=first,
        last_name=last,
        birth_date=birth_date,
        email=patient.get("email") or None,
        phone=patient.get("phone") or None,
    )


def _display_name(patient: dict[str, Any] | None) -> str | None:
    if not patient:
        return None
    name = " ".join(str(patient.get(part) or "").strip() for part in ("first_name", "last_name")).strip()
    return name or None
