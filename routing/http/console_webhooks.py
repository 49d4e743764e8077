"""``/console/webhooks`` and ``/console/deliveries``: admins manage outbound webhooks and read the outbox.

Nested in the console's blueprint, so its sign-in, CSRF check and page policy apply; each page here is for
admins only (a staff member gets a page saying so, 403). The same services and schemas as the admin API.
A new or rotated secret is shown once, in the answer to the form that made it, never stored in the
session or a flash message (the session cookie is signed, not encrypted), and the page is not cached.
"""

from __future__ import annotations

import math
import uuid

from flask import Blueprint, Response, flash, g, make_response, redirect, render_template, request, url_for
from marshmallow import ValidationError

from routing.domain.vocabulary import StaffRole
from routing.http.deps import request_session, wiring
from routing.http.problems import flatten_errors
from routing.services import outbox_log, webhook_subscriptions
from routing.services.outbox import EVENT_TYPES
from routing.services.outbox_dispatch import DELIVERY_STATUSES
from routing.services.webhook_subscriptions import NewSubscription
from schemas.webhooks import CHANNELS, SubscriptionRequestSchema

bp = Blueprint("webhooks", __name__)
PER_PAGE = 50
_new_form = SubscriptionRequestSchema()


@bp.before_request
def _admins_only():
    # After the console's own guard (a parent blueprint's hooks run first): g.staff is who signed in.
    if not g.staff.may(StaffRole.ADMIN):
        return render_template("console/admins_only.html"), 403
    return None


@bp.get("/webhooks")
def subscriptions():
    """Every subscription, and the form to add one."""
    return _list_page()


@bp.post("/webhooks")
def create():
    """Subscribe a receiver; the answer shows its secret, once."""
    raw = {name: request.form.get(name, "").strip() for name in ("description", "url")}
    raw["event_types"] = request.form.getlist("event_types")
    raw["include_phi"] = request.form.get("include_phi") == "on"
    try:
        body = _new_form.load(raw)
    except ValidationError as error:
        return _list_page(problems=_words(error), entered=raw), 422
    row, secret = webhook_subscriptions.create(request_session(), g.staff, NewSubscription(**body))
    return _secret_page(webhook_subscriptions.as_dict(row), secret, created=True)


@bp.get("/webhooks/<uuid:subscription_id>")
def subscription(subscription_id: uuid.UUID):
    """One subscription: its settings, the actions, and its latest deliveries."""
    try:
        row = webhook_subscriptions.get(request_session(), subscription_id)
    except webhook_subscriptions.UnknownSubscription:
        return render_template("console/outbox_missing.html"), 404
    target = outbox_log.DeliveryFilter(channel="webhook", target=str(subscription_id))
    items, total = outbox_log.deliveries(request_session(), target, 1, PER_PAGE)
    return render_template("console/webhook.html", subscription=row, deliveries=items, total=total)


@bp.post("/webhooks/<uuid:subscription_id>/enabled")
def set_enabled(subscription_id: uuid.UUID):
    """Turn a subscription on or off."""
    enabled = request.form.get("enabled") == "on"
    return _change(subscription_id, {"enabled": enabled}, "Enabled." if enabled else "Disabled: nothing more is sent.")


@bp.post("/webhooks/<uuid:subscription_id>/phi")
def set_phi(subscription_id: uuid.UUID):
    """Turn the patient's name and contact in payloads on or off (audited)."""
    on = request.form.get("include_phi") == "on"
    said = "The patient's name and contact are now sent." if on else "No patient data is sent any more."
    return _change(subscription_id, {"include_phi": on}, said)


@bp.post("/webhooks/<uuid:subscription_id>/rotate")
def rotate(subscription_id: uuid.UUID):
    """A new secret, shown once; the old one signs too for a day."""
    try:
        row, secret = webhook_subscriptions.rotate_secret(request_session(), g.staff, subscription_id)
    except webhook_subscriptions.UnknownSubscription:
        return render_template("console/outbox_missing.html"), 404
    return _secret_page(webhook_subscriptions.as_dict(row), secret, created=False)


