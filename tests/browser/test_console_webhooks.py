"""The console's webhook and delivery pages in a real Chromium: an admin adds a subscription with the keyboard
and mouse, reads its secret once, and every page passes axe-core with nothing serious or critical."""

from __future__ import annotations

import re
from typing import Any

from tests.browser.conftest import DESKTOP, PHONE, axe_violations, record_axe, save_screenshot
from tests.http.admin_helpers import make_token, new_inquiry
from tests.outbox.helpers import deliveries, worker

try:
    from playwright.sync_api import expect
except ImportError:  # the autouse fixture in conftest.py skips (or, under CI=true, fails) every test
    expect = None


def check(page: Any, name: str, viewport: dict[str, int]) -> None:
    """axe-core finds nothing serious or critical; a screenshot for the record."""
    size = f"{viewport['width']}x{viewport['height']}"
    save_screenshot(page, f"{name}-{size}.png")
    violations = axe_violations(page)
    record_axe(f"{name} {size}", violations)
    bad = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert bad == [], f"{name} at {size}: {bad}"


def test_an_admin_adds_a_subscription_and_every_webhook_page_passes_axe(new_context, live_server):
    app = live_server.app
    admin = make_token(app, "Ada Admin", "admin")
    for viewport in (DESKTOP, PHONE):
        page = new_context(viewport, bypass_csp=True).new_page()
        page.goto("/console/login")
        page.get_by_label("Staff token").fill(admin)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("link", name="Webhooks").click()
        check(page, "webhooks", viewport)

        page.get_by_label("What receives it").fill("EHR inbox")
        page.get_by_label("URL (https; plain http only to this machine)").fill("https://ehr.example.org/hooks")
        page.get_by_label("inquiry.routed", exact=True).check()
        page.get_by_role("button", name="Add subscription").click()
        expect(page.locator("#secret-value")).to_have_text(re.compile(r"^whsec_[A-Za-z0-9+/=]{44}$"))
        check(page, "webhook-secret", viewport)

        page.get_by_role("link", name="Go to the subscription").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Webhook: EHR inbox")
        check(page, "webhook", viewport)

    new_inquiry(app.test_client())
    worker(app).drain()  # the receiver does not exist: each delivery fails once and waits for a retry
    page.goto("/console/deliveries")
    check(page, "deliveries", PHONE)
    page.goto(f"/console/deliveries/{deliveries(app)[0].id}")
    expect(page.locator("#attempts")).to_contain_text("failed")
    expect(page.locator("#data")).to_contain_text("R10, TEXT")  # lists read as words, not Python
    check(page, "delivery", PHONE)
