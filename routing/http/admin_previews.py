"""``/v1/admin/rulebooks/{version}/previews``: impact previews of a rulebook version on the stored inquiries.

Staff request one (a period, default the last 90 days), may cancel it, poll its progress and read its report, as
they may write a draft (``/v1/admin/rulebooks``); approving and activating are admins'. A worker runs it
(``flask worker``).
"""

from __future__ import annotations

import uuid

from flask_smorest import Blueprint

from routing.http.api import documents_staff_endpoint
from routing.http.auth import current_staff, staff_required
from routing.http.deps import request_session
from routing.http.problems import Problem
from routing.services import rulebook_preview
from schemas.rulebook_preview import RulebookPreviewListSchema, RulebookPreviewRequestSchema, RulebookPreviewSchema

bp = Blueprint(
    "admin_rulebook_previews",
    __name__,
    url_prefix="/v1/admin/rulebooks",
    description="Staff: impact previews of rulebook versions on past inquiries",
)

_NO_VERSION = "There is no rulebook version with this number."
_NO_PREVIEW = "There is no preview with this id for this version."


def _documented(*statuses: dict[int, str]):
    return documents_staff_endpoint(bp, *statuses)


def _refused(refused: rulebook_preview.Refused) -> Problem:
    slug = "validation-error" if refused.errors else "preview-refused"
    return Problem(refused.status, str(refused), slug=slug, errors=refused.errors or None)


@bp.post("/<int:version_id>/previews")
@staff_required()
@bp.arguments(RulebookPreviewRequestSchema)
@bp.response(202, RulebookPreviewSchema)
@_documented(
    {
        400: "Malformed body: not valid JSON",
        404: "No such rulebook version",
        409: "A preview of this version is already queued or running",
        422: "Invalid period",
    }
)
def request_preview(body, version_id: int):
    """Queue a preview of the version over a period; poll it at the URL of its id (audited)."""
    try:
        return rulebook_preview.request_preview(request_session(), current_staff(), version_id, **body)
    except rulebook_preview.NotFound:
        raise Problem(404, _NO_VERSION) from None
    except rulebook_preview.Refused as refused:
        raise _refused(refused) from None


@bp.get("/<int:version_id>/previews")
@staff_required()
@bp.response(200, RulebookPreviewListSchema)
@_documented({404: "No such rulebook version"})
def list_previews(version_id: int):
    """The version's previews, newest first, with their progress (without their reports)."""
    try:
        return {"items": rulebook_preview.previews_of(request_session(), version_id)}
    except rulebook_preview.NotFound:
        raise Problem(404, _NO_VERSION) from None


@bp.get("/<int:version_id>/previews/<uuid:preview_id>")
@staff_required()
@bp.response(200, RulebookPreviewSchema)
@_documented({404: "No such preview"})
def show_preview(version_id: int, preview_id: uuid.UUID):
    """One preview: its status and progress (``done`` of ``total``), and its report once ``done``."""
    return _preview(version_id, preview_id)


@bp.post("/<int:version_id>/previews/<uuid:preview_id>/cancel")
@staff_required()
@bp.response(200, RulebookPreviewSchema)
@_documented({404: "No such preview", 409: "The preview has ended already"})
def cancel_preview(version_id: int, preview_id: uuid.UUID):
    """Cancel a queued or running preview; a running one stops after the batch in hand (audited)."""
    _preview(version_id, preview_id)
    try:
        return rulebook_preview.cancel_preview(request_session(), current_staff(), preview_id)
    except rulebook_preview.NotFound:
        raise Problem(404, _NO_PREVIEW) from None
    except rulebook_preview.Refused as refused:
        raise _refused(refused) from None


def _preview(version_id: int, preview_id: uuid.UUID) -> dict:
    try:
        found = rulebook_preview.preview(request_session(), preview_id)
    except rulebook_preview.NotFound:
        raise Problem(404, _NO_PREVIEW) from None
    if found["version_id"] != version_id:
        raise Problem(404, _NO_PREVIEW)
    return found


__all__ = ["bp"]
