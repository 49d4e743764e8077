"""What the booking service needs from a scheduling system, whichever one sits behind it.

Two implementations: the embedded scheduler (slots in our own database, the default) and the FHIR R4
adapter (a real scheduling system over HTTP). Methods take the caller's database ``session`` because
the embedded scheduler books inside the caller's transaction; the FHIR adapter ignores it.

Callers use only what :class:`Scheduler` declares: its calls, its :class:`Capabilities` (never its
name) and its :meth:`Scheduler.breaker_state`. A new back-end is one module implementing it and one
line in ``routing/wiring.py``; tests/scheduling/test_scheduler_contract.py runs against every one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Protocol

from sqlalchemy.orm import Session

from routing.domain.booking_plan import BookingPlan

#: How far past the urgency window to look for a slot to propose when none fits inside it.
PROPOSAL_HORIZON = timedelta(days=366)


class SchedulingError(Exception):
    """Base of the errors a scheduler raises; messages never carry patient data."""


class SchedulerUnavailable(SchedulingError):
    """The scheduling system cannot be reached or keeps failing (after retries, or the breaker is open).

    The booking is left pending and retried later by the worker; nothing is lost.
    """


class SlotTaken(SchedulingError):
    """Another booker took the slot first (409/412 on FHIR, a lost claim in the embedded scheduler)."""


class UnknownAppointment(SchedulingError):
    """The scheduling system has no appointment with that reference."""


class SchedulingRejected(SchedulingError):
    """The scheduling system refused the request for a reason retrying will not fix (a 4xx)."""


class PatientNotIdentified(SchedulingError):
    """The scheduling system holds records that may or may not be this patient (several candidates, or one
    whose contact details differ). Nothing is booked: staff choose the record, never the adapter."""


@dataclass(frozen=True)
class SlotTime:
    """A slot or appointment as the patient and staff see it: what, when, and its id."""

    id: str
    slot_type: str
    start: datetime
    end: datetime
    #: The practice's site it is at (a ``locations`` id); None when the scheduling system does not say.
    location: str | None = None


@dataclass(frozen=True)
class BookingOutcome:
    """Either ``appointment`` was booked, or none fit the window and ``proposed`` is the earliest later slot."""

    appointment: SlotTime | None
    proposed: SlotTime | None = None
    booking: Booking | None = None


@dataclass(frozen=True)
class ReferralRequest:
    """An order for imaging or an injection (FHIR ServiceRequest), made before the appointment is booked."""

    code_system: str
    code: str
    display: str


@dataclass(frozen=True)
class PatientDetails:
    """Who the booking is for, as the patient gave it on the form; used to find or create their record.

    ``repr`` is off for every field: these are patient data and must never reach a log line.
    """

    first_name: str = field(repr=False)
    last_name: str = field(repr=False)
    birth_date: date | None = field(default=None, repr=False)
    email: str | None = field(default=None, repr=False)
    phone: str | None = field(default=None, repr=False)

    @property
    def display(self) -> str:
        """The name as staff read it."""
        return f"{self.first_name} {self.last_name}".strip()


@dataclass(frozen=True)
class BookingRequest:
    """Everything a scheduler needs to book one slot for one inquiry.

    ``booking_key`` identifies this booking attempt across retries (our inquiry id, plus a counter when
    staff rebook), so a retried booking finds the appointment it already made instead of making another.
    """

    inquiry_id: uuid.UUID
    booking_key: str
    slot_type: str
    route: str
    urgency: str
    reasons: tuple[str, ...] = ()
    patient_display: str | None = None
    referral: ReferralRequest | None = None
    #: Who the booking is for; None when the inquiry has no usable name (the FHIR adapter then books
    #: with a display-only participant, as staff would for a walk-in).
    patient: PatientDetails | None = None


@dataclass(frozen=True)
class Booking:
    """An appointment held in the scheduling system."""

    #: The scheduling system's reference, e.g. ``Appointment/123`` on FHIR.
    external_id: str
    slot: SlotTime
    status: str = "booked"
    #: The FHIR ServiceRequest (or embedded referral) the appointment is based on, if any.
    referral_external_id: str | None = None


@dataclass(frozen=True)
class SlotHold:
    """A slot kept from other bookers for one patient while they answer a waitlist offer.

    Made by :meth:`Scheduler.hold`; ended by :meth:`Scheduler.book_held` (the patient accepted) or
    :meth:`Scheduler.release` (declined, expired, withdrawn). ``hold_key`` names the hold across retries, so
    holding again under the same key returns the same hold instead of a second one.
    """

    slot: SlotTime
    hold_key: str
    #: The scheduling system's reference to what keeps the slot: the embedded slot's id, FHIR's pending
    #: Appointment ("Appointment/7") or the Slot itself ("Slot/3") with the slot-update strategy.
    external_id: str


@dataclass(frozen=True)
class AppointmentChange:
    """One of our appointments as the scheduling system has it after a change, for the reconciliation poll."""

    #: The scheduling system's reference, as in :attr:`Booking.external_id`.
    external_id: str
    #: Its status there now (FHIR Appointment.status: booked, cancelled, noshow, entered-in-error, ...).
    status: str
    #: When it last changed, by the scheduling system's clock (FHIR meta.lastUpdated).
    updated_at: datetime
    #: Its version there (FHIR meta.versionId), if the system keeps versions.
    version: str | None = None


@dataclass(frozen=True)
class Capabilities:
    """What sets one scheduler apart from another; callers branch on these, never on a scheduler's name."""

    #: Books inside the caller's database transaction (its slots live in our database), so a booking
    #: commits or rolls back with our record of it. False: a network call, made outside any transaction.
    books_in_transaction: bool = False
    #: Its slot ids are the ids of our own ``slots`` rows (kept on the appointment as ``slot_id``).
    local_slots: bool = False


