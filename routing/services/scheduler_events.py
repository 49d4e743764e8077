"""React to changes the scheduling system reports: a clinic cancellation, a no-show, a withdrawn slot.

A cancelled or withdrawn appointment is rebooked into the next suitable slot (or, failing that, put in
the staff queue); a no-show goes to the staff queue. Each delivery acts once: a replay gets the stored
answer. Every change is audited with the scheduling system as the actor.

An event is a claim, not a fact: with a remote scheduling system the appointment is read back first,
and the event acts only if the system says so too (cancelled, no-show). A stale or false event is
recorded and ignored. The embedded scheduler's appointments live in our own database, which is the
record there: its events are trusted as signed.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from routing.adapters.db.models import Appointment, AuditEvent, Inquiry, SchedulerEvent
from routing.adapters.db.types import utcnow
from routing.adapters.db.write_batch import WriteBatch
from routing.adapters.scheduling.interface import UnknownAppointment
from routing.domain.vocabulary import AppointmentStatus, InquiryStatus, SchedulerEventType
from routing.observability import events
from routing.services import event_data, outbox, retention, waitlist
from routing.services.route_inquiry import Routing, route_inquiry
from schemas.inquiry import InquiryRequestSchema

#: How the scheduling system appears in the audit trail.
SCHEDULER_ACTOR = "scheduling system"
_request_schema = InquiryRequestSchema()


class EventConflict(Exception):
    """The delivery key was used before for a different event."""


@dataclass(frozen=True)
class SchedulerEventInput:
    """One event delivery as received."""

    key: str
    raw_body: bytes
    event_type: str
    appointment: str
    reason: str | None = None

    @property
    def body_sha256(self) -> str:
        """Fingerprint of the raw body, to tell a replay from a reused key."""
        return hashlib.sha256(self.raw_body).hexdigest()


def handle_event(
    session: Session, routing: Routing, event: SchedulerEventInput, now: datetime | None = None
) -> tuple[dict[str, Any], bool]:
    """Act on the event once; return (result, replayed). Raises UnknownAppointment or EventConflict."""
    return _handle(session, routing, event, now or utcnow(), lambda: _contradicted(session, routing, event))


def handle_confirmed_event(
    session: Session, routing: Routing, event: SchedulerEventInput, now: datetime | None = None
) -> tuple[dict[str, Any], bool]:
    """Act once on an event the caller took from the scheduling system's own record, as just read there.

    A FHIR notification's focus read back from the server, or the reconciliation poll's search: the
    event is what the system says, so it is not asked again. Otherwise as :func:`handle_event`.
    """
    return _handle(session, routing, event, now or utcnow(), lambda: None)


def stored_result(session: Session, key: str) -> dict[str, Any] | None:
    """What was done under this delivery key before, if anything (for a redelivery)."""
    existing = session.scalar(select(SchedulerEvent.result).where(SchedulerEvent.delivery_key == key))
    session.rollback()
    return existing


def _handle(
    session: Session,
    routing: Routing,
    event: SchedulerEventInput,
    now: datetime,
    contradicted: Callable[[], str | None],
) -> tuple[dict[str, Any], bool]:
    """Act on the event once, unless ``contradicted()`` (a read-back) says why the record says otherwise."""
    stored = _stored(session, event)
    if stored is not None:
        return stored, True
    appointment = session.scalar(
        select(Appointment).where(Appointment.external_id == event.appointment).order_by(Appointment.created_at.desc())
    )
    if appointment is None:
        session.rollback()
        raise UnknownAppointment("no appointment with that id")
    inquiry_id, previous = appointment.inquiry_id, _appointment_view(appointment)
    session.rollback()
    # Read back outside any transaction (a network call); SchedulerUnavailable goes up: nothing acted on.
    contradiction = contradicted()

    try:
        with session.begin():
            row = SchedulerEvent(
                delivery_key=event.key,
                body_sha256=event.body_sha256,
                event_type=event.event_type,
                appointment_external_id=event.appointment,
                inquiry_id=inquiry_id,
                received_at=now,
                result={"action": "in_progress"},
            )
            session.add(row)
            session.flush()  # the unique delivery key stops a concurrent replay here
            acted = contradiction is None and _take_appointment_back(session, routing, appointment.id, event, now)
    except IntegrityError:
        session.rollback()
        stored = _stored(session, event)
        if stored is None:
            raise
        return stored, True

    if contradiction is not None:
        result = _result(row.id, inquiry_id, "ignored", previous, None, contradiction)
    elif not acted:
        result = _result(row.id, inquiry_id, "none", previous, None, "the appointment was no longer booked")
    elif event.event_type == SchedulerEventType.APPOINTMENT_NOSHOW:
        result = _result(row.id, inquiry_id, "queued_for_staff", previous, None, "patient did not attend")
    else:
        result = _rebook(session, routing, inquiry_id, row.id, previous, now)
    with session.begin():
        session.execute(update(SchedulerEvent).where(SchedulerEvent.id == row.id).values(result=result))
        if acted:
            _audit(session, inquiry_id, f"scheduler.{result['action']}", result, event.reason, now)
    events.scheduler_event(event.event_type, result["action"], inquiry_id)
    if acted:  # a remote scheduling system may have freed the slot: offer it to the waitlist
        waitlist.refill_after_freeing(session, routing, now, previous["slot_type"])
    return result, False


#: What the scheduling system must say of the appointment for each event to be true.
_CONFIRMED_BY = {
    SchedulerEventType.APPOINTMENT_CANCELLED: frozenset({"cancelled", "entered-in-error"}),
    SchedulerEventType.APPOINTMENT_NOSHOW: frozenset({"noshow"}),
    SchedulerEventType.SLOT_WITHDRAWN: frozenset({"cancelled", "entered-in-error"}),
}


def _contradicted(session: Session, routing: Routing, event: SchedulerEventInput) -> str | None:
    """Why the scheduling system contradicts the event (to ignore it), or None when it confirms it."""
    scheduler = routing.scheduler
    if scheduler.capabilities.books_in_transaction:
        return None  # our own database is the record: the signed event is all there is to go on
    try:
        status = scheduler.read(session, event.appointment).status
    except UnknownAppointment:
        return "the scheduling system has no such appointment"
    if status in _CONFIRMED_BY[SchedulerEventType(event.event_type)]:
        return None
    return f"the scheduling system shows the appointment as {status}"


def _stored(session: Session, event: SchedulerEventInput) -> dict[str, Any] | None:
    existing = session.scalar(select(SchedulerEvent).where(SchedulerEvent.delivery_key == event.key))
    session.rollback()
    if existing is None:
        return None
    if existing.body_sha256 != event.body_sha256:
        raise EventConflict(existing.id)
    return existing.result


def _take_appointment_back(
    session: Session, routing: Routing, appointment_id: uuid.UUID, event: SchedulerEventInput, now: datetime
) -> bool:
    """Mark our appointment cancelled (or no-show) and the inquiry due for rebooking; False if not booked."""
    appointment = session.get(Appointment, appointment_id, with_for_update=True)
    if appointment is None or appointment.status != AppointmentStatus.BOOKED:
        return False
    noshow = event.event_type == SchedulerEventType.APPOINTMENT_NOSHOW
    appointment.status = AppointmentStatus.NOSHOW if noshow else AppointmentStatus.CANCELLED
    appointment.cancelled_at = now
    appointment.cancel_reason = event.reason or event.event_type
    # The slot itself is left as the scheduling system has it: a clinic that cancels an appointment
    # has usually lost the time too (a doctor off sick), so it is not offered again from here.
    inquiry = session.get(Inquiry, appointment.inquiry_id, with_for_update=True)
    if noshow:
        inquiry.status = InquiryStatus.NEEDS_REVIEW
        inquiry.status_detail = "the patient did not attend; staff to contact them"
    else:
        # Pending and leased to this request: if we die before rebooking, the worker rebooks it.
        inquiry.status = InquiryStatus.PENDING_BOOKING
        inquiry.status_detail = f"{event.event_type} by the scheduling system; rebooking"
        inquiry.next_attempt_at = now
        inquiry.lease_until = now + routing.policy.lease
        inquiry.booking_attempts = 0
    inquiry.updated_at = now
    kind = outbox.APPOINTMENT_NOSHOW if noshow else outbox.APPOINTMENT_CANCELLED
    data = event_data.appointment(
        inquiry.id,
        appointment.id,
        appointment.slot_type,
        appointment.start,
        appointment.end,
        appointment.scheduler,
        by="scheduler",
        cause=event.event_type,
    )
    with WriteBatch(session.connection()) as writes:
        outbox.record_event(writes, kind, inquiry.id, data, now)
    _audit(
        session,
        inquiry.id,
        event.event_type,
        {"appointment": _appointment_view(appointment), "event": event.event_type},
        event.reason,
        now,
    )
    return True


def _rebook(
    session: Session,
    routing: Routing,
    inquiry_id: uuid.UUID,
    event_id: uuid.UUID,
    previous: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    inquiry = session.get(Inquiry, inquiry_id)
    data = _request_schema.load(inquiry.payload)
    received_at = inquiry.received_at
    # Its text removed (retention): decided again on the facts it was read for.
    stored = retention.stored_decision(session, inquiry) if inquiry.text_redacted_at is not None else None
    session.rollback()
    # The patient already waited once: the urgency window starts again now.
    outcome = route_inquiry(
        session,
        routing,
        inquiry_id=inquiry_id,
        data=data,
        received_at=received_at,
        now=now,
        window_from=now,
        stored=stored,
    )
    if outcome.status == InquiryStatus.BOOKED and outcome.appointment is not None:
        new = {
            "id": outcome.appointment.id,
            "slot_type": outcome.appointment.slot_type,
            "start": outcome.appointment.start.isoformat(),
        }
        return _result(event_id, inquiry_id, "rebooked", previous, new, None)
    if outcome.status == InquiryStatus.PENDING_BOOKING:
        note = "scheduling system unavailable; the booking worker retries"
        return _result(event_id, inquiry_id, "rebook_pending", previous, None, note)
    return _result(
        event_id, inquiry_id, "queued_for_staff", previous, None, "no suitable slot free; staff to arrange one"
    )


def _result(
    event_id: uuid.UUID,
    inquiry_id: uuid.UUID,
    action: str,
    previous: dict[str, Any],
    new: dict[str, Any] | None,
    note: str | None,
) -> dict[str, Any]:
    return {
        "event": str(event_id),
        "inquiry": str(inquiry_id),
        "action": action,
        "previous_appointment": previous,
        "new_appointment": new,
        "note": note,
    }


def _appointment_view(appointment: Appointment) -> dict[str, Any]:
    return {
        "id": str(appointment.id),
        "external_id": appointment.external_id,
        "slot_type": appointment.slot_type,
        "start": appointment.start.isoformat(),
        "status": appointment.status,
    }


def _audit(
    session: Session, inquiry_id: uuid.UUID, action: str, details: dict[str, Any], reason: str | None, now: datetime
) -> None:
    session.add(
        AuditEvent(
            at=now,
            actor_id=None,
            actor_name=SCHEDULER_ACTOR,
            action=action,
            inquiry_id=inquiry_id,
            details=details,
            reason=reason,
        )
    )
