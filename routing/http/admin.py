"""``/v1/admin``: the staff API — the queue, an inquiry's whole story, and the actions staff take."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from flask import request
from flask_smorest import Blueprint
from sqlalchemy.orm import Session

from routing.adapters.db.types import utcnow
from routing.adapters.scheduling.interface import SchedulingError
from routing.domain.vocabulary import StaffRole
from routing.http.api import documents_staff_endpoint
from routing.http.auth import current_staff, staff_required
from routing.http.deps import request_session, wiring
from routing.http.problems import Problem
from routing.services import audit, schedule, staff_actions, staff_queue, staff_tokens, token_admin
from schemas.admin import (
    AcknowledgeRequestSchema,
    AuditPageSchema,
    AuditQuerySchema,
    CallbackRequestSchema,
    CancelRequestSchema,
    FreeSlotSchema,
    InquiryDetailSchema,
    OverrideRequestSchema,
    QueuePageSchema,
    QueueQuerySchema,
    RetriageAppliedSchema,
    RetriagePreviewSchema,
    RulebookSchema,
    SlotQuerySchema,
    TokenRequestSchema,
    TokenSchema,
)

bp = Blueprint("admin", __name__, url_prefix="/v1/admin", description="Staff: queue, decisions, overrides, audit")

#: Routes with a JSON body: a body that is not JSON is refused before its fields are read.
_BODY_ERRORS = {400: "Malformed body: not valid JSON"}
_CHANGE_ERRORS = {
    404: "No such inquiry",
    409: "Not possible in the inquiry's state, or the scheduling system refused; nothing changed",
    412: "The inquiry changed since your ETag; reload it",
    422: "Invalid fields",
    428: "If-Match with the inquiry's ETag is required",
    503: "The scheduling system is unavailable; nothing changed",
}


_IF_MATCH = {
    "in": "header",
    "name": "If-Match",
    "required": True,
    "description": "The inquiry's ETag, as GET /v1/admin/inquiries/{id} returned it",
    "schema": {"type": "string"},
}


def _documented(*statuses: dict[int, str]):
    """A staff endpoint's documentation (see ``documents_staff_endpoint``), with the If-Match header on those that
    change an inquiry (they answer 428 without it)."""

    def decorate(view):
        view = documents_staff_endpoint(bp, *statuses)(view)
        if any(428 in errors for errors in statuses):
            view = bp.doc(parameters=[_IF_MATCH])(view)
        return view

    return decorate


def _detail(inquiry_id: uuid.UUID):
    body = staff_queue.detail(
        request_session(), inquiry_id, wiring().routing, text_days=wiring().settings.retention.text_days
    )
    if body is None:
        raise Problem(404, "There is no inquiry with this id.")
    return body, 200, {"ETag": body["etag"]}


def _guarded(action: Callable[[Session, str], Any]) -> Any:
    """Run a staff action with the request's If-Match, mapping its refusals to problems."""
    if_match = request.headers.get("If-Match")
    if not if_match:
        raise Problem(428, "Send If-Match with the inquiry's ETag (from GET /v1/admin/inquiries/{id}).")
    try:
        result = action(request_session(), if_match)
    except staff_actions.NotFound:
        raise Problem(404, "There is no inquiry with this id.") from None
    except staff_actions.StaleVersion as stale:
        raise Problem(
            412,
            "The inquiry changed since you loaded it (someone else acted on it). Reload it and decide again.",
            headers={"ETag": str(stale)},
            slug="stale-etag",
        ) from None
    except staff_actions.ActionRefused as refused:
        extra = {"proposed_slot": _slot(refused.proposed)} if refused.proposed else {}
        if refused.field:  # a field of the request at fault (an unknown site): named, as a validation error
            raise Problem(
                refused.status, str(refused), slug="validation-error", errors={refused.field: [str(refused)]}
            ) from None
        raise Problem(refused.status, str(refused), slug="action-refused", **extra) from None
    return result


def _slot(slot) -> dict:
    tz = wiring().settings.timezone
    return {
        "id": slot.id,
        "slot_type": slot.slot_type,
        "start": slot.start.astimezone(tz).isoformat(),
        "end": slot.end.astimezone(tz).isoformat(),
        "location": slot.location,
    }


