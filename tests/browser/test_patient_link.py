"""The patient's own link end to end in a real headless Chromium: from the confirmation page to the patient's page,
a cancel done with the keyboard alone, and axe-core on every page of the link (no serious or critical violation).

Screenshots and the axe results go to ``test-artifacts/patient-link/`` (git-ignored).
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from routing import create_app
from routing.adapters.db.models import Appointment, AuditEvent, Slot
from tests.browser.conftest import PHONE, axe_violations
from tests.browser.form_sites import page_factory, serving
from tests.browser.test_patient_form import fill_strain, send, tab_to
from tests.conftest import settings_for
from tests.http.intake_helpers import add_slots

try:
    from playwright.sync_api import expect
except ImportError:  # the autouse fixture in conftest.py skips (or, under CI=true, fails) every test
    expect = None

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "patient-link"
BLOCKING = {"serious", "critical"}


@pytest.fixture(scope="module", autouse=True)
def _fresh_artifacts() -> None:
    """This run's screenshots and axe results only."""
    for old in [*ARTIFACTS.glob("*.png"), *ARTIFACTS.glob("axe-summary.json")]:
        old.unlink()


@pytest.fixture
def service(tmp_path, sqlite_template) -> Iterator[tuple[str, Any]]:
    """The service on loopback with consult slots free: (its origin, the app)."""
    shutil.copyfile(sqlite_template, tmp_path / "link.sqlite3")
    url = make_url(f"sqlite:///{tmp_path / 'link.sqlite3'}")
    app = create_app(
        settings_for(
            url, ROUTING_SECRET_KEY=secrets.token_urlsafe(32), ROUTING_RATE_LIMITS="off", ROUTING_FORM_MIN_SECONDS="0"
        )
    )
    add_slots(app, "consult", [26, 27, 28, 29])
    try:
        with serving(app, "link-service") as origin:
            yield origin, app
    finally:
        app.extensions["routing"].db.dispose()


@pytest.fixture
def open_page(browser, service) -> Iterator[Any]:
    """A factory of pages in fresh contexts (a viewport; CSP bypassed only to inject axe-core)."""
    with page_factory(browser, service[0]) as make:
        yield make


def save_screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def check_axe(page: Any, name: str) -> None:
    """axe-core's default rules and WCAG 2.2's target size: nothing serious or critical; results kept."""
    violations = axe_violations(page)
    violations += page.evaluate(
        """async () => (await axe.run(document, {runOnly: {type: 'rule', values: ['target-size']},
                                                 resultTypes: ['violations']})).violations
                       .map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target)}))"""
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "axe-summary.json"
    summary = json.loads(path.read_text()) if path.exists() else {}
    summary[name] = [{"id": v["id"], "impact": v["impact"], "nodes": len(v["nodes"])} for v in violations]
    path.write_text(json.dumps(summary, indent=2, sort_keys=True))
    blocking = [v for v in violations if v["impact"] in BLOCKING]
    assert blocking == [], blocking


def _rows(app: Any, model: Any) -> list[Any]:
    with app.extensions["routing"].db.session() as session:
        return list(session.scalars(select(model)))


def test_from_the_confirmation_to_the_own_page_and_a_cancel_by_keyboard_alone(open_page, service):
    _, app = service
    page = open_page()
    refused: list[str] = []
    page.on(
        "console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None
    )
    page.goto("/form")
    fill_strain(page)
    send(page)
    expect(page.locator("#answer-title")).to_have_text("Your appointment is booked")
    when = page.locator("#appointment-when").inner_text()

    tab_to(page, "#own-link")
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"/my/[A-Za-z0-9_\-.]+$"))
    expect(page.locator("#status-title")).to_have_text("Your appointment is booked")
    expect(page.locator("#appointment-when")).to_have_text(when)
    save_screenshot(page, "own-page-booked.png")
    tab_to(page, "#add-to-calendar")
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    assert download.value.path().read_bytes().startswith(b"BEGIN:VCALENDAR\r\n")

    tab_to(page, "#cancel-appointment")
    page.keyboard.press("Enter")
    expect(page.locator("#cancel-title")).to_have_text("Cancel your appointment?")
    expect(page.locator("#appointment-when")).to_have_text(when)
    save_screenshot(page, "cancel-confirm.png")
    tab_to(page, "#confirm-cancel")
    page.keyboard.press("Enter")
    page.wait_for_load_state()

    expect(page).to_have_url(re.compile(r"/my/[A-Za-z0-9_\-.]+\?done=cancelled$"))
    expect(page.locator("#done")).to_have_text("Your appointment is cancelled.")
    expect(page.locator("#appointment")).to_have_count(0)
    expect(page.locator("#cancel-appointment")).to_have_count(0)
    save_screenshot(page, "own-page-cancelled.png")
    assert [row.status for row in _rows(app, Appointment)] == ["cancelled"]
    assert [row.status for row in _rows(app, Slot)].count("busy") == 0  # the slot is free again
    assert [(event.action, event.actor_name) for event in _rows(app, AuditEvent)] == [("cancel", "patient (own link)")]
    assert refused == []  # the pages work under their own policy: no script, nothing refused


