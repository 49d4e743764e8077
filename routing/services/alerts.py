"""The ``alert`` channel: an emergency or urgent review is told to the on-call staff at once, and again every
few minutes until someone acknowledges it.

``inquiry.urgent_review`` (rule R1's emergency, R2's urgent review, or staff moving an inquiry there) goes to
every on-call recipient configured (``ROUTING_ALERT_WEBHOOK_URLS``: a chat or paging tool's incoming
webhook, signed as Standard Webhooks). While the inquiry stays in urgent review and nobody acknowledged it
(``POST /v1/admin/inquiries/{id}/acknowledge`` or the console's button, audited), the worker records an
``inquiry.urgent_review.repeat`` every ``ROUTING_ALERT_REPEAT_MINUTES`` (:func:`schedule_repeats`), which
the recipients get too; an alert whose inquiry was handled by the time it is sent is not sent.

Alerts say no more than the outbox does: the inquiry's id, urgency and rule, and where to open it.

Other recipients (an on-call email, from the patient-messages channels) plug in as :class:`AlertRecipient`
objects passed to :class:`AlertChannel`: ``name`` (the delivery's target) and ``send``.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, aliased

from routing.adapters.db.models import AuditEvent, Inquiry, OutboxDelivery, OutboxEvent
from routing.adapters.outbound_webhooks import SignedMessage, WebhookSender
from routing.domain.vocabulary import InquiryStatus, Urgency
from routing.services.outbox import (
    INQUIRY_URGENT_REVIEW,
    INQUIRY_URGENT_REVIEW_REPEAT,
    DeliveryResult,
    OutboundEvent,
    record_event_once,
)
from routing.services.staff_queue import ACKNOWLEDGE

CHANNEL = "alert"
#: The events that alert the on-call staff.
ALERTING = (INQUIRY_URGENT_REVIEW, INQUIRY_URGENT_REVIEW_REPEAT)


@dataclass(frozen=True)
class Alert:
    """What an alert says: ids and codes, a line for people, and where to open the inquiry."""

    inquiry_id: uuid.UUID
    urgency: str | None
    rule: str | None
    #: 1 for the first alert, 2 for the first repeat, ...
    number: int
    text: str
    link: str | None


class AlertRecipient(Protocol):
    """Somewhere on-call staff are told (a chat or paging webhook; an email address, later)."""

    name: str

    def send(self, session: Session, event: OutboundEvent, alert: Alert) -> DeliveryResult:
        """Tell them, once (a network call, no transaction open)."""


class WebhookRecipient:
    """An on-call chat or paging tool's incoming webhook, signed with ``ROUTING_ALERT_WEBHOOK_SECRET``."""

    def __init__(self, url: str, secret: str, sender: WebhookSender) -> None:
        self.url, self.secret, self.sender = url, secret, sender
        # Named after the URL (not its place in the list), so a delivery still finds it after a restart.
        self.name = "webhook-" + hashlib.sha256(url.encode()).hexdigest()[:12]

    def send(self, session: Session, event: OutboundEvent, alert: Alert) -> DeliveryResult:
        """POST the alert: the outbox event's Standard Webhooks payload plus ``text``, which chat tools show."""
        result = self.sender.post(self.url, SignedMessage(str(event.id), alert_payload(event, alert), [self.secret]))
        return DeliveryResult(result.ok, result.retry, result.detail, result.latency_ms)


class AlertChannel:
    """Sends ``inquiry.urgent_review`` and its repeats to every on-call recipient."""

    name = CHANNEL

    def __init__(self, recipients: Sequence[AlertRecipient], console_url: str | None = None) -> None:
        self.recipients = {recipient.name: recipient for recipient in recipients}
        self.console_url = console_url.rstrip("/") if console_url else None

    def targets(self, session: Session, event: OutboundEvent) -> list[str]:
        """Every recipient, for an alerting event; none otherwise."""
        return list(self.recipients) if event.type in ALERTING else []

    def deliver(self, session: Session, event: OutboundEvent, target: str) -> DeliveryResult:
        """Send the alert, unless the inquiry has been handled meanwhile (then it is done, unsent)."""
        recipient = self.recipients.get(target)
        if recipient is None:
            return DeliveryResult(False, False, "recipient no longer configured", 0.0)
        with session.begin():
            handled = event.inquiry_id is None or is_handled(session, event.inquiry_id)
        if handled:
            return DeliveryResult(True, False, "not sent: already acknowledged or handled", 0.0)
        return recipient.send(session, event, self.alert(event))

    def alert(self, event: OutboundEvent) -> Alert:
        """The alert an event makes."""
        data = event.data
        number = int(data.get("repeat") or 1)
        urgency, rule = data.get("urgency"), data.get("rule")
        link = f"{self.console_url}/inquiries/{event.inquiry_id}" if self.console_url else None
        what = "EMERGENCY" if urgency == Urgency.EMERGENCY else "Urgent review"
        again = f" (reminder {number - 1}: not acknowledged yet)" if number > 1 else ""
        where = f"Open {link}" if link else "Open it in the staff console"
        text = (
            f"{what}{again}: inquiry {str(event.inquiry_id)[:8]} (rule {rule or '?'}) needs a clinician's call now. "
            f"{where} and acknowledge it there to stop these alerts."
        )
        return Alert(event.inquiry_id, urgency, rule, number, text, link)


