"""Receive an inquiry: store it first, then triage, route and book, without ever losing or doubling it."""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from routing.adapters.db.models import Appointment, Inquiry, Slot, TriageDecision
from routing.adapters.db.types import utcnow
from routing.adapters.scheduling.embedded import EmbeddedScheduler
from routing.adapters.scheduling.interface import SlotTime
from routing.domain import patient_messages
from routing.domain.booking_plan import plan_booking
from routing.domain.triage import Decision, Rulebook, triage
from routing.domain.vocabulary import AppointmentStatus, InquiryStatus

log = logging.getLogger(__name__)


class IdempotencyConflict(Exception):
    """The delivery key was used before for a different body."""


@dataclass(frozen=True)
class Delivery:
    """One webhook delivery as received: its identity, raw bytes, parsed and validated content."""

    key: str
    raw_body: bytes
    content_type: str
    payload: dict[str, Any]
    data: dict[str, Any]

    @property
    def body_sha256(self) -> str:
        """Fingerprint of the raw body, to tell a redelivery from a reused key."""
        return hashlib.sha256(self.raw_body).hexdigest()


@dataclass(frozen=True)
class Outcome:
    """What happened to an inquiry; ``created`` is False for a redelivery of a stored one."""

    id: uuid.UUID
    status: str
    patient_message: str
    triage: dict[str, Any] | None = None
    appointment: SlotTime | None = None
    proposed_slot: SlotTime | None = None
    created: bool = True
    completed: bool = True


def receive_inquiry(
    *,
    session: Session,
    rulebook: Rulebook,
    scheduler: EmbeddedScheduler,
    tz: ZoneInfo,
    delivery: Delivery,
    now: datetime | None = None,
) -> Outcome:
    """Store the delivery, then triage and book it; a redelivery returns the stored outcome.

    The inquiry is committed before anything else runs, so whatever fails afterwards it is kept, with
    status ``pending_booking`` and ``completed=False`` in the outcome. Raises
    :class:`IdempotencyConflict` when the key was used for another body. ``session`` is the request's;
    this function commits its own transactions on it (store first, then decide and book).
    """
    now = now or utcnow()
    inquiry_id = _store_first(session, delivery, now)
    if isinstance(inquiry_id, Outcome):
        return inquiry_id
    try:
        return _triage_and_book(session, rulebook, scheduler, tz, inquiry_id, delivery.data, now)
    except Exception as error:
        # Acknowledged and stored: a failure from here on must not lose it or answer 500.
        session.rollback()
        log.error("inquiry %s stored but not routed: %s", inquiry_id, type(error).__name__)
        detail = f"triage or booking failed ({type(error).__name__}); staff to follow up"
        return _mark_pending(session, inquiry_id, detail)


# Built once at import: on a local database, building a statement costs more than running it.
_INSERT_INQUIRY = insert(Inquiry.__table__)
_INSERT_DECISION = insert(TriageDecision.__table__)
_UPDATE_INQUIRY = update(Inquiry.__table__).where(Inquiry.__table__.c.id == bindparam("inquiry_id"))


def _store_first(session: Session, delivery: Delivery, now: datetime) -> uuid.UUID | Outcome:
    # Insert first and let the unique key catch redeliveries: the common case costs no extra query.
    inquiry_id = uuid.uuid4()
    try:
        session.connection().execute(
            _INSERT_INQUIRY,
            {
                "id": inquiry_id,
                "idempotency_key": delivery.key,
                "body_sha256": delivery.body_sha256,
                "content_type": delivery.content_type,
                "raw_body": delivery.raw_body,
                "payload": delivery.payload,
                "status": InquiryStatus.PENDING_BOOKING,
                "status_detail": "awaiting triage",
                "patient_message": patient_messages.pending(),
                "received_at": now,
                "updated_at": now,
            },
        )
        session.commit()
    except IntegrityError:
        # The key is taken: a redelivery, possibly concurrent with the first delivery still running.
        session.rollback()
        existing = session.scalar(select(Inquiry).where(Inquiry.idempotency_key == delivery.key))
        if existing is None:
            raise
        if existing.body_sha256 != delivery.body_sha256:
            raise IdempotencyConflict(existing.id) from None
        return _outcome(session, existing, created=False)
    return inquiry_id


