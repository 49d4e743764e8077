"""A two-site practice in a real Chromium: staff filter the queue by site and override an inquiry to the other
site; an admin's sites page, and the patient form's "where would you like to be seen"; each page passes axe-core
with nothing serious or critical."""

from __future__ import annotations

import uuid
from typing import Any

from tests.browser.conftest import DESKTOP, PHONE, axe_violations, record_axe, save_screenshot
from tests.http.admin_helpers import make_token
from tests.http.intake_helpers import inquiry
from tests.locations.helpers import SITES, appointment_sites, open_sites, slots_at

try:
    from playwright.sync_api import expect
except ImportError:  # the autouse fixture in conftest.py skips (or, under CI=true, fails) every test
    expect = None

#: Downtown and the north side, 3 km apart.
TWO_SITES = tuple(site for site in SITES if site["id"] in ("downtown", "north"))


def check(page: Any, name: str, viewport: dict[str, int]) -> None:
    """axe-core finds nothing serious or critical; a screenshot for the record."""
    size = f"{viewport['width']}x{viewport['height']}"
    save_screenshot(page, f"{name}-{size}.png")
    violations = axe_violations(page)
    record_axe(f"{name} {size}", violations)
    bad = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert bad == [], f"{name} at {size}: {bad}"


def post(app, **extra) -> str:
    response = app.test_client().post(
        "/v1/inquiries", json=inquiry(**extra), headers={"Idempotency-Key": str(uuid.uuid4())}
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def sign_in(page: Any, token: str) -> None:
    page.goto("/console/login")
    page.get_by_label("Staff token").fill(token)
    page.get_by_role("button", name="Sign in").click()


def test_staff_filter_the_queue_by_site_and_override_to_the_other_site(new_context, live_server):
    app = live_server.app
    open_sites(app, TWO_SITES)
    slots_at(app, "downtown", "consult", [26, 27])
    slots_at(app, "north", "consult", [40, 41])  # one for the inquiry at north, one for the override
    at_downtown = post(app, preferred_location="downtown")
    at_north = post(app, preferred_location="north")
    page = new_context(DESKTOP, bypass_csp=True).new_page()
    sign_in(page, make_token(app, "Nina Nurse", "staff"))

    page.get_by_label("Site", exact=True).select_option(label="North side")
    page.get_by_role("button", name="Filter").click()

    rows = page.locator("#queue tbody tr.inquiry")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-inquiry-id", at_north)
    expect(page.get_by_label("Site", exact=True)).to_have_value("north")
    check(page, "queue-by-site", DESKTOP)

    page.goto(f"/console/inquiries/{at_downtown}")
    expect(page.locator("#inquiry-site")).to_have_text("Downtown")
    page.get_by_label("New route").select_option("consult")
    page.locator("#override-location").select_option(label="North side")
    page.get_by_label("Reason", exact=True).fill("Closer to her home")
    page.get_by_role("button", name="Override route").click()

    expect(page.locator("#inquiry-site")).to_have_text("North side")
    expect(page.locator("#appointments td.site")).to_have_text(["Downtown", "North side"])
    assert live_server.appointments(at_downtown) == [("consult", "cancelled"), ("consult", "booked")]
    assert appointment_sites(app) == ["downtown", "north", "north"]  # the override's, after the one at north
    check(page, "inquiry-override-to-site", DESKTOP)


def test_an_admin_adds_a_site_and_the_sites_pages_pass_axe(new_context, live_server):
    app = live_server.app
    open_sites(app, TWO_SITES)
    admin = make_token(app, "Ada Admin", "admin")
    for viewport in (DESKTOP, PHONE):
        page = new_context(viewport, bypass_csp=True).new_page()
        sign_in(page, admin)
        page.get_by_role("link", name="Sites").click()
        check(page, "sites", viewport)

    page.get_by_label("Id (lower-case letters").fill("holyoke")
    page.get_by_label("Name (as patients read it)").fill("Holyoke")
    page.get_by_label("injection", exact=True).check()
    page.get_by_role("button", name="Add site").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Site: Holyoke")
    check(page, "site", PHONE)
    page.get_by_role("link", name="All sites").click()
    expect(page.locator("#sites tbody tr")).to_have_count(4)  # downtown, holyoke, north and the inactive main


def test_the_patient_form_asks_where_to_be_seen_and_passes_axe(new_context, live_server):
    open_sites(live_server.app, TWO_SITES)
    for viewport in (DESKTOP, PHONE):
        page = new_context(viewport, bypass_csp=True).new_page()
        page.goto("/form?lang=es")
        expect(page.get_by_label("Cualquier centro: la primera cita libre")).to_be_checked()
        page.get_by_label("North side").check()
        page.get_by_label("Su código postal").fill("01104")
        check(page, "form-sites-es", viewport)
