"""The rulebook's life in Chromium against the live application: an admin edits a copy of the active rulebook into a
draft, previews its impact (the progress page reloads itself into the report and its heat map), a second admin
approves it (the acknowledgement box must be ticked first) and activates it; axe-core on each page at both widths.

The history: three inquiries decided by a rulebook that also sent pain rated 10/10 to urgent review
(tests/http/preview_helpers.py), so the draft moves one inquiry out of urgent review and another to imaging.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pytest

from tests.browser.conftest import DESKTOP, PHONE, axe_violations, record_axe, save_screenshot
from tests.browser.test_console import sign_in
from tests.http.admin_helpers import make_token
from tests.http.preview_helpers import BLADDER, FIVE_WEEKS, WORST_PAIN, days_ago, run_worker_once, store_history

try:
    from playwright.sync_api import expect
except ImportError:  # the autouse fixture in conftest.py skips (or, under CI=true, fails) every test
    expect = None

# Helper A's module of issue 23 (drafts, approval, activation): the console calls it for every version page.

VERSION_URL = re.compile(r"/console/rulebooks/(\d+)$")
PREVIEW_URL = re.compile(r"/console/rulebooks/\d+/previews/[0-9a-f-]{36}$")


@dataclass
class Admins:
    ada: str
    ben: str


@pytest.fixture
def admins(live_server) -> Admins:
    app = live_server.app
    store_history(app, [WORST_PAIN, FIVE_WEEKS, BLADDER], days_ago(10))
    return Admins(make_token(app, "Ada Admin", "admin"), make_token(app, "Ben Admin", "admin"))


def edit_a_copy(page) -> int:
    """From the versions page: edit a copy of the active version into "persistent from 28 days"; its number."""
    page.get_by_role("link", name="Versions", exact=True).click()
    page.get_by_role("link", name=re.compile(r"^#1 ")).click()
    page.get_by_role("link", name="Edit a copy").click()
    box = page.get_by_label("Rulebook (JSON)")
    document = json.loads(box.input_value())
    document["version"] = "four-weeks"
    document["terms"]["persistent"]["at_least"] = 28
    box.fill(json.dumps(document, indent=2))
    page.get_by_label("What changes, and why").fill("Pain is persistent from four weeks")
    page.get_by_role("button", name="Save the draft").click()
    expect(page).to_have_url(VERSION_URL)
    expect(page.locator("#state")).to_have_text("draft")
    return int(VERSION_URL.search(page.url).group(1))


def test_a_draft_is_previewed_approved_with_the_acknowledgement_and_activated(
    page, context, browser, live_server, admins: Admins
):
    sign_in(page, admins.ada)
    version_id = edit_a_copy(page)
    expect(page.locator(".flash.success")).to_contain_text("Draft four-weeks saved as version")

    page.get_by_role("button", name="Preview the impact").click()
    expect(page).to_have_url(PREVIEW_URL)
    expect(page.get_by_role("heading", name="Waiting for a worker")).to_be_visible()
    expect(page.locator("#progress")).to_be_visible()
    assert run_worker_once(live_server.app) == "done"
    # The page reloads itself every 2 seconds: no click, and the report replaces the progress bar.
    expect(page.locator("#exits-warning")).to_contain_text("1 inquiry that a clinician reviews first would not be")
    expect(page.locator("svg.heatmap")).to_be_visible()
    expect(page.locator("svg.heatmap g.cell[data-count='1']")).to_have_count(3)
    expect(page.locator("#transition-table tbody tr.transition.changed")).to_have_count(2)
    save_screenshot(page, "rulebook-preview-report.png")
    page.locator("#red-flag-changes a").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Ana Diaz")

    ben = browser.new_context(base_url=live_server.url, viewport=DESKTOP).new_page()
    sign_in(ben, admins.ben)
    ben.goto(f"/console/rulebooks/{version_id}")
    ben.get_by_role("button", name="Approve").click()  # the box is not ticked: the browser does not send the form
    expect(ben.locator("#state")).to_have_text("draft")
    ben.get_by_label("I have read the 1 inquiry that would leave urgent review").check()
    ben.get_by_role("button", name="Approve").click()
    expect(ben.locator(".flash.success")).to_have_text("Version four-weeks approved. An admin may now activate it.")
    expect(ben.locator("#state")).to_have_text("approved")
    ben.get_by_label("Reason (kept in the audit log)").fill("Four weeks, as the practice agreed")
    ben.get_by_role("button", name="Activate").click()
    expect(ben.locator("#state")).to_have_text("active")
    save_screenshot(ben, "rulebook-activated.png")
    ben.context.close()


def test_the_diff_shows_the_moved_threshold_side_by_side(page, live_server, admins: Admins):
    sign_in(page, admins.ada)
    version_id = edit_a_copy(page)

    page.get_by_role("link", name="Compare with #1").click()

    expect(page).to_have_url(re.compile(rf"/console/rulebooks/diff\?from=1&to={version_id}$"))
    expect(page.locator("#diff-summary")).to_have_text("0 added, 0 removed, 2 changed, 0 moved.")
    threshold = page.locator('tr.diff-item[data-key="persistent"] li.threshold')
    expect(threshold).to_have_text("at_least: 42 → 28 (threshold)")
    save_screenshot(page, "rulebook-diff.png")


def test_the_rulebook_pages_pass_axe_at_both_widths(new_context, live_server, admins: Admins):
    page = new_context(DESKTOP).new_page()
    sign_in(page, admins.ada)
    version_id = edit_a_copy(page)
    page.get_by_role("button", name="Preview the impact").click()
    expect(page).to_have_url(PREVIEW_URL)
    progress = page.url
    run_worker_once(live_server.app)
    for viewport in (DESKTOP, PHONE):
        size = f"{viewport['width']}x{viewport['height']}"
        page = new_context(viewport, bypass_csp=True).new_page()
        sign_in(page, admins.ben)
        for name, path in (
            ("rulebooks", "/console/rulebooks"),
            ("rulebook-version", f"/console/rulebooks/{version_id}"),
            ("rulebook-diff", f"/console/rulebooks/diff?from=1&to={version_id}"),
            ("rulebook-report", progress),
            ("rulebook-new", "/console/rulebooks/new"),
        ):
            page.goto(path)
            save_screenshot(page, f"{name}-{size}.png")
            violations = axe_violations(page)
            record_axe(f"{name} {size}", violations)
            assert [v for v in violations if v["impact"] in ("serious", "critical")] == [], (name, size, violations)
