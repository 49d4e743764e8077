"""The staff console at /console, end to end: a real headless Chromium against the live application.

Each test starts from a fresh database (see ``conftest.py``): consult and imaging slots, Nina Nurse's
staff token, a routine back strain (consult booked) and an emergency (urgent_review, urgency emergency).
"""

from __future__ import annotations

import re

from tests.browser.conftest import STAFF_NAME, Seed, save_screenshot
from tests.http.admin_helpers import new_inquiry

try:
    from playwright.sync_api import expect
except ImportError:  # the autouse fixture in conftest.py skips (or, under CI=true, fails) every test
    expect = None

RED_FLAG = "My back hurts and since yesterday I can't control my bladder."
OVERRIDE_REASON = "Dr Lee wants an MRI first"
LOGIN_URL = re.compile(r"/console/login$")
QUEUE_URL = re.compile(r"/console/$")
#: Pages may print a route as its code or in words.
URGENT_REVIEW = re.compile(r"urgent (clinician )?review")


def sign_in(page, token: str) -> None:
    """Sign in through the login form; ends on the queue."""
    page.goto("/console/login")
    page.get_by_label("Staff token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(QUEUE_URL)


def row_of(page, inquiry_id: str):
    return page.locator(f'#queue tbody tr.inquiry[data-inquiry-id="{inquiry_id}"]')


def test_queue_shows_the_emergency_first(page, live_server, seeded: Seed):
    sign_in(page, seeded.token)

    rows = page.locator("#queue tbody tr.inquiry")
    expect(rows).to_have_count(2)
    first = rows.first
    expect(first).to_have_attribute("data-inquiry-id", seeded.emergency_id)
    expect(first).to_have_class(re.compile(r"\bemergency\b"))
    expect(first).to_contain_text("EMERGENCY")
    expect(rows.nth(1)).to_have_attribute("data-inquiry-id", seeded.routine_id)
    expect(rows.nth(1)).not_to_have_class(re.compile(r"\bemergency\b"))
    for inquiry_id in (seeded.emergency_id, seeded.routine_id):
        link = row_of(page, inquiry_id).get_by_role("link", name="Ana Diaz")
        expect(link).to_have_attribute("href", re.compile(rf"/console/inquiries/{inquiry_id}$"))
    expect(page.locator("#new-since")).to_have_count(0)  # nothing to compare with on the first look
    expect(page.locator('head meta[http-equiv="refresh"]')).to_have_count(0)  # nothing reloads by itself
    save_screenshot(page, "queue.png")

    # An inquiry that arrives after this look counts as new at the next one (Refresh is a link).
    later_id = new_inquiry(live_server.app.test_client(), "My neck has been stiff for two weeks.")
    page.get_by_role("link", name="Refresh").click()
    expect(page.locator("#new-since")).to_contain_text(re.compile(r"^\D*\b1\b"))
    expect(page.locator("#queue tbody tr.inquiry")).to_have_count(3)
    expect(rows.first).to_have_attribute("data-inquiry-id", seeded.emergency_id)
    expect(row_of(page, later_id)).to_be_visible()
    page.get_by_role("link", name="Refresh").click()
    expect(page.locator("#new-since")).to_contain_text(re.compile(r"^\D*\b0\b"))


def test_override_to_imaging_books_it_cancels_the_consult_and_is_audited(page, live_server, seeded: Seed):
    sign_in(page, seeded.token)
    row_of(page, seeded.routine_id).get_by_role("link", name="Ana Diaz").click()
    expect(page).to_have_url(re.compile(rf"/console/inquiries/{seeded.routine_id}$"))
    expect(page.locator("h1")).to_contain_text("Inquiry")
    for section in ("patient", "message", "decision", "appointments", "audit"):
        expect(page.locator(f"section#{section}")).to_be_visible()
    expect(page.locator("#patient")).to_contain_text("Ana")
    expect(page.locator("#message mark").first).to_be_visible()  # the phrases that set facts
    decision = page.locator("#decision")
    expect(decision).to_contain_text("consult")
    for reason in seeded.routine["triage"]["reasons"]:
        expect(decision).to_contain_text(reason["text"])
    expect(page.locator("#callback-form")).to_have_count(0)  # only on urgent_review inquiries

    form = page.locator("#override-form")
    expect(form.locator('input[type="hidden"][name="csrf_token"]')).to_have_count(1)
    expect(form.locator('input[type="hidden"][name="etag"]')).to_have_count(1)
    form.get_by_label("New route").select_option("imaging")
    form.get_by_label("Reason").fill(OVERRIDE_REASON)
    form.get_by_role("button", name="Override route").click()

    expect(page).to_have_url(re.compile(rf"/console/inquiries/{seeded.routine_id}$"))
    expect(page.locator("p.flash.success")).to_be_visible()
    expect(page.locator("p.flash.error")).to_have_count(0)
    appointments = page.locator("#appointments")
    expect(appointments.locator("li, tr").filter(has_text="imaging").filter(has_text="booked")).to_have_count(1)
    expect(appointments.locator("li, tr").filter(has_text="consult").filter(has_text="cancelled")).to_have_count(1)
    event = page.locator("#audit li.audit-event").filter(has_text=OVERRIDE_REASON)
    expect(event).to_have_count(1)
    expect(event).to_contain_text("route changed")
    expect(event).to_contain_text(STAFF_NAME)
    save_screenshot(page, "inquiry.png")

    assert live_server.appointments(seeded.routine_id) == [("consult", "cancelled"), ("imaging", "booked")]
    [audit] = live_server.audit_events(seeded.routine_id)
    assert (audit.actor_name, audit.reason) == (STAFF_NAME, OVERRIDE_REASON)


def test_a_wrong_token_is_refused(page, context, live_server, seeded: Seed):
    page.goto("/console/login")
    page.get_by_label("Staff token").fill("rt_not-a-real-token")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Sign in").click()
    assert posted.value.status == 401
    expect(page.get_by_text("not valid")).to_be_visible()
    expect(page.get_by_label("Staff token")).to_be_visible()

    response = context.request.get("/console/", max_redirects=0)
    assert response.status == 303
    assert LOGIN_URL.search(response.headers["location"])
    page.goto("/console/")
    expect(page).to_have_url(LOGIN_URL)
    for path in (f"/console/inquiries/{seeded.routine_id}", "/console/rulebook"):
        response = context.request.get(path, max_redirects=0)
        assert response.status == 303, path
        assert LOGIN_URL.search(response.headers["location"]), path


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(page, context, live_server, seeded: Seed):
    sign_in(page, seeded.token)
    page.goto(f"/console/inquiries/{seeded.routine_id}")
    form = page.locator("#override-form")
    form.get_by_label("New route").select_option("imaging")
    form.get_by_label("Reason").fill(OVERRIDE_REASON)
    page.evaluate("document.querySelector('#override-form input[name=csrf_token]').remove()")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        form.get_by_role("button", name="Override route").click()
    assert posted.value.status == 400

    # The same through the context's request API, which carries the session cookie but no token.
    response = context.request.post(
        f"/console/inquiries/{seeded.routine_id}/override",
        form={"route": "imaging", "reason": OVERRIDE_REASON},
        max_redirects=0,
    )
    assert response.status == 400

    assert live_server.audit_events(seeded.routine_id) == []
    assert live_server.appointments(seeded.routine_id) == [("consult", "booked")]


def test_the_login_form_works_with_the_keyboard_alone(page, live_server, seeded: Seed):
    page.goto("/console/login")
    token_field = page.locator("#token")
    for _ in range(10):  # the field may hold focus already (autofocus); otherwise Tab to it
        if token_field.evaluate("element => element === document.activeElement"):
            break
        page.keyboard.press("Tab")
    expect(token_field).to_be_focused()
    page.keyboard.type(seeded.token)
    page.keyboard.press("Enter")
    expect(page).to_have_url(QUEUE_URL)
    expect(page.locator("#queue")).to_be_visible()


def test_the_rulebook_lists_r1_first_and_tries_a_message(page, live_server, seeded: Seed):
    rulebook = live_server.app.extensions["routing"].rulebook
    sign_in(page, seeded.token)
    page.goto("/console/rulebook")
    rules = page.locator("ol#rules > li")
    expect(rules).to_have_count(len(rulebook.rules))
    expect(rules.first).to_contain_text("R1")
    expect(page.locator("main")).to_contain_text(rulebook.version)

    form = page.locator("#try-form")
    form.get_by_label("Message").fill(RED_FLAG)
    form.get_by_role("button", name="Try it").click()
    result = page.locator("#try-result")
    expect(result).to_contain_text(URGENT_REVIEW)
    expect(result).to_contain_text("emergency")
    save_screenshot(page, "rulebook.png")


def test_sign_out_ends_the_session(page, context, live_server, seeded: Seed):
    sign_in(page, seeded.token)
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(LOGIN_URL)
    page.goto("/console/")
    expect(page).to_have_url(LOGIN_URL)
    assert context.request.get("/console/", max_redirects=0).status == 303


def test_a_stale_form_is_refused_with_an_error_flash(page, context, live_server, seeded: Seed):
    sign_in(page, seeded.token)
    stale = context.new_page()  # the same inquiry open in a second tab, before the first tab's change
    stale.goto(f"/console/inquiries/{seeded.routine_id}")
    page.goto(f"/console/inquiries/{seeded.routine_id}")
    form = page.locator("#override-form")
    form.get_by_label("New route").select_option("imaging")
    form.get_by_label("Reason").fill(OVERRIDE_REASON)
    form.get_by_role("button", name="Override route").click()
    expect(page.locator("p.flash.success")).to_be_visible()

    form = stale.locator("#override-form")
    form.get_by_label("New route").select_option("injection")
    form.get_by_label("Reason").fill("second thoughts")
    form.get_by_role("button", name="Override route").click()
    expect(stale.locator("p.flash.error")).to_be_visible()
    expect(stale.locator("p.flash.success")).to_have_count(0)
    assert [event.reason for event in live_server.audit_events(seeded.routine_id)] == [OVERRIDE_REASON]
    assert live_server.appointments(seeded.routine_id) == [("consult", "cancelled"), ("imaging", "booked")]


def test_a_callback_is_recorded_on_the_emergency(page, live_server, seeded: Seed):
    sign_in(page, seeded.token)
    row_of(page, seeded.emergency_id).get_by_role("link", name="Ana Diaz").click()
    form = page.locator("#callback-form")
    expect(form.locator('input[type="radio"][name="outcome"]')).to_have_count(3)
    form.get_by_label("sent to the emergency department").check()
    form.get_by_label("Note").fill("Told her to go to the ER now")
    form.get_by_role("button", name="Record call-back").click()

    expect(page).to_have_url(re.compile(rf"/console/inquiries/{seeded.emergency_id}$"))
    expect(page.locator("p.flash.success")).to_be_visible()
    event = page.locator("#audit li.audit-event").filter(has_text=STAFF_NAME)
    expect(event).to_have_count(1)
    expect(event).to_contain_text("call-back")
    expect(event).to_contain_text("sent to the emergency department")
    [audit] = live_server.audit_events(seeded.emergency_id)
    assert audit.actor_name == STAFF_NAME


def test_retriage_shows_old_and_new_and_applies(page, live_server, seeded: Seed):
    sign_in(page, seeded.token)
    page.goto(f"/console/inquiries/{seeded.routine_id}")
    page.locator("#retriage-form").get_by_role("button", name="Re-run triage").click()
    apply = page.get_by_role("button", name="Apply new decision")
    expect(apply).to_be_visible()
    expect(page.locator("main")).to_contain_text("consult")
    assert live_server.audit_events(seeded.routine_id) == []  # a preview changes nothing

    apply.click()
    expect(page).to_have_url(re.compile(rf"/console/inquiries/{seeded.routine_id}$"))
    expect(page.locator("p.flash.success")).to_be_visible()
    expect(page.locator("#audit li.audit-event")).to_have_count(1)
    assert live_server.appointments(seeded.routine_id) == [("consult", "booked")]  # bookings untouched
