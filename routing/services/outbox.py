"""The durable outbox: what happened, recorded in the same transaction as the change, for channels to deliver.

A service that changes something adds an event to the change's own :class:`WriteBatch`
(:func:`record_event`): the event commits with the change, or rolls back with it, so a channel never hears
of a change that did not happen and never misses one that did. The worker (``outbox_dispatch``) fans each
new event out to deliveries, one per channel and target (a webhook subscription, the on-call alert, the
patient's email...), and delivers them at least once, each with the event's id as its ``webhook-id``.

Event data holds ids and codes only: never a patient's name, contact or words. A channel that needs more
(an email to the patient, a subscription that opted in to PHI) reads it when it delivers.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import exists, insert, select, type_coerce
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from routing.adapters.db.models import Inquiry, OutboxEvent
from routing.adapters.db.write_batch import RowWrite, WriteBatch
from routing.domain.vocabulary import InquiryStatus

#: Every event type, as subscriptions name them. Emitted where the change is made:
#: intake (received), routing (routed, urgent_review, held, booked), staff actions (cancelled, rebooked),
#: the scheduling system's events (cancelled, noshow, rebooked), the alert's repeats.
INQUIRY_RECEIVED = "inquiry.received"
INQUIRY_ROUTED = "inquiry.routed"
INQUIRY_URGENT_REVIEW = "inquiry.urgent_review"
INQUIRY_URGENT_REVIEW_REPEAT = "inquiry.urgent_review.repeat"
INQUIRY_HELD = "inquiry.held"
APPOINTMENT_BOOKED = "appointment.booked"
APPOINTMENT_CANCELLED = "appointment.cancelled"
APPOINTMENT_REBOOKED = "appointment.rebooked"
APPOINTMENT_NOSHOW = "appointment.noshow"
APPOINTMENT_REMINDER_DUE = "appointment.reminder_due"
#: A freed slot is held for a waitlisted patient, who may accept it until the offer expires.
WAITLIST_OFFERED = "waitlist.offered"
EVENT_TYPES = (
    INQUIRY_RECEIVED,
    INQUIRY_ROUTED,
    INQUIRY_URGENT_REVIEW,
    INQUIRY_URGENT_REVIEW_REPEAT,
    INQUIRY_HELD,
    APPOINTMENT_BOOKED,
    APPOINTMENT_CANCELLED,
    APPOINTMENT_REBOOKED,
    APPOINTMENT_NOSHOW,
    APPOINTMENT_REMINDER_DUE,
    WAITLIST_OFFERED,
)
#: Keys that would carry a patient's identity or words; event data refusing them is a last line of defence.
_PHI_KEYS = frozenset(
    {"name", "first_name", "last_name", "email", "phone", "date_of_birth", "message", "patient", "text", "address"}
)


@dataclass(frozen=True)
class OutboundEvent:
    """One recorded event, as channels see it."""

    id: uuid.UUID  # also the Standard Webhooks webhook-id of every delivery of it
    type: str
    inquiry_id: uuid.UUID | None
    occurred_at: datetime
    data: dict[str, Any]  # ids and codes only: never names, contacts or message text


@dataclass(frozen=True)
class DeliveryResult:
    """How one attempt to deliver went."""

    ok: bool
    retry: bool  # False: a permanent refusal (dead-letter at once)
    detail: str  # HTTP status or error kind; never a body or patient data
    latency_ms: float


class Channel(Protocol):
    """A way events leave the service: webhook, alert, email, sms."""

    name: str

    def targets(self, session: Session, event: OutboundEvent) -> list[str]:
        """Where this event goes on this channel (subscription ids, "patient", an on-call name...).
        Called by the worker inside a short transaction; database reads only, no network."""

    def deliver(self, session: Session, event: OutboundEvent, target: str) -> DeliveryResult:
        """Send it; called outside any transaction (network). May read the database (e.g. the patient's
        contact details for email/SMS) in its own short transactions."""


_events = OutboxEvent.__table__
_inquiries = Inquiry.__table__
_COLUMNS = ("id", "type", "inquiry_id", "occurred_at", "data")
_RECORD = RowWrite.insert(_events)


def _record_if_pending(keys: frozenset[str], bind) -> Any:
    # INSERT ... SELECT ... WHERE the inquiry is still pending: the same guard as the settle it goes with
    # (route_inquiry's "still pending"), read before the settle runs (added to the batch before it; inside
    # PostgreSQL's one WITH statement every part sees the rows as they were before it). A late duplicate
    # of a job, whose settle changes nothing, so records no event either.
    values = [type_coerce(bind(name), _events.c[name].type) for name in _COLUMNS]
    still_pending = exists().where(
        _inquiries.c.id == bind("inquiry_id"), _inquiries.c.status == InquiryStatus.PENDING_BOOKING
    )
    return insert(_events).from_select(list(_COLUMNS), select(*values).where(still_pending))


_RECORD_IF_PENDING = RowWrite("record_event_if_pending", _record_if_pending)


def record_event(
    writes: WriteBatch, type: str, inquiry_id: uuid.UUID | None, data: dict[str, Any], now: datetime
) -> None:
    """Add the event to the caller's write batch: it commits (or rolls back) with the change it describes."""
    row = _row(type, inquiry_id, data, now)  # checked before anything is added
    writes.add(_RECORD, row)


def record_event_if_pending(
    writes: WriteBatch, type: str, inquiry_id: uuid.UUID, data: dict[str, Any], now: datetime
) -> None:
    """As :func:`record_event`, for the change that settles a pending inquiry: recorded only if the inquiry
    is still ``pending_booking`` when the batch runs. Add it to the batch before the settle itself."""
    row = _row(type, inquiry_id, data, now)
    writes.add(_RECORD_IF_PENDING, row)


def record_event_once(
    connection: Connection, key: str, type: str, inquiry_id: uuid.UUID | None, data: dict[str, Any], now: datetime
) -> bool:
    """Record the event unless one with this ``key`` exists (two workers deciding the same thing at once);
    True when this call recorded it. Runs at once, in the connection's transaction."""
    row = {**_row(type, inquiry_id, data, now), "dedupe_key": key}
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(_events).values(row).on_conflict_do_nothing(index_elements=["dedupe_key"])
    # RETURNING says whether the row went in (rowcount after an INSERT is not reported by every driver).
    return connection.execute(statement.returning(_events.c.id)).first() is not None


def _row(type: str, inquiry_id: uuid.UUID | None, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type!r}; add it to outbox.EVENT_TYPES")
    refused = sorted(_PHI_KEYS & set(data))
    if refused:
        raise ValueError(f"event data must hold ids and codes only, not {', '.join(refused)}")
    return {"id": uuid.uuid4(), "type": type, "inquiry_id": inquiry_id, "occurred_at": now, "data": _plain(data)}


def _plain(value: Any) -> Any:
    """``value`` as JSON holds it: ids and times as strings."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | frozenset | set):
        items = [_plain(item) for item in value]
        return sorted(items) if isinstance(value, frozenset | set) else items
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def as_event(row: OutboxEvent) -> OutboundEvent:
    """A stored event as channels see it."""
    return OutboundEvent(row.id, row.type, row.inquiry_id, row.occurred_at, dict(row.data))
