"""A QuestionnaireResponse posted to the intake (``Content-Type: application/fhir+json``).

Why the same ``POST /v1/inquiries`` and not a FHIR-style ``POST /fhir/QuestionnaireResponse``: the answer is
the intake's (stored, triaged, booked; problem+json on errors), not a FHIR server's (the created resource,
OperationOutcome), and everything the intake does for a delivery (signatures, idempotency, rate limits, the
patient's answer) applies unchanged. The media type tells the two bodies apart.
"""

from __future__ import annotations

from typing import Any

from flask import Request

from routing.config import Settings
from routing.http.problems import Problem, load_all_or_422
from routing.http.webhook_delivery import MAX_KEY_LENGTH, delivery_key, header_errors
from routing.services.intake import Delivery, content_sha256
from schemas.inquiry import InquiryRequestSchema
from schemas.questionnaire import canonical_base
from schemas.questionnaire_response import ResponseErrors, read_response
from schemas.text import control_character_error

FHIR_JSON = "application/fhir+json"
inquiry_request = InquiryRequestSchema()


def is_questionnaire_response(request: Request) -> bool:
    """Whether the body is a FHIR resource (a QuestionnaireResponse) rather than the intake's own body."""
    return (request.mimetype or "").lower() == FHIR_JSON


def questionnaire_delivery(request: Request, raw: bytes, resource: Any, settings: Settings) -> Delivery:
    """The delivery a QuestionnaireResponse makes, validated; else a 422 naming each bad item by linkId.

    Its payload is the intake body the answers give (what staff read and the booking worker loads again);
    the resource itself is kept as received, in the raw body. The key is the delivery's ``webhook-id`` /
    ``Idempotency-Key`` when sent, else the response's own ``identifier`` (the form filler's id for it),
    else the hash of its content. Content, not bytes, also tells a redelivery from a reused key: the same
    resource written anew (other spacing, other key order) is the same delivery.
    """
    errors = header_errors(request)
    try:
        body = read_response(resource, canonical_base(settings.clinic.website))
    except ResponseErrors as error:
        raise Problem(422, errors={**errors, **error.errors}, slug="validation-error") from None
    fingerprint = content_sha256(resource)
    key, key_error = _key(request, raw, resource, fingerprint)
    if key_error:
        errors["identifier"] = [key_error]
    data = load_all_or_422(inquiry_request, body, errors)
    return Delivery(key, raw, request.content_type or "", body, data, content_sha256=fingerprint)


def _key(request: Request, raw: bytes, resource: dict[str, Any], fingerprint: str) -> tuple[str, str | None]:
    if request.headers.get("webhook-id") or request.headers.get("Idempotency-Key"):
        return delivery_key(request, raw), None
    identifier = resource.get("identifier")
    value = identifier.get("value") if isinstance(identifier, dict) else None
    if not isinstance(value, str) or not value.strip():
        return f"sha256:{fingerprint}", None
    key = f"QuestionnaireResponse:{identifier.get('system') or ''}|{value.strip()}"
    if len(key) > MAX_KEY_LENGTH:
        return key, f"system and value together must be at most {MAX_KEY_LENGTH - 22} characters."
    return key, control_character_error(key)
