"""What routes need from the application: its wiring and the request's database session."""

from __future__ import annotations

from flask import current_app, g
from sqlalchemy.orm import Session

from routing.wiring import Wiring


def wiring() -> Wiring:
    """The application's wiring (settings, database, scheduler)."""
    return current_app.extensions["routing"]


def request_session() -> Session:
    """The request's database session, opened on first use and closed when the request ends."""
    if "db_session" not in g:
        # One pooled connection for the whole request: its transactions (store first, then book) reuse
        # it instead of checking a connection out, and pinging it, once per transaction.
        g.db_session = wiring().db.session(pinned=True)
    return g.db_session


def close_request_session(_error: BaseException | None = None) -> None:
    """Teardown hook: roll back anything left uncommitted and release the connection."""
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
