"""The words of the triage policy and of booking, as string enums shared by every layer.

Values are the wire and storage spellings fixed by ``api-contract.md`` and ``triage-policy.md``.
"""

from __future__ import annotations

from enum import StrEnum


class Urgency(StrEnum):
    """How soon a clinician must see the patient."""

    EMERGENCY = "emergency"
    URGENT = "urgent"
    SOON = "soon"
    ROUTINE = "routine"


class Route(StrEnum):
    """Where an inquiry goes."""

    URGENT_REVIEW = "urgent_review"
    CONSULT = "consult"
    IMAGING = "imaging"
    INJECTION = "injection"


class SlotType(StrEnum):
    """A kind of appointment in the scheduler."""

    CONSULT = "consult"
    IMAGING = "imaging"
    INJECTION = "injection"


class InquiryStatus(StrEnum):
    """Where an inquiry stands; it is stored as ``pending_booking`` before triage and booking run."""

    PENDING_BOOKING = "pending_booking"
    BOOKED = "booked"
    NEEDS_REVIEW = "needs_review"
    URGENT_REVIEW = "urgent_review"
    #: An urgent_review inquiry whose call-back is done (booked by phone or sent to the ER).
    CLOSED = "closed"


class ContactPreference(StrEnum):
    """How a patient wants to hear about their appointment (the intake's ``contact_preference``)."""

    EMAIL = "email"
    SMS = "sms"
    #: Calls only: no email or text message.
    PHONE = "phone"


class AppointmentStatus(StrEnum):
    """State of an appointment we hold in a scheduler."""

    BOOKED = "booked"
    CANCELLED = "cancelled"
    NOSHOW = "noshow"


class SchedulerEventType(StrEnum):
    """A change the scheduling system reports about one of our appointments."""

    APPOINTMENT_CANCELLED = "appointment.cancelled"
    APPOINTMENT_NOSHOW = "appointment.noshow"
    SLOT_WITHDRAWN = "slot.withdrawn"


class SlotStatus(StrEnum):
    """State of a slot in the embedded scheduler (FHIR ``Slot.status`` subset)."""

    FREE = "free"
    BUSY = "busy"
    #: Kept for one patient while they answer a waitlist offer (FHIR ``busy-tentative``).
    HELD = "held"


class StaffRole(StrEnum):
    """What a staff token may do."""

    STAFF = "staff"
    ADMIN = "admin"


class CallbackOutcome(StrEnum):
    """How a clinician's call-back on an urgent review ended."""

    BOOKED = "booked"
    REFERRED_TO_ER = "referred_to_er"
    NO_ANSWER = "no_answer"


class WaitlistStatus(StrEnum):
    """Where a waitlist entry stands (``waiting`` and ``offered`` are live)."""

    WAITING = "waiting"
    OFFERED = "offered"
    BOOKED = "booked"
    REMOVED = "removed"
    WINDOW_PASSED = "window_passed"


class OfferStatus(StrEnum):
    """Where a waitlist offer stands (``holding``, ``open`` and ``booking`` are live)."""

    #: The slot is being held in the scheduling system (a remote one; the embedded scheduler holds at once).
    HOLDING = "holding"
    #: Held for the patient, who may accept until it expires.
    OPEN = "open"
    #: Accepted; the scheduling system is booking it (a remote one).
    BOOKING = "booking"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    #: Taken back: the slot was lost, the entry closed, or the hold could not be made.
    WITHDRAWN = "withdrawn"


class RulebookState(StrEnum):
    """Where a rulebook version stands: ``draft`` -> ``approved`` -> ``active`` -> ``retired`` (and back to
    ``active``: a rollback). One version is active at a time."""

    DRAFT = "draft"
    APPROVED = "approved"
    ACTIVE = "active"
    RETIRED = "retired"
