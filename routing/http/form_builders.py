"""``/v1/forms/<name>``: form builders' webhooks (Typeform, Jotform, any builder posting JSON or form fields).

Each form has a mapping file (ROUTING_FORM_MAPPINGS, :mod:`routing.adapters.forms.mapping`) naming its builder,
its secret and which intake field each of its fields fills. The submission becomes the same request body
``POST /v1/inquiries`` takes and goes through the same intake service: stored first, triaged, booked.
"""

from __future__ import annotations

from flask import request
from flask_smorest import Blueprint

from routing.http.api import documents_problems
from routing.http.deps import request_session, wiring
from routing.http.form_delivery import form_delivery
from routing.http.problems import Problem
from routing.services.intake import IdempotencyConflict, receive_inquiry
from schemas.form_delivery import FormDeliveryAnswerSchema

bp = Blueprint(
    "form_builders",
    __name__,
    url_prefix="/v1/forms",
    description="Form builders' webhooks: Typeform, Jotform, any builder posting JSON or form fields",
)

_PAYLOAD = {"type": "object", "description": "The builder's own payload, read with the form's mapping file."}
_REQUEST_BODY = {
    "required": True,
    "content": {
        media_type: {"schema": _PAYLOAD}
        for media_type in ("application/json", "multipart/form-data", "application/x-www-form-urlencoded")
    },
    "description": "Typeform: its JSON form_response, signed (Typeform-Signature). Jotform: its multipart "
    "fields with rawRequest. Other builders: JSON or form fields, by the names the mapping gives them.",
}
_PARAMETERS = [
    {
        "in": "query",
        "name": "token",
        "schema": {"type": "string"},
        "description": "The form's token (the variable its mapping's secret_env names), for every builder that "
        "does not sign: Jotform, json, form.",
    },
    {
        "in": "header",
        "name": "Typeform-Signature",
        "schema": {"type": "string"},
        "description": "Typeform: sha256= and the base64 HMAC-SHA256 of the body with the webhook's secret.",
    },
]
_ERRORS = {
    400: "Malformed body",
    401: "Missing or wrong signature (Typeform) or token (?token=, the others)",
    404: "No form of that name (no <name>.toml in ROUTING_FORM_MAPPINGS)",
    409: "The builder's submission id was already used for different answers",
    413: "Body over 64 KiB",
    415: "Not the Content-Type this builder sends",
    422: "Answers that cannot be mapped, or that the intake refuses: 'errors' names each builder field",
    429: "Too many deliveries from this address; wait for Retry-After (resending is safe)",
}


@bp.post("/<string:name>")
@bp.doc(requestBody=_REQUEST_BODY, parameters=_PARAMETERS)
@bp.response(201, FormDeliveryAnswerSchema, description="Stored, triaged and routed")
@bp.alt_response(200, schema=FormDeliveryAnswerSchema, description="The same submission again: the stored result")
@bp.alt_response(202, schema=FormDeliveryAnswerSchema, description="Stored; booking pending")
@documents_problems(bp, _ERRORS)
def receive(name: str):
    """A form builder's submission: verified, mapped to the intake's fields, then stored, triaged and booked.

    The answer names the inquiry and its status only: builders keep answers in delivery logs.
    """
    form = wiring().settings.form_mappings.get(name)
    if form is None:
        raise Problem(404, f"There is no form named {name!r}: add {name}.toml to ROUTING_FORM_MAPPINGS.")
    delivery = form_delivery(form, request, request.get_data(cache=True))
    try:
        outcome = receive_inquiry(session=request_session(), routing=wiring().routing, delivery=delivery)
    except IdempotencyConflict:
        raise Problem(
            409,
            "This submission id was already delivered with different answers; the first delivery stands.",
            slug="idempotency-conflict",
        ) from None
    status = 200 if not outcome.created else 201 if outcome.completed else 202
    answer = {"id": str(outcome.id), "status": outcome.status}
    return answer, status, {"Location": f"/v1/inquiries/{outcome.id}"}
