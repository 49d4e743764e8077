"""Console sessions kept on the server: started at sign-in, ended by sign-out, idling, age or the token.

The browser's cookie holds only a random secret; the database holds its SHA-256, the token it was opened
with, when it started and when it was last used. Deleting the row ends the session for every copy of the
cookie, which a signed cookie alone cannot do.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from routing.adapters.db.models import ConsoleSession, StaffToken
from routing.adapters.db.types import utcnow
from routing.services.staff_tokens import Staff, TokenExpired, live_staff

#: ``last_seen_at`` is moved at most this often, so most page views read without writing.
SEEN_RECORDED_EVERY = timedelta(minutes=1)


class EndReason(StrEnum):
    """Why a session is no longer valid (the console words each one for the person)."""

    UNKNOWN = "unknown"  # signed out, never existed, or purged
    IDLE = "idle"
    MAX_AGE = "max_age"
    TOKEN_REVOKED = "token_revoked"  # noqa: S105 - a reason, not a secret
    TOKEN_EXPIRED = "token_expired"  # noqa: S105 - a reason, not a secret


class SessionEnded(PermissionError):
    """The session cannot be used any more; ``reason`` says why."""

    def __init__(self, reason: EndReason) -> None:
        super().__init__(reason.value)
        self.reason = reason


@dataclass(frozen=True)
class Timeouts:
    """How long a session lives: without a request (``idle``) and at most (``max_age``)."""

    idle: timedelta
    max_age: timedelta


def start(session: Session, staff: Staff, timeouts: Timeouts, now: datetime | None = None) -> str:
    """Open a session for ``staff``; returns the secret for the cookie (never stored).

    Also clears sessions that ran out, so the table holds only live ones (and the few not yet purged).
    Runs its own transaction.
    """
    now = now or utcnow()
    secret = secrets.token_urlsafe(32)
    with session.begin():
        session.execute(
            delete(ConsoleSession).where(
                or_(
                    ConsoleSession.created_at <= now - timeouts.max_age,
                    ConsoleSession.last_seen_at <= now - timeouts.idle,
                )
            )
        )
        session.add(ConsoleSession(id=_hash(secret), token_id=staff.id, created_at=now, last_seen_at=now))
    return secret


def resume(session: Session, secret: str, timeouts: Timeouts, now: datetime | None = None) -> Staff:
    """The staff member of a live session; raises :class:`SessionEnded` (and deletes it) otherwise.

    Records the request (at most once a minute) for the idle timeout and the token's ``last_used_at``.
    Runs its own transaction.
    """
    now = now or utcnow()
    with session.begin():
        found = session.execute(
            select(ConsoleSession, StaffToken)
            .join(StaffToken, StaffToken.id == ConsoleSession.token_id)
            .where(ConsoleSession.id == _hash(secret))
        ).first()
        if found is None:
            raise SessionEnded(EndReason.UNKNOWN)
        row, token = found
        reason = _ended(row, token, timeouts, now)
        if reason is None:
            try:
                staff = live_staff(session, token, now)
            except TokenExpired:
                reason = EndReason.TOKEN_EXPIRED
        if reason is not None:
            session.delete(row)
        elif row.last_seen_at <= now - SEEN_RECORDED_EVERY:
            row.last_seen_at = now
    # Raised after the commit, so the ended session's row is really gone.
    if reason is not None:
        raise SessionEnded(reason)
    return staff


def end(session: Session, secret: str) -> None:
    """Sign out: the session stops working for every copy of its cookie. Runs its own transaction."""
    with session.begin():
        session.execute(delete(ConsoleSession).where(ConsoleSession.id == _hash(secret)))


def _ended(row: ConsoleSession, token: StaffToken, timeouts: Timeouts, now: datetime) -> EndReason | None:
    if token.revoked_at is not None:
        return EndReason.TOKEN_REVOKED
    if row.created_at <= now - timeouts.max_age:
        return EndReason.MAX_AGE
    if row.last_seen_at <= now - timeouts.idle:
        return EndReason.IDLE
    return None


def _hash(secret: str) -> str:
    # Random 256-bit secrets: SHA-256 is enough, and a database reader cannot use what is stored.
    return hashlib.sha256(secret.encode()).hexdigest()
