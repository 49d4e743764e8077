"""End-to-end fixtures for the staff console: a live server, seed data and a real headless Chromium.

The server is the real application (``create_app``) on a migrated SQLite database of the test's own,
served by werkzeug on a loopback port the OS picks, in a thread. The browser is Debian's chromium
(``/usr/bin/chromium``) driven by Playwright's sync API; Playwright's own browser downloads are never
used (``scripts/_browser.sh`` installs the Debian package). Without chromium or the ``playwright``
module the tests skip, except under ``CI=true``, where they fail: CI must run them.

Screenshots land in ``test-artifacts/console/`` at the repo root (git-ignored); a failing test also
leaves ``failed-<test>.png`` there.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from routing import create_app
from routing.adapters.db.models import Appointment, AuditEvent, Inquiry, TriageDecision
from routing.adapters.db.types import utcnow
from tests.conftest import settings_for
from tests.http.admin_helpers import bearer, make_token, new_inquiry
from tests.http.intake_helpers import add_slots

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"
STAFF_NAME = "Nina Nurse"
EMERGENCY = "Severe back pain and I can't control my bladder, numb when I wipe."
#: axe-core, from tests/browser/package-lock.json (scripts/test.sh runs npm ci there).
AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
#: The audit's two screen sizes: a front-desk laptop and a phone.
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
#: Playwright's default of 30 s per action would let one broken page eat the file's time budget.
TIMEOUT_MS = 5_000


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as error:
        return f"the playwright module cannot be imported ({error}): install requirements-dev.txt into .venv"
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        return f"{CHROMIUM} not found: install Debian's chromium (scripts/test.sh does, as root)"
    return None


def _require_browser() -> None:
    """Skip when chromium or playwright is missing; under CI=true fail instead (a skip would hide the tests)."""
    reason = _missing()
    if reason is None:
        return
    if _in_ci():
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(f"browser tests: {reason}")


@pytest.fixture(autouse=True)
def _browser_requirements() -> None:
    """Every test here needs the browser, even one that (by mistake) uses no browser fixture."""
    _require_browser()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item, so the page fixture can screenshot a failing test."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


# ---------------------------------------------------------------- live server


@dataclass
class LiveServer:
    """The running application: its base URL (no trailing slash) and the Flask app, for seeding."""

    url: str
    app: Flask

    def rows(self, model: Any, *where: Any) -> list[Any]:
        """Rows of ``model`` matching ``where``, read straight from the database."""
        with self.app.extensions["routing"].db.session() as session:
            return list(session.scalars(select(model).where(*where)))

    def audit_events(self, inquiry_id: str) -> list[AuditEvent]:
        return self.rows(AuditEvent, AuditEvent.inquiry_id == uuid.UUID(inquiry_id))

    def appointments(self, inquiry_id: str) -> list[tuple[str, str]]:
        """(slot type, status) of the inquiry's appointments, oldest first."""
        rows = self.rows(Appointment, Appointment.inquiry_id == uuid.UUID(inquiry_id))
        return [(row.slot_type, row.status) for row in sorted(rows, key=lambda row: row.created_at)]


@pytest.fixture
def live_server(tmp_path, sqlite_template) -> Iterator[LiveServer]:
    """The application on a fresh migrated SQLite database, served on 127.0.0.1:<free port>."""
    shutil.copyfile(sqlite_template, tmp_path / "console.sqlite3")  # the migrations, run once per session
    url = make_url(f"sqlite:///{tmp_path / 'console.sqlite3'}")
    app = create_app(
        settings_for(
            url,
            ROUTING_SECRET_KEY=secrets.token_urlsafe(32),
            ROUTING_COOKIE_SECURE="off",
            # Every test signs in and posts inquiries from one address; limits are tested elsewhere.
            ROUTING_RATE_LIMITS="off",
        )
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="console-live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", app)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        app.extensions["routing"].db.dispose()


@dataclass
class Seed:
    """What :func:`seeded` put in the database."""

    token: str
    routine_id: str
    emergency_id: str
    routine: dict[str, Any]
    emergency: dict[str, Any]


