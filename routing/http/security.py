"""Security headers on every response, and CORS for the clinic's own web-form origins only."""

from __future__ import annotations

from flask import Flask, Response, request
from flask_cors import CORS

from routing.config import Settings

# The API serves JSON only: nothing may be framed, run or loaded from it.
API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# HTML pages (API docs) load their own scripts and styles; Swagger UI starts from an inline script.
PAGE_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
#: Sent over HTTPS only (RFC 6797 8.1: a host must not send it over plain HTTP). Behind the clinic's proxy
#: the request counts as HTTPS when a trusted proxy says so (X-Forwarded-Proto, ROUTING_TRUSTED_PROXIES).
HSTS = ("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
# Responses carry health data: no shared cache may keep them.
NO_STORE = "no-store"
#: What a web form may send cross-origin to the intake webhook.
CORS_HEADERS = ["Content-Type", "Idempotency-Key", "webhook-id", "webhook-timestamp", "webhook-signature"]


def init_app(app: Flask, settings: Settings) -> None:
    """Add the headers to every response; allow CORS on intake for ``ROUTING_CORS_ORIGINS`` only."""
    if settings.cors_origins:
        CORS(
            app,
            resources={r"/v1/inquiries": {"origins": list(settings.cors_origins)}},
            methods=["POST"],
            allow_headers=CORS_HEADERS,
            expose_headers=["Location", "X-Request-ID", "Retry-After"],
            max_age=3600,
        )
    app.after_request(_secure)


_FIXED = list(HEADERS.items())
#: For browsers that predate CSP's frame-ancestors; sent with every policy that frames nothing. A page that may
#: be framed (the patient form, for ROUTING_FORM_EMBED_ORIGINS) goes without: X-Frame-Options cannot name origins.
NO_FRAMING = ("X-Frame-Options", "DENY")


def _secure(response: Response) -> Response:
    # Runs on every answer, so it does as little as it can: one extend, a few lookups.
    headers = response.headers
    headers.extend(_FIXED)
    if request.is_secure:
        headers.add(*HSTS)
    if "Content-Security-Policy" not in headers:  # the console and the patient form set their own
        page = (response.content_type or "").startswith("text/html")
        headers["Content-Security-Policy"] = PAGE_POLICY if page else API_POLICY
    if "frame-ancestors 'none'" in headers["Content-Security-Policy"]:
        headers.add(*NO_FRAMING)
    if "Cache-Control" not in headers and not request.path.startswith("/docs/assets/"):
        headers["Cache-Control"] = NO_STORE
    return response
