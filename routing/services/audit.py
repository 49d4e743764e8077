"""The audit trail: who changed what, when and why. Written in the change's own transaction; never edited."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from routing.adapters.db.models import AuditEvent
from routing.adapters.db.types import utcnow
from routing.services import keyset
from routing.services.staff_tokens import Staff


def record(
    session: Session,
    staff: Staff | None,
    action: str,
    *,
    inquiry_id: uuid.UUID | None = None,
    details: dict[str, Any] | None = None,
    reason: str | None = None,
    now: datetime | None = None,
    actor_name: str | None = None,
) -> AuditEvent:
    """Add one audit event to the session's transaction (it commits or rolls back with the change)."""
    event = AuditEvent(
        at=now or utcnow(),
        actor_id=staff.id if staff else None,
        actor_name=staff.name if staff else (actor_name or "system"),
        action=action,
        inquiry_id=inquiry_id,
        details=details or {},
        reason=reason,
    )
    session.add(event)
    return event


def events(
    session: Session,
    *,
    inquiry_id: uuid.UUID | None = None,
    actor: str | None = None,
    action: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[AuditEvent], int]:
    """Audit events, newest first, filtered; and how many match (at most ``keyset.COUNT_LIMIT``)."""
    found = events_page(session, inquiry_id=inquiry_id, actor=actor, action=action, page=page, per_page=per_page)
    return found.items, found.total


@dataclass(frozen=True)
class EventsPage:
    """A page of the audit log: its events, how many match (at most ``keyset.COUNT_LIMIT``, then
    ``total_capped``), and the cursor of the next page (None on the last)."""

    items: list[AuditEvent]
    total: int
    total_capped: bool
    next_cursor: str | None


def events_page(
    session: Session,
    *,
    inquiry_id: uuid.UUID | None = None,
    actor: str | None = None,
    action: str | None = None,
    page: int = 1,
    per_page: int = 50,
    after: str | None = None,
) -> EventsPage:
    """Audit events, newest first, filtered: the ``page``-th page, or the one after the cursor ``after`` (a
    previous page's ``next_cursor``: as fast however far back, where a page number skips every newer event)."""
    query = select(AuditEvent)
    if inquiry_id is not None:
        query = query.where(AuditEvent.inquiry_id == inquiry_id)
    if actor:
        query = query.where(AuditEvent.actor_name == actor)
    if action:
        query = query.where(AuditEvent.action == action)
    total, capped = keyset.count_upto(session, query.with_only_columns(AuditEvent.id))
    if after is not None:
        query = query.where(tuple_(AuditEvent.at, AuditEvent.id) < keyset.decode(after, datetime, int))
    else:
        query = query.offset((page - 1) * per_page)
    rows = list(session.scalars(query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(per_page + 1)))
    more, rows = len(rows) > per_page, rows[:per_page]
    next_cursor = keyset.encode(rows[-1].at, rows[-1].id) if more else None
    return EventsPage(rows, total, capped, next_cursor)


def trail(session: Session, inquiry_id: uuid.UUID) -> list[AuditEvent]:
    """One inquiry's audit events, oldest first."""
    return list(
        session.scalars(
            select(AuditEvent).where(AuditEvent.inquiry_id == inquiry_id).order_by(AuditEvent.at, AuditEvent.id)
        )
    )


def as_dict(event: AuditEvent) -> dict[str, Any]:
    """An audit event as the API shows it."""
    return {
        "id": event.id,
        "at": event.at.isoformat(),
        "actor": event.actor_name,
        "actor_id": str(event.actor_id) if event.actor_id else None,
        "action": event.action,
        "inquiry_id": str(event.inquiry_id) if event.inquiry_id else None,
        "details": event.details,
        "reason": event.reason,
    }
