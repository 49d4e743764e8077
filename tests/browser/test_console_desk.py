"""The console at the front desk, in Chromium: accessibility (axe-core) on every page and state, a
keyboard-only call-back, handled emergencies below open ones, the phone layout, and paging 1,000 inquiries.

Screenshots at 1366x768 and 390x844 and ``axe-summary.json`` land in ``test-artifacts/console/``
(git-ignored).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from routing.adapters.db.models import AuditEvent
from tests.browser.conftest import (
    DESKTOP,
    EMERGENCY,
    PHONE,
    STAFF_NAME,
    Seed,
    add_many_inquiries,
    axe_violations,
    record_axe,
    save_screenshot,
)
from tests.browser.test_console import row_of, sign_in
from tests.http.admin_helpers import new_inquiry

try:
    from playwright.sync_api import expect
except ImportError:  # the autouse fixture in conftest.py skips (or, under CI=true, fails) every test
    expect = None

INQUIRY_URL = re.compile(r"/console/inquiries/[0-9a-f-]+(#main)?$")
#: What must never be on a page staff read: codes, Python reprs, unfilled placeholders.
RAW = re.compile(
    r"\b(lower_back|no_relief|bladder_bowel_dysfunction|saddle_numbness|leg_weakness|urgent_review|"
    r"referred_to_er|needs_review|pending_booking|True|False|None)\b|\['|\{'|\{[a-z_]+\}"
)


def check(page: Any, name: str, viewport: dict[str, int]) -> None:
    """axe-core finds nothing serious or critical; no raw code on screen; a screenshot for the record."""
    size = f"{viewport['width']}x{viewport['height']}"
    save_screenshot(page, f"{name}-{size}.png")
    violations = axe_violations(page)
    record_axe(f"{name} {size}", violations)
    bad = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert bad == [], f"{name} at {size}: {bad}"
    text = page.locator("body").inner_text()
    assert RAW.search(text) is None, f"{name} at {size} shows {RAW.search(text).group(0)!r}"


def acknowledge(live_server, inquiry_id: str) -> None:
    """Mark the inquiry handled through the admin API, as another staff member would."""
    client = live_server.app.test_client()
    token = _token(live_server)
    headers = {"Authorization": f"Bearer {token}"}
    etag = client.get(f"/v1/admin/inquiries/{inquiry_id}", headers=headers).headers["ETag"]
    response = client.post(
        f"/v1/admin/inquiries/{inquiry_id}/acknowledge", json={"note": "called"}, headers={**headers, "If-Match": etag}
    )
    assert response.status_code == 200, response.get_json()


def _token(live_server) -> str:
    from tests.http.admin_helpers import make_token

    return make_token(live_server.app, "Omar Other", "staff")


def test_every_page_and_state_passes_axe_at_both_widths(new_context, live_server, seeded: Seed):
    handled_id = new_inquiry(live_server.app.test_client(), EMERGENCY)
    acknowledge(live_server, handled_id)
    new_inquiry(live_server.app.test_client(), "Me duele la espalda desde hace tres semanas y no mejora.")
    for viewport in (DESKTOP, PHONE):
        page = new_context(viewport, bypass_csp=True).new_page()
        page.goto("/console/login")
        check(page, "login", viewport)
        page.get_by_label("Staff token").fill("rt_wrong")
        page.get_by_role("button", name="Sign in").click()
        check(page, "login-refused", viewport)
        sign_in(page, seeded.token)
        check(page, "queue", viewport)
        new_inquiry(live_server.app.test_client(), "My neck has been stiff for two weeks.")
        page.get_by_role("link", name="Refresh").click()
        check(page, "queue-new", viewport)
        page.goto("/console/?status=closed&urgency=nonsense")
        check(page, "queue-empty-filtered", viewport)
        page.goto(f"/console/inquiries/{seeded.emergency_id}")
        check(page, "inquiry-emergency", viewport)
        page.goto(f"/console/inquiries/{handled_id}")
        check(page, "inquiry-handled", viewport)
        page.goto(f"/console/inquiries/{seeded.routine_id}")
        check(page, "inquiry-routine", viewport)
        page.locator("#retriage-form").get_by_role("button", name="Re-run triage").click()
        check(page, "inquiry-retriage-preview", viewport)
        page.goto(f"/console/inquiries/{seeded.emergency_id}")
        page.locator("#acknowledge-form textarea").fill("\x01")  # refused: a control character
        page.get_by_role("button", name="Mark as handled").click()
        expect(page.locator("p.flash.error")).to_be_visible()
        check(page, "inquiry-error", viewport)
        page.goto(f"/console/inquiries/{uuid.uuid4()}")
        check(page, "inquiry-missing", viewport)
        page.goto("/console/rulebook")
        check(page, "rulebook", viewport)
        page.locator("#try-form").get_by_label("Message").fill(EMERGENCY)
        page.locator("#try-form").get_by_role("button", name="Try it").click()
        check(page, "rulebook-tried", viewport)
        page.get_by_role("button", name="Sign out").click()
        check(page, "signed-out", viewport)


def test_a_keyboard_only_call_back_needs_an_outcome_then_takes_three_keystrokes(page, live_server, seeded: Seed):
    sign_in(page, seeded.token)
    page.goto(f"/console/inquiries/{seeded.emergency_id}")
    expect(page).to_have_title(re.compile(r"^EMERGENCY · Ana Diaz · Inquiry"))
    page.keyboard.press("Tab")  # the skip link
    page.keyboard.press("Enter")  # to the inquiry's top
    page.keyboard.press("Tab")
    first = page.locator("#callback-form input[type=radio]").first
    expect(first).to_be_focused()
    expect(page.locator("#callback-form input[type=radio]:checked")).to_have_count(0)

    page.keyboard.press("Enter")  # no outcome chosen: the browser will not submit
    expect(page).to_have_url(INQUIRY_URL)
    assert live_server.audit_events(seeded.emergency_id) == []
    assert first.evaluate("radio => radio.validity.valueMissing") is True

    page.keyboard.press("ArrowDown")  # chooses the second outcome
    expect(page.get_by_label("sent to the emergency department")).to_be_checked()
    page.keyboard.press("Enter")
    expect(page.locator("p.flash.success")).to_have_text("Call-back recorded.")
    [event] = live_server.audit_events(seeded.emergency_id)
    assert (event.action, event.actor_name, event.details["outcome"]) == ("callback", STAFF_NAME, "referred_to_er")
    expect(page.locator("#handled")).to_contain_text(f"Emergency handled by {STAFF_NAME}")
    expect(page).to_have_title(re.compile(r"^Ana Diaz · Inquiry"))


def test_a_handled_emergency_sorts_below_an_open_one_and_loses_call_now(page, live_server, seeded: Seed):
    later_id = new_inquiry(live_server.app.test_client(), EMERGENCY)  # open, received after the seeded one
    acknowledge(live_server, seeded.emergency_id)
    sign_in(page, seeded.token)

    rows = page.locator("#queue tbody tr.inquiry")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_have_attribute("data-inquiry-id", later_id)
    expect(rows.nth(0)).to_contain_text("EMERGENCY · call now")
    expect(rows.nth(0).get_by_role("link", name=re.compile(r"^Call "))).to_have_attribute("href", "tel:+15550100")
    expect(rows.nth(1)).to_have_attribute("data-inquiry-id", seeded.emergency_id)
    expect(rows.nth(1)).not_to_contain_text("call now")
    expect(rows.nth(1)).to_contain_text("emergency · handled")
    expect(rows.nth(1)).to_contain_text("by Omar Other")
    expect(rows.nth(2)).to_have_attribute("data-inquiry-id", seeded.routine_id)
    assert [e.action for e in live_server.rows(AuditEvent)] == ["acknowledge"]


def test_on_a_phone_the_queue_fits_the_screen_as_cards(new_context, live_server, seeded: Seed):
    add_many_inquiries(live_server.app, 60)
    page = new_context(PHONE).new_page()
    sign_in(page, seeded.token)

    widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths == [PHONE["width"], PHONE["width"]]
    first = row_of(page, seeded.emergency_id)
    box = first.bounding_box()
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= PHONE["width"]
    link = first.get_by_role("link", name="Ana Diaz").bounding_box()
    assert link["x"] + link["width"] <= PHONE["width"]
    expect(first.get_by_role("link", name=re.compile(r"^Call "))).to_be_visible()
    label = page.locator('label[for="f-status"]').bounding_box()
    select = page.locator("#f-status").bounding_box()
    assert label["y"] + label["height"] <= select["y"] + 1  # the label sits above its control
    assert abs(label["x"] - select["x"]) < 2
    save_screenshot(page, "queue-phone-cards-390x844.png")


def test_paging_reaches_the_last_of_a_thousand_inquiries_keeping_the_filter(page, live_server, seeded: Seed):
    add_many_inquiries(live_server.app, 1_000)
    sign_in(page, seeded.token)
    page.get_by_label("Status").select_option("needs_review")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("nav.pager").first).to_contain_text("Page 1 of 20")

    page.locator("nav.pager").first.get_by_role("link", name="Last page").click()

    expect(page).to_have_url(re.compile(r"status=needs_review"))
    expect(page.locator("nav.pager").first).to_contain_text("Page 20 of 20")
    rows = page.locator("#queue tbody tr.inquiry")
    expect(rows).to_have_count(50)
    expect(rows.last).to_contain_text("Zed Many0")  # the newest of the many, last: oldest first
    expect(page.locator("#queue caption")).to_contain_text("Rows 951\u20131000 of 1000")
    save_screenshot(page, "queue-last-page-1366x768.png")
