"""Helpers for admin API tests: staff tokens, inquiries in known states, ETags."""

from __future__ import annotations

import uuid

from routing.services import staff_tokens
from tests.http.intake_helpers import inquiry

RED_FLAG = "My back hurts and since yesterday I can't control my bladder."


def make_token(app, name: str, role: str, revoked: bool = False) -> str:
    """A staff token (optionally already revoked)."""
    with app.extensions["routing"].db.session() as session, session.begin():
        row, token = staff_tokens.create_token(session, name, role)
        if revoked:
            staff_tokens.revoke_token(session, str(row.id))
    return token


def bearer(token: str) -> dict:
    """The Authorization header for ``token``."""
    return {"Authorization": f"Bearer {token}"}


def new_inquiry(client, message: str | None = None, **extra) -> str:
    """Post an inquiry (a fresh delivery); its id."""
    body = inquiry(message) if message else inquiry()
    response = client.post("/v1/inquiries", json={**body, **extra}, headers={"Idempotency-Key": uuid.uuid4().hex})
    assert response.status_code in (201, 202), response.get_json()
    return response.get_json()["id"]


def etag_of(client, token: str, inquiry_id: str) -> str:
    """The inquiry's current ETag, as staff would read it."""
    response = client.get(f"/v1/admin/inquiries/{inquiry_id}", headers=bearer(token))
    assert response.status_code == 200, response.get_json()
    return response.headers["ETag"]
