"""Reading a webhook delivery: raw bytes, signature, media type, and the form's flat names.

Everything here works on the raw body as received, because the signature covers those exact bytes.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Request
from standardwebhooks.webhooks import Webhook
from werkzeug.datastructures import MultiDict

from routing.domain.triage.facts import FACT_KINDS, SET_FACTS
from routing.http.json_body import load_json
from routing.http.problems import Problem
from schemas.text import control_character_error

JSON = "application/json"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

PATIENT_FIELDS = ("first_name", "last_name", "email", "phone", "date_of_birth")
# The form's symptom questions are the triage facts, by the same names.
SYMPTOM_FIELDS = tuple(FACT_KINDS)
LIST_FIELDS = {f"symptoms.{name}" for name in SET_FACTS} | {"preferred_times", "unavailable_times"}


#: How far a delivery's ``webhook-timestamp`` may be from our clock (the Standard Webhooks tolerance).
TIMESTAMP_TOLERANCE = timedelta(minutes=5)
#: Unix time in whole seconds, as Standard Webhooks sends it (today ten digits; eleven reach the year 5138).
_UNIX_SECONDS = re.compile(r"[0-9]{1,11}")
#: The longest delivery key we store (``webhook-id`` / ``Idempotency-Key``).
MAX_KEY_LENGTH = 200
#: The longest Content-Type we store with an inquiry (the column's width).
MAX_CONTENT_TYPE_LENGTH = 255


def verify_signature(request: Request, raw: bytes, secrets: tuple[bytes, ...]) -> None:
    """Raise a 401 problem unless one of ``secrets`` signed this delivery (Standard Webhooks)."""
    if not secrets:
        return
    headers = {key.lower(): value for key, value in request.headers.items()}
    missing = [name for name in ("webhook-id", "webhook-timestamp", "webhook-signature") if not headers.get(name)]
    if missing:
        raise Problem(
            401,
            f"Missing signature header(s): {', '.join(missing)}. Sign deliveries as Standard Webhooks do.",
            slug="invalid-signature",
        )
    _check_timestamp(headers["webhook-timestamp"])
    if not any(_signed_with(secret, raw, headers) for secret in secrets):
        raise Problem(
            401,
            "The webhook-signature does not match the body with any configured secret.",
            slug="invalid-signature",
        )


def _signed_with(secret: bytes, raw: bytes, headers: dict[str, str]) -> bool:
    try:
        Webhook(secret).verify(raw, headers, json_parse=False)
    except Exception:  # the library raises several types for malformed signatures and bodies
        return False
    return True


def _check_timestamp(value: str) -> None:
    # Checked here, not left to the library, so each kind of bad timestamp gets its own answer.
    text = value.strip()
    if not _UNIX_SECONDS.fullmatch(text):
        raise Problem(
            401,
            "The webhook-timestamp header is not a valid timestamp; send the Unix time in whole seconds.",
            slug="invalid-signature",
        )
    skew = datetime.fromtimestamp(int(text), UTC) - datetime.now(UTC)
    if abs(skew) > TIMESTAMP_TOLERANCE:
        when = "older than" if skew < timedelta(0) else "ahead of our clock by more than"
        raise Problem(
            401,
            f"The webhook-timestamp is {when} 5 minutes; sign each delivery with the current time.",
            slug="invalid-signature",
        )


def header_errors(request: Request) -> dict[str, list[str]]:
    """What is wrong with the delivery headers we store, by header name (empty when nothing is).

    The delivery key and the Content-Type are stored with the inquiry: no control character (a NUL
    cannot be stored) and no more than their columns hold.
    """
    errors: dict[str, list[str]] = {}
    for name in ("webhook-id", "Idempotency-Key"):
        value = request.headers.get(name)
        if value is None:
            continue
        problems = []
        if not value.strip() or len(value.strip()) > MAX_KEY_LENGTH:
            problems.append(f"Must be 1 to {MAX_KEY_LENGTH} characters.")
        if error := control_character_error(value):
            problems.append(error)
        if problems:
            errors[name] = problems
    content_type = request.headers.get("Content-Type", "")
    if len(content_type) > MAX_CONTENT_TYPE_LENGTH:
        errors["Content-Type"] = [f"Longer than {MAX_CONTENT_TYPE_LENGTH} characters."]
    elif error := control_character_error(content_type):
        errors["Content-Type"] = [error]
    return errors


def delivery_key(request: Request, raw: bytes) -> str:
    """The delivery's identity: ``webhook-id``, else ``Idempotency-Key``, else the body's hash.

    Without a key, an identical body is treated as the same delivery, which is what a form
    re-submitted by a double click is. Check :func:`header_errors` first: this trusts the headers.
    """
    key = request.headers.get("webhook-id") or request.headers.get("Idempotency-Key")
    if key and key.strip():
        return key.strip()
    return "sha256:" + hashlib.sha256(raw).hexdigest()


#: A web form is a few levels deep; anything much deeper is not a form (and deep values cost recursion).
MAX_DEPTH = 16


def parse_body(request: Request, raw: bytes) -> dict[str, Any]:
    """The body as a nested dict (unknown fields kept), from JSON or from form fields."""
    media_type = (request.mimetype or "").lower()
    if media_type == JSON or media_type.endswith("+json"):
        body = _json_object(raw)
        if nesting_depth(body) > MAX_DEPTH:
            raise Problem(400, f"The JSON body is nested more than {MAX_DEPTH} levels deep.", slug="malformed-body")
        return body
    if media_type in FORM_TYPES:
        return form_to_nested(request.form)
    raise Problem(
        415,
        f"Content-Type {media_type or '(none)'} is not accepted; send application/json, "
        "application/x-www-form-urlencoded or multipart/form-data.",
        slug="unsupported-media-type",
    )


def _json_object(raw: bytes) -> dict[str, Any]:
    body = load_json(raw)
    if not isinstance(body, dict):
        raise Problem(400, "The JSON body must be an object with a 'patient' field.", slug="malformed-body")
    return body


def nesting_depth(value: Any, level: int = 0) -> int:
    """How deeply containers nest in ``value``, counting no further than just past MAX_DEPTH."""
    if level > MAX_DEPTH or not isinstance(value, dict | list):
        return level
    children = value.values() if isinstance(value, dict) else value
    return max((nesting_depth(child, level + 1) for child in children), default=level + 1)


def form_to_nested(form: MultiDict) -> dict[str, Any]:
    """Form fields (``patient.first_name`` or plain ``first_name``) to the JSON body's nested shape.

    Empty fields are dropped: an unanswered form question is not an answer.
    """
    body: dict[str, Any] = {}
    for name in form:
        if not name or name.count(".") >= MAX_DEPTH:
            continue  # a nameless multipart part, or a name no form of ours has: ignored like unknown fields
        path = _canonical(name)
        values = [value for value in form.getlist(name) if value.strip() != ""]
        if not values:
            continue
        value: Any = values if path in LIST_FIELDS else values[-1]
        node = body
        *parents, leaf = path.split(".")
        for parent in parents:
            node = node.setdefault(parent, {})
            if not isinstance(node, dict):
                break
        else:
            if isinstance(value, list) and isinstance(node.get(leaf), list):
                node[leaf].extend(value)
            else:
                node[leaf] = value
    return body


def _canonical(name: str) -> str:
    name = name.strip()
    if name.endswith("[]"):
        name = name[:-2]
    if name in PATIENT_FIELDS:
        return f"patient.{name}"
    if name in SYMPTOM_FIELDS:
        return f"symptoms.{name}"
    return name