def _triage_and_book(
    session: Session,
    rulebook: Rulebook,
    scheduler: EmbeddedScheduler,
    tz: ZoneInfo,
    inquiry_id: uuid.UUID,
    data: dict[str, Any],
    now: datetime,
) -> Outcome:
    decision = triage(data.get("symptoms") or {}, data.get("message"), now.astimezone(tz).date(), rulebook)
    plan = plan_booking(decision.route, decision.urgency, rulebook.urgency_windows_days, now)
    booking = None
    with session.begin():
        if plan is None:
            status, detail = InquiryStatus.URGENT_REVIEW, "a clinician must call the patient"
            message = patient_messages.urgent_review(decision.urgency)
        else:
            booking = scheduler.book(session, plan, inquiry_id)
            if booking.appointment is not None:
                status, detail = InquiryStatus.BOOKED, None
                message = patient_messages.booked(plan.slot_type, booking.appointment.start, tz)
            else:
                status = InquiryStatus.NEEDS_REVIEW
                detail = f"no free {plan.slot_type} slot within the {decision.urgency} window"
                proposed_start = booking.proposed.start if booking.proposed else None
                message = patient_messages.held_for_staff(plan.slot_type, proposed_start, tz)
        proposed = booking.proposed if booking else None
        connection = session.connection()
        connection.execute(_INSERT_DECISION, _decision_row(inquiry_id, decision, now))
        connection.execute(
            _UPDATE_INQUIRY,
            {
                "inquiry_id": inquiry_id,
                "status": status,
                "status_detail": detail,
                "patient_message": message,
                "proposed_slot_id": uuid.UUID(proposed.id) if proposed else None,
                "facts": _facts_record(decision),
                "updated_at": now,
            },
        )
    # Built from what was just written, rather than read back: the same shape a redelivery reads.
    return Outcome(
        id=inquiry_id,
        status=status,
        patient_message=message,
        triage=decision.to_dict(),
        appointment=booking.appointment if booking else None,
        proposed_slot=proposed,
    )


def _facts_record(decision: Decision) -> dict[str, Any]:
    return {
        "values": decision.facts.to_dict(),
        "evidence": [
            {"fact": e.fact, "value": _jsonable(e.value), "source": e.source, "phrase": e.phrase}
            for e in decision.facts.evidence
        ],
    }


def _decision_row(inquiry_id: uuid.UUID, decision: Decision, now: datetime) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "inquiry_id": inquiry_id,
        "urgency": decision.urgency,
        "likely_cause": decision.likely_cause,
        "route": decision.route,
        "rule_id": decision.rule_id,
        "needs_review": decision.needs_review,
        "reasons": [reason.to_dict() for reason in decision.reasons],
        "facts": decision.facts.to_dict(),
        "rulebook_version": decision.rulebook_version,
        "created_at": now,
    }


def _mark_pending(session: Session, inquiry_id: uuid.UUID, detail: str) -> Outcome:
    inquiry = session.get(Inquiry, inquiry_id)
    inquiry.status = InquiryStatus.PENDING_BOOKING
    inquiry.status_detail = detail[:500]
    inquiry.patient_message = patient_messages.pending()
    session.commit()
    return _outcome(session, inquiry, created=True, completed=False)


def _outcome(session: Session, inquiry: Inquiry, *, created: bool, completed: bool = True) -> Outcome:
    decision = session.scalar(
        select(TriageDecision)
        .where(TriageDecision.inquiry_id == inquiry.id, TriageDecision.superseded_at.is_(None))
        .order_by(TriageDecision.created_at.desc())
        .limit(1)
    )
    appointment = session.scalar(
        select(Appointment).where(Appointment.inquiry_id == inquiry.id, Appointment.status == AppointmentStatus.BOOKED)
    )
    proposed = session.get(Slot, inquiry.proposed_slot_id) if inquiry.proposed_slot_id else None
    return Outcome(
        id=inquiry.id,
        status=inquiry.status,
        patient_message=inquiry.patient_message or patient_messages.pending(),
        triage=_decision_dict(decision) if decision else None,
        appointment=SlotTime(str(appointment.id), appointment.slot_type, appointment.start, appointment.end)
        if appointment and inquiry.status == InquiryStatus.BOOKED
        else None,
        proposed_slot=SlotTime(str(proposed.id), proposed.slot_type, proposed.start, proposed.end)
        if proposed
        else None,
        created=created,
        completed=completed and inquiry.status != InquiryStatus.PENDING_BOOKING,
    )


def _decision_dict(decision: TriageDecision) -> dict[str, Any]:
    return {
        "urgency": decision.urgency,
        "likely_cause": decision.likely_cause,
        "route": decision.route,
        "rule": decision.rule_id,
        "needs_review": decision.needs_review,
        "reasons": decision.reasons,
        "rulebook_version": decision.rulebook_version,
    }


def _jsonable(value: Any) -> Any:
    return sorted(value) if isinstance(value, frozenset) else value


__all__ = ["Delivery", "IdempotencyConflict", "Outcome", "receive_inquiry"]


def get_outcome(*, session: Session, inquiry_id: uuid.UUID) -> Outcome | None:
    """The stored outcome of an inquiry, or None if there is no such inquiry."""
    inquiry = session.get(Inquiry, inquiry_id)
    return _outcome(session, inquiry, created=False) if inquiry else None
