"""``/v1/admin/waitlist``: staff read the waitlist per slot type, put an inquiry on it, reprioritise an entry or
restate when the patient cannot come, and take an entry off, each with a reason (audited)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from flask_smorest import Blueprint

from routing.adapters.db.types import utcnow
from routing.http.api import documents_staff_endpoint
from routing.http.auth import current_staff, staff_required
from routing.http.deps import request_session, wiring
from routing.http.problems import Problem
from routing.services import waitlist_reading, waitlist_staff
from schemas.admin import (
    REASON_ERROR,
    WaitlistAddRequestSchema,
    WaitlistChangeRequestSchema,
    WaitlistEntrySchema,
    WaitlistPageSchema,
    WaitlistQuerySchema,
    WaitlistRemoveRequestSchema,
)

bp = Blueprint("admin_waitlist", __name__, url_prefix="/v1/admin", description="Staff: the waitlist")

_BODY_ERRORS = {400: "Malformed body: not valid JSON"}
_ENTRY_ERRORS = {
    404: "No such waitlist entry",
    409: "The entry is off the waitlist already, or an offer to it is being held or booked; nothing changed",
    422: "Invalid fields (an unreadable unavailable time among them)",
}


def _documented(*statuses: dict[int, str]):
    return documents_staff_endpoint(bp, *statuses)


def _refusals(action: Callable[[], Any], missing: str) -> Any:
    """Run a waitlist change, mapping its refusals to problems."""
    try:
        return action()
    except waitlist_staff.NotFound:
        raise Problem(404, missing) from None
    except waitlist_staff.Refused as refused:
        slug = "validation-error" if refused.errors else "waitlist-refused"
        raise Problem(refused.status, str(refused), slug=slug, errors=refused.errors or None) from None


def _entry(entry_id: uuid.UUID) -> dict:
    return waitlist_reading.entry(request_session(), wiring().routing, entry_id, utcnow())


_NO_ENTRY = "There is no waitlist entry with this id."


@bp.get("/waitlist")
@staff_required()
@bp.arguments(WaitlistQuerySchema, location="query")
@bp.response(200, WaitlistPageSchema)
@_documented({422: "Invalid filter"})
def list_entries(query):
    """The waitlist: live entries (or those of ``status``), most urgent first, with their open offers."""
    page, per_page = query.pop("page"), query.pop("per_page")
    items, total = waitlist_reading.board(
        request_session(), wiring().routing, utcnow(), page=page, per_page=per_page, **query
    )
    return {"items": items, "page": page, "per_page": per_page, "total": total}


@bp.post("/waitlist")
@staff_required()
@bp.arguments(WaitlistAddRequestSchema)
@bp.response(201, WaitlistEntrySchema)
@_documented(
    {
        404: "No such inquiry",
        409: "It has a live entry, is not waiting for staff (booked, urgent review, closed) or books no slot",
        422: "Invalid fields (an unreadable unavailable time, a window that ends too soon)",
    },
    _BODY_ERRORS,
)
def add_entry(body):
    """Put an inquiry waiting for staff on the waitlist of its route, with a reason; a free slot is offered at once."""
    inquiry_id, reason = body.pop("inquiry_id"), body.pop("reason")
    entry_id = _refusals(
        lambda: waitlist_staff.add(request_session(), wiring().routing, current_staff(), inquiry_id, reason, **body),
        "There is no inquiry with this id.",
    )
    return _entry(entry_id)


@bp.patch("/waitlist/<uuid:entry_id>")
@staff_required()
@bp.arguments(WaitlistChangeRequestSchema)
@bp.response(200, WaitlistEntrySchema)
@_documented(_ENTRY_ERRORS, _BODY_ERRORS)
def change_entry(body, entry_id: uuid.UUID):
    """Reprioritise an entry and/or restate the patient's unavailable times, with a reason (audited)."""
    reason = body.pop("reason")
    _refusals(
        lambda: waitlist_staff.update(request_session(), wiring().routing, current_staff(), entry_id, reason, **body),
        _NO_ENTRY,
    )
    return _entry(entry_id)


@bp.delete("/waitlist/<uuid:entry_id>")
@staff_required()
@bp.arguments(WaitlistRemoveRequestSchema, location="query")
@bp.arguments(WaitlistRemoveRequestSchema, location="json", required=False)
@bp.response(200, WaitlistEntrySchema)
@_documented(_ENTRY_ERRORS, _BODY_ERRORS)
def remove_entry(query, body, entry_id: uuid.UUID):
    """Take an entry off the waitlist with a reason, in the body (``{"reason": ...}``) or the query string; its
    open offer is withdrawn and the slot offered to the next entry."""
    reason = body.get("reason") or query.get("reason")
    if reason is None:
        raise Problem(422, slug="validation-error", errors={"reason": [REASON_ERROR]})
    _refusals(
        lambda: waitlist_staff.remove(request_session(), wiring().routing, current_staff(), entry_id, reason),
        _NO_ENTRY,
    )
    return _entry(entry_id)
