"""``/console/rulebooks``: the rulebook's versions, a side-by-side diff of two, new drafts, impact previews (their
progress and their report with the transition matrix as a heat map), approval and activation.

Nested in the console's blueprint, so its sign-in, CSRF check and page policy apply (no script: a running preview's
page reloads itself with ``<meta http-equiv="refresh">``). Everyone signed in may read, write a draft and run or
cancel a preview (as the admin API allows); approving and activating need the admin role (the services check it too).

The versions' own steps (create a draft, approve, activate, read them) are ``routing.services.rulebook_versions``;
this module is the one place of the console that calls them.
"""

from __future__ import annotations

import functools
import json
import uuid
from datetime import UTC, date, datetime, time, timedelta

from flask import Blueprint, Response, flash, g, redirect, render_template, request, url_for
from marshmallow import ValidationError

from routing.domain import rulebook_diff
from routing.domain.vocabulary import StaffRole
from routing.http.console_text import LABELS
from routing.http.deps import request_session, wiring
from routing.http.heatmap_svg import heatmap
from routing.http.problems import flatten_errors
from routing.services import rulebook_preview, rulebook_versions
from schemas.rulebooks import DraftRequestSchema

bp = Blueprint("rulebooks", __name__)
#: Seconds between reloads of a running preview's page.
REFRESH_SECONDS = 2
#: The longest rulebook document accepted from the draft form (the shipped one is about 8 KB).
MAX_DOCUMENT = 200_000


def _is_admin() -> bool:
    return g.staff.may(StaffRole.ADMIN)


def _admins(view):
    """Decorate a view only admins may use; others get a page that says so (403)."""

    @functools.wraps(view)
    def checked(*args, **kwargs):
        if not _is_admin():
            what = "Approving and activating rulebook versions is for admins"
            return render_template("console/admins_only.html", what=what), 403
        return view(*args, **kwargs)

    return checked


def _missing():
    return render_template("console/missing.html", what="There is no such rulebook version or preview."), 404


@bp.get("/rulebooks")
def versions():
    """Every version, newest first: its state, who wrote, approved and activated it; links to its page and diff."""
    rows = rulebook_versions.list_versions(request_session())
    active = next((row for row in rows if row["state"] == "active"), None)
    return render_template("console/rulebooks.html", versions=rows, active=active, admin=_is_admin())


@bp.get("/rulebooks/<int:version_id>")
def version(version_id: int):
    """One version: its rules, its previews and latest report, and the approval or activation it is ready for."""
    versions = rulebook_versions
    try:
        row = versions.get_version(request_session(), version_id)
    except versions.NotFound:
        return _missing()
    previews = rulebook_preview.previews_of(request_session(), version_id)
    latest = rulebook_preview.latest_report(request_session(), version_id)
    today = datetime.now(wiring().settings.timezone).date()
    return render_template(
        "console/rulebook_version.html",
        version=row,
        document=row["document"],
        previews=previews,
        latest=latest,
        live=next((p for p in previews if p["status"] in rulebook_preview.LIVE), None),
        approval=row.get("approval"),
        admin=_is_admin(),
        default_start=(today - rulebook_preview.DEFAULT_PERIOD).isoformat(),
        default_end=today.isoformat(),
    )


@bp.get("/rulebooks/diff")
def diff():
    """Two versions side by side (``?from=&to=``; default: the active version and the newest one)."""
    rows = rulebook_versions.list_versions(request_session())
    if not rows:
        return _missing()
    ids = [row["id"] for row in rows]
    active = next((row["id"] for row in rows if row["state"] == "active"), ids[-1])
    before, after = _version_arg("from", ids, active), _version_arg("to", ids, ids[0])
    versions = rulebook_versions
    left = versions.get_version(request_session(), before)
    right = versions.get_version(request_session(), after)
    return render_template(
        "console/rulebook_diff.html",
        versions=rows,
        left=left,
        right=right,
        changes=rulebook_diff.diff(left["document"], right["document"]),
    )


def _version_arg(name: str, ids: list[int], default: int) -> int:
    raw = request.args.get(name, "")
    return int(raw) if raw.isdigit() and int(raw) in ids else default


@bp.get("/rulebooks/new")
def new_draft():
    """The form for a new draft: a copy of a version (``?based_on=``, default the active one) to edit, or a paste."""
    versions = rulebook_versions
    rows = versions.list_versions(request_session())
    raw = request.args.get("based_on", "")
    based_on = int(raw) if raw.isdigit() else next((row["id"] for row in rows if row["state"] == "active"), None)
    try:
        source = versions.get_version(request_session(), based_on) if based_on is not None else None
    except versions.NotFound:
        source = None
    text = json.dumps(source["document"], indent=2, ensure_ascii=False) if source else ""
    return render_template("console/rulebook_new.html", text=text, based_on=source and source["id"], note="")


