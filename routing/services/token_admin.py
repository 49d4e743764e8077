"""An admin issuing and revoking staff tokens over the API: each change and its audit event in one transaction."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from routing.adapters.db.models import StaffToken
from routing.services import audit, staff_tokens
from routing.services.staff_tokens import Staff


def issue(
    session: Session, admin: Staff, name: str, role: str, expires_in_days: int | None = None
) -> tuple[StaffToken, str]:
    """A new token (the row and the token, shown once), audited as ``token.create`` by ``admin``."""
    expires_in = timedelta(days=expires_in_days) if expires_in_days else None
    with session.begin():
        row, token = staff_tokens.create_token(session, name, role, expires_in=expires_in)
        details = {"token_id": str(row.id), "name": name, "role": role, "expires_in_days": expires_in_days}
        audit.record(session, admin, "token.create", details=details)
    return row, token


def revoke(session: Session, admin: Staff, token_id: str) -> list[StaffToken]:
    """Revoke the token with this id, audited as ``token.revoke``; raises staff_tokens.UnknownStaff."""
    with session.begin():
        rows = staff_tokens.revoke_token(session, token_id)
        audit.record(session, admin, "token.revoke", details={"token_id": token_id})
    return rows
