"""The console's waitlist in Chromium against the live application: the page per route with an open offer and its
timer, reprioritising and taking an entry off from it, and the inquiry page's offers; axe-core on each page.

Each test starts from a fresh database: one imaging slot 30 hours ahead, booked by a first patient, then a routine
and an urgent patient who find nothing free inside their windows (they wait on the imaging waitlist).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import pytest

from routing.domain.vocabulary import OfferStatus
from tests.browser.conftest import DESKTOP, PHONE, STAFF_NAME, axe_violations, record_axe, save_screenshot
from tests.browser.test_console import sign_in
from tests.http.admin_helpers import make_token
from tests.waitlist.helpers import ROUTINE_IMAGING, URGENT_IMAGING, cancel, entries, offers, one_slot, submit

try:
    from playwright.sync_api import expect
except ImportError:  # the autouse fixture in conftest.py skips (or, under CI=true, fails) every test
    expect = None

WAITLIST_URL = re.compile(r"/console/waitlist\?slot_type=imaging$")
#: An open offer's timer: "1 h 59 min" (or 2 h, read on the very minute it was made).
TIME_LEFT = re.compile(r"^(1 h 5\d min|2 h)$")


@dataclass
class Clinic:
    token: str
    booked: uuid.UUID
    routine: uuid.UUID
    urgent: uuid.UUID


@pytest.fixture
def clinic(live_server) -> Clinic:
    app = live_server.app
    one_slot(app, 30)
    client = app.test_client()
    booked, routine, urgent = (
        submit(client, message) for message in (ROUTINE_IMAGING, ROUTINE_IMAGING, URGENT_IMAGING)
    )
    return Clinic(make_token(app, STAFF_NAME, "staff"), booked, routine, urgent)


def row(page, inquiry_id: uuid.UUID):
    return page.locator(f'#waitlist tbody tr.entry[data-inquiry-id="{inquiry_id}"]')


def open_waitlist(page, token: str) -> None:
    sign_in(page, token)
    page.get_by_role("link", name="Waitlist", exact=True).click()
    page.get_by_role("link", name=re.compile(r"^imaging \(\d+\)$")).click()
    expect(page).to_have_url(WAITLIST_URL)


def test_the_waitlist_page_shows_the_entries_most_urgent_first_and_the_open_offer_with_its_timer(
    page, live_server, clinic: Clinic
):
    cancel(live_server.app, clinic.booked)  # the freed slot is offered to the urgent entry

    open_waitlist(page, clinic.token)

    rows = page.locator("#waitlist tbody tr.entry")
    expect(rows).to_have_count(2)
    expect(rows.first).to_have_attribute("data-inquiry-id", str(clinic.urgent))
    expect(rows.nth(1)).to_have_attribute("data-inquiry-id", str(clinic.routine))
    urgent = row(page, clinic.urgent)
    expect(urgent.locator(".priority")).to_have_text("20")
    offer = urgent.locator("td.offer")
    expect(offer).to_contain_text("imaging")
    expect(offer).to_contain_text("waiting for the patient")
    expect(offer.locator("time.time-left")).to_have_text(TIME_LEFT)
    expect(offer.locator("time.time-left")).to_have_attribute("datetime", re.compile(r"^PT7\d{3}S$"))
    expect(row(page, clinic.routine).locator("td.offer")).to_have_text("none yet")
    expect(page.get_by_role("link", name="imaging (2)")).to_have_attribute("aria-current", "page")
    save_screenshot(page, "waitlist.png")

    # The patient's name leads to the inquiry page, which shows the offer and the waitlist's audit line.
    urgent.get_by_role("link", name="Ana Diaz").click()
    expect(page).to_have_url(re.compile(rf"/console/inquiries/{clinic.urgent}$"))
    section = page.locator("#waitlist-entry")
    expect(section).to_contain_text("slot offered")
    offered = section.locator("table.offers tbody tr")
    expect(offered).to_have_count(1)
    expect(offered.first).to_contain_text("waiting for the patient")
    expect(offered.first.locator("time.time-left")).to_have_text(TIME_LEFT)
    expect(page.locator("#audit li.audit-event").filter(has_text="waitlist slot offered")).to_have_count(1)
    save_screenshot(page, "waitlist-inquiry.png")


def test_reprioritising_from_the_waitlist_page_moves_the_entry_up_and_is_audited(page, live_server, clinic: Clinic):
    open_waitlist(page, clinic.token)
    routine = row(page, clinic.routine)

    routine.get_by_text("Reprioritise or restate times").click()
    routine.get_by_label("Priority (1 first … 99 last)").fill("5")
    routine.get_by_label("Reason", exact=True).fill("Dr Lee: scan before the consult")
    routine.get_by_role("button", name="Save").click()

    expect(page).to_have_url(WAITLIST_URL)
    expect(page.locator("p.flash.success")).to_have_text("Entry updated.")
    rows = page.locator("#waitlist tbody tr.entry")
    expect(rows.first).to_have_attribute("data-inquiry-id", str(clinic.routine))
    expect(rows.first.locator(".priority")).to_have_text("5")
    assert entries(live_server.app)[clinic.routine] == ("waiting", 5)
    [event] = [e for e in live_server.audit_events(str(clinic.routine)) if e.action == "waitlist.reprioritised"]
    assert (event.actor_name, event.reason, event.details["from"], event.details["to"]) == (
        STAFF_NAME,
        "Dr Lee: scan before the consult",
        60,
        5,
    )


def test_taking_an_offered_entry_off_passes_its_slot_to_the_next_entry(page, live_server, clinic: Clinic):
    cancel(live_server.app, clinic.booked)
    open_waitlist(page, clinic.token)
    urgent = row(page, clinic.urgent)

    urgent.get_by_text("Take off the waitlist").click()
    urgent.get_by_label("Reason for taking off").fill("booked at another clinic")
    urgent.get_by_role("button", name="Take off").click()

    expect(page).to_have_url(WAITLIST_URL)
    expect(page.locator("p.flash.success")).to_have_text("Taken off the waitlist.")
    rows = page.locator("#waitlist tbody tr.entry")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-inquiry-id", str(clinic.routine))
    expect(rows.first.locator("td.offer")).to_contain_text("waiting for the patient")
    statuses = sorted((inquiry, status) for inquiry, status, _start in offers(live_server.app))
    assert statuses == sorted([(clinic.urgent, OfferStatus.WITHDRAWN), (clinic.routine, OfferStatus.OPEN)])
    removed = [e for e in live_server.audit_events(str(clinic.urgent)) if e.action == "waitlist.removed"]
    assert [(e.actor_name, e.reason) for e in removed] == [(STAFF_NAME, "booked at another clinic")]


def test_the_waitlist_pages_pass_axe_at_both_widths(new_context, live_server, clinic: Clinic):
    cancel(live_server.app, clinic.booked)
    for viewport in (DESKTOP, PHONE):
        size = f"{viewport['width']}x{viewport['height']}"
        page = new_context(viewport, bypass_csp=True).new_page()
        sign_in(page, clinic.token)
        for name, path in (
            ("waitlist", "/console/waitlist?slot_type=imaging"),
            ("waitlist-empty", "/console/waitlist?slot_type=injection"),
            ("waitlist-inquiry", f"/console/inquiries/{clinic.urgent}"),
            ("waitlist-inquiry-add", f"/console/inquiries/{clinic.booked}"),
        ):
            page.goto(path)
            page.locator("#waitlist details, #waitlist-entry details").evaluate_all(
                "nodes => nodes.forEach(node => node.open = true)"
            )
            save_screenshot(page, f"{name}-{size}.png")
            violations = axe_violations(page)
            record_axe(f"{name} {size}", violations)
            assert [v for v in violations if v["impact"] in ("serious", "critical")] == [], (name, size, violations)
