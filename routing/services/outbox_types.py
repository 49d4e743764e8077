"""The outbox's event and delivery types, as agreed for issue 21, until ``routing/services/outbox.py`` lands.

The outbox (built alongside) owns these names; the patient channels are written against them. When the
outbox is merged, its module defines the same three names and this one goes: import them from
``routing.services.outbox`` instead.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class OutboundEvent:
    """Something that happened, to be told: ids and codes only, never names, contacts or message text."""

    #: Also the Standard Webhooks webhook-id of every delivery of it.
    id: uuid.UUID
    #: "inquiry.held", "appointment.booked", "appointment.reminder_due", ...
    type: str
    inquiry_id: uuid.UUID | None
    occurred_at: datetime
    data: dict[str, Any]


@dataclass(frozen=True)
class DeliveryResult:
    """How one delivery attempt went."""

    ok: bool
    #: False: a permanent refusal (dead-letter at once).
    retry: bool
    #: HTTP status or error kind; never a body or patient data.
    detail: str
    latency_ms: float


class Channel(Protocol):
    """One way of telling: the outbox worker asks it where an event goes, then has it delivered there."""

    #: "webhook", "alert", "email", "sms"
    name: str

    def targets(self, session: Session, event: OutboundEvent) -> list[str]:
        """Where this event goes on this channel; database reads only, inside the worker's short transaction."""
        ...

    def deliver(self, session: Session, event: OutboundEvent, target: str) -> DeliveryResult:
        """Send it; called outside any transaction (may read the database in short transactions of its own)."""
        ...
