"""``/console/waitlist``: the waitlist per route, most urgent first, with pending offers and the time left to
answer them; staff reprioritise an entry, restate when the patient cannot come, take it off or (from the
inquiry page) put an inquiry on it, each with a reason.

Nested in the console's blueprint, so its sign-in, CSRF check and page policy apply. The same services and
schemas as the admin API (``/v1/admin/waitlist``). After a change the person goes back where they acted: the
waitlist page of the entry's slot type, or the inquiry's page.
"""

from __future__ import annotations

import math
import uuid

from flask import Blueprint, Response, flash, g, redirect, render_template, request, url_for
from marshmallow import Schema, ValidationError

from routing.adapters.db.types import utcnow
from routing.domain.vocabulary import SlotType
from routing.http.deps import request_session, wiring
from routing.http.problems import flatten_errors
from routing.services import waitlist_reading, waitlist_staff
from schemas.admin import WaitlistAddRequestSchema, WaitlistChangeRequestSchema, WaitlistRemoveRequestSchema

bp = Blueprint("waitlist", __name__)
PER_PAGE = 50
SLOT_TYPES = tuple(slot_type.value for slot_type in SlotType)
_add_form = WaitlistAddRequestSchema()
_change_form = WaitlistChangeRequestSchema()
_remove_form = WaitlistRemoveRequestSchema()


@bp.get("/waitlist")
def board():
    """The live entries of one slot type (``?slot_type=``, consultations first), most urgent first."""
    slot_type = request.args.get("slot_type", "")
    slot_type = slot_type if slot_type in SLOT_TYPES else SLOT_TYPES[0]
    page = request.args.get("page", "1")
    page = int(page) if page.isdigit() and 0 < int(page) < 1_000_000 else 1
    db, now = request_session(), utcnow()
    items, total = waitlist_reading.board(db, wiring().routing, now, slot_type=slot_type, page=page, per_page=PER_PAGE)
    counts = dict.fromkeys(SLOT_TYPES, 0)
    for (kind, _urgency), count in waitlist_reading.lengths(db).items():
        counts[kind] += count
    return render_template(
        "console/waitlist.html",
        items=items,
        total=total,
        page=page,
        pages=max(1, math.ceil(total / PER_PAGE)),
        slot_type=slot_type,
        slot_types=SLOT_TYPES,
        counts=counts,
        now=now,
        timezone=wiring().settings.timezone.key,
    )


@bp.post("/waitlist/<uuid:entry_id>/change")
def change(entry_id: uuid.UUID):
    """Reprioritise an entry and restate when the patient cannot come (the form always sends both)."""
    raw = _fields("reason", "priority")
    raw["unavailable_times"] = _lines(request.form.get("unavailable_times", ""))
    body, problem = _load(_change_form, raw)
    if problem:
        return _back(problem, ok=False)
    reason = body.pop("reason")
    return _act(
        lambda db: waitlist_staff.update(db, wiring().routing, g.staff, entry_id, reason, **body),
        lambda done: "Entry updated." if done else "Nothing changed.",
    )


@bp.post("/waitlist/<uuid:entry_id>/remove")
def remove(entry_id: uuid.UUID):
    """Take an entry off the waitlist; its open offer is withdrawn and the slot offered to the next entry."""
    body, problem = _load(_remove_form, _fields("reason"))
    if problem or "reason" not in body:
        return _back(problem or "Reason: Give a reason of 3 to 1000 characters.", ok=False)
    return _act(
        lambda db: waitlist_staff.remove(db, wiring().routing, g.staff, entry_id, body["reason"]),
        lambda _: "Taken off the waitlist.",
    )


@bp.post("/inquiries/<uuid:inquiry_id>/waitlist")
def add(inquiry_id: uuid.UUID):
    """Put the inquiry on the waitlist of its route; a free slot is offered at once."""
    raw = {**_fields("reason", "priority"), "inquiry_id": str(inquiry_id)}
    if times := _lines(request.form.get("unavailable_times", "")):
        raw["unavailable_times"] = times
    body, problem = _load(_add_form, raw)
    if problem:
        return _back(problem, ok=False)
    inquiry, reason = body.pop("inquiry_id"), body.pop("reason")
    return _act(
        lambda db: waitlist_staff.add(db, wiring().routing, g.staff, inquiry, reason, **body),
        lambda _: "Put on the waitlist.",
    )


# --- helpers ----------------------------------------------------------------------------------------------


def _fields(*names: str) -> dict:
    """The named form fields that were filled in, stripped; a whole-number priority as a number."""
    raw = {name: request.form.get(name, "").strip() for name in names}
    raw = {name: value for name, value in raw.items() if value}
    if raw.get("priority", "").isdigit():
        raw["priority"] = int(raw["priority"])
    return raw


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _load(schema: Schema, raw: dict) -> tuple[dict, str | None]:
    """The form loaded by ``schema``, or a message naming each bad field."""
    try:
        return schema.load(raw), None
    except ValidationError as error:
        return {}, _words(flatten_errors(error.messages))


def _words(errors: dict[str, list[str]]) -> str:
    """``{"unavailable_times.1": [...]}`` as "Unavailable times (line 2): ..." for a person."""
    said = []
    for name, messages in errors.items():
        field, _, index = name.partition(".")
        where = field.replace("_", " ").capitalize() + (f" (line {int(index) + 1})" if index.isdigit() else "")
        said.append(f"{where}: {' '.join(messages)}")
    return " ".join(said)


def _act(action, success) -> Response:
    try:
        done = action(request_session())
    except waitlist_staff.NotFound:
        return render_template("console/missing.html"), 404
    except waitlist_staff.Refused as refused:
        return _back(" ".join([str(refused), _words(refused.errors)]).strip(), ok=False)
    return _back(success(done))


def _back(message: str, ok: bool = True) -> Response:
    """Back to the inquiry's page when the form came from there, else to the waitlist of its slot type."""
    flash(message, "success" if ok else "error")
    inquiry_id = request.form.get("back_to_inquiry", "")
    try:
        return redirect(url_for("console.inquiry", inquiry_id=uuid.UUID(inquiry_id)), 303)
    except ValueError:
        slot_type = request.form.get("slot_type", "")
        return redirect(
            url_for("console.waitlist.board", slot_type=slot_type if slot_type in SLOT_TYPES else None), 303
        )


__all__ = ["bp"]
