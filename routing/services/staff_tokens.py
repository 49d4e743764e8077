"""Staff API tokens: created once (shown once), stored only as a hash, revoked or expired, checked per request."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from routing.adapters.db.models import StaffToken
from routing.adapters.db.types import utcnow
from routing.domain.vocabulary import StaffRole

#: Marks our tokens in logs and secret scanners; the rest is 256 random bits.
TOKEN_PREFIX = "rt_"  # noqa: S105 - a prefix, not a secret
#: ``last_used_at`` is moved at most this often: a write per request would make every read a write.
USE_RECORDED_EVERY = timedelta(minutes=1)


class UnknownStaff(LookupError):
    """No token with that id or name."""


class TokenExpired(PermissionError):
    """The token was valid but its time is up; ``expired_at`` says when."""

    def __init__(self, expired_at: datetime) -> None:
        super().__init__(f"token expired at {expired_at.isoformat()}")
        self.expired_at = expired_at


@dataclass(frozen=True)
class Staff:
    """Who is acting: the token's holder, as audit events name them."""

    id: uuid.UUID
    name: str
    role: str

    def may(self, role: str) -> bool:
        """Whether this staff member has ``role`` (an admin may do everything staff may)."""
        return self.role == StaffRole.ADMIN or self.role == role


def hash_token(token: str) -> str:
    """The stored form of a token. SHA-256 suffices: tokens are random, not guessable passwords."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    session: Session,
    name: str,
    role: str,
    now: datetime | None = None,
    expires_in: timedelta | None = None,
) -> tuple[StaffToken, str]:
    """A new token for ``name`` with ``role``, valid for ``expires_in`` (None: until revoked).

    Returns the row and the token, which is never stored.
    """
    if role not in {r.value for r in StaffRole}:
        raise ValueError(f"role must be one of: {', '.join(r.value for r in StaffRole)}")
    if expires_in is not None and expires_in <= timedelta(0):
        raise ValueError("expires_in must be a positive duration")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = now or utcnow()
    expires_at = now + expires_in if expires_in is not None else None
    row = StaffToken(name=name, role=role, token_hash=hash_token(token), created_at=now, expires_at=expires_at)
    session.add(row)
    session.flush()
    return row, token


def revoke_token(session: Session, id_or_name: str, now: datetime | None = None) -> list[StaffToken]:
    """Revoke the token with this id, or every live token of this name; the tokens revoked."""
    try:
        where = StaffToken.id == uuid.UUID(id_or_name)
    except ValueError:
        where = StaffToken.name == id_or_name
    rows = session.scalars(select(StaffToken).where(where, StaffToken.revoked_at.is_(None))).all()
    if not rows:
        raise UnknownStaff(id_or_name)
    for row in rows:
        row.revoked_at = now or utcnow()
    return list(rows)


def list_tokens(session: Session) -> list[StaffToken]:
    """Every token, newest first, revoked ones included (they stay for the audit trail)."""
    return list(session.scalars(select(StaffToken).order_by(StaffToken.created_at.desc())))


def authenticate(session: Session, token: str, now: datetime | None = None) -> Staff | None:
    """The staff member holding a live ``token``, or None for an unknown or revoked one.

    Raises :class:`TokenExpired` for a token past its expiry, so callers can say so. Records the use
    (at most once a minute). Runs its own transaction: call it with none open.
    """
    now = now or utcnow()
    with session.begin():
        row = session.scalar(
            select(StaffToken).where(StaffToken.token_hash == hash_token(token), StaffToken.revoked_at.is_(None))
        )
        if row is None:
            return None
        return live_staff(session, row, now)


def live_staff(session: Session, row: StaffToken, now: datetime) -> Staff:
    """``row``'s holder, recording the use; raises :class:`TokenExpired` past the token's expiry.

    The caller holds the transaction (and has checked ``revoked_at``).
    """
    if row.expires_at is not None and row.expires_at <= now:
        raise TokenExpired(row.expires_at)
    if row.last_used_at is None or row.last_used_at <= now - USE_RECORDED_EVERY:
        # Conditional, so concurrent requests of one token write it once between them.
        session.execute(
            update(StaffToken)
            .where(
                StaffToken.id == row.id,
                or_(StaffToken.last_used_at.is_(None), StaffToken.last_used_at <= now - USE_RECORDED_EVERY),
            )
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )
    return Staff(row.id, row.name, row.role)


def parse_duration(text: str) -> timedelta:
    """``30d``, ``12h``, ``90m`` or ``2w`` as a duration; ValueError for anything else."""
    units = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
    number, unit = text.strip()[:-1], text.strip()[-1:].lower()
    if unit not in units or not number.isdigit() or int(number) == 0:
        raise ValueError(f"{text!r} is not a duration; use a whole number and a unit: 90m, 12h, 30d or 2w")
    return timedelta(**{units[unit]: int(number)})
