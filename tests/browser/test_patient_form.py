"""The patient form at /form, end to end in a real headless Chromium (Debian's), as patients and clinics use it.

The service and a clinic's website on another origin run on loopback (``form_sites.py``). The form is filled
with the keyboard alone, in English and in Spanish; an error round trip keeps every answer; an emergency box
puts the advice first; the form works inside the clinic's iframe and is refused inside a stranger's; the
clinic's own plain HTML forms (urlencoded and multipart) get the confirmation page; axe-core finds no serious
or critical violation. Screenshots and the axe results go to ``test-artifacts/form/`` (git-ignored).
"""

from __future__ import annotations

import re
import secrets
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from routing import create_app
from routing.adapters.db.models import Inquiry
from tests.browser.conftest import PHONE, axe_violations
from tests.browser.form_sites import (
    ARTIFACTS,
    FormSites,
    clinic_site,
    page_factory,
    record_axe,
    save_screenshot,
    serving,
)
from tests.conftest import settings_for
from tests.http.intake_helpers import add_slots

try:
    from playwright.sync_api import expect
except ImportError:  # the autouse fixture in conftest.py skips (or, under CI=true, fails) every test
    expect = None

BLOCKING = {"serious", "critical"}


@pytest.fixture(scope="module", autouse=True)
def _fresh_artifacts() -> None:
    """This run's screenshots and axe results only."""
    for old in [*ARTIFACTS.glob("*.png"), *ARTIFACTS.glob("axe-summary.json")]:
        old.unlink()


@pytest.fixture
def sites(tmp_path, sqlite_template) -> Iterator[FormSites]:
    """The service (consult slots free, the clinic's site allowed to frame the form) and the two sites."""
    shutil.copyfile(sqlite_template, tmp_path / "form.sqlite3")
    url = make_url(f"sqlite:///{tmp_path / 'form.sqlite3'}")
    service: dict[str, str] = {}
    site = clinic_site(lambda: service["origin"])
    with serving(site, "clinic-site") as clinic, serving(site, "stranger-site") as stranger:
        app = create_app(
            settings_for(
                url,
                ROUTING_SECRET_KEY=secrets.token_urlsafe(32),
                ROUTING_RATE_LIMITS="off",
                ROUTING_FORM_EMBED_ORIGINS=clinic,
                # Keyboard steps are quick; the fill time is tested in tests/http/test_form_posts.py.
                ROUTING_FORM_MIN_SECONDS="0",
            )
        )
        add_slots(app, "consult", [26, 27, 28, 29, 30])
        try:
            with serving(app, "form-service") as origin:
                service["origin"] = origin
                yield FormSites(origin, app, clinic, stranger)
        finally:
            app.extensions["routing"].db.dispose()


@pytest.fixture
def open_page(browser, sites) -> Iterator[Any]:
    """A factory of pages in fresh contexts (a viewport; CSP bypassed only to inject axe-core)."""
    with page_factory(browser, sites.service) as make:
        yield make


# --- the keyboard ------------------------------------------------------------------------------------------


def tab_to(page: Any, selector: str, limit: int = 120) -> int:
    """Press Tab until ``selector`` has the focus (proving the focus order reaches it); the presses it took."""
    target = page.locator(selector)
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return presses
    raise AssertionError(f"{selector} never got the focus by Tab")


def choose(page: Any, name: str, value: str) -> None:
    """Pick an answer of a radio group with the keyboard: Tab into the group, then Space or the arrow keys."""
    radios = page.locator(f'input[type=radio][name="{name}"]')
    values = [radios.nth(n).get_attribute("value") for n in range(radios.count())]
    tab_to(page, f"#f-{name}-0")  # none chosen yet: Tab stops on the group's first radio
    steps = values.index(value)
    if steps == 0:
        page.keyboard.press("Space")
    for _ in range(steps):
        page.keyboard.press("ArrowDown")
    expect(page.locator(f'input[name="{name}"][value="{value}"]')).to_be_checked()


def tick(page: Any, element_id: str) -> None:
    tab_to(page, f"#{element_id}")
    page.keyboard.press("Space")
    expect(page.locator(f"#{element_id}")).to_be_checked()


