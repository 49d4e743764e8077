"""``/v1/admin/rulebooks``: rulebook versions. Staff read them and write drafts; admins approve (never their own
draft), activate and roll back. Every step is audited; an activation reaches every process within seconds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from routing.domain.vocabulary import StaffRole
from routing.http.api import StrictBlueprint, documents_staff_endpoint
from routing.http.auth import current_staff, staff_required
from routing.http.deps import request_session, wiring
from routing.http.problems import Problem
from routing.services import rulebook_versions
from schemas.rulebooks import (
    ActivateRequestSchema,
    ApproveRequestSchema,
    DraftRequestSchema,
    RulebookVersionDetailSchema,
    RulebookVersionSchema,
)

# Strict JSON: a rulebook is the most deeply nested body staff send; nesting it absurdly deep is a 400.
bp = StrictBlueprint(
    "admin_rulebooks", __name__, url_prefix="/v1/admin", description="Staff: rulebook versions and their approval"
)

_BODY_ERRORS = {400: "Malformed body: not valid JSON, or nested too deeply"}
_NO_VERSION = {404: "No such rulebook version"}
_ACTIVATION_ERRORS = {
    409: "Not an approved or retired version (or the active one already), or another activation came first",
    422: "Invalid fields, or the version no longer validates",
}


def _documented(*statuses: dict[int, str]):
    return documents_staff_endpoint(bp, *statuses)


def _refusals(step: Callable[[], Any]) -> Any:
    """Run a step, mapping its refusals to problems."""
    try:
        return step()
    except rulebook_versions.NotFound:
        raise Problem(404, "There is no rulebook version with this id.") from None
    except rulebook_versions.Refused as refused:
        raise Problem(
            refused.status, str(refused), slug=refused.slug, errors=refused.errors or None, **refused.extra
        ) from None


def _activated(row) -> dict:
    # This process uses it from its next request; the others within ROUTING_RULEBOOK_CHECK_SECONDS.
    wiring().rulebooks.expire()
    return rulebook_versions.as_dict(row)


@bp.get("/rulebooks")
@staff_required()
@bp.response(200, RulebookVersionSchema(many=True))
@_documented()
def list_versions():
    """Every rulebook version, newest first: drafts, approved, the active one, retired ones."""
    return rulebook_versions.list_versions(request_session())


@bp.post("/rulebooks")
@staff_required()
@bp.arguments(DraftRequestSchema)
@bp.response(201, RulebookVersionSchema)
@_documented(
    {422: "Invalid fields: the rulebook does not validate, its version is taken, no such based_on"}, _BODY_ERRORS
)
def create_draft(body):
    """A new draft: upload a whole rulebook, or a version's ``document`` edited (with ``based_on``). Validated
    as the file is at start; its ``version`` must be new. Audited."""
    row = _refusals(
        lambda: rulebook_versions.create_draft(
            request_session(), current_staff(), body["document"], body.get("note"), body.get("based_on")
        )
    )
    return rulebook_versions.as_dict(row)


@bp.get("/rulebooks/<int:version_id>")
@staff_required()
@bp.response(200, RulebookVersionDetailSchema)
@_documented(_NO_VERSION)
def show_version(version_id: int):
    """One version with its document; for a draft, what approving it needs (an acknowledgement or not)."""
    return _refusals(lambda: rulebook_versions.get_version(request_session(), version_id))


@bp.post("/rulebooks/<int:version_id>/approve")
@staff_required(StaffRole.ADMIN)
@bp.arguments(ApproveRequestSchema)
@bp.response(200, RulebookVersionSchema)
@_documented(
    _NO_VERSION,
    {
        409: "Not a draft",
        422: "acknowledge_urgent_review_exits is required: inquiries would leave urgent_review, or it is not known",
    },
    _BODY_ERRORS,
)
def approve(body, version_id: int):
    """Approve a draft (admin; never the draft's author: 403). When its latest finished impact preview shows
    inquiries leaving urgent_review, or no finished preview says, send ``acknowledge_urgent_review_exits: true``."""
    acknowledge = body["acknowledge_urgent_review_exits"]
    row = _refusals(
        lambda: rulebook_versions.approve(request_session(), current_staff(), version_id, acknowledge=acknowledge)
    )
    return rulebook_versions.as_dict(row)


@bp.post("/rulebooks/<int:version_id>/activate")
@staff_required(StaffRole.ADMIN)
@bp.arguments(ActivateRequestSchema)
@bp.response(200, RulebookVersionSchema)
@_documented(_NO_VERSION, _ACTIVATION_ERRORS, _BODY_ERRORS)
def activate(body, version_id: int):
    """Make an approved version the active one (admin), or a retired one again: a rollback. The active one is
    retired. Every process triages with it within ``ROUTING_RULEBOOK_CHECK_SECONDS`` (2 s by default)."""
    row = _refusals(
        lambda: rulebook_versions.activate(request_session(), current_staff(), version_id, reason=body.get("reason"))
    )
    return _activated(row)


@bp.post("/rulebooks/rollback")
@staff_required(StaffRole.ADMIN)
@bp.arguments(ActivateRequestSchema)
@bp.response(200, RulebookVersionSchema)
@_documented({409: "No earlier version has been active", 422: "Invalid fields"}, _BODY_ERRORS)
def rollback(body):
    """Go back to the version active before the current one (admin): it is activated again, the current one
    retired. The answer is the version now active."""
    row = _refusals(lambda: rulebook_versions.roll_back(request_session(), current_staff(), reason=body.get("reason")))
    return _activated(row)