@pytest.fixture
def seeded(live_server) -> Seed:
    """Consult and imaging slots, Nina Nurse's staff token, a routine strain (consult booked) and an emergency."""
    app = live_server.app
    add_slots(app, "consult", [26, 27, 28])
    add_slots(app, "imaging", [72, 96], minutes=60)
    token = make_token(app, STAFF_NAME, "staff")
    client = app.test_client()
    routine_id = new_inquiry(client)
    emergency_id = new_inquiry(client, EMERGENCY)
    # The whole outcome (triage included) needs a staff token.
    routine = client.get(f"/v1/inquiries/{routine_id}", headers=bearer(token)).get_json()
    emergency = client.get(f"/v1/inquiries/{emergency_id}", headers=bearer(token)).get_json()
    assert live_server.appointments(routine_id) == [("consult", "booked")], routine
    assert (emergency["status"], emergency["triage"]["urgency"]) == ("urgent_review", "emergency"), emergency
    return Seed(token, routine_id, emergency_id, routine, emergency)


# ---------------------------------------------------------------- browser


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Debian chromium for the session (each test gets its own context)."""
    _require_browser()  # session fixtures are set up before the autouse one, so check here too
    from playwright.sync_api import sync_playwright

    for old in [*ARTIFACTS.glob("*.png"), *ARTIFACTS.glob("axe-summary.json")]:  # this run's only
        old.unlink()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser, live_server) -> Iterator[Any]:
    """A fresh browser context (own cookies) whose relative URLs resolve against the live server."""
    context = browser.new_context(base_url=live_server.url, viewport=DESKTOP)
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    yield context
    context.close()


@pytest.fixture
def new_context(browser, live_server) -> Iterator[Any]:
    """A factory of further contexts (a phone's viewport, or CSP bypassed for axe); all closed after the test."""
    made: list[Any] = []

    def make(viewport: dict[str, int] = DESKTOP, *, bypass_csp: bool = False) -> Any:
        # bypass_csp: the console's policy allows no script at all, so axe-core could not be injected
        # into its pages otherwise. Only the accessibility checks use it; the pages' own CSP is tested
        # in tests/http/test_console.py.
        context = browser.new_context(
            base_url=live_server.url, viewport=viewport, bypass_csp=bypass_csp, is_mobile=viewport == PHONE
        )
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it stands (every rule axe runs by default)."""
    if not AXE.is_file():
        reason = f"{AXE} is missing: run `npm ci` in tests/browser (scripts/test.sh does)"
        if _in_ci():
            pytest.fail(reason)
        pytest.skip(reason)
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in result["violations"]
    ]


def record_axe(name: str, violations: list[dict[str, Any]]) -> None:
    """Keep each page's axe result in test-artifacts/console/axe-summary.json, for the record."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "axe-summary.json"
    summary = json.loads(path.read_text()) if path.exists() else {}
    summary[name] = [{"id": v["id"], "impact": v["impact"], "nodes": len(v["nodes"])} for v in violations]
    path.write_text(json.dumps(summary, indent=2, sort_keys=True))


def add_many_inquiries(app: Flask, count: int) -> None:
    """``count`` routine inquiries needing review (patients Zed Many0, Many1, ...), written to the database."""
    now = utcnow()
    patient = {"first_name": "Zed", "last_name": "Many", "email": "zed@example.org", "phone": "+1 555 0111"}
    with app.extensions["routing"].db.session() as session, session.begin():
        for n in range(count):
            inquiry = Inquiry(
                id=uuid.uuid4(),
                idempotency_key=f"many-{n}",
                body_sha256="0" * 64,
                content_type="application/json",
                raw_body=b"{}",
                payload={"patient": {**patient, "last_name": f"Many{n}"}, "message": "Sore back."},
                facts={"values": {}, "evidence": []},
                status="needs_review",
                language="en",
                received_at=now - timedelta(days=1, minutes=n),
                updated_at=now,
            )
            session.add(inquiry)
            session.add(
                TriageDecision(
                    inquiry_id=inquiry.id,
                    urgency="routine",
                    likely_cause="undetermined",
                    route="consult",
                    rule_id="R0",
                    needs_review=True,
                    reasons=[],
                    facts={},
                    rulebook_version="test",
                )
            )


@pytest.fixture
def page(request, context) -> Iterator[Any]:
    """A fresh page; a screenshot of it is kept when the test fails."""
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    page = context.new_page()
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed and not page.is_closed():
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        save_screenshot(page, f"failed-{name}.png")


def save_screenshot(page: Any, name: str) -> Path:
    """A full-page screenshot of ``page`` in test-artifacts/console/``name``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path
