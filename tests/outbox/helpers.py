"""Helpers for outbox tests: the events recorded, subscriptions made over the admin API, a worker's round."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select

from routing.adapters.db.models import OutboxAttempt, OutboxDelivery, OutboxEvent
from routing.adapters.db.types import utcnow
from routing.services.outbox import EVENT_TYPES
from routing.services.outbox_dispatch import OutboxWorker
from tests.http.admin_helpers import bearer

ALL_INQUIRY_EVENTS = ["inquiry.received", "inquiry.routed", "inquiry.urgent_review", "inquiry.held"]


def recorded(app, inquiry_id: str | None = None) -> list[tuple[str, dict]]:
    """Every outbox event as (type, data), in the order they happened (types in catalogue order within one
    transaction, which records them at one instant)."""
    with app.extensions["routing"].db.session() as session:
        query = select(OutboxEvent)
        if inquiry_id is not None:
            query = query.where(OutboxEvent.inquiry_id == uuid.UUID(str(inquiry_id)))
        rows = session.scalars(query).all()
    rows = sorted(rows, key=lambda row: (row.occurred_at, EVENT_TYPES.index(row.type)))
    return [(row.type, row.data) for row in rows]


def types_of(app, inquiry_id: str | None = None) -> list[str]:
    """The types of the events recorded, in order."""
    return [kind for kind, _ in recorded(app, inquiry_id)]


def subscribe(client, token: str, url: str, event_types: list[str], **extra) -> dict:
    """Create a subscription over the admin API; its answer (with the secret)."""
    body = {"description": "Test receiver", "url": url, "event_types": event_types, **extra}
    response = client.post("/v1/admin/webhooks", json=body, headers=bearer(token))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def worker(app, clock: Callable[[], datetime] = utcnow) -> OutboxWorker:
    """The app's outbox worker, on ``clock``."""
    return app.extensions["routing"].outbox_worker(clock=clock)


def deliveries(app) -> list[OutboxDelivery]:
    """Every delivery row, oldest first."""
    with app.extensions["routing"].db.session() as session:
        return session.scalars(select(OutboxDelivery).order_by(OutboxDelivery.created_at)).all()


def attempts(app) -> list[OutboxAttempt]:
    """The delivery log, oldest first."""
    with app.extensions["routing"].db.session() as session:
        return session.scalars(select(OutboxAttempt).order_by(OutboxAttempt.id)).all()
