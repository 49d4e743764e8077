"""``/v1/inquiries``: the web-form webhook (api-contract.md v1)."""

from __future__ import annotations

import time
import uuid
from zoneinfo import ZoneInfo

from flask import current_app, request
from flask_smorest import Blueprint

from routing.adapters.db.types import utcnow
from routing.http import browser_answers, form_post
from routing.http.api import BEARER, documents_problems
from routing.http.auth import staff_if_authenticated
from routing.http.deps import request_session, wiring
from routing.http.problems import Problem, load_all_or_422
from routing.http.questionnaire_intake import FHIR_JSON, is_questionnaire_response, questionnaire_delivery
from routing.http.webhook_delivery import delivery_key, header_errors, parse_body, verify_signature
from routing.services import patient_link
from routing.services.intake import Delivery, IdempotencyConflict, Outcome, SlotTime, get_outcome, receive_inquiry
from schemas.inquiry import InquiryRequestSchema, InquiryResponseSchema, unknown_location_errors

bp = Blueprint("intake", __name__, url_prefix="/v1", description="The web-form webhook")
# A browser's form submission is answered with pages in the patient's language; API clients see JSON.
bp.after_request(browser_answers.for_browsers)
inquiry_request = InquiryRequestSchema()

_BODY = {"schema": "InquiryRequest"}
_REQUEST_BODY = {
    "required": True,
    "content": {
        "application/json": _BODY,
        "application/x-www-form-urlencoded": _BODY,
        "multipart/form-data": _BODY,
        FHIR_JSON: {"schema": {"type": "object", "description": "A FHIR R4 QuestionnaireResponse"}},
    },
    "description": "Form-encoded bodies use the same names flattened with dots (patient.first_name, "
    "symptoms.red_flags repeated for lists) or without the prefix (first_name, onset). A post from the "
    "patient form served at GET /form carries its form_token (signed, expiring; it stands in for the webhook "
    "signature), must leave the honeypot field homepage empty, come at least ROUTING_FORM_MIN_SECONDS after "
    "the form was served, and have consent ticked. A client that ranks text/html above JSON in Accept (a "
    "browser submitting a form) is answered with HTML pages instead of the JSON and problem+json below. An "
    "application/fhir+json body is a QuestionnaireResponse to GET /fhir/Questionnaire/back-pain-intake; "
    "its errors are named by linkId.",
}
_ERRORS = {
    400: "Malformed body; or a post from GET /form whose form_token is forged (invalid-form-token) or expired "
    "(expired-form-token), or that failed the form's spam checks (form-not-sent): nothing stored",
    401: "Missing or bad signature, or a webhook-timestamp that is not Unix seconds or is more than 5 minutes "
    "off (when ROUTING_WEBHOOK_SECRET is set)",
    409: "Idempotency key reused with a different body",
    413: "Body over 64 KiB (chunked bodies too)",
    415: "Unsupported Content-Type",
    422: "Invalid fields or headers; 'errors' lists every one, by field path or header name",
    429: "Too many deliveries from this address; wait for Retry-After (resending the same key is safe)",
}


_documented_errors = documents_problems(bp, _ERRORS)


@bp.post("/inquiries")
@bp.doc(requestBody=_REQUEST_BODY)
@bp.response(201, InquiryResponseSchema, description="Stored, triaged and routed")
@bp.alt_response(200, schema=InquiryResponseSchema, description="The same delivery again: the stored result")
@bp.alt_response(202, schema=InquiryResponseSchema, description="Stored; booking pending (the clinic confirms)")
@_documented_errors
def receive():
    """Receive a web-form inquiry: verify, validate, store, triage, book."""
    w = wiring()
    raw = request.get_data(cache=True)
    form = form_post.check(request, w.settings.form, current_app.secret_key, time.time())
    if form is None:
        verify_signature(request, raw, w.settings.webhook_secrets)
    payload = parse_body(request, raw)
    if is_questionnaire_response(request):
        delivery = questionnaire_delivery(request, raw, payload, w.settings)
    else:
        errors = {
            **header_errors(request),
            **(form.errors if form else {}),
            **unknown_location_errors(payload, w.routing.has_site),
        }
        data = load_all_or_422(inquiry_request, payload, errors)
        delivery = Delivery(delivery_key(request, raw), raw, request.content_type or "", payload, data)
    try:
        outcome = receive_inquiry(session=request_session(), routing=w.routing, delivery=delivery)
    except IdempotencyConflict:
        raise Problem(
            409,
            "This webhook-id / Idempotency-Key was already used for a different body. Use a new key for a "
            "new inquiry, or resend the original body unchanged.",
            slug="idempotency-conflict",
        ) from None
    status = 200 if not outcome.created else 201 if outcome.completed else 202
    answer = _present(outcome, w.settings.timezone)
    # The one way a patient sees their inquiry again (the form's site passes it on; our pages link to it).
    answer["patient_link"] = patient_link.link_for(current_app.secret_key, outcome.id, utcnow())
    return answer, status, {"Location": f"/v1/inquiries/{outcome.id}"}


@bp.get("/inquiries/<uuid:inquiry_id>")
@bp.doc(security=[BEARER])
@bp.response(200, InquiryResponseSchema)
@documents_problems(
    bp,
    {
        401: "No staff token, or one that is not valid. Patients use their own link (patient_link), not this",
        404: "No such inquiry",
    },
)
def show(inquiry_id: uuid.UUID):
    """Where an inquiry stands, for staff: the whole outcome.

    The triage decision and its reasons, the appointment and a proposed slot: only with a staff token
    (``Authorization: Bearer``). An inquiry id is not a secret (it appears in the ``Location`` header, logs
    and staff's screens), so it opens nothing by itself, and nothing tells whether an inquiry exists before
    the token is checked. A patient sees their inquiry at their own link, ``/my/<token>`` (signed,
    expiring): it is on the confirmation page after the form, in the clinic's messages to them, and in the
    ``POST /v1/inquiries`` answer (``patient_link``) for a form's site to pass on.
    """
    w = wiring()
    if "Authorization" not in request.headers:
        raise Problem(
            401,
            "Reading an inquiry needs a staff token: 'Authorization: Bearer <token>'. Patients see their inquiry at "
            "their own link (/my/<token>), given on the confirmation page, in the clinic's messages and as "
            "patient_link in the POST /v1/inquiries answer.",
            slug="unauthenticated",
            headers={"WWW-Authenticate": 'Bearer realm="routing"'},
        )
    staff_if_authenticated()  # a 401 for a token that is not valid, before anything is looked up
    outcome = get_outcome(session=request_session(), inquiry_id=inquiry_id)
    if outcome is None:
        raise Problem(404, "There is no inquiry with this id.")
    return _present(outcome, w.settings.timezone)


def _present(outcome: Outcome, tz: ZoneInfo) -> dict:
    return {
        "id": str(outcome.id),
        "status": outcome.status,
        "language": outcome.language,
        "triage": outcome.triage,
        "appointment": _slot(outcome.appointment, tz),
        "proposed_slot": _slot(outcome.proposed_slot, tz),
        "patient_message": outcome.patient_message,
    }


def _slot(slot: SlotTime | None, tz: ZoneInfo) -> dict | None:
    if slot is None:
        return None
    return {
        "id": slot.id,
        "slot_type": slot.slot_type,
        "start": slot.start.astimezone(tz).isoformat(),
        "end": slot.end.astimezone(tz).isoformat(),
        "location": slot.location,
    }
