"""``/v1/admin/webhooks`` and ``/v1/admin/deliveries``: outbound webhook subscriptions and the outbox's
deliveries (every channel's), with their attempts and replay. Admins only."""

from __future__ import annotations

import uuid

from flask_smorest import Blueprint

from routing.domain.vocabulary import StaffRole
from routing.http.api import documents_staff_endpoint
from routing.http.auth import current_staff, staff_required
from routing.http.deps import request_session, wiring
from routing.http.problems import Problem
from routing.services import outbox_log, webhook_subscriptions
from routing.services.webhook_subscriptions import NewSubscription
from schemas.webhooks import (
    DeliveryDetailSchema,
    DeliveryPageSchema,
    DeliveryQuerySchema,
    SubscriptionChangeSchema,
    SubscriptionRequestSchema,
    SubscriptionSchema,
)

bp = Blueprint(
    "admin_webhooks", __name__, url_prefix="/v1/admin", description="Admins: outbound webhooks and deliveries"
)

_AUTH_ERRORS = {401: "No staff token, or a revoked or unknown one", 403: "The token's role is not admin"}
_BODY_ERRORS = {400: "Malformed body: not valid JSON", 422: "Invalid fields"}
_NO_SUBSCRIPTION = {404: "No such subscription"}
_NO_DELIVERY = {404: "No such delivery"}


def _documented(*statuses: dict[int, str]):
    return documents_staff_endpoint(bp, *statuses, auth_errors=_AUTH_ERRORS)


def _unknown_subscription() -> Problem:
    return Problem(404, "There is no webhook subscription with this id.")


@bp.get("/webhooks")
@staff_required(StaffRole.ADMIN)
@bp.response(200, SubscriptionSchema(many=True))
@_documented()
def list_subscriptions():
    """Every webhook subscription (never their secrets)."""
    return webhook_subscriptions.list_all(request_session())


@bp.post("/webhooks")
@staff_required(StaffRole.ADMIN)
@bp.arguments(SubscriptionRequestSchema)
@bp.response(201, SubscriptionSchema)
@_documented(_BODY_ERRORS)
def create_subscription(body):
    """Subscribe a receiver to event types; the answer is the only time its signing secret is shown."""
    row, secret = webhook_subscriptions.create(request_session(), current_staff(), NewSubscription(**body))
    return {**webhook_subscriptions.as_dict(row), "secret": secret}


@bp.get("/webhooks/<uuid:subscription_id>")
@staff_required(StaffRole.ADMIN)
@bp.response(200, SubscriptionSchema)
@_documented(_NO_SUBSCRIPTION)
def show_subscription(subscription_id: uuid.UUID):
    """One webhook subscription."""
    try:
        return webhook_subscriptions.get(request_session(), subscription_id)
    except webhook_subscriptions.UnknownSubscription:
        raise _unknown_subscription() from None


@bp.patch("/webhooks/<uuid:subscription_id>")
@staff_required(StaffRole.ADMIN)
@bp.arguments(SubscriptionChangeSchema)
@bp.response(200, SubscriptionSchema)
@_documented(_NO_SUBSCRIPTION, _BODY_ERRORS)
def change_subscription(changes, subscription_id: uuid.UUID):
    """Change a subscription's description, URL, event types, enabled or include_phi (audited)."""
    try:
        row = webhook_subscriptions.update(request_session(), current_staff(), subscription_id, changes)
    except webhook_subscriptions.UnknownSubscription:
        raise _unknown_subscription() from None
    return webhook_subscriptions.as_dict(row)


@bp.post("/webhooks/<uuid:subscription_id>/rotate-secret")
@staff_required(StaffRole.ADMIN)
@bp.response(200, SubscriptionSchema)
@_documented(_NO_SUBSCRIPTION)
def rotate_secret(subscription_id: uuid.UUID):
    """A new signing secret, shown in this answer only; the old one also signs for 24 hours."""
    try:
        row, secret = webhook_subscriptions.rotate_secret(request_session(), current_staff(), subscription_id)
    except webhook_subscriptions.UnknownSubscription:
        raise _unknown_subscription() from None
    return {**webhook_subscriptions.as_dict(row), "secret": secret}


@bp.delete("/webhooks/<uuid:subscription_id>")
@staff_required(StaffRole.ADMIN)
@bp.response(204)
@_documented(_NO_SUBSCRIPTION)
def delete_subscription(subscription_id: uuid.UUID):
    """Remove a subscription; its deliveries stay in the log."""
    try:
        webhook_subscriptions.delete(request_session(), current_staff(), subscription_id)
    except webhook_subscriptions.UnknownSubscription:
        raise _unknown_subscription() from None


@bp.get("/deliveries")
@staff_required(StaffRole.ADMIN)
@bp.arguments(DeliveryQuerySchema, location="query")
@bp.response(200, DeliveryPageSchema)
@_documented({422: "Invalid filter"})
def list_deliveries(query):
    """The outbox's deliveries on every channel, newest first: ``status=dead`` lists the dead letters."""
    page, per_page = query.pop("page"), query.pop("per_page")
    subscription = query.pop("subscription_id", None)
    if subscription is not None:
        query.update(channel="webhook", target=str(subscription))
    items, total = outbox_log.deliveries(request_session(), outbox_log.DeliveryFilter(**query), page, per_page)
    return {"items": items, "page": page, "per_page": per_page, "total": total}


@bp.get("/deliveries/<uuid:delivery_id>")
@staff_required(StaffRole.ADMIN)
@bp.response(200, DeliveryDetailSchema)
@_documented(_NO_DELIVERY)
def show_delivery(delivery_id: uuid.UUID):
    """One delivery: its event's data (ids and codes) and every attempt (result, latency; no bodies)."""
    try:
        return outbox_log.delivery(request_session(), delivery_id)
    except outbox_log.UnknownDelivery:
        raise Problem(404, "There is no delivery with this id.") from None


@bp.post("/deliveries/<uuid:delivery_id>/replay")
@staff_required(StaffRole.ADMIN)
@bp.response(200, DeliveryDetailSchema)
@_documented(_NO_DELIVERY, {409: "The delivery is still pending: it is retried on its own"})
def replay_delivery(delivery_id: uuid.UUID):
    """Send a dead (or delivered) delivery again, now, with the same webhook-id; audited."""
    session = request_session()
    try:
        outbox_log.replay(session, current_staff(), delivery_id, wiring().outbox_policy)
    except outbox_log.UnknownDelivery:
        raise Problem(404, "There is no delivery with this id.") from None
    except outbox_log.ReplayRefused as refused:
        raise Problem(409, str(refused), slug="replay-refused") from None
    return outbox_log.delivery(session, delivery_id)
