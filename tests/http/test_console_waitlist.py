"""The console's waitlist through the test client, on SQLite and PostgreSQL: the page per route with offers and
their timers, and staff's changes from it and from the inquiry page (the browser suite drives it end to end)."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from routing import create_app
from routing.adapters.db.models import AuditEvent, WaitlistEntry
from routing.http.console_text import duration
from tests.conftest import settings_for
from tests.http.admin_helpers import make_token
from tests.http.test_console import csrf_of, sign_in
from tests.waitlist.helpers import ROUTINE_IMAGING, URGENT_IMAGING, cancel, entries, offers, one_slot, submit, wiring


@pytest.fixture
def app(migrated_url):
    application = create_app(settings_for(migrated_url, ROUTING_SECRET_KEY="k" * 40, ROUTING_COOKIE_SECURE="off"))
    yield application
    application.extensions["routing"].db.dispose()


@pytest.fixture
def full_clinic(app, client):
    """One imaging slot 30 hours ahead, booked by a first patient; a routine then an urgent patient wait for it."""
    start = one_slot(app, 30)
    booked = submit(client, ROUTINE_IMAGING)
    routine = submit(client, ROUTINE_IMAGING)
    urgent = submit(client, URGENT_IMAGING)
    return start, booked, routine, urgent


@pytest.fixture
def staff(app, client):
    sign_in(client, make_token(app, "Nina Nurse", "staff"))
    return client


def text_of(response) -> str:
    """The page's text, tags and runs of spaces dropped."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))


def entry_id(app, inquiry_id):
    with wiring(app).db.session() as session:
        return session.scalar(select(WaitlistEntry.id).where(WaitlistEntry.inquiry_id == inquiry_id))


def audit_actions(app, inquiry_id) -> list[tuple[str, str, str | None]]:
    with wiring(app).db.session() as session:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.inquiry_id == inquiry_id).order_by(AuditEvent.id))
        return [(row.action, row.actor_name, row.reason) for row in rows]


def test_the_waitlist_page_lists_a_route_s_entries_most_urgent_first_with_the_open_offer_s_timer(
    app, staff, full_clinic
):
    _start, booked, routine, urgent = full_clinic
    cancel(app, booked)

    page = staff.get("/console/waitlist?slot_type=imaging")

    assert page.status_code == 200
    body = page.get_data(as_text=True)
    rows = re.findall(r'<tr class="entry (\w+)" data-entry-id="[^"]+" data-inquiry-id="([^"]+)"', body)
    assert rows == [("offered", str(urgent)), ("waiting", str(routine))]
    assert re.search(r'<time class="time-left" datetime="PT7\d{3}S">1 h 59 min</time> left', body)
    text = text_of(page)
    assert "2 on the list for imaging" in text
    assert "waiting for the patient" in text  # the labels table's words for an open offer
    assert 'aria-current="page">imaging (2)</a>' in body
    assert "Nobody on the list for consultation." in text_of(staff.get("/console/waitlist?slot_type=consult"))
    assert 'id="nav-waitlist"' in body


def test_reprioritising_from_the_page_is_audited_and_goes_back_to_the_route_s_page(app, client, staff, full_clinic):
    _start, _booked, routine, _urgent = full_clinic
    page = staff.get("/console/waitlist?slot_type=imaging")

    response = staff.post(
        f"/console/waitlist/{entry_id(app, routine)}/change",
        data={
            "csrf_token": csrf_of(page),
            "slot_type": "imaging",
            "priority": "5",
            "unavailable_times": "Mondays\r\n\r\n",
            "reason": "Dr Lee: scan first",
        },
    )

    assert response.status_code == 303
    assert response.headers["Location"].endswith("/console/waitlist?slot_type=imaging")
    assert entries(app)[routine] == ("waiting", 5)
    assert audit_actions(app, routine) == [
        ("waitlist.reprioritised", "Nina Nurse", "Dr Lee: scan first"),
        ("waitlist.unavailable_times_changed", "Nina Nurse", "Dr Lee: scan first"),
    ]
    assert "Entry updated." in text_of(client.get("/console/waitlist?slot_type=imaging"))


