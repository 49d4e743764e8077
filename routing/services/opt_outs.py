"""Patients who asked for no more notices: by an email's unsubscribe link, by texting STOP, or as the SMS
provider reports it. Kept per contact (an address, a number), audited, and read before every notice.

The unsubscribe link carries a signed token naming the inquiry, the channel and the page's language, never the
address itself; the address is looked up when the opt-out is recorded.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from routing.adapters.db.models import ContactOptOut, Inquiry
from routing.domain.patient_notices import EMAIL, SMS
from routing.domain.phone_numbers import masked
from routing.observability import events
from routing.services import audit
from routing.services.patient_contacts import contact_of

#: How an opt-out (or opt-in) was said.
UNSUBSCRIBE_LINK, SMS_KEYWORD, PROVIDER = "unsubscribe_link", "sms_keyword", "provider"
OPTED_OUT, OPTED_IN = "contact.opted_out", "contact.opted_in"
# Keeps these tokens from being read as any other signed value made with the same secret key.
_SALT = "routing.unsubscribe.v1"


@dataclass(frozen=True)
class UnsubscribeRequest:
    """What an unsubscribe link says: whose contact (by inquiry), on which channel, the page's language."""

    inquiry_id: uuid.UUID
    channel: str
    language: str


def unsubscribe_token(secret_key: str, inquiry_id: uuid.UUID, channel: str, language: str) -> str:
    """The token of an unsubscribe link (URL-safe). It does not expire: a link in an old email must still work."""
    return URLSafeSerializer(secret_key, salt=_SALT).dumps([inquiry_id.hex, channel, language])


def read_unsubscribe_token(secret_key: str, token: str) -> UnsubscribeRequest | None:
    """The request a token signed with ``secret_key`` carries, or None for anything else."""
    try:
        inquiry_hex, channel, language = URLSafeSerializer(secret_key, salt=_SALT).loads(token)
        return UnsubscribeRequest(uuid.UUID(hex=inquiry_hex), channel, language)
    except (BadSignature, ValueError, TypeError):
        return None


def unsubscribe(session: Session, request: UnsubscribeRequest, country_code: str, now: datetime) -> bool:
    """Record that the contact the inquiry gave for ``request.channel`` wants no more notices; False when the
    inquiry or its contact is not there (nothing to record). Commits."""
    with session.begin():
        inquiry = session.get(Inquiry, request.inquiry_id)
        contact = contact_of(inquiry.payload, country_code) if inquiry is not None else None
        address = contact.address(request.channel) if contact is not None else None
        if address is None:
            return False
        set_opt_out(
            session, request.channel, address, opted_out=True, source=UNSUBSCRIBE_LINK, now=now, inquiry_id=inquiry.id
        )
    return True


def is_opted_out(session: Session, channel: str, contact: str) -> bool:
    """Whether ``contact`` (normalised: see :func:`routing.services.patient_contacts.contact_of`) opted out."""
    return bool(
        session.scalar(
            select(ContactOptOut.opted_out).where(ContactOptOut.channel == channel, ContactOptOut.contact == contact)
        )
    )


def set_opt_out(
    session: Session,
    channel: str,
    contact: str,
    *,
    opted_out: bool,
    source: str,
    now: datetime,
    inquiry_id: uuid.UUID | None = None,
) -> bool:
    """Record in the session's transaction that ``contact`` opted out (or back in), with an audit event; False
    when it already stood so (nothing written)."""
    if channel not in (EMAIL, SMS):
        raise ValueError(f"no opt-outs for channel {channel!r}")
    same = (ContactOptOut.channel == channel, ContactOptOut.contact == contact)
    row = session.scalar(select(ContactOptOut).where(*same).with_for_update())
    if row is None and not opted_out:
        return False  # never opted out: nothing to undo
    if row is not None and row.opted_out == opted_out:
        return False
    if row is None:
        try:
            # A savepoint: a concurrent first opt-out of the same contact must not undo the caller's transaction.
            with session.begin_nested():
                session.add(
                    ContactOptOut(channel=channel, contact=contact, opted_out=True, source=source, changed_at=now)
                )
        except IntegrityError:
            return False  # recorded by the other one, just now
    else:
        row.opted_out, row.source, row.changed_at = opted_out, source, now
    audit.record(
        session,
        None,
        OPTED_OUT if opted_out else OPTED_IN,
        inquiry_id=inquiry_id,
        details={"channel": channel, "contact": mask(channel, contact), "source": source},
        now=now,
        actor_name="sms provider" if source == PROVIDER else "patient",
    )
    events.contact_opted(channel, opted_out, source)
    return True


def mask(channel: str, contact: str) -> str:
    """A contact as the audit trail shows it: enough for staff to tell which, no more (``a…@example.org``)."""
    if channel == EMAIL:
        local, _, domain = contact.partition("@")
        return f"{local[:1]}…@{domain}"
    return masked(contact)
