"""Staff API tokens: created once (shown once), stored only as a hash, revoked, and checked per request."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from routing.adapters.db.models import StaffToken
from routing.adapters.db.types import utcnow
from routing.domain.vocabulary import StaffRole

#: Marks our tokens in logs and secret scanners; the rest is 256 random bits.
TOKEN_PREFIX = "rt_"  # noqa: S105 - a prefix, not a secret


class UnknownStaff(LookupError):
    """No token with that id or name."""


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


def create_token(session: Session, name: str, role: str, now: datetime | None = None) -> tuple[StaffToken, str]:
    """A new token for ``name`` with ``role``; returns the row and the token, which is never stored."""
    if role not in {r.value for r in StaffRole}:
        raise ValueError(f"role must be one of: {', '.join(r.value for r in StaffRole)}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = StaffToken(name=name, role=role, token_hash=hash_token(token), created_at=now or utcnow())
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


def authenticate(session: Session, token: str) -> Staff | None:
    """The staff member holding a live ``token``, or None."""
    row = session.scalar(
        select(StaffToken).where(StaffToken.token_hash == hash_token(token), StaffToken.revoked_at.is_(None))
    )
    return None if row is None else Staff(row.id, row.name, row.role)