def alert_payload(event: OutboundEvent, alert: Alert) -> bytes:
    """The exact bytes an on-call webhook gets (and that are signed)."""
    data = {**event.data, "alert_number": alert.number, "link": alert.link}
    body = {
        "type": event.type,
        "timestamp": event.occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "data": data,
        "text": alert.text,
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def is_handled(session: Session, inquiry_id: uuid.UUID) -> bool:
    """True once nobody needs alerting: acknowledged, closed by a call-back, or moved out of urgent review."""
    status = session.scalar(select(Inquiry.status).where(Inquiry.id == inquiry_id))
    if status != InquiryStatus.URGENT_REVIEW:
        return True
    return bool(session.scalar(select(_acknowledged(inquiry_id))))


def schedule_repeats(session: Session, now: datetime, every: timedelta) -> int:
    """Record the next repeat of every alert that is due one; how many were recorded.

    Due: the inquiry is in urgent review, nobody acknowledged it, its last alert event is ``every`` old, and
    no alert of it is still waiting to be delivered (a receiver that is down gets no pile of repeats). Each
    repeat has a key of its own (inquiry and number), so two workers deciding at once record it once.
    """
    last = func.max(OutboxEvent.occurred_at)
    due = (
        select(OutboxEvent.inquiry_id, func.count().label("sent"))
        .join(Inquiry, Inquiry.id == OutboxEvent.inquiry_id)
        .where(
            OutboxEvent.type.in_(ALERTING),
            Inquiry.status == InquiryStatus.URGENT_REVIEW,
            ~_acknowledged(Inquiry.id),
            ~_waiting(Inquiry.id),
        )
        .group_by(OutboxEvent.inquiry_id)
        .having(last <= now - every)
    )
    recorded = 0
    with session.begin():
        for inquiry_id, sent in session.execute(due).all():
            first = session.scalar(
                select(OutboxEvent)
                .where(OutboxEvent.inquiry_id == inquiry_id, OutboxEvent.type == INQUIRY_URGENT_REVIEW)
                .order_by(OutboxEvent.occurred_at.desc())
                .limit(1)
            )
            data = _repeat_data(inquiry_id, first.data if first else {}, first.id if first else None, sent + 1)
            key = f"alert-repeat:{inquiry_id}:{sent + 1}"
            recorded += record_event_once(
                session.connection(), key, INQUIRY_URGENT_REVIEW_REPEAT, inquiry_id, data, now
            )
    return recorded


def _repeat_data(inquiry_id: uuid.UUID, first: dict[str, Any], first_id: uuid.UUID | None, number: int) -> dict:
    return {
        "inquiry_id": inquiry_id,
        "urgency": first.get("urgency"),
        "rule": first.get("rule"),
        "repeat": number,
        "first_event_id": first_id,
    }


def _acknowledged(inquiry_id: Any) -> Any:
    return exists().where(AuditEvent.inquiry_id == inquiry_id, AuditEvent.action == ACKNOWLEDGE)


def _waiting(inquiry_id: Any) -> Any:
    """An alert of this inquiry not delivered yet (or not even fanned out)."""
    # An alias: the enclosing query reads outbox_events too, and must not be correlated with this one.
    event = aliased(OutboxEvent)
    pending = (
        select(OutboxDelivery.id)
        .join(event, event.id == OutboxDelivery.event_id)
        .where(event.inquiry_id == inquiry_id, OutboxDelivery.channel == CHANNEL, OutboxDelivery.status == "pending")
    )
    unfanned = select(event.id).where(
        event.inquiry_id == inquiry_id, event.type.in_(ALERTING), event.fanned_out_at.is_(None)
    )
    return exists(pending) | exists(unfanned)
