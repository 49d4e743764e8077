"""Reading a form builder's delivery: authenticate it, read the builder's payload, map it to the intake's body.

Typeform signs each body (``Typeform-Signature``); the others carry the form's token in the webhook URL
(``?token=``), as Jotform and most builders cannot sign. Both are compared in constant time against every
secret the form's mapping holds (several while one is rotated). The delivery's key is the builder's own
submission id, so a builder resending a submission (it retries until it hears 2xx) gets the stored result;
what tells a redelivery from a reused id is the parsed content, not the bytes (a multipart body gets a new
boundary each time it is sent).
"""

from __future__ import annotations

import hmac
from typing import Any

from flask import Request
from marshmallow import ValidationError

from routing.adapters.forms import generic, jotform, typeform
from routing.adapters.forms.mapping import (
    FormMapping,
    Submission,
    UnmappedAnswers,
    intake_errors_by_builder_field,
    to_intake_body,
)
from routing.http.json_body import load_json
from routing.http.problems import Problem, flatten_errors
from routing.http.webhook_delivery import FORM_TYPES, JSON, MAX_DEPTH, header_errors, nesting_depth
from routing.services.intake import Delivery, content_sha256
from schemas.inquiry import InquiryRequestSchema
from schemas.text import control_character_error

#: The longest builder submission id kept (with the form's name it makes the delivery key, at most 200).
MAX_SUBMISSION_ID = 120
_JSON_BUILDERS = ("typeform", "json")
inquiry_request = InquiryRequestSchema()


def form_delivery(form: FormMapping, request: Request, raw: bytes) -> Delivery:
    """The intake delivery a builder's webhook request makes; raises a problem (401, 400, 415, 422) otherwise."""
    _authenticate(form, request, raw)
    stored_headers = header_errors(request)  # the Content-Type is stored with the inquiry
    if stored_headers:
        raise Problem(422, errors=stored_headers, slug="validation-error")
    payload, submission = _read(form, request, raw)
    try:
        body = to_intake_body(form, submission)
    except UnmappedAnswers as error:
        raise Problem(
            422,
            f"Some answers cannot be mapped to the intake with {form.name}.toml; 'errors' names each builder field.",
            slug="unmapped-answers",
            errors=error.errors,
        ) from None
    try:
        data = inquiry_request.load(body)
    except ValidationError as error:
        raise Problem(
            422,
            errors=intake_errors_by_builder_field(form, flatten_errors(error.messages)),
            slug="validation-error",
        ) from None
    fingerprint = content_sha256(payload)
    key = f"form:{form.name}:{submission.id if submission.id is not None else f'sha256:{fingerprint}'}"
    return Delivery(key, raw, request.content_type or "", body, data, content_sha256=fingerprint)


def _authenticate(form: FormMapping, request: Request, raw: bytes) -> None:
    if form.signed:
        if not typeform.signature_matches(raw, request.headers.get(typeform.SIGNATURE_HEADER), form.secrets):
            raise Problem(
                401,
                f"Missing or wrong {typeform.SIGNATURE_HEADER}: the body must be signed with the webhook's secret "
                f"(the one in {form.name}.toml's secret_env).",
                slug="invalid-signature",
            )
        return
    given = (request.args.get("token") or "").encode()
    matched = False
    for secret in form.secrets:
        # Every token is compared, so the time taken does not tell which one (or whether any) matched.
        matched |= hmac.compare_digest(secret.encode(), given)
    if not matched:
        raise Problem(
            401,
            "Missing or wrong token: the webhook URL must end in ?token= and the form's token.",
            slug="invalid-token",
        )


def _read(form: FormMapping, request: Request, raw: bytes) -> tuple[Any, Submission]:
    media_type = (request.mimetype or "").lower()
    try:
        if form.builder in _JSON_BUILDERS:
            if media_type != JSON and not media_type.endswith("+json"):
                raise _unsupported(media_type, "application/json")
            payload = load_json(raw)
            if nesting_depth(payload) > MAX_DEPTH:
                raise Problem(400, f"The JSON body is nested more than {MAX_DEPTH} levels deep.", slug="malformed-body")
            if form.builder == "typeform":
                submission = typeform.read(payload)
            else:
                submission = generic.read_json(payload, form.submission_id)
        elif media_type not in FORM_TYPES:
            raise _unsupported(media_type, "multipart/form-data or application/x-www-form-urlencoded")
        elif form.builder == "jotform":
            payload, submission = jotform.read(request.form.to_dict())
        else:
            payload, submission = generic.read_form(request.form, form.submission_id)
    except UnmappedAnswers as error:
        raise Problem(
            422, "The body is not what the builder sends.", slug="unreadable-delivery", errors=error.errors
        ) from None
    _check_submission_id(submission)
    return payload, submission


def _check_submission_id(submission: Submission) -> None:
    if submission.id is None:
        return
    problem = control_character_error(submission.id)
    if len(submission.id) > MAX_SUBMISSION_ID:
        problem = f"Longer than {MAX_SUBMISSION_ID} characters."
    if problem:
        raise Problem(422, errors={"submission id": [problem]}, slug="validation-error")


def _unsupported(media_type: str, wanted: str) -> Problem:
    return Problem(
        415,
        f"Content-Type {media_type or '(none)'} is not what this builder sends; send {wanted}.",
        slug="unsupported-media-type",
    )
