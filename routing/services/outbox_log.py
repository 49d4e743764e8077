"""What admins read of the outbox: deliveries by channel, target and state, each with its attempts; replay.

A replay makes a dead (or delivered) delivery pending again, due now, with a new retry horizon; it is sent
with the same ``webhook-id`` as before (the event's id), so a receiver that did process it can tell.
Audited as ``delivery.replay``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from routing.adapters.db.models import OutboxAttempt, OutboxDelivery, OutboxEvent
from routing.adapters.db.types import utcnow
from routing.services import audit, outbox_dispatch
from routing.services.outbox_dispatch import OutboxPolicy
from routing.services.reading import read_only
from routing.services.staff_tokens import Staff


class UnknownDelivery(LookupError):
    """No delivery with that id."""


class ReplayRefused(Exception):
    """The delivery cannot be replayed now (it is still pending); the message says why."""


@dataclass(frozen=True)
class DeliveryFilter:
    """Which deliveries to list; every field optional."""

    channel: str | None = None
    status: str | None = None
    target: str | None = None
    event_type: str | None = None
    inquiry_id: uuid.UUID | None = None


@read_only
def deliveries(
    session: Session, filters: DeliveryFilter, page: int = 1, per_page: int = 50
) -> tuple[list[dict[str, Any]], int]:
    """One page of deliveries, newest first, and how many match in all."""
    query = select(OutboxDelivery, OutboxEvent).join(OutboxEvent, OutboxEvent.id == OutboxDelivery.event_id)
    for column, value in (
        (OutboxDelivery.channel, filters.channel),
        (OutboxDelivery.status, filters.status),
        (OutboxDelivery.target, filters.target),
        (OutboxEvent.type, filters.event_type),
        (OutboxEvent.inquiry_id, filters.inquiry_id),
    ):
        if value is not None:
            query = query.where(column == value)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(
        query.order_by(OutboxDelivery.created_at.desc(), OutboxDelivery.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return [as_dict(delivery, event) for delivery, event in rows], total


@read_only
def delivery(session: Session, delivery_id: uuid.UUID) -> dict[str, Any]:
    """One delivery with its event and every attempt, oldest first; UnknownDelivery when there is none."""
    row = session.execute(
        select(OutboxDelivery, OutboxEvent)
        .join(OutboxEvent, OutboxEvent.id == OutboxDelivery.event_id)
        .where(OutboxDelivery.id == delivery_id)
    ).first()
    if row is None:
        raise UnknownDelivery(delivery_id)
    attempts = session.scalars(
        select(OutboxAttempt).where(OutboxAttempt.delivery_id == delivery_id).order_by(OutboxAttempt.id)
    )
    return {**as_dict(*row), "event_data": dict(row[1].data), "attempt_log": [_attempt(a) for a in attempts]}


def backlog(session: Session) -> tuple[int, int]:
    """(pending, dead) deliveries, for the metrics (two index counts)."""
    counts = dict(
        session.execute(
            select(OutboxDelivery.status, func.count())
            .where(OutboxDelivery.status.in_(["pending", "dead"]))
            .group_by(OutboxDelivery.status)
        ).all()
    )
    session.rollback()
    return counts.get("pending", 0), counts.get("dead", 0)


def replay(
    session: Session, admin: Staff, delivery_id: uuid.UUID, policy: OutboxPolicy, now: datetime | None = None
) -> None:
    """Send a dead or delivered delivery again, now; audited as ``delivery.replay``.

    Raises UnknownDelivery, or ReplayRefused when it is still pending (it is retried on its own).
    """
    now = now or utcnow()
    with session.begin():
        try:
            row = outbox_dispatch.replay(session, delivery_id, policy, now)
        except ValueError as refused:
            raise ReplayRefused(str(refused)) from None
        if row is None:
            raise UnknownDelivery(delivery_id)
        details = {
            "delivery_id": str(row.id),
            "event_id": str(row.event_id),
            "channel": row.channel,
            "target": row.target,
        }
        audit.record(session, admin, "delivery.replay", details=details, now=now)


def as_dict(delivery: OutboxDelivery, event: OutboxEvent) -> dict[str, Any]:
    """A delivery as the API and the console show it."""
    return {
        "id": str(delivery.id),
        "event_id": str(event.id),
        "event_type": event.type,
        "inquiry_id": str(event.inquiry_id) if event.inquiry_id else None,
        "occurred_at": event.occurred_at.isoformat(),
        "channel": delivery.channel,
        "target": delivery.target,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "next_attempt_at": delivery.next_attempt_at.isoformat() if delivery.status == "pending" else None,
        "give_up_at": delivery.give_up_at.isoformat(),
        "created_at": delivery.created_at.isoformat(),
        "last_attempt_at": _iso(delivery.last_attempt_at),
        "delivered_at": _iso(delivery.delivered_at),
        "last_result": delivery.last_result,
    }


def _attempt(attempt: OutboxAttempt) -> dict[str, Any]:
    return {
        "started_at": attempt.started_at.isoformat(),
        "latency_ms": attempt.latency_ms,
        "result": attempt.result,
        "detail": attempt.detail,
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
