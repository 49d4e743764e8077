"""Receive an inquiry: store it first, then triage, route and book, without ever losing or doubling it."""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from routing.adapters.db.models import Appointment, Inquiry, TriageDecision
from routing.adapters.db.types import utcnow
from routing.adapters.scheduling.interface import SlotTime
from routing.domain import patient_messages
from routing.domain.vocabulary import AppointmentStatus, InquiryStatus
from routing.observability import events
from routing.services.booking_queue import resume
from routing.services.route_inquiry import Outcome, Routing, booking_failed, route_inquiry
from routing.services.staff_queue import decision_dict

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
    #: What tells a redelivery from a reused key when the raw bytes cannot: a hash of the parsed content, for
    #: senders whose redeliveries differ in bytes only (a new multipart boundary, JSON written anew).
    content_sha256: str | None = None

    @property
    def body_sha256(self) -> str:
        """Fingerprint of the delivery (the raw body's, unless a content fingerprint is given)."""
        return self.content_sha256 or hashlib.sha256(self.raw_body).hexdigest()


def content_sha256(content: Any) -> str:
    """A fingerprint of parsed content (JSON-ready), the same however it was written: keys sorted, no spaces."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def receive_inquiry(*, session: Session, routing: Routing, delivery: Delivery, now: datetime | None = None) -> Outcome:
    """Store the delivery with its triage decision, then book it; a redelivery returns the stored outcome.

    The decision is made before anything is written (triage is pure and quick), and the inquiry is stored
    with it in one transaction: there is no stored inquiry without a decision, and an emergency or an
    inquiry held for staff is in the staff queue from its first commit. Whatever fails after that
    commit, the inquiry is kept, ``pending_booking`` (``completed=False`` in the outcome), and the
    booking worker takes it when this request's lease runs out. A redelivery of an inquiry left pending
    by a request that died is resumed by the redelivery. Raises :class:`IdempotencyConflict` when the
    key was used for another body. ``session`` is the request's; this function commits on it.
    """
    now = now or utcnow()
    row = _new_inquiry(delivery, now)
    inquiry_id = row["id"]
    try:
        outcome = _route_reconnecting(session, routing, row, delivery.data, now)
    except IntegrityError:
        # The key is taken: a redelivery, possibly concurrent with the first delivery still running.
        session.rollback()
        existing = session.scalar(select(Inquiry).where(Inquiry.idempotency_key == delivery.key))
        if existing is None:
            raise
        return _redelivered(session, routing, existing, delivery, now)
    except Exception as error:
        session.rollback()
        # Stored or not? Asking needs the database: if it is down, the error goes up and the answer
        # (503) says that retrying with the same key is safe either way.
        with session.begin():
            stored = session.get(Inquiry, inquiry_id) is not None
        if not stored:
            raise
        log.error("inquiry %s stored but not routed: %s", inquiry_id, type(error).__name__)
        events.booking_attempt_failed(routing.scheduler.name, "error", inquiry_id)
        why = f"booking failed ({type(error).__name__})"
        try:
            outcome = booking_failed(session, routing, inquiry_id, 1, why, now, delivery.data.get("language"))
        except DBAPIError:
            # Stored with its decision and this request's lease: the worker books it once the lease ends.
            session.rollback()
            pending = patient_messages.pending(delivery.data.get("language"), clinic=routing.clinic)
            outcome = Outcome(inquiry_id, InquiryStatus.PENDING_BOOKING, pending, completed=False)
    events.inquiry_stored(inquiry_id)
    return outcome


def _new_inquiry(delivery: Delivery, now: datetime) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "idempotency_key": delivery.key,
        "body_sha256": delivery.body_sha256,
        "content_type": delivery.content_type,
        "raw_body": delivery.raw_body,
        "payload": delivery.payload,
        "received_at": now,
    }


def _route_reconnecting(
    session: Session, routing: Routing, row: dict[str, Any], data: dict[str, Any], now: datetime
) -> Outcome:
    # When the request's pooled connection turns out dead (the database restarted since it was last used;
    # see adapters.db.database), the whole thing runs once more on a new connection. Should the first
    # try have committed unseen, the retry meets the unique key and answers as a redelivery.
    def route() -> Outcome:
        return route_inquiry(
            session,
            routing,
            inquiry_id=row["id"],
            data=data,
            received_at=now,
            now=now,
            first_booking=True,
            new_inquiry=row,
        )

    try:
        return route()
    except DBAPIError as error:
        if not error.connection_invalidated:
            raise
        session.rollback()
    return route()


def _redelivered(session: Session, routing: Routing, existing: Inquiry, delivery: Delivery, now: datetime) -> Outcome:
    if existing.body_sha256 != delivery.body_sha256:
        raise IdempotencyConflict(existing.id) from None
    inquiry_id = existing.id
    session.rollback()
    # A request that died left it pending: this redelivery resumes it (if no one else holds it).
    resumed = resume(session, routing, inquiry_id, now)
    if resumed is not None:
        return replace(resumed, created=False)
    inquiry = session.get(Inquiry, inquiry_id)
    return _outcome(session, inquiry, created=False)


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
    proposed = inquiry.proposed_slot
    return Outcome(
        id=inquiry.id,
        status=inquiry.status,
        patient_message=inquiry.patient_message or patient_messages.pending(),
        triage=decision_dict(decision) if decision else None,
        appointment=SlotTime(
            str(appointment.id), appointment.slot_type, appointment.start, appointment.end, appointment.location_id
        )
        if appointment and inquiry.status == InquiryStatus.BOOKED
        else None,
        proposed_slot=_slot_from_record(proposed) if proposed else None,
        language=inquiry.language,
        created=created,
        completed=completed and inquiry.status != InquiryStatus.PENDING_BOOKING,
    )


def _slot_from_record(record: dict[str, str]) -> SlotTime:
    start, end = datetime.fromisoformat(record["start"]), datetime.fromisoformat(record["end"])
    return SlotTime(record["id"], record["slot_type"], start, end, record.get("location"))


__all__ = [
    "Delivery",
    "IdempotencyConflict",
    "Outcome",
    "SlotTime",
    "content_sha256",
    "get_outcome",
    "receive_inquiry",
]


def get_outcome(*, session: Session, inquiry_id: uuid.UUID) -> Outcome | None:
    """The stored outcome of an inquiry, or None if there is no such inquiry."""
    inquiry = session.get(Inquiry, inquiry_id)
    return _outcome(session, inquiry, created=False) if inquiry else None