@bp.get("/inquiries")
@staff_required()
@bp.arguments(QueueQuerySchema, location="query")
@bp.response(200, QueuePageSchema)
@_documented({422: "Invalid filter"})
def list_inquiries(query):
    """The queue: emergencies and urgent_review first, then by urgency, oldest first.

    Page with `page`, or, for pages as fast however deep, with `cursor` (each page's `next_cursor`)."""
    page, per_page, cursor = query.pop("page"), query.pop("per_page"), query.pop("cursor", None)
    found = staff_queue.queue_page(
        request_session(), staff_queue.QueueFilter(**query), page=page, per_page=per_page, after=cursor
    )
    return {"items": found.items, "page": page, "per_page": per_page, **_keyset_figures(found)}


@bp.get("/inquiries/<uuid:inquiry_id>")
@staff_required()
@bp.response(200, InquiryDetailSchema, headers={"ETag": {"schema": {"type": "string"}}})
@_documented({404: "No such inquiry"})
def show_inquiry(inquiry_id: uuid.UUID):
    """One inquiry: as received, its facts and their sources, the decision and reasons, bookings, audit."""
    return _detail(inquiry_id)


@bp.post("/inquiries/<uuid:inquiry_id>/override")
@staff_required()
@bp.arguments(OverrideRequestSchema)
@bp.response(200, InquiryDetailSchema)
@_documented(_CHANGE_ERRORS, _BODY_ERRORS)
def override(change, inquiry_id: uuid.UUID):
    """Change the route: book the new appointment, then cancel the old one (all or nothing), audited."""
    routing, staff = wiring().routing, current_staff()
    _guarded(
        lambda session, tag: staff_actions.override_route(
            session, routing, staff, inquiry_id, tag, staff_actions.Override(**change)
        )
    )
    return _detail(inquiry_id)


@bp.post("/inquiries/<uuid:inquiry_id>/cancel")
@staff_required()
@bp.arguments(CancelRequestSchema)
@bp.response(200, InquiryDetailSchema)
@_documented(_CHANGE_ERRORS, _BODY_ERRORS)
def cancel(body, inquiry_id: uuid.UUID):
    """Cancel the inquiry's appointment with a reason; the inquiry goes back to staff review."""
    routing, staff = wiring().routing, current_staff()
    _guarded(
        lambda session, tag: staff_actions.cancel_appointment(session, routing, staff, inquiry_id, tag, body["reason"])
    )
    return _detail(inquiry_id)


@bp.post("/inquiries/<uuid:inquiry_id>/callback")
@staff_required()
@bp.arguments(CallbackRequestSchema)
@bp.response(200, InquiryDetailSchema)
@_documented(_CHANGE_ERRORS, _BODY_ERRORS)
def callback(body, inquiry_id: uuid.UUID):
    """Record a call-back on an urgent_review inquiry: booked, referred to the ER, or no answer."""
    staff = current_staff()
    _guarded(
        lambda session, tag: staff_actions.record_callback(
            session, staff, inquiry_id, tag, body["outcome"], body.get("note")
        )
    )
    return _detail(inquiry_id)


@bp.post("/inquiries/<uuid:inquiry_id>/acknowledge")
@staff_required()
@bp.arguments(AcknowledgeRequestSchema)
@bp.response(200, InquiryDetailSchema)
@_documented(_CHANGE_ERRORS, _BODY_ERRORS)
def acknowledge(body, inquiry_id: uuid.UUID):
    """Mark an open emergency or urgent review as handled: no longer "call now", sorted below the open ones."""
    staff = current_staff()
    _guarded(lambda session, tag: staff_actions.acknowledge(session, staff, inquiry_id, tag, body.get("note")))
    return _detail(inquiry_id)


@bp.post("/inquiries/<uuid:inquiry_id>/retriage")
@staff_required()
@bp.response(200, RetriagePreviewSchema)
@_documented({404: "No such inquiry"})
def retriage_preview(inquiry_id: uuid.UUID):
    """Run the current rulebook on the stored inquiry and show old vs new decision; changes nothing."""
    try:
        return staff_actions.preview_retriage(request_session(), wiring().routing, inquiry_id)
    except staff_actions.NotFound:
        raise Problem(404, "There is no inquiry with this id.") from None


