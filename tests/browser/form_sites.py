"""The patient form's end-to-end set-up: the service, and a clinic's website on another origin.

Both are real HTTP servers on loopback ports the OS picks, each in a thread. The clinic's site is a few static
pages, as a clinic's web host serves them: one frames the served form in an iframe, two are the clinic's own
plain HTML forms posting straight to the intake (urlencoded and multipart). The same site is run twice, on
two ports (two origins): the service lets only the first frame its form (``ROUTING_FORM_EMBED_ORIGINS``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

#: Screenshots and the axe results of the form's tests (git-ignored, like the console's).
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "form"

#: The clinic's own form: the field names of the README's table, nothing of ours (no token, no honeypot).
CLINIC_FORM = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Contact the clinic ({enctype})</title></head>
<body><main>
<h1>Contact the clinic</h1>
<form method="post" action="{service}/v1/inquiries" enctype="{enctype}">
  <label for="first_name">First name</label> <input id="first_name" name="first_name">
  <label for="last_name">Last name</label> <input id="last_name" name="last_name">
  <label for="phone">Phone</label> <input id="phone" name="phone" type="tel">
  <label for="onset">How did it start?</label>
  <select id="onset" name="onset"><option value="">Choose</option><option value="sudden">Suddenly</option></select>
  <label for="trigger">What started it?</label>
  <select id="trigger" name="trigger"><option value="lifting">Lifting</option></select>
  <label for="duration_days">Days</label> <input id="duration_days" name="duration_days" value="2">
  <fieldset><legend>Warning signs</legend>
    <input type="checkbox" id="rf1" name="red_flags" value="leg_weakness"><label for="rf1">A leg gives way</label>
  </fieldset>
  <label for="message">Message</label> <textarea id="message" name="message"></textarea>
  <input type="hidden" name="language" value="en">
  <button type="submit">Send</button>
</form>
</main></body></html>
"""
EMBED_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Book a visit</title></head>
<body><main><h1>Book a visit</h1>
<iframe id="clinic-form" src="{service}/form?lang={lang}" title="Patient form" width="420" height="900"></iframe>
</main></body></html>
"""


def clinic_site(service: Callable[[], str]) -> Any:
    """The clinic's website (a WSGI app): /embed.html?lang=, /plain-form.html, /multipart-form.html.

    ``service`` gives the service's origin when a page is served: the service starts after the site, since
    its settings name the site's origin.
    """

    @Request.application
    def serve(request: Request) -> Response:
        if request.path == "/embed.html":
            body = EMBED_PAGE.format(service=service(), lang=request.args.get("lang", "en"))
        elif request.path == "/plain-form.html":
            body = CLINIC_FORM.format(service=service(), enctype="application/x-www-form-urlencoded")
        elif request.path == "/multipart-form.html":
            body = CLINIC_FORM.format(service=service(), enctype="multipart/form-data")
        else:
            return Response("not found", status=404)
        return Response(body, mimetype="text/html")

    return serve


@contextmanager
def serving(app: Any, name: str) -> Iterator[str]:
    """Serve the WSGI ``app`` on 127.0.0.1:<free port> in a thread; yields its origin."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@dataclass
class FormSites:
    """The running service (its origin and app) and the clinic's two sites (allowed to frame, and not)."""

    service: str
    app: Flask
    clinic: str
    stranger: str


def record_axe(name: str, violations: list[dict[str, Any]]) -> None:
    """Keep each page's axe result in test-artifacts/form/axe-summary.json, for the record."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "axe-summary.json"
    summary = json.loads(path.read_text()) if path.exists() else {}
    summary[name] = [{"id": v["id"], "impact": v["impact"], "nodes": len(v["nodes"])} for v in violations]
    path.write_text(json.dumps(summary, indent=2, sort_keys=True))


def save_screenshot(page: Any, name: str) -> Path:
    """A full-page screenshot of ``page`` in test-artifacts/form/``name``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


@contextmanager
def page_factory(browser: Any, base_url: str) -> Iterator[Callable[..., Any]]:
    """A factory of pages on ``base_url``, each in a fresh context (a viewport; CSP bypassed only to inject
    axe-core; a locale); the contexts are closed when the block ends."""
    from playwright.sync_api import expect

    from tests.browser.conftest import DESKTOP, PHONE, TIMEOUT_MS

    contexts: list[Any] = []
    expect.set_options(timeout=TIMEOUT_MS)

    def make(viewport: dict[str, int] = DESKTOP, *, bypass_csp: bool = False, locale: str = "en-US") -> Any:
        context = browser.new_context(
            base_url=base_url,
            viewport=viewport,
            is_mobile=viewport == PHONE,
            bypass_csp=bypass_csp,
            locale=locale,
            accept_downloads=True,
        )
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    try:
        yield make
    finally:
        for context in contexts:
            context.close()
