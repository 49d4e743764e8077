"""The request id: taken from a sane ``X-Request-ID`` header or generated, and readable from any log call."""

from __future__ import annotations

import re
import uuid

from flask import g, has_app_context

HEADER = "X-Request-ID"
# A caller's id is echoed into our logs and headers: only short, plain tokens, never free text.
_SANE = re.compile(r"[A-Za-z0-9._-]{1,128}")


def accept_or_generate(candidate: str | None) -> str:
    """``candidate`` when it is at most 128 characters of ``[A-Za-z0-9._-]``, otherwise a new uuid4 hex."""
    if candidate and _SANE.fullmatch(candidate):
        return candidate
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    """The id of the request being handled on this thread, or None outside a request."""
    if not has_app_context():
        return None
    return g.get("request_id")