@bp.post("/inquiries/<uuid:inquiry_id>/retriage/apply")
@staff_required()
@bp.response(200, RetriageAppliedSchema)
@_documented(_CHANGE_ERRORS)
def retriage_apply(inquiry_id: uuid.UUID):
    """Put the current rulebook's decision in force (bookings are not changed; override if needed)."""
    routing, staff = wiring().routing, current_staff()
    return _guarded(lambda session, tag: staff_actions.apply_retriage(session, routing, staff, inquiry_id, tag))


@bp.get("/slots")
@staff_required()
@bp.arguments(SlotQuerySchema, location="query")
@bp.response(200, FreeSlotSchema(many=True))
@_documented({422: "Invalid query", 503: "The scheduling system is unavailable"})
def free_slots(query):
    """The next free slots of a type, to choose one in an override."""
    scheduler = wiring().scheduler
    sites = (query["location"],) if query.get("location") else None
    try:
        slots = schedule.next_free_slots(
            request_session(), scheduler, query["slot_type"], utcnow(), query["limit"], sites
        )
    except SchedulingError:
        raise Problem(503, "The scheduling system is unavailable; try again shortly.") from None
    return [_slot(slot) for slot in slots]


@bp.get("/rulebook")
@staff_required()
@bp.response(200, RulebookSchema)
@_documented()
def rulebook():
    """The rules in force, in order, with their reasons, modifiers, terms and urgency windows."""
    source = wiring().rulebook.source
    keys = ("version", "policy", "urgency_windows_days", "rules", "modifiers", "terms")
    return {key: source.get(key) for key in keys}


@bp.get("/audit")
@staff_required(StaffRole.ADMIN)
@bp.arguments(AuditQuerySchema, location="query")
@bp.response(200, AuditPageSchema)
@_documented({422: "Invalid filter"})
def audit_log(query):
    """The append-only audit log, newest first (admin). Nothing edits or deletes it.

    Page with `page`, or, for pages as fast however far back, with `cursor` (each page's `next_cursor`)."""
    page, per_page, cursor = query.pop("page"), query.pop("per_page"), query.pop("cursor", None)
    found = audit.events_page(request_session(), page=page, per_page=per_page, after=cursor, **query)
    items = [audit.as_dict(row) for row in found.items]
    return {"items": items, "page": page, "per_page": per_page, **_keyset_figures(found)}


def _keyset_figures(found) -> dict:
    return {"total": found.total, "total_capped": found.total_capped, "next_cursor": found.next_cursor}


@bp.get("/tokens")
@staff_required(StaffRole.ADMIN)
@bp.response(200, TokenSchema(many=True))
@_documented()
def list_tokens():
    """Every staff token, revoked ones included (admin). Tokens themselves are never shown again."""
    return [_token(row) for row in staff_tokens.list_tokens(request_session())]


@bp.post("/tokens")
@staff_required(StaffRole.ADMIN)
@bp.arguments(TokenRequestSchema)
@bp.response(201, TokenSchema)
@_documented({422: "Invalid fields"}, _BODY_ERRORS)
def create_token(body):
    """Create a staff token (admin); the answer is the only time the token is shown."""
    row, token = token_admin.issue(
        request_session(), current_staff(), body["name"], body["role"], body.get("expires_in_days")
    )
    return {**_token(row), "token": token}


@bp.delete("/tokens/<uuid:token_id>")
@staff_required(StaffRole.ADMIN)
@bp.response(200, TokenSchema(many=True))
@_documented({404: "No live token with this id"})
def revoke_token(token_id: uuid.UUID):
    """Revoke a staff token (admin); it stops working at once."""
    try:
        rows = token_admin.revoke(request_session(), current_staff(), str(token_id))
    except staff_tokens.UnknownStaff:
        raise Problem(404, "There is no live token with this id.") from None
    return [_token(row) for row in rows]


def _token(row) -> dict:
    return {
        "id": str(row.id),
        "name": row.name,
        "role": row.role,
        "created_at": row.created_at.isoformat(),
        "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
        "expires_at": row.expires_at.isoformat() if row.expires_at else None,
        "last_used_at": row.last_used_at.isoformat() if row.last_used_at else None,
    }
