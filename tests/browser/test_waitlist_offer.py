"""A waitlist offer on the patient's own page in a real headless Chromium: taken with the keyboard alone, from the
page to the booked appointment; the days that do not suit saved the same way; axe-core on every waitlist page of
the link (no serious or critical violation), in English on a desktop and in Spanish on a phone.

Screenshots and the axe results go to ``test-artifacts/patient-link/`` (git-ignored), beside the link's others.
"""

from __future__ import annotations

import re
import secrets
import shutil
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from routing import create_app
from routing.adapters.db.models import Appointment, WaitlistEntry, WaitlistOffer
from routing.adapters.db.types import utcnow
from routing.services import patient_link
from tests.browser.conftest import PHONE
from tests.browser.form_sites import page_factory, serving
from tests.browser.test_patient_form import tab_to
from tests.browser.test_patient_link import check_axe, save_screenshot
from tests.conftest import settings_for
from tests.waitlist.helpers import ROUTINE_IMAGING, URGENT_IMAGING, cancel, one_slot, submit

try:
    from playwright.sync_api import expect
except ImportError:  # the autouse fixture in conftest.py skips (or, under CI=true, fails) every test
    expect = None


@pytest.fixture
def offered(tmp_path, sqlite_template) -> Iterator[tuple[str, Any, dict[str, uuid.UUID]]]:
    """The service on loopback with an imaging slot offered to a waiting patient (one English, one Spanish, each
    with an offer: two slots, two first patients who cancel): (origin, app, {language: inquiry id})."""
    shutil.copyfile(sqlite_template, tmp_path / "waitlist.sqlite3")
    url = make_url(f"sqlite:///{tmp_path / 'waitlist.sqlite3'}")
    app = create_app(settings_for(url, ROUTING_SECRET_KEY=secrets.token_urlsafe(32), ROUTING_RATE_LIMITS="off"))
    client = app.test_client()
    one_slot(app, 30)
    one_slot(app, 31)
    first, second = submit(client, ROUTINE_IMAGING), submit(client, ROUTINE_IMAGING)
    waiting = {"en": submit(client, URGENT_IMAGING), "es": submit(client, URGENT_IMAGING, language="es")}
    cancel(app, first)
    cancel(app, second)
    try:
        with serving(app, "waitlist-service") as origin:
            yield origin, app, waiting
    finally:
        app.extensions["routing"].db.dispose()


@pytest.fixture
def open_page(browser, offered) -> Iterator[Any]:
    """A factory of pages in fresh contexts (a viewport; CSP bypassed only to inject axe-core)."""
    with page_factory(browser, offered[0]) as make:
        yield make


def own_link(app: Any, inquiry_id: uuid.UUID) -> str:
    return patient_link.link_for(app.secret_key, inquiry_id, utcnow())


def _rows(app: Any, model: Any, *where: Any) -> list[Any]:
    with app.extensions["routing"].db.session() as session:
        return list(session.scalars(select(model).where(*where)))


def test_an_offer_taken_by_keyboard_alone_books_the_appointment_shown_on_the_page(open_page, offered):
    _, app, waiting = offered
    patient = waiting["en"]
    page = open_page()
    refused: list[str] = []
    page.on(
        "console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None
    )
    page.goto(own_link(app, patient))
    expect(page.locator("#offer-heading")).to_have_text("An earlier time is free")
    offered_when = page.locator("#offer-when").inner_text()
    save_screenshot(page, "waitlist-offer.png")

    tab_to(page, "#accept-offer")
    page.keyboard.press("Enter")
    expect(page.locator("#offer-title")).to_have_text("Take this earlier time?")
    expect(page.locator("#offer-when")).to_have_text(offered_when)
    tab_to(page, "#confirm-accept")
    page.keyboard.press("Enter")
    page.wait_for_load_state()

    expect(page).to_have_url(re.compile(r"/my/[A-Za-z0-9_\-.]+\?done=accepted$"))
    expect(page.locator("#done")).to_have_text("Your appointment is booked.")
    expect(page.locator("#appointment-when")).to_have_text(offered_when)
    expect(page.locator("#offer")).to_have_count(0)
    save_screenshot(page, "waitlist-accepted.png")
    assert [row.status for row in _rows(app, Appointment, Appointment.inquiry_id == patient)] == ["booked"]
    assert [row.status for row in _rows(app, WaitlistOffer, WaitlistOffer.inquiry_id == patient)] == ["accepted"]
    assert refused == []  # the pages work under their own policy: no script, nothing refused


def test_the_days_that_do_not_suit_are_saved_by_keyboard_and_shown_back(open_page, offered):
    _, app, waiting = offered
    patient = waiting["en"]
    page = open_page(PHONE)
    page.goto(own_link(app, patient))
    expect(page.locator("#unavailable-times")).to_have_text("None: any day and time suits you.")

    tab_to(page, "#change-unavailable")
    page.keyboard.press("Enter")
    tab_to(page, "#f-unavailable_times")
    page.keyboard.type("Mondays")
    page.keyboard.press("Enter")
    page.keyboard.type("before 10 am")
    tab_to(page, "#send-unavailable")
    page.keyboard.press("Enter")
    page.wait_for_load_state()

    expect(page.locator("#done")).to_have_text(
        "Saved. We will not offer you a time on the days or at the times you gave."
    )
    expect(page.locator("#unavailable-times li")).to_have_text(["Mondays", "before 10 am"])
    no_overflow = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert no_overflow, "the page is wider than the phone's screen"
    save_screenshot(page, "waitlist-unavailable-phone.png")
    [entry] = _rows(app, WaitlistEntry, WaitlistEntry.inquiry_id == patient)
    assert entry.unavailable_times == "Mondays\nbefore 10 am"


def test_axe_finds_no_serious_or_critical_violation_on_the_waitlist_pages_of_the_link(open_page, offered):
    _, app, waiting = offered
    page = open_page(bypass_csp=True)
    link = own_link(app, waiting["en"])

    page.goto(link)
    check_axe(page, "waitlist-offer")
    page.goto(f"{link}/offer/accept")
    check_axe(page, "waitlist-accept")
    page.goto(f"{link}/offer/decline")
    check_axe(page, "waitlist-decline")
    save_screenshot(page, "waitlist-decline.png")
    page.goto(f"{link}/unavailable-times")
    check_axe(page, "waitlist-unavailable")
    page.locator("#f-unavailable_times").fill("when my daughter visits")
    page.locator("#send-unavailable").click()
    expect(page.locator("#error-summary")).to_be_focused()
    check_axe(page, "waitlist-unavailable-error")
    save_screenshot(page, "waitlist-unavailable-error.png")
    page.goto(f"{link}/offer/decline")
    page.locator("#confirm-decline").click()
    expect(page.locator("#done")).to_have_text("You said no to that time. You keep your place on the waitlist.")
    check_axe(page, "waitlist-declined")
    page.goto(f"{link}/offer/accept")
    expect(page.locator("#problem-message")).to_contain_text("That time is no longer available")
    check_axe(page, "waitlist-offer-closed")
    save_screenshot(page, "waitlist-offer-closed.png")

    phone = open_page(PHONE, bypass_csp=True, locale="es-MX")
    phone.goto(own_link(app, waiting["es"]))
    expect(phone.locator("html")).to_have_attribute("lang", "es")
    expect(phone.locator("#offer-heading")).to_have_text("Hay una hora libre más pronto")
    check_axe(phone, "waitlist-offer-es-phone")
    save_screenshot(phone, "waitlist-offer-es-phone.png")