def type_into(page: Any, element_id: str, text: str) -> None:
    tab_to(page, f"#{element_id}")
    page.keyboard.type(text)


def fill_strain(page: Any, *, last_name: str = "Diaz", consent: bool = True, red_flag: str | None = None) -> None:
    """Answer the form as a patient with a back strain would, from the top of the page, by keyboard alone."""
    choose(page, "location", "lower_back")
    choose(page, "duration_days", "1")
    choose(page, "onset", "sudden")
    choose(page, "trigger", "lifting")
    choose(page, "pain_score", "6")
    if red_flag:
        tick(page, f"f-red_flags-{red_flag}")
    type_into(page, "f-message", "Lifted a couch yesterday and my lower back went into spasm.")
    type_into(page, "f-first_name", "Ana")
    if last_name:
        type_into(page, "f-last_name", last_name)
    type_into(page, "f-email", "ana@example.org")
    type_into(page, "f-phone", "+1 555 0100")
    if consent:
        tick(page, "f-consent-0")


def send(page: Any) -> None:
    tab_to(page, "button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_load_state()


def red_flag_index(page: Any, code: str) -> str:
    return page.locator(f'input[name="red_flags"][value="{code}"]').get_attribute("id").rsplit("-", 1)[1]


def check_axe(page: Any, name: str) -> None:
    """axe-core's default rules, and WCAG 2.2's target size (off by default in axe 4.x): nothing serious."""
    violations = axe_violations(page)
    target_size = page.evaluate(
        """async () => (await axe.run(document, {runOnly: {type: 'rule', values: ['target-size']},
                                                 resultTypes: ['violations']})).violations
                       .map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target)}))"""
    )
    violations += target_size
    record_axe(name, violations)
    blocking = [v for v in violations if v["impact"] in BLOCKING]
    assert blocking == [], blocking


# --- filling it in -------------------------------------------------------------------------------------------


def test_a_patient_fills_the_english_form_with_the_keyboard_alone_and_is_booked(open_page, sites):
    page = open_page()
    page.goto("/form")
    expect(page.locator("h1")).to_have_text("Tell us about your back pain")
    save_screenshot(page, "form-en.png")

    fill_strain(page)
    send(page)

    expect(page.locator("#answer-title")).to_have_text("Your appointment is booked")
    expect(page).to_have_url(re.compile(r"/v1/inquiries$"))
    expect(page.locator("#appointment-when")).to_have_text(
        re.compile(r"^\w+day \d{1,2} \w+ at \d{1,2}:\d\d [AP]M E[SD]T$")
    )
    expect(page.locator(".emergency")).to_have_count(0)
    save_screenshot(page, "answer-en.png")
    tab_to(page, "#add-to-calendar")
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    calendar = download.value.path().read_bytes().decode("utf-8")
    assert calendar.startswith("BEGIN:VCALENDAR\r\n")
    assert "\r\nSUMMARY:pain-management consultation at Riverside Spine & Pain Clinic (demo)\r\n" in calendar.replace(
        "\r\n ", ""
    )
    assert [row.status for row in _inquiries(sites)] == ["booked"]


def test_a_patient_switches_to_spanish_and_fills_it_on_a_phone(open_page, sites):
    page = open_page(PHONE)
    page.goto("/form")
    tab_to(page, 'a[hreflang="es"]')
    page.keyboard.press("Enter")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.locator("h1")).to_have_text("Cuéntenos sobre su dolor de espalda")
    expect(page.locator('input[name="language"][value="es"]')).to_be_checked()
    save_screenshot(page, "form-es-phone.png")

    fill_strain(page)
    send(page)

    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.locator("#answer-title")).to_have_text("Su cita está reservada")
    expect(page.locator("#appointment-when")).to_have_text(re.compile(r" de \w+ a las "))
    no_overflow = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert no_overflow, "the answer page is wider than the phone's screen"
    save_screenshot(page, "answer-es-phone.png")
    assert [row.language for row in _inquiries(sites)] == ["es"]