@bp.post("/rulebooks")
def create_draft():
    """Validate the pasted or edited rulebook as at start and store it as a draft."""
    versions = rulebook_versions
    text = request.form.get("document", "")
    note = request.form.get("note", "").strip() or None
    raw = request.form.get("based_on", "")
    based_on = int(raw) if raw.isdigit() else None

    def again(problem: str):
        flash(problem, "error")
        return render_template("console/rulebook_new.html", text=text, based_on=based_on, note=note or ""), 422

    if len(text) > MAX_DOCUMENT:
        return again(f"The rulebook is longer than {MAX_DOCUMENT:,} characters.")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        return again(f"The rulebook is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}.")
    except RecursionError:
        return again("The rulebook is nested too deeply to read.")
    # The admin API's own schema: the same checks (depth, control characters) and the same messages.

    try:
        given = {"document": document, "note": note, "based_on": based_on}
        body = DraftRequestSchema().load({key: value for key, value in given.items() if value is not None})
    except ValidationError as error:
        problems = flatten_errors(error.messages)
        return again(" ".join(f"{name.capitalize()}: {' '.join(messages)}" for name, messages in problems.items()))
    try:
        row = versions.create_draft(
            request_session(), g.staff, body["document"], body.get("note"), body.get("based_on")
        )
    except versions.Refused as refused:
        return again(_said(refused))
    flash(f"Draft {row.label} saved as version {row.id}. Run an impact preview before it is approved.", "success")
    return redirect(url_for("console.rulebooks.version", version_id=row.id), 303)


@bp.post("/rulebooks/<int:version_id>/approve")
@_admins
def approve(version_id: int):
    """Approve a draft (another admin than its author), acknowledging exits from urgent_review when there are any."""
    versions = rulebook_versions
    acknowledge = request.form.get("acknowledge_urgent_review_exits") == "yes"
    try:
        row = versions.approve(request_session(), g.staff, version_id, acknowledge)
    except versions.NotFound:
        return _missing()
    except versions.Refused as refused:
        flash(_said(refused), "error")
        return _to_version(version_id)
    flash(f"Version {row.label} approved. An admin may now activate it.", "success")
    return _to_version(version_id)


@bp.post("/rulebooks/<int:version_id>/activate")
@_admins
def activate(version_id: int):
    """Make an approved version active, or re-activate a retired one (a rollback); every process follows."""
    versions = rulebook_versions
    reason = request.form.get("reason", "").strip() or None
    try:
        row = versions.activate(request_session(), g.staff, version_id, reason=reason)
    except versions.NotFound:
        return _missing()
    except versions.Refused as refused:
        flash(_said(refused), "error")
        return _to_version(version_id)
    flash(f"Version {row.label} is active. Every process uses it within seconds.", "success")
    return _to_version(version_id)


def _said(refused: Exception) -> str:
    details = [message for messages in getattr(refused, "errors", {}).values() for message in messages]
    said = str(refused)
    return " ".join([said, *(d for d in details if d not in said)])


# --- previews -------------------------------------------------------------------------------------------------


@bp.post("/rulebooks/<int:version_id>/previews")
def request_preview(version_id: int):
    """Queue an impact preview over the chosen days (the clinic's dates, both included)."""
    tz = wiring().settings.timezone
    try:
        first = date.fromisoformat(request.form.get("period_start", ""))
        last = date.fromisoformat(request.form.get("period_end", ""))
    except ValueError:
        flash("Period: give the first and the last day as dates.", "error")
        return _to_version(version_id)
    start = datetime.combine(first, time.min, tz).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time.min, tz).astimezone(UTC)
    try:
        made = rulebook_preview.request_preview(
            request_session(), g.staff, version_id, period_start=start, period_end=end
        )
    except rulebook_preview.NotFound:
        return _missing()
    except rulebook_preview.Refused as refused:
        flash(_said(refused), "error")
        return _to_version(version_id)
    return redirect(url_for("console.rulebooks.preview", version_id=version_id, preview_id=made["id"]), 303)


@bp.get("/rulebooks/<int:version_id>/previews/<uuid:preview_id>")
def preview(version_id: int, preview_id: uuid.UUID):
    """A preview: its progress while it runs (the page reloads itself), then its report."""
    try:
        found = rulebook_preview.preview(request_session(), preview_id)
    except rulebook_preview.NotFound:
        found = None
    if found is None or found["version_id"] != version_id:
        return _missing()
    result = found["result"] or {}
    return render_template(
        "console/rulebook_preview.html",
        preview=found,
        result=result,
        live=found["status"] in rulebook_preview.LIVE,
        refresh=REFRESH_SECONDS,
        chart=heatmap(result, LABELS) if result.get("transitions") else None,
        admin=_is_admin(),
        tz=wiring().settings.timezone,
    )


@bp.post("/rulebooks/<int:version_id>/previews/<uuid:preview_id>/cancel")
def cancel_preview(version_id: int, preview_id: uuid.UUID):
    """Cancel a queued or running preview."""
    try:
        rulebook_preview.cancel_preview(request_session(), g.staff, preview_id)
        flash("Preview cancelled.", "success")
    except rulebook_preview.NotFound:
        return _missing()
    except rulebook_preview.Refused as refused:
        flash(str(refused), "error")
    return redirect(url_for("console.rulebooks.preview", version_id=version_id, preview_id=preview_id), 303)


def _to_version(version_id: int) -> Response:
    return redirect(url_for("console.rulebooks.version", version_id=version_id), 303)


__all__ = ["bp"]
