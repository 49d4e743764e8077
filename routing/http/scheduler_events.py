"""``/v1/scheduling/events``: the scheduling system tells us an appointment changed."""

from __future__ import annotations

from flask import request
from flask_smorest import Blueprint

from routing.adapters.scheduling.interface import SchedulingError, UnknownAppointment
from routing.http.api import documents_problems
from routing.http.deps import request_session, wiring
from routing.http.json_body import load_json
from routing.http.problems import Problem, load_all_or_422
from routing.http.webhook_delivery import delivery_key, header_errors, verify_signature
from routing.services.scheduler_events import EventConflict, SchedulerEventInput, handle_event
from schemas.scheduler_event import SchedulerEventResultSchema, SchedulerEventSchema

bp = Blueprint("scheduler_events", __name__, url_prefix="/v1/scheduling", description="Scheduling system events")
event_schema = SchedulerEventSchema()

_ERRORS = {
    400: "Malformed body",
    401: "Missing or bad signature (when a secret is configured)",
    404: "No appointment of ours has that id",
    409: "Delivery key reused with a different body",
    415: "Unsupported Content-Type (send application/json)",
    422: "Invalid fields or headers; 'errors' lists every one, by field path or header name",
    503: "The scheduling system could not be reached to confirm the event; nothing was done (send it again)",
}


_documented_errors = documents_problems(bp, _ERRORS)


@bp.post("/events")
@bp.doc(requestBody={"required": True, "content": {"application/json": {"schema": "SchedulerEvent"}}})
@bp.response(200, SchedulerEventResultSchema, description="Acted on (or, for a replay, what was done before)")
@_documented_errors
def receive_event():
    """An appointment was cancelled by the clinic, missed, or its slot withdrawn: rebook or queue for staff.

    Signed like the intake webhook (Standard Webhooks; ROUTING_SCHEDULER_EVENTS_SECRET, defaulting to
    ROUTING_WEBHOOK_SECRET). The ``webhook-id`` identifies the delivery: a replay acts only once.
    """
    w = wiring()
    raw = request.get_data(cache=True)
    verify_signature(request, raw, w.settings.scheduler_event_secrets)
    if (request.mimetype or "").lower() != "application/json":
        raise Problem(415, "Send the event as application/json.", slug="unsupported-media-type")
    payload = load_json(raw)
    if not isinstance(payload, dict):
        raise Problem(400, "The body must be a JSON object.", slug="malformed-body")
    data = load_all_or_422(event_schema, payload, header_errors(request))
    event = SchedulerEventInput(
        key=delivery_key(request, raw),
        raw_body=raw,
        event_type=data["type"],
        appointment=data["appointment"],
        reason=data.get("reason"),
    )
    try:
        result, replayed = handle_event(request_session(), w.routing, event)
    except UnknownAppointment:
        raise Problem(404, "No appointment of ours has this id; check the 'appointment' field.") from None
    except SchedulingError:
        raise Problem(
            503,
            "The scheduling system could not be reached to confirm the event; nothing was done. Send it again.",
            headers={"Retry-After": "30"},
        ) from None
    except EventConflict:
        raise Problem(
            409, "This webhook-id was already used for a different event; use a new id.", slug="idempotency-conflict"
        ) from None
    return {**result, "replayed": replayed}