def test_the_focus_order_follows_the_page(open_page):
    page = open_page()
    page.goto("/form")
    # Every stop in the page's order: one per radio group (its chosen radio, else its first), none hidden.
    expected = page.evaluate(
        """() => {
            const groups = new Set(), stops = [];
            for (let e of document.querySelectorAll('a[href], input, textarea, button')) {
                if (e.type === 'hidden' || e.tabIndex < 0) continue;
                if (e.type === 'radio') {
                    if (groups.has(e.name)) continue;
                    groups.add(e.name);
                    e = document.querySelector(`input[name="${e.name}"]:checked`) || e;
                }
                stops.push(e.id || e.getAttribute('href'));
            }
            return stops;
        }"""
    )

    order: list[str] = []
    while len(order) <= len(expected) and (not order or order[-1] != "send"):
        page.keyboard.press("Tab")
        current = page.evaluate("document.activeElement.id || document.activeElement.getAttribute('href')")
        if not order or order[-1] != current:  # a date input's month, day and year are stops of one input
            order.append(current)

    assert order == expected
    assert expected[:3] == ["#main", "/form?lang=es", "f-location-0"]
    assert expected[-4:] == ["f-language-0", "f-contact_preference-0", "f-consent-0", "send"]


def test_an_error_round_trip_keeps_every_answer(open_page, sites):
    page = open_page()
    page.goto("/form")
    fill_strain(page, last_name="", consent=False, red_flag=red_flag_index(page, "fever"))
    send(page)

    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()  # autofocus: a keyboard or screen-reader user starts at the problems
    expect(summary.get_by_role("link")).to_have_text(
        ["Enter your last name.", "Tick the box to agree, so the clinic can use your answers."]
    )
    expect(page.locator("#error-last_name")).to_have_text("Error: Enter your last name.")
    expect(page.locator("#f-last_name")).to_have_attribute("aria-describedby", "error-last_name")
    for name, value in [("location", "lower_back"), ("onset", "sudden"), ("pain_score", "6"), ("red_flags", "fever")]:
        expect(page.locator(f'input[name="{name}"][value="{value}"]')).to_be_checked()
    expect(page.locator("#f-first_name")).to_have_value("Ana")
    expect(page.locator("#f-message")).to_have_value("Lifted a couch yesterday and my lower back went into spasm.")
    save_screenshot(page, "form-errors.png")

    # From the summary's first link straight to the field, then the rest, all by keyboard.
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator("#f-last_name")).to_be_focused()
    page.keyboard.type("Diaz")
    tick(page, "f-consent-0")
    send(page)

    expect(page.locator("#answer-title")).to_have_text("A clinician will call you")  # the fever
    assert [(row.payload["last_name"], row.status) for row in _inquiries(sites)] == [("Diaz", "urgent_review")]


def test_an_emergency_box_ticked_shows_the_advice_first(open_page, sites):
    page = open_page(PHONE)
    page.goto("/form")
    fill_strain(page, red_flag=red_flag_index(page, "saddle_numbness"))
    send(page)

    first = page.locator("main > *").first
    expect(first).to_have_class("emergency")
    expect(page.locator("#answer-title")).to_have_text("Get medical help now")
    expect(first).to_contain_text("Go to the nearest emergency department or call 911 now.")
    box = first.bounding_box()
    assert box["y"] < PHONE["height"] / 2, "the advice is not on the first screen"
    save_screenshot(page, "answer-emergency-phone.png")
    assert [row.status for row in _inquiries(sites)] == ["urgent_review"]


# --- on the clinic's website --------------------------------------------------------------------------------


def test_the_form_works_inside_the_clinic_s_iframe(open_page, sites):
    page = open_page()
    page.goto(f"{sites.clinic}/embed.html?lang=es")
    frame = page.frame_locator("#clinic-form")
    expect(frame.locator("h1")).to_have_text("Cuéntenos sobre su dolor de espalda")

    frame.locator("#f-onset-0").check()
    frame.locator("#f-trigger-0").check()
    frame.locator("#f-duration_days-1").check()
    frame.locator("#f-first_name").fill("Ana")
    frame.locator("#f-last_name").fill("Diaz")
    frame.locator("#f-phone").fill("+1 555 0100")
    frame.locator("#f-consent-0").check()
    frame.locator("button[type=submit]").click()

    expect(frame.locator("#answer-title")).to_have_text("Su cita está reservada")  # the answer page is framed too
    save_screenshot(page, "embed-allowed.png")


