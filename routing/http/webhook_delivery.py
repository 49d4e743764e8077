"""Reading a webhook delivery: raw bytes, signature, media type, and the form's flat names.

Everything here works on the raw body as received, because the signature covers those exact bytes.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from flask import Request
from standardwebhooks.webhooks import Webhook
from werkzeug.datastructures import MultiDict

from routing.domain.triage.facts import FACT_KINDS, SET_FACTS
from routing.http.problems import Problem

JSON = "application/json"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

PATIENT_FIELDS = ("first_name", "last_name", "email", "phone", "date_of_birth")
# The form's symptom questions are the triage facts, by the same names.
SYMPTOM_FIELDS = tuple(FACT_KINDS)
LIST_FIELDS = {f"symptoms.{name}" for name in SET_FACTS} | {"preferred_times"}


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
    reasons = set()
    for secret in secrets:
        try:
            Webhook(secret).verify(raw, headers, json_parse=False)
            return
        except Exception as error:  # the library raises several types for malformed headers
            reasons.add(str(error) if "timestamp" in str(error) else "no matching signature")
    detail = (
        "Message timestamp is more than 5 minutes from now; send a fresh timestamp."
        if any("timestamp" in reason for reason in reasons)
        else "The webhook-signature does not match the body with any configured secret."
    )
    raise Problem(401, detail, slug="invalid-signature")


def delivery_key(request: Request, raw: bytes) -> str:
    """The delivery's identity: ``webhook-id``, else ``Idempotency-Key``, else the body's hash.

    Without a key, an identical body is treated as the same delivery, which is what a form
    re-submitted by a double click is.
    """
    key = request.headers.get("webhook-id") or request.headers.get("Idempotency-Key")
    if key:
        key = key.strip()
        if not key or len(key) > 200:
            raise Problem(400, "The webhook-id / Idempotency-Key header must be 1 to 200 characters.", slug="bad-key")
        return key
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
    try:
        # NaN and Infinity are not JSON (and the database refuses them): refuse them as JSON parsers should.
        body = json.loads(raw, parse_constant=_not_json, parse_float=_finite_float)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        where = f" at line {error.lineno} column {error.colno}" if isinstance(error, json.JSONDecodeError) else ""
        raise Problem(400, f"The body is not valid JSON{where}.", slug="malformed-body") from None
    except RecursionError:
        raise Problem(
            400, f"The JSON body is nested more than {MAX_DEPTH} levels deep.", slug="malformed-body"
        ) from None
    except ValueError as error:  # NaN/Infinity, 1e999, or an integer of thousands of digits
        raise Problem(400, f"The body is not valid JSON: {error}.", slug="malformed-body") from None
    if not isinstance(body, dict):
        raise Problem(400, "The JSON body must be an object with a 'patient' field.", slug="malformed-body")
    return body


def _not_json(constant: str) -> float:
    raise ValueError(f"{constant} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"{text[:20]} is too large a number")
    return value


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
