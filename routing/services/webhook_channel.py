"""The ``webhook`` channel: outbox events to admins' subscriptions, signed as Standard Webhooks.

Each enabled subscription names the event types it wants; each event goes to every subscription that
wants it. The body is the Standard Webhooks payload ``{"type", "timestamp", "data"}``, ``webhook-id`` is the
event's id (the same on every retry and replay, for the receiver to drop a repeat), and it is signed with the
subscription's secret (and, for a day after a rotation, the previous one too). ``data`` carries ids and codes;
a subscription that opted in to PHI (``include_phi``) also gets ``data.patient``: the name and contact from
the inquiry, read when sending and never stored in the outbox.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from routing.adapters.db.models import Inquiry, WebhookSubscription
from routing.adapters.db.types import utcnow
from routing.adapters.outbound_webhooks import SignedMessage, WebhookSender
from routing.services.outbox import DeliveryResult, OutboundEvent

#: The patient fields a subscription with ``include_phi`` receives (name and contact, nothing clinical).
PHI_FIELDS = ("first_name", "last_name", "email", "phone")


class WebhookChannel:
    """Delivers events to the webhook subscriptions that want them."""

    name = "webhook"

    def __init__(self, sender: WebhookSender) -> None:
        self.sender = sender

    def targets(self, session: Session, event: OutboundEvent) -> list[str]:
        """The ids of the enabled subscriptions to ``event.type`` (a handful of rows: filtered here)."""
        rows = session.scalars(
            select(WebhookSubscription)
            .where(WebhookSubscription.enabled.is_(True))
            .order_by(WebhookSubscription.created_at)
        )
        return [str(row.id) for row in rows if event.type in (row.event_types or [])]

    def deliver(self, session: Session, event: OutboundEvent, target: str) -> DeliveryResult:
        """POST the event to the subscription's URL; a subscription deleted or disabled since is dead-lettered
        (replay it once it is enabled again)."""
        now = utcnow()
        with session.begin():
            key = _uuid(target)
            subscription = session.get(WebhookSubscription, key) if key is not None else None
            if subscription is None or not subscription.enabled:
                why = "subscription deleted" if subscription is None else "subscription disabled"
                return DeliveryResult(False, False, why, 0.0)
            url, secrets = subscription.url, signing_secrets(subscription, now)
            patient = _patient(session, event.inquiry_id) if subscription.include_phi else None
        result = self.sender.post(url, SignedMessage(str(event.id), payload(event, patient), secrets), now)
        return DeliveryResult(result.ok, result.retry, result.detail, result.latency_ms)


def payload(event: OutboundEvent, patient: dict[str, Any] | None = None) -> bytes:
    """The exact bytes sent (and signed): Standard Webhooks' ``{"type", "timestamp", "data"}``."""
    data = dict(event.data)
    if patient is not None:
        data["patient"] = patient
    body = {"type": event.type, "timestamp": _timestamp(event.occurred_at), "data": data}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def signing_secrets(subscription: WebhookSubscription, now: datetime) -> list[str]:
    """The secrets that sign now: the current one, and the previous while its overlap lasts."""
    secrets = [subscription.secret]
    until = subscription.previous_secret_until
    if subscription.previous_secret and until is not None and now < until:
        secrets.append(subscription.previous_secret)
    return secrets


def _patient(session: Session, inquiry_id: uuid.UUID | None) -> dict[str, Any] | None:
    if inquiry_id is None:
        return None
    payload_ = session.scalar(select(Inquiry.payload).where(Inquiry.id == inquiry_id)) or {}
    patient = payload_.get("patient") or {}
    return {name: patient.get(name) or None for name in PHI_FIELDS}


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _uuid(target: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(target)
    except ValueError:
        return None