def test_the_keep_link_leaves_the_appointment_alone(open_page, service):
    _, app = service
    page = open_page(PHONE)
    page.goto("/form")
    fill_strain(page)
    send(page)
    tab_to(page, "#own-link")
    page.keyboard.press("Enter")
    tab_to(page, "#cancel-appointment")
    page.keyboard.press("Enter")

    tab_to(page, "#keep-appointment")
    page.keyboard.press("Enter")

    expect(page.locator("#status-title")).to_have_text("Your appointment is booked")
    no_overflow = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert no_overflow, "the page is wider than the phone's screen"
    save_screenshot(page, "own-page-phone.png")
    assert [row.status for row in _rows(app, Appointment)] == ["booked"]


def test_axe_finds_no_serious_or_critical_violation_on_any_page_of_the_link(open_page):
    page = open_page(bypass_csp=True)
    page.goto("/form")
    page.locator("#f-first_name").fill("Ana")
    page.locator("#f-last_name").fill("Diaz")
    page.locator("#f-phone").fill("+1 555 0100")
    page.locator("#f-onset-0").check()
    page.locator("#f-trigger-0").check()
    page.locator("#f-consent-0").check()
    page.locator("button[type=submit]").click()
    expect(page.locator("#answer-title")).to_have_text("Your appointment is booked")
    check_axe(page, "answer-with-own-link")
    link = page.locator("#own-link").get_attribute("href")

    page.goto(link)
    check_axe(page, "own-page-booked")
    page.goto(f"{link}/cancel")
    check_axe(page, "cancel-confirm")
    page.goto(f"{link}/another-time")
    check_axe(page, "another-time")
    page.locator("#send-times").click()
    expect(page.locator("#error-summary")).to_be_focused()
    check_axe(page, "another-time-error")
    save_screenshot(page, "another-time-error.png")
    page.locator("#f-preferred_times").fill("Tuesday after 3 pm")
    page.locator("#send-times").click()
    expect(page.locator("#done")).to_have_text("Thank you. We have sent the times that suit you to the clinic.")
    check_axe(page, "own-page-asked")
    save_screenshot(page, "own-page-asked.png")
    page.goto("/my/not-a-real-link")
    expect(page.locator("h1")).to_have_text("This link does not work")
    check_axe(page, "not-found")
    save_screenshot(page, "not-found.png")

    phone = open_page(PHONE, bypass_csp=True, locale="es-MX")
    phone.goto("/form")
    phone.locator("#f-first_name").fill("Ana")
    phone.locator("#f-last_name").fill("Diaz")
    phone.locator("#f-phone").fill("+1 555 0100")
    phone.locator("#f-onset-0").check()
    phone.locator("#f-trigger-0").check()
    phone.locator("#f-consent-0").check()
    phone.locator("button[type=submit]").click()
    phone.goto(phone.locator("#own-link").get_attribute("href"))
    expect(phone.locator("html")).to_have_attribute("lang", "es")
    expect(phone.locator("#status-title")).to_have_text("Su cita está reservada")
    check_axe(phone, "own-page-es-phone")
    save_screenshot(phone, "own-page-es-phone.png")
