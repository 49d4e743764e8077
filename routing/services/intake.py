"""Receive an inquiry: store it first, then triage, route and book, without ever losing or doubling it."""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from routing.adapters.db.database import autocommit
from routing.adapters.db.models import Appointment, Inquiry, TriageDecision
from routing.adapters.db.types import utcnow
from routing.adapters.scheduling.interface import SlotTime
from routing.domain import patient_messages
from routing.domain.vocabulary import AppointmentStatus, InquiryStatus
from routing.observability import events
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

    @property
    def body_sha256(self) -> str:
        """Fingerprint of the raw body, to tell a redelivery from a reused key."""
        return hashlib.sha256(self.raw_body).hexdigest()


def receive_inquiry(*, session: Session, routing: Routing, delivery: Delivery, now: datetime | None = None) -> Outcome:
    """Store the delivery, then triage and book it; a redelivery returns the stored outcome.

    The inquiry is committed before anything else runs, so whatever fails afterwards it is kept, with
    status ``pending_booking`` and ``completed=False`` in the outcome, and the booking worker retries
    it. Raises :class:`IdempotencyConflict` when the key was used for another body. ``session`` is the
    request's; this function commits its own transactions on it (store first, then decide and book).
    """
    now = now or utcnow()
    inquiry_id = _store_first(session, delivery, now, routing.policy.lease)
    if isinstance(inquiry_id, Outcome):
        return inquiry_id
    events.inquiry_stored(inquiry_id)
    try:
        return route_inquiry(
            session, routing, inquiry_id=inquiry_id, data=delivery.data, received_at=now, now=now, first_booking=True
        )
    except Exception as error:
        # Acknowledged and stored: a failure from here on must not lose it or answer 500.
        session.rollback()
        log.error("inquiry %s stored but not routed: %s", inquiry_id, type(error).__name__)
        events.booking_attempt_failed(routing.scheduler.name, "error", inquiry_id)
        return booking_failed(
            session, routing, inquiry_id, 1, f"triage or booking failed ({type(error).__name__})", now
        )


# Built once at import: on a local database, building a statement costs more than running it.
_INSERT_INQUIRY = insert(Inquiry.__table__)


def _store_first(session: Session, delivery: Delivery, now: datetime, lease: timedelta) -> uuid.UUID | Outcome:
    # Insert first and let the unique key catch redeliveries: the common case costs no extra query.
    inquiry_id = uuid.uuid4()
    try:
        _insert_reconnecting(
            session,
            {
                "id": inquiry_id,
                "idempotency_key": delivery.key,
                "body_sha256": delivery.body_sha256,
                "content_type": delivery.content_type,
                "raw_body": delivery.raw_body,
                "payload": delivery.payload,
                "status": InquiryStatus.PENDING_BOOKING,
                "status_detail": "awaiting triage",
                "patient_message": patient_messages.pending(delivery.data.get("language")),
                "received_at": now,
                "updated_at": now,
                # This request books it now; the worker takes it only if the request dies first.
                "next_attempt_at": now,
                "lease_until": now + lease,
            },
        )
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


def _insert_reconnecting(session: Session, values: dict[str, Any]) -> None:
    # The request's first statement: when its pooled connection turns out dead (the database restarted
    # since it was last used; see adapters.db.database), run it once more on a new connection. Should
    # the first try have committed unseen, the retry meets the unique key and answers as a redelivery.
    try:
        with autocommit(session) as connection:
            connection.execute(_INSERT_INQUIRY, values)
    except DBAPIError as error:
        if not error.connection_invalidated:
            raise
        with autocommit(session) as connection:
            connection.execute(_INSERT_INQUIRY, values)


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
        appointment=SlotTime(str(appointment.id), appointment.slot_type, appointment.start, appointment.end)
        if appointment and inquiry.status == InquiryStatus.BOOKED
        else None,
        proposed_slot=_slot_from_record(proposed) if proposed else None,
        language=inquiry.language,
        created=created,
        completed=completed and inquiry.status != InquiryStatus.PENDING_BOOKING,
    )


def _slot_from_record(record: dict[str, str]) -> SlotTime:
    start, end = datetime.fromisoformat(record["start"]), datetime.fromisoformat(record["end"])
    return SlotTime(record["id"], record["slot_type"], start, end)


__all__ = ["Delivery", "IdempotencyConflict", "Outcome", "SlotTime", "get_outcome", "receive_inquiry"]


def get_outcome(*, session: Session, inquiry_id: uuid.UUID) -> Outcome | None:
    """The stored outcome of an inquiry, or None if there is no such inquiry."""
    inquiry = session.get(Inquiry, inquiry_id)
    return _outcome(session, inquiry, created=False) if inquiry else None