def test_a_stranger_s_iframe_is_refused_by_the_policy(open_page, sites):
    page = open_page()
    refusals: list[str] = []
    page.on("console", lambda message: refusals.append(message.text) if "frame-ancestors" in message.text else None)

    page.goto(f"{sites.stranger}/embed.html")
    page.wait_for_load_state("load")

    expect(page.locator("h1")).to_have_text("Book a visit")
    (framed,) = [frame for frame in page.frames if frame != page.main_frame]
    assert framed.locator("#questions").count() == 0  # no form in the frame: the browser showed nothing of ours
    assert any(f"frame-ancestors {sites.clinic}" in text for text in refusals), refusals
    save_screenshot(page, "embed-refused.png")


@pytest.mark.parametrize("kind", ["plain", "multipart"])
def test_the_clinic_s_own_html_form_gets_the_confirmation_page(open_page, sites, kind):
    page = open_page()
    page.goto(f"{sites.clinic}/{kind}-form.html")
    page.get_by_label("First name").fill("Ana")
    page.get_by_label("Last name").fill("Diaz")
    page.get_by_label("Phone").fill("+1 555 0100")
    page.get_by_label("How did it start?").select_option("sudden")
    page.get_by_label("Message").fill("Lifted a couch yesterday, my lower back hurts.")
    if kind == "multipart":
        page.get_by_label("A leg gives way").check()
    page.get_by_role("button", name="Send").click()

    expect(page).to_have_url(f"{sites.service}/v1/inquiries")
    title = "Your appointment is booked" if kind == "plain" else "Get medical help now"
    expect(page.locator("#answer-title")).to_have_text(title)
    save_screenshot(page, f"clinic-{kind}-form-answer.png")
    content_type = "application/x-www-form-urlencoded" if kind == "plain" else "multipart/form-data"
    assert [row.content_type.split(";")[0] for row in _inquiries(sites)] == [content_type]


# --- accessibility ---------------------------------------------------------------------------------------------


def test_axe_finds_no_serious_or_critical_violation_on_the_form_its_errors_and_answers(open_page):
    desktop = open_page(bypass_csp=True)
    desktop.goto("/form")
    check_axe(desktop, "form-en")
    desktop.locator("#f-first_name").fill("Ana")
    desktop.locator("button[type=submit]").click()
    expect(desktop.locator("#error-summary")).to_be_visible()
    check_axe(desktop, "form-en-errors")
    desktop.locator("#f-last_name").fill("Diaz")
    desktop.locator("#f-phone").fill("+1 555 0100")
    desktop.locator("#f-onset-0").check()
    desktop.locator("#f-trigger-0").check()
    desktop.locator("#f-consent-0").check()
    desktop.locator("button[type=submit]").click()
    expect(desktop.locator("#answer-title")).to_have_text("Your appointment is booked")
    check_axe(desktop, "answer-en-booked")

    phone = open_page(PHONE, bypass_csp=True, locale="es-MX")
    phone.goto("/form")  # Accept-Language from the phone's locale
    expect(phone.locator("html")).to_have_attribute("lang", "es")
    check_axe(phone, "form-es-phone")
    phone.locator("#f-first_name").fill("Ana")
    phone.locator("#f-last_name").fill("Diaz")
    phone.locator("#f-phone").fill("+1 555 0100")
    phone.locator('input[name="red_flags"][value="leg_weakness"]').check()
    phone.locator("#f-consent-0").check()
    phone.locator("button[type=submit]").click()
    expect(phone.locator("#answer-title")).to_have_text("Busque ayuda médica ahora")
    check_axe(phone, "answer-es-emergency-phone")


def _inquiries(sites: FormSites) -> list[Any]:
    """The stored inquiries, oldest first, with the fields the tests read."""
    with sites.app.extensions["routing"].db.session() as session:
        rows = session.query(Inquiry).order_by(Inquiry.received_at).all()
        return [
            _Row(row.status, row.language, row.content_type, row.payload.get("patient", row.payload)) for row in rows
        ]


class _Row:
    def __init__(self, status: str, language: str, content_type: str, patient: dict[str, Any]) -> None:
        self.status, self.language, self.content_type = status, language, content_type
        self.payload = patient
