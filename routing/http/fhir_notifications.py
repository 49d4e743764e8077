"""``/v1/scheduling/fhir-notifications``: a FHIR server's subscriptions tell us an appointment changed.

The rest-hook endpoint of a topic-based FHIR Subscription (R4 and R4B, Subscriptions R5 Backport IG).
The server sends the header configured on the Subscription, ``Authorization: Bearer <token>``; the
token must be one of ROUTING_FHIR_NOTIFICATION_TOKENS (several during a rotation). POST
/v1/scheduling/events stays for systems that send our own signed JSON events.
"""

from __future__ import annotations

import hmac

from flask import Request, request
from flask_smorest import Blueprint

from routing.adapters.scheduling.fhir_notification import NotificationError, parse_notification
from routing.adapters.scheduling.interface import SchedulingError
from routing.http.api import documents_problems
from routing.http.deps import request_session, wiring
from routing.http.json_body import load_json
from routing.http.problems import Problem
from routing.services.fhir_notifications import receive_notification
from schemas.fhir_notification import FhirNotificationAnswerSchema

bp = Blueprint(
    "fhir_notifications", __name__, url_prefix="/v1/scheduling", description="FHIR Subscriptions notifications"
)

#: The media types a FHIR server sends a notification as.
MEDIA_TYPES = ("application/fhir+json", "application/json")
_BUNDLE = {"type": "object", "description": "A FHIR R4/R4B subscription notification Bundle (type history)."}
_UNAUTHORIZED_HEADERS = {"WWW-Authenticate": 'Bearer realm="fhir-notifications"'}

_ERRORS = {
    400: "Malformed body (not JSON)",
    401: "Missing or unknown bearer token (the Subscription's Authorization header)",
    415: "Unsupported Content-Type (send application/fhir+json)",
    422: "Not a notification Bundle we can read; 'errors' names each problem by its place in the Bundle",
    503: "The FHIR server could not be asked about an appointment; the rest was done (send it again)",
}


@bp.post("/fhir-notifications")
@bp.doc(
    requestBody={"required": True, "content": {media_type: {"schema": _BUNDLE} for media_type in MEDIA_TYPES}},
    security=[{"bearerAuth": []}],
)
@bp.response(200, FhirNotificationAnswerSchema, description="Recorded, and each event acted on (or replayed)")
@documents_problems(bp, _ERRORS)
def receive():
    """A FHIR subscription notification: handshake, heartbeat or event; each focus is read back from the server.

    Appointment (and Slot) foci are read from FHIR_BASE_URL, never taken from the notification: a
    cancelled or entered-in-error appointment of ours is rebooked, a no-show goes to staff. An event is
    acted on once per subscription and event number, so a redelivery acts no more.
    """
    w = wiring()
    _authenticate(request, w.settings.fhir_notification_tokens)
    if (request.mimetype or "").lower() not in MEDIA_TYPES:
        raise Problem(415, "Send the notification as application/fhir+json.", slug="unsupported-media-type")
    base_url = w.settings.fhir.base_url if w.settings.fhir is not None else None
    try:
        notification = parse_notification(load_json(request.get_data(cache=True)), base_url)
    except NotificationError as error:
        raise Problem(
            422, "Not a subscription notification we can read.", slug="invalid-notification", errors=error.errors
        ) from None
    try:
        return receive_notification(request_session(), w.routing, notification)
    except SchedulingError:
        raise Problem(
            503,
            "The FHIR server could not be asked about an appointment; events before it were handled. Send it again.",
            headers={"Retry-After": "30"},
        ) from None


def _authenticate(incoming: Request, tokens: tuple[str, ...]) -> None:
    """Raise 401 unless the request carries ``Authorization: Bearer <one of tokens>``."""
    scheme, _, given = (incoming.headers.get("Authorization") or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise Problem(
            401,
            "Send the Subscription's header, Authorization: Bearer <token>.",
            slug="unauthorized",
            headers=_UNAUTHORIZED_HEADERS,
        )
    candidate = given.strip().encode()
    # Every token compared, in constant time each: how long this takes says nothing about which one matched.
    matched = False
    for token in tokens:
        matched |= hmac.compare_digest(candidate, token.encode())
    if not matched:
        raise Problem(
            401,
            "The bearer token is not one this service accepts for FHIR notifications.",
            slug="unauthorized",
            headers=_UNAUTHORIZED_HEADERS,
        )