class Scheduler(Protocol):
    """The scheduling system behind the booking service."""

    #: Names the back-end in records, logs and metrics labels ("embedded", "fhir").
    name: str
    capabilities: Capabilities

    def find_free_slots(
        self,
        session: Session,
        slot_type: str,
        start: datetime,
        end: datetime,
        limit: int = 10,
        locations: tuple[str, ...] | None = None,
    ) -> list[SlotTime]:
        """Free slots of ``slot_type`` starting after ``start`` and at or before ``end``, earliest first.

        With ``locations``, only slots at those sites (``locations`` ids), each slot's ``location`` set.
        """
        ...

    def book(self, session: Session, slot: SlotTime, request: BookingRequest) -> Booking:
        """Book ``slot`` for the request. Raises SlotTaken, SchedulerUnavailable or SchedulingRejected.

        Never two appointments for one ``request.booking_key``: a scheduler called over the network
        returns the appointment a retry already made; one that books in the caller's transaction
        (``capabilities.books_in_transaction``) commits the booking with our record of it, so a retry
        never meets a half-made booking, and the slot is simply taken.
        """
        ...

    def cancel(self, session: Session, external_id: str, reason: str) -> None:
        """Cancel the appointment and free its slot. Raises UnknownAppointment or SchedulerUnavailable."""
        ...

    def read(self, session: Session, external_id: str) -> Booking:
        """The appointment as the scheduling system has it now. Raises UnknownAppointment."""
        ...

    def find_booking(self, session: Session, booking_key: str) -> Booking | None:
        """The live appointment made under ``booking_key``, if any: how a booking a dead process made is
        found again. None from a scheduler that books in the caller's transaction (its bookings commit
        with our records, so none is ever left behind)."""
        ...

    def book_earliest(self, session: Session, plan: BookingPlan, request: BookingRequest) -> BookingOutcome:
        """Book the earliest free slot inside the plan's window (at one of ``plan.locations``, when it names
        some); when none is free, propose the earliest one after it (within PROPOSAL_HORIZON, at the same
        sites), unbooked. Raises SchedulerUnavailable."""
        ...

    def hold(self, session: Session, slot: SlotTime, hold_key: str) -> SlotHold:
        """Keep ``slot`` from every other booker (searches no longer return it) until booked or released.

        Raises SlotTaken when the slot is not free, SchedulerUnavailable, SchedulingRejected. Holding again
        with the same ``hold_key`` returns the hold already made (a retry after a lost answer). A scheduler
        that books in the caller's transaction holds in it too.
        """
        ...

    def release(self, session: Session, hold: SlotHold) -> None:
        """Make the held slot free again. Idempotent: releasing a released (or never made) hold is a no-op.

        Raises SchedulerUnavailable.
        """
        ...

    def book_held(self, session: Session, hold: SlotHold, request: BookingRequest) -> Booking:
        """Book the held slot for ``request``, as :meth:`book` does for a free one (idempotent on
        ``request.booking_key``). Raises SlotTaken when the hold was lost (released, or taken by staff in the
        scheduling system), SchedulerUnavailable, SchedulingRejected."""
        ...

    def breaker_state(self) -> str | None:
        """The circuit breaker's state ("closed", "half-open", "open"), or None without one (for metrics)."""
        ...

    def changed_appointments(self, session: Session, since: datetime) -> list[AppointmentChange]:
        """Our appointments changed after ``since`` (by the scheduling system's clock), oldest change first.

        The reconciliation poll's question. [] from a scheduler that books in the caller's transaction: its
        appointments live in our database, so nothing changes there that we do not know. Raises
        SchedulerUnavailable.
        """
        ...