def test_a_bad_change_is_explained_and_changes_nothing(app, staff, full_clinic):
    _start, _booked, routine, _urgent = full_clinic
    page = staff.get("/console/waitlist?slot_type=imaging")

    response = staff.post(
        f"/console/waitlist/{entry_id(app, routine)}/change",
        data={
            "csrf_token": csrf_of(page),
            "priority": "0",
            "unavailable_times": "Mondays\nwhen it rains",
            "reason": "",
        },
        follow_redirects=True,
    )

    assert response.status_code == 200
    assert (
        "Reason: Give a reason of 3 to 1000 characters. "
        "Priority: Give a whole number from 1 (offered first) to 99 (last)."
    ) in text_of(response)
    unread = staff.post(
        f"/console/waitlist/{entry_id(app, routine)}/change",
        data={
            "csrf_token": csrf_of(page),
            "priority": "60",
            "unavailable_times": "Mondays\nwhen it rains",
            "reason": "ok?",
        },
        follow_redirects=True,
    )
    assert (
        "Some unavailable times could not be read. Unavailable times (line 2): Not understood; use days and times "
        "such as 'Mondays', 'before 10am' or 'Friday afternoons'."
    ) in text_of(unread)
    assert entries(app)[routine] == ("waiting", 60)
    assert audit_actions(app, routine) == []


def test_a_change_without_its_csrf_token_is_refused(app, staff, full_clinic):
    _start, _booked, routine, _urgent = full_clinic

    response = staff.post(f"/console/waitlist/{entry_id(app, routine)}/remove", data={"reason": "no token"})

    assert response.status_code == 400
    assert entries(app)[routine] == ("waiting", 60)


def test_the_inquiry_page_shows_the_entry_its_offer_and_the_waitlist_audit_lines(app, staff, full_clinic):
    start, booked, _routine, urgent = full_clinic
    cancel(app, booked)

    page = staff.get(f"/console/inquiries/{urgent}")

    assert page.status_code == 200
    text = text_of(page)
    assert "slot offered — imaging, window ends" in text
    assert "priority 20 (urgent)" in text
    assert re.search(
        r"imaging, \w{3} \d\d \w{3} \d{4}, \d\d:\d\d E[SD]T .* waiting for the patient .* 1 h 59 min left", text
    )
    assert "waitlist slot offered by waitlist (imaging," in text
    assert 'id="waitlist-remove-form"' in page.get_data(as_text=True)
    assert 'id="waitlist-add-form"' not in page.get_data(as_text=True)
    assert offers(app) == [(urgent, "open", start)]


def test_taking_off_from_the_inquiry_page_withdraws_the_offer_and_goes_back_to_it(app, staff, full_clinic):
    start, booked, routine, urgent = full_clinic
    cancel(app, booked)
    page = staff.get(f"/console/inquiries/{urgent}")

    response = staff.post(
        f"/console/waitlist/{entry_id(app, urgent)}/remove",
        data={"csrf_token": csrf_of(page), "back_to_inquiry": str(urgent), "reason": "booked at another clinic"},
        follow_redirects=True,
    )

    assert response.request.path == f"/console/inquiries/{urgent}"
    text = text_of(response)
    assert "Taken off the waitlist." in text
    assert "taken off — imaging, window ends" in text
    assert "taken off the waitlist by Nina Nurse: “booked at another clinic”" in text
    assert "Put on the waitlist" in text  # it waits for staff again, off the list: it may go back on
    assert sorted(offers(app), key=lambda offer: offer[1]) == [(routine, "open", start), (urgent, "withdrawn", start)]


def test_putting_an_inquiry_on_the_waitlist_from_its_page(app, staff, full_clinic):
    start, booked, _routine, urgent = full_clinic
    cancel(app, booked)  # offered to the urgent entry; the booked patient's inquiry now waits for staff
    page = staff.get(f"/console/inquiries/{booked}")
    assert 'id="waitlist-add-form"' in page.get_data(as_text=True)

    response = staff.post(
        f"/console/inquiries/{booked}/waitlist",
        data={"csrf_token": csrf_of(page), "back_to_inquiry": str(booked), "priority": "", "reason": "wants a slot"},
        follow_redirects=True,
    )

    assert response.request.path == f"/console/inquiries/{booked}"
    assert "Put on the waitlist." in text_of(response)
    assert "put on the waitlist by Nina Nurse: “wants a slot” (priority 60, imaging by" in text_of(response)
    assert entries(app)[booked] == ("waiting", 60)
    again = staff.post(
        f"/console/inquiries/{booked}/waitlist",
        data={"csrf_token": csrf_of(page), "back_to_inquiry": str(booked), "reason": "twice"},
        follow_redirects=True,
    )
    assert "This inquiry is on the waitlist already" in text_of(again)
    assert offers(app) == [(urgent, "open", start)]


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (None, ""),
        (0, "less than a minute"),
        (59, "less than a minute"),
        (60, "1 min"),
        (7140, "1 h 59 min"),
        (7200, "2 h"),
        (86400, "1 day"),
        (3 * 86400 + 2 * 3600 + 59, "3 days 2 h"),
    ],
)
def test_durations_read_as_a_person_says_them(seconds, said):
    assert duration(seconds) == said
