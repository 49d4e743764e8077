"""RFC 9457 problem details: the one error format of the whole API.

Every 4xx/5xx leaves the service as ``application/problem+json`` with ``type``, ``title``,
``status`` and ``detail``; validation failures add ``errors`` keyed by dotted field path.
Server errors never carry exception text: clients get an ``error_id`` that appears in our logs.
"""

from __future__ import annotations

import logging
import traceback
import uuid
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from flask import Response, json, request
from marshmallow import Schema, ValidationError
from werkzeug.exceptions import HTTPException

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:routing:problem:"

log = logging.getLogger(__name__)

# What a client can do about each status, when the raiser gave no detail of its own.
_DEFAULT_DETAILS = {
    400: "The request could not be read. Check that the body is well-formed for its Content-Type.",
    401: "Authentication is missing or invalid.",
    403: "Your credentials do not allow this action.",
    404: "There is nothing at this URL. See /docs for the available endpoints.",
    405: "This URL does not accept that HTTP method; the Allow header lists the ones it does.",
    409: "The request conflicts with the current state of the resource.",
    413: "The request body is too large.",
    415: "The Content-Type of the request is not supported by this endpoint.",
    422: "Some fields are invalid; see 'errors' for what is wrong with each.",
    429: "Too many requests; wait for the time given in Retry-After and try again.",
    500: "The service failed to handle this request. It has been logged; quote error_id when reporting it.",
    503: "The service is temporarily unavailable; try again shortly.",
}


class Problem(Exception):
    """An error the HTTP layer turns into a problem response; raise it from routes or map to it."""

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        *,
        slug: str | None = None,
        title: str | None = None,
        errors: Mapping[str, list[str]] | None = None,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or title or HTTPStatus(status).phrase)
        self.status = status
        self.detail = detail
        self.slug = slug
        self.title = title
        self.errors = errors
        self.headers = dict(headers or {})
        self.extra = extra


def problem_response(problem: Problem) -> Response:
    """Render a :class:`Problem` as an ``application/problem+json`` response."""
    status = HTTPStatus(problem.status)
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + problem.slug if problem.slug else "about:blank",
        "title": problem.title or status.phrase,
        "status": status.value,
        "detail": problem.detail or _DEFAULT_DETAILS.get(status.value, status.description),
        "instance": request.path,
    }
    if problem.errors:
        body["errors"] = {key: list(messages) for key, messages in problem.errors.items()}
    body.update(problem.extra)
    response = Response(json.dumps(body), status=status.value, mimetype=PROBLEM_JSON)
    response.headers.update(problem.headers)
    return response


def handle_problem(problem: Problem) -> Response:
    """Flask error handler for :class:`Problem`."""
    return problem_response(problem)


def handle_http_exception(error: HTTPException) -> Response:
    """Flask error handler for werkzeug/``abort`` errors: 404, 405, webargs' 422 and the like."""
    data = getattr(error, "data", None) or {}
    errors = data.get("errors") or data.get("messages")
    headers = {
        key: value for key, value in error.get_headers() if key.lower() not in ("content-type", "content-length")
    }
    headers.update(data.get("headers") or {})
    detail = data.get("message")
    if detail is None and error.description and error.description != type(error).description:
        detail = error.description
    return problem_response(
        Problem(
            error.code or 500,
            detail,
            slug="validation-error" if errors else None,
            errors=flatten_errors(errors) if errors else None,
            headers=headers,
        )
    )


#: A read changed nothing, so a retry is all there is to say.
DATABASE_UNAVAILABLE_READ = "The service cannot reach its database right now. Retry shortly."
#: A write may have been committed before the database failed: say so, and why retrying is still safe.
DATABASE_UNAVAILABLE_WRITE = (
    "The service lost its database while handling this request, so it may or may not have been stored. "
    "Retry shortly with the same body and the same webhook-id (or Idempotency-Key): that is always safe and "
    "never creates a duplicate. Staff actions: reload the inquiry and check before acting again."
)


def handle_database_unavailable(error: Exception) -> Response:
    """Flask error handler for a database that cannot be reached: 503, so clients retry."""
    log.error("database unavailable on %s %s: %s", request.method, request.path, type(error).__name__)
    read = request.method in ("GET", "HEAD", "OPTIONS")
    detail = DATABASE_UNAVAILABLE_READ if read else DATABASE_UNAVAILABLE_WRITE
    return problem_response(Problem(503, detail, slug="database-unavailable", headers={"Retry-After": "5"}))


def load_all_or_422(schema: Schema, payload: Any, errors: Mapping[str, list[str]] | None = None) -> Any:
    """``schema.load(payload)``, or one 422 problem naming every invalid field, with ``errors`` (headers') too."""
    found = dict(errors or {})
    try:
        data = schema.load(payload)
    except ValidationError as error:
        found.update(flatten_errors(error.messages))
    if found:
        raise Problem(422, errors=found, slug="validation-error")
    return data


def handle_unexpected_error(error: Exception) -> Response:
    """Flask error handler for anything unhandled: log it (without its message) and answer 500."""
    error_id = str(uuid.uuid4())
    # Exception messages can carry request data (SQL parameters, payload values), which is health
    # data here; the type and the frames (without source lines) say where it broke, not what was sent.
    stack = "\n".join(
        f'  File "{frame.filename}", line {frame.lineno}, in {frame.name}'
        for frame in traceback.extract_tb(error.__traceback__)
    )
    log.error(
        "unhandled %s on %s %s (error_id=%s)\n%s",
        type(error).__name__,
        request.method,
        request.path,
        error_id,
        stack,
    )
    return problem_response(Problem(500, slug="internal-error", error_id=error_id))


def flatten_errors(messages: Mapping[Any, Any]) -> dict[str, list[str]]:
    """Turn marshmallow/webargs nested messages into ``{"patient.email": ["..."]}``.

    webargs nests messages under the request location (``json``, ``form``, ``query``); that level
    is dropped because clients name fields, not locations.
    """
    if set(messages) <= {"json", "form", "query", "files", "headers", "cookies", "view_args", "json_or_form"}:
        merged: dict[Any, Any] = {}
        for nested in messages.values():
            if isinstance(nested, Mapping):
                merged.update(nested)
        messages = merged
    flat: dict[str, list[str]] = {}
    _flatten_into(flat, "", messages)
    return flat


def _flatten_into(flat: dict[str, list[str]], prefix: str, value: Any) -> None:
    if isinstance(value, Mapping):
        for key, nested in value.items():
            name = "_schema" if key == "_schema" and not prefix else str(key)
            _flatten_into(flat, f"{prefix}.{name}" if prefix else name, nested)
    elif isinstance(value, list | tuple) and not all(isinstance(item, str) for item in value):
        for item in value:
            _flatten_into(flat, prefix, item)
    else:
        messages = [value] if isinstance(value, str) else [str(item) for item in value]
        flat.setdefault(prefix or "_schema", []).extend(messages)