@bp.post("/webhooks/<uuid:subscription_id>/delete")
def delete(subscription_id: uuid.UUID):
    """Remove a subscription (its deliveries stay in the log)."""
    try:
        webhook_subscriptions.delete(request_session(), g.staff, subscription_id)
    except webhook_subscriptions.UnknownSubscription:
        return render_template("console/outbox_missing.html"), 404
    flash("Subscription deleted.", "success")
    return redirect(url_for("console.webhooks.subscriptions"), 303)


@bp.get("/deliveries")
def deliveries():
    """Deliveries on every channel, newest first, filtered by channel and status (dead letters, say)."""
    args = {name: request.args.get(name, "") for name in ("channel", "status")}
    chosen = {
        "channel": args["channel"] if args["channel"] in CHANNELS else None,
        "status": args["status"] if args["status"] in DELIVERY_STATUSES else None,
    }
    page = request.args.get("page", "1")
    page = int(page) if page.isdigit() and 0 < int(page) < 1_000_000 else 1
    items, total = outbox_log.deliveries(request_session(), outbox_log.DeliveryFilter(**chosen), page, PER_PAGE)
    return render_template(
        "console/deliveries.html",
        items=items,
        total=total,
        page=page,
        pages=max(1, math.ceil(total / PER_PAGE)),
        filters={name: value for name, value in chosen.items() if value},
        channels=CHANNELS,
        statuses=DELIVERY_STATUSES,
    )


@bp.get("/deliveries/<uuid:delivery_id>")
def delivery(delivery_id: uuid.UUID):
    """One delivery, its event's data and its attempt log."""
    try:
        item = outbox_log.delivery(request_session(), delivery_id)
    except outbox_log.UnknownDelivery:
        return render_template("console/outbox_missing.html"), 404
    return render_template("console/delivery.html", delivery=item)


@bp.post("/deliveries/<uuid:delivery_id>/replay")
def replay(delivery_id: uuid.UUID):
    """Send a dead or delivered delivery again (same webhook-id)."""
    try:
        outbox_log.replay(request_session(), g.staff, delivery_id, wiring().outbox_policy)
    except outbox_log.UnknownDelivery:
        return render_template("console/outbox_missing.html"), 404
    except outbox_log.ReplayRefused as refused:
        flash(str(refused), "error")
    else:
        flash("Replay queued: the worker sends it again within seconds.", "success")
    return redirect(url_for("console.webhooks.delivery", delivery_id=delivery_id), 303)


def _change(subscription_id: uuid.UUID, changes: dict, said: str) -> Response:
    try:
        webhook_subscriptions.update(request_session(), g.staff, subscription_id, changes)
    except webhook_subscriptions.UnknownSubscription:
        return render_template("console/outbox_missing.html"), 404
    flash(said, "success")
    return redirect(url_for("console.webhooks.subscription", subscription_id=subscription_id), 303)


def _list_page(problems: dict[str, str] | None = None, entered: dict | None = None) -> str:
    return render_template(
        "console/webhooks.html",
        subscriptions=webhook_subscriptions.list_all(request_session()),
        event_types=EVENT_TYPES,
        problems=problems or {},
        entered=entered or {"event_types": []},
    )


def _secret_page(subscription: dict, secret: str, *, created: bool) -> Response:
    response = make_response(
        render_template("console/webhook_secret.html", subscription=subscription, secret=secret, created=created),
        201 if created else 200,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _words(error: ValidationError) -> dict[str, str]:
    """Each bad field's messages in one line, by the form's field name (``event_types.1`` is ``event_types``)."""
    words: dict[str, str] = {}
    for name, messages in flatten_errors(error.messages).items():
        field = name.split(".")[0]
        words[field] = " ".join(filter(None, [words.get(field), *messages]))
    return words
