"""What a patient's own link shows: where their inquiry stands and its appointment, or nothing at all.

A link opens its page only while all of these hold; otherwise the answer is None, the same for each reason,
so the page cannot tell anyone whether an inquiry exists:

- the token is ours and younger than ``ROUTING_PATIENT_LINK_DAYS`` (:func:`routing.services.patient_link.read`);
- the inquiry exists and is not closed (a closed case has nothing left for the patient to do online);
- its booked appointment, if it has one, ended less than a day ago (``AFTER_APPOINTMENT``).

The view holds only what the patient is told anyway: the status, the message written to them, the
appointment's kind, times and id, an open waitlist offer (its kind, times and until when it is kept), and their
place on the waitlist with the days or times they said do not suit them (their own words, shown back to them).
Never the triage, its reasons or anything else they wrote.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from routing.adapters.db.models import Appointment, Inquiry, WaitlistEntry, WaitlistOffer
from routing.domain import patient_messages
from routing.domain.clinic import ClinicProfile
from routing.domain.labels import LABELS
from routing.domain.vocabulary import AppointmentStatus, InquiryStatus, OfferStatus
from routing.services import patient_link
from routing.services.reading import read_only
from routing.services.waitlist_join import LIVE_ENTRY, split_times

#: The statuses from which a patient may ask for another time: an appointment is booked, or staff will call
#: anyway. Not while the booking worker may still be booking (pending), nor on an urgent review, where a
#: clinician calls whatever the patient prefers.
ASK_FROM = (InquiryStatus.BOOKED, InquiryStatus.NEEDS_REVIEW)


@dataclass(frozen=True)
class ShownAppointment:
    """The appointment as the patient's page shows it (times in UTC; the page says them in the clinic's)."""

    id: uuid.UUID
    slot_type: str
    start: datetime
    end: datetime
    #: The practice's site it is at, if known.
    location: str | None = None


@dataclass(frozen=True)
class ShownOffer:
    """An open waitlist offer as the patient's page shows it: an earlier slot kept for them until ``until``."""

    id: uuid.UUID
    slot_type: str
    start: datetime
    end: datetime
    until: datetime


@dataclass(frozen=True)
class ShownWaitlist:
    """The patient's place on the waitlist: for which kind of slot, and the times they said do not suit them."""

    slot_type: str
    unavailable_times: tuple[str, ...]


@dataclass(frozen=True)
class PatientView:
    """One inquiry as its patient sees it on their own page."""

    inquiry_id: uuid.UUID
    status: str
    #: The language the page is written in: the inquiry's, or English when we do not write theirs.
    language: str
    patient_message: str
    appointment: ShownAppointment | None
    #: Whether the page offers to cancel (a booked appointment still to come).
    can_cancel: bool
    #: Whether the page offers to ask for another time (see ``ASK_FROM``).
    can_ask: bool
    #: The waitlist's open offer to this patient, if any (they may accept or decline it).
    offer: ShownOffer | None = None
    #: Their live waitlist entry, if they are on the waitlist.
    waitlist: ShownWaitlist | None = None


@read_only
def open_link(
    session: Session, secret: str, token: str, now: datetime, max_age: timedelta, clinic: ClinicProfile
) -> PatientView | None:
    """The page behind ``token`` at ``now``, or None when the link does not open one (see the module).

    ``max_age`` is ``ROUTING_PATIENT_LINK_DAYS``; ``clinic`` names the clinic in a message not written yet.
    """
    inquiry_id = patient_link.read(secret, token, now, max_age)
    if not isinstance(inquiry_id, uuid.UUID):
        return None
    inquiry = session.get(Inquiry, inquiry_id)
    if inquiry is None or inquiry.status == InquiryStatus.CLOSED:
        return None
    appointment = session.scalar(
        select(Appointment)
        .where(Appointment.inquiry_id == inquiry_id, Appointment.status == AppointmentStatus.BOOKED)
        .order_by(Appointment.start.desc())
        .limit(1)
    )
    if appointment is not None and appointment.end + patient_link.AFTER_APPOINTMENT < now:
        return None
    shown = (
        ShownAppointment(
            appointment.id, appointment.slot_type, appointment.start, appointment.end, appointment.location_id
        )
        if appointment is not None
        else None
    )
    language = inquiry.language if inquiry.language in LABELS.languages else LABELS.languages[0]
    waiting = inquiry.status == InquiryStatus.NEEDS_REVIEW
    return PatientView(
        inquiry_id=inquiry.id,
        status=inquiry.status,
        language=language,
        patient_message=inquiry.patient_message or patient_messages.pending(language, clinic=clinic),
        appointment=shown,
        can_cancel=shown is not None and shown.start > now,
        can_ask=inquiry.status in ASK_FROM,
        offer=_open_offer(session, inquiry_id, now) if waiting else None,
        waitlist=_live_entry(session, inquiry_id) if waiting else None,
    )


def _open_offer(session: Session, inquiry_id: uuid.UUID, now: datetime) -> ShownOffer | None:
    """The inquiry's offer the patient may still answer: open and not run out (the refill may not have expired
    it yet)."""
    offer = session.scalar(
        select(WaitlistOffer).where(
            WaitlistOffer.inquiry_id == inquiry_id,
            WaitlistOffer.status == OfferStatus.OPEN,
            WaitlistOffer.expires_at > now,
        )
    )
    if offer is None:
        return None
    return ShownOffer(offer.id, offer.slot_type, offer.start, offer.end, offer.expires_at)


def _live_entry(session: Session, inquiry_id: uuid.UUID) -> ShownWaitlist | None:
    entry = session.scalar(
        select(WaitlistEntry).where(WaitlistEntry.inquiry_id == inquiry_id, WaitlistEntry.status.in_(LIVE_ENTRY))
    )
    if entry is None:
        return None
    return ShownWaitlist(entry.slot_type, tuple(split_times(entry.unavailable_times)))
