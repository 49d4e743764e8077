"""Admins' webhook subscriptions: create, change, rotate the secret, delete; each change audited with it.

The signing secret is made here (``whsec_`` and 32 random bytes, the Standard Webhooks form) and returned
only by :func:`create` and :func:`rotate_secret`: nothing shows it again. Audit events name the receiver by
its origin (scheme, host, port), never the whole URL, whose path may hold a token (a chat tool's incoming
webhook). Turning ``include_phi`` on or off is an audit event of its own, ``webhook.include_phi``.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from routing.adapters.db.models import WebhookSubscription
from routing.adapters.db.types import utcnow
from routing.domain.outbound_url import origin
from routing.services import audit
from routing.services.reading import read_only
from routing.services.staff_tokens import Staff

#: After a rotation the previous secret signs too for this long, so receivers can switch over.
ROTATION_OVERLAP = timedelta(hours=24)
#: What an admin may change on a subscription.
CHANGEABLE = ("description", "url", "event_types", "enabled", "include_phi")


class UnknownSubscription(LookupError):
    """No webhook subscription with that id."""


@dataclass(frozen=True)
class NewSubscription:
    """What an admin gives to subscribe a receiver (validated by the API's schema)."""

    description: str
    url: str
    event_types: list[str]
    enabled: bool = True
    include_phi: bool = False


def new_secret() -> str:
    """A fresh signing secret in the Standard Webhooks form: ``whsec_`` and base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def create(
    session: Session, admin: Staff, new: NewSubscription, now: datetime | None = None
) -> tuple[WebhookSubscription, str]:
    """Subscribe a receiver; the row and its secret (shown once). Audited as ``webhook.create``."""
    now = now or utcnow()
    secret = new_secret()
    with session.begin():
        row = WebhookSubscription(
            description=new.description,
            url=new.url,
            event_types=list(new.event_types),
            enabled=new.enabled,
            include_phi=new.include_phi,
            secret=secret,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        session.flush()
        audit.record(session, admin, "webhook.create", details=_described(row), now=now)
        if row.include_phi:
            audit.record(session, admin, "webhook.include_phi", details=_phi(row), now=now)
    return row, secret


def update(
    session: Session, admin: Staff, subscription_id: uuid.UUID, changes: dict[str, Any], now: datetime | None = None
) -> WebhookSubscription:
    """Change some of :data:`CHANGEABLE`; audited as ``webhook.update`` (and ``webhook.include_phi``)."""
    now = now or utcnow()
    with session.begin():
        row = _locked(session, subscription_id)
        changed = {name: value for name, value in changes.items() if name in CHANGEABLE and getattr(row, name) != value}
        for name, value in changed.items():
            setattr(row, name, list(value) if name == "event_types" else value)
        if changed:
            row.updated_at = now
            shown = {name: (origin(value) if name == "url" else value) for name, value in changed.items()}
            audit.record(
                session, admin, "webhook.update", details={"subscription_id": str(row.id), "changed": shown}, now=now
            )
        if "include_phi" in changed:
            audit.record(session, admin, "webhook.include_phi", details=_phi(row), now=now)
    return row


def rotate_secret(
    session: Session, admin: Staff, subscription_id: uuid.UUID, now: datetime | None = None
) -> tuple[WebhookSubscription, str]:
    """A new secret (shown once); the old one keeps signing for :data:`ROTATION_OVERLAP`. Audited."""
    now = now or utcnow()
    secret = new_secret()
    with session.begin():
        row = _locked(session, subscription_id)
        row.previous_secret, row.previous_secret_until = row.secret, now + ROTATION_OVERLAP
        row.secret, row.updated_at = secret, now
        details = {"subscription_id": str(row.id), "previous_secret_until": row.previous_secret_until.isoformat()}
        audit.record(session, admin, "webhook.rotate_secret", details=details, now=now)
    return row, secret


def delete(session: Session, admin: Staff, subscription_id: uuid.UUID, now: datetime | None = None) -> None:
    """Remove the subscription; its deliveries stay in the log (pending ones are dead-lettered when due)."""
    with session.begin():
        row = _locked(session, subscription_id)
        audit.record(session, admin, "webhook.delete", details=_described(row), now=now or utcnow())
        session.delete(row)


@read_only
def list_all(session: Session) -> list[dict[str, Any]]:
    """Every subscription (as :func:`as_dict`), oldest first."""
    return [
        as_dict(row) for row in session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.created_at))
    ]


@read_only
def get(session: Session, subscription_id: uuid.UUID) -> dict[str, Any]:
    """One subscription (as :func:`as_dict`); UnknownSubscription when there is none."""
    row = session.get(WebhookSubscription, subscription_id)
    if row is None:
        raise UnknownSubscription(subscription_id)
    return as_dict(row)


def as_dict(row: WebhookSubscription) -> dict[str, Any]:
    """A subscription as the API and the console show it (never its secret)."""
    return {
        "id": str(row.id),
        "description": row.description,
        "url": row.url,
        "event_types": list(row.event_types or []),
        "enabled": row.enabled,
        "include_phi": row.include_phi,
        "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
        "previous_secret_until": row.previous_secret_until.isoformat() if row.previous_secret_until else None,
    }


def _locked(session: Session, subscription_id: uuid.UUID) -> WebhookSubscription:
    row = session.get(WebhookSubscription, subscription_id, with_for_update=True, populate_existing=True)
    if row is None:
        raise UnknownSubscription(subscription_id)
    return row


def _described(row: WebhookSubscription) -> dict[str, Any]:
    return {
        "subscription_id": str(row.id),
        "description": row.description,
        "receiver": origin(row.url),
        "event_types": list(row.event_types or []),
        "enabled": row.enabled,
        "include_phi": row.include_phi,
    }


def _phi(row: WebhookSubscription) -> dict[str, Any]:
    return {"subscription_id": str(row.id), "receiver": origin(row.url), "include_phi": row.include_phi}
