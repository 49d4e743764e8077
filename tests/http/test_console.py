"""The staff console through the test client: sign-in, CSRF, sessions, escaping (the browser suite does the rest)."""

from __future__ import annotations

import hashlib
import html
import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

import pytest
from flask import request as flask_request
from sqlalchemy import func, select, update

from routing import create_app
from routing.adapters.db.models import AuditEvent, ConsoleSession, StaffToken
from routing.config import ConfigError, load_settings
from routing.domain.labels import LABELS as LABEL_TABLE
from routing.http.console_forms import PER_PAGE
from routing.http.console_text import LABELS, fact_value, highlight, label, local, reason_text
from routing.services import console_sessions, staff_tokens
from tests.conftest import settings_for
from tests.http.admin_helpers import make_token, new_inquiry
from tests.http.intake_helpers import add_slots, inquiry


@pytest.fixture
def app(migrated_url):
    application = create_app(settings_for(migrated_url, ROUTING_SECRET_KEY="k" * 40, ROUTING_COOKIE_SECURE="off"))
    add_slots(application, "consult", [26, 27, 28])
    add_slots(application, "imaging", [72], minutes=60)
    yield application
    application.extensions["routing"].db.dispose()


def csrf_of(page) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)


def sign_in(client, token: str):
    page = client.get("/console/login")
    return client.post("/console/login", data={"token": token, "csrf_token": csrf_of(page)})


def test_pages_need_a_signed_in_staff_member(client):
    for path in ("/console/", "/console/rulebook", "/console/inquiries/00000000-0000-0000-0000-000000000000"):
        response = client.get(path)
        assert response.status_code == 303
        assert response.headers["Location"].endswith("/console/login")


def test_signing_in_sets_a_strict_http_only_cookie_holding_no_token(app, client):
    token = make_token(app, "Nina Nurse", "staff")

    response = sign_in(client, token)

    assert response.status_code == 303
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert token not in cookie
    assert client.get("/console/").status_code == 200


def test_the_cookie_is_secure_only_by_default(migrated_url):
    app = create_app(settings_for(migrated_url, ROUTING_SECRET_KEY="k" * 40))
    token = make_token(app, "Nina Nurse", "staff")

    cookie = sign_in(app.test_client(), token).headers["Set-Cookie"]

    assert "Secure" in cookie
    app.extensions["routing"].db.dispose()


def test_a_wrong_token_is_refused(client):
    response = sign_in(client, "rt_wrong")

    assert response.status_code == 401
    assert "not valid" in response.get_data(as_text=True)
    assert client.get("/console/").status_code == 303


def test_revoking_the_token_ends_the_session(app, client):
    token = make_token(app, "Nina Nurse", "staff")
    sign_in(client, token)
    with app.extensions["routing"].db.session() as session, session.begin():
        staff_tokens.revoke_token(session, "Nina Nurse")

    assert client.get("/console/").status_code == 303


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(app, client):
    token = make_token(app, "Nina Nurse", "staff")
    sign_in(client, token)
    inquiry_id = new_inquiry(client)
    page = client.get(f"/console/inquiries/{inquiry_id}")
    etag = html.unescape(re.search(r'name="etag" value="([^"]+)"', page.get_data(as_text=True)).group(1))
    form = {"etag": etag, "route": "imaging", "slot_id": "", "reason": "MRI first"}

    refused = client.post(f"/console/inquiries/{inquiry_id}/override", data=form)
    forged = client.post(f"/console/inquiries/{inquiry_id}/override", data={**form, "csrf_token": "forged"})
    accepted = client.post(f"/console/inquiries/{inquiry_id}/override", data={**form, "csrf_token": csrf_of(page)})

    assert (refused.status_code, forged.status_code, accepted.status_code) == (400, 400, 303)
    with app.extensions["routing"].db.session() as session:
        assert [e.action for e in session.scalars(select(AuditEvent))] == ["override"]


@pytest.mark.parametrize(
    ("action", "field", "extra"),
    [
        ("override", "reason", {"route": "imaging", "slot_id": ""}),
        ("cancel", "reason", {}),
        ("callback", "note", {"outcome": "no_answer"}),
    ],
)
def test_a_control_character_in_a_reason_or_note_is_refused_in_words_and_changes_nothing(
    app, client, action, field, extra
):
    sign_in(client, make_token(app, "Nina Nurse", "staff"))
    inquiry_id = new_inquiry(client, "Severe back pain and I can't control my bladder.")
    page = client.get(f"/console/inquiries/{inquiry_id}")
    etag = html.unescape(re.search(r'name="etag" value="([^"]+)"', page.get_data(as_text=True)).group(1))
    form = {"etag": etag, "csrf_token": csrf_of(page), field: "spoke to her\x00 daughter", **extra}

    answer = client.post(f"/console/inquiries/{inquiry_id}/{action}", data=form, follow_redirects=True)

    assert "Contains U+0000, a control character, at character 13; remove it." in answer.get_data(as_text=True)
    with app.extensions["routing"].db.session() as session:
        assert session.scalars(select(AuditEvent)).all() == []


def test_a_console_form_is_read_by_the_api_s_schema_with_the_api_s_messages(app, client):
    token = make_token(app, "Nina Nurse", "staff")
    sign_in(client, token)
    inquiry_id = new_inquiry(client)
    page = client.get(f"/console/inquiries/{inquiry_id}")
    etag = html.unescape(re.search(r'name="etag" value="([^"]+)"', page.get_data(as_text=True)).group(1))
    long_reason = "MRI first " * 120  # 1,200 characters: the API refuses it, so must the console (not cut it)
    form = {"etag": etag, "csrf_token": csrf_of(page), "route": "imaging", "reason": long_reason}

    shown = client.post(f"/console/inquiries/{inquiry_id}/override", data=form, follow_redirects=True)
    api = client.post(
        f"/v1/admin/inquiries/{inquiry_id}/override",
        json={"route": "imaging", "reason": long_reason},
        headers={"Authorization": f"Bearer {token}", "If-Match": etag},
    )

    assert api.get_json()["errors"] == {"reason": ["Give a reason of 3 to 1000 characters."]}
    assert "Reason: Give a reason of 3 to 1000 characters." in shown.get_data(as_text=True)
    with app.extensions["routing"].db.session() as session:
        assert session.scalars(select(AuditEvent)).all() == []


def test_the_api_is_not_subject_to_console_csrf(client):
    assert client.post("/v1/inquiries", json=inquiry()).status_code == 201


def test_console_pages_run_no_script_and_cannot_be_framed(app, client):
    sign_in(client, make_token(app, "Nina Nurse", "staff"))

    policy = client.get("/console/").headers["Content-Security-Policy"]

    assert "default-src 'none'" in policy
    assert "script-src" not in policy  # so no script at all
    assert "frame-ancestors 'none'" in policy


def test_the_message_is_escaped_and_its_fact_phrases_highlighted(app, client):
    sign_in(client, make_token(app, "Nina Nurse", "staff"))
    inquiry_id = new_inquiry(client, "<script>alert(1)</script> Lifted a couch yesterday, back spasm.")

    page = client.get(f"/console/inquiries/{inquiry_id}").get_data(as_text=True)

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page
    assert "<mark>" in page


def test_highlight_merges_overlapping_phrases_and_ignores_case():
    pieces = highlight("Lifted a COUCH yesterday", ["lifted a couch", "couch yesterday", ""])

    assert pieces == [("Lifted a COUCH yesterday", True)]
    assert highlight("no match here", ["absent"]) == [("no match here", False)]


def test_only_console_requests_open_a_cookie_session(app):
    # Opening a signed cookie session costs every request a serializer; the API never uses one.
    interface = app.session_interface
    with app.test_request_context("/v1/inquiries", method="POST"):
        assert interface.open_session(app, flask_request) is None
    with app.test_request_context("/console/queue"):
        assert interface.open_session(app, flask_request) is not None


def test_the_queue_flags_an_inquiry_held_for_reading_and_its_language(app, client):
    client.post("/v1/inquiries", json=inquiry("J'ai mal au dos depuis une semaine, la douleur descend dans la jambe."))
    sign_in(client, make_token(app, "Sam Staff", "staff"))

    page = client.get("/console/").get_data(as_text=True)

    assert "READ FIRST · language" in page
    assert '<span class="badge" title="the inquiry\'s language">fr</span>' in page


# --- sessions kept on the server ------------------------------------------------------------------------


def _cookie(client) -> str:
    return client.get_cookie("routing_console").value


def _with_cookie(app, value: str):
    other = app.test_client()
    other.set_cookie("routing_console", value)
    return other


def _move_session(app, **changes) -> None:
    """Make every console session older (``created_at`` / ``last_seen_at`` moved back by the given deltas)."""
    with app.extensions["routing"].db.session() as session, session.begin():
        for row in session.scalars(select(ConsoleSession)):
            for column, delta in changes.items():
                setattr(row, column, getattr(row, column) - delta)


def _login_notice(client, response) -> str:
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/console/login")
    page = client.get("/console/login").get_data(as_text=True)
    return re.search(r'<p class="flash (?:error|success)"[^>]*>([^<]*)</p>', page).group(1)


def test_a_cookie_copied_before_sign_out_stops_working_after_it(app, client):
    sign_in(client, make_token(app, "Nina Nurse", "staff"))
    copied = _cookie(client)
    assert _with_cookie(app, copied).get("/console/").status_code == 200

    page = client.get("/console/")
    client.post("/console/logout", data={"csrf_token": csrf_of(page)})

    thief = _with_cookie(app, copied)
    assert _login_notice(thief, thief.get("/console/")) == "Your session has ended. Sign in again."
    with app.extensions["routing"].db.session() as session:
        assert session.scalars(select(ConsoleSession)).all() == []


def test_the_cookie_holds_neither_the_token_nor_the_stored_session_id(app, client):
    token = make_token(app, "Nina Nurse", "staff")
    sign_in(client, token)

    with app.extensions["routing"].db.session() as session:
        (row,) = session.scalars(select(ConsoleSession)).all()
    decoded = app.session_interface.get_signing_serializer(app).loads(_cookie(client))
    assert set(decoded) == {"_permanent", "sid"}
    assert row.id == hashlib.sha256(decoded["sid"].encode()).hexdigest()
    assert token not in _cookie(client)
    assert row.id not in _cookie(client)


def test_a_session_idle_past_the_default_30_minutes_ends(app, client):
    sign_in(client, make_token(app, "Nina Nurse", "staff"))
    _move_session(app, last_seen_at=timedelta(minutes=29), created_at=timedelta(minutes=29))
    assert client.get("/console/").status_code == 200

    _move_session(app, last_seen_at=timedelta(minutes=31), created_at=timedelta(minutes=31))

    notice = _login_notice(client, client.get("/console/"))
    assert notice == "You were signed out after 30 minutes without activity. Sign in again."
    assert client.get("/console/").status_code == 303


def test_a_session_ends_12_hours_after_sign_in_however_active(app, client):
    sign_in(client, make_token(app, "Nina Nurse", "staff"))
    _move_session(app, created_at=timedelta(hours=11, minutes=59))
    assert client.get("/console/").status_code == 200

    _move_session(app, created_at=timedelta(minutes=2))

    notice = _login_notice(client, client.get("/console/"))
    assert notice == "You were signed out: a session lasts at most 12 hours. Sign in again."


def test_the_timeouts_come_from_the_environment(migrated_url):
    app = create_app(
        settings_for(
            migrated_url,
            ROUTING_SECRET_KEY="k" * 40,
            ROUTING_COOKIE_SECURE="off",
            ROUTING_CONSOLE_IDLE_MINUTES="5",
            ROUTING_CONSOLE_MAX_HOURS="1",
        )
    )
    client = app.test_client()
    sign_in(client, make_token(app, "Nina Nurse", "staff"))
    _move_session(app, last_seen_at=timedelta(minutes=6))

    notice = _login_notice(client, client.get("/console/"))

    assert notice == "You were signed out after 5 minutes without activity. Sign in again."
    cookie = sign_in(client, make_token(app, "Nina Nurse", "staff")).headers["Set-Cookie"]
    expires = parsedate_to_datetime(re.search(r"Expires=([^;]+)", cookie).group(1))
    assert timedelta(minutes=59) < expires - datetime.now(UTC) <= timedelta(hours=1)
    app.extensions["routing"].db.dispose()


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"ROUTING_CONSOLE_IDLE_MINUTES": "0"},
            "ROUTING_CONSOLE_IDLE_MINUTES='0' is not valid; use a int of at least 1.",
        ),
        (
            {"ROUTING_CONSOLE_MAX_HOURS": "half"},
            "ROUTING_CONSOLE_MAX_HOURS='half' is not valid; use a int of at least 1.",
        ),
        (
            {"ROUTING_CONSOLE_IDLE_MINUTES": "90", "ROUTING_CONSOLE_MAX_HOURS": "1"},
            "ROUTING_CONSOLE_IDLE_MINUTES=90 is longer than ROUTING_CONSOLE_MAX_HOURS=1; "
            "the idle timeout must fit inside the session's whole life.",
        ),
    ],
)
def test_bad_console_timeouts_stop_the_service_naming_the_setting(environ, message):
    with pytest.raises(ConfigError) as error:
        load_settings(environ=environ)

    assert str(error.value) == message


def test_the_console_timeouts_default_to_30_minutes_and_12_hours():
    settings = load_settings(environ={})

    assert (settings.console_idle_minutes, settings.console_max_hours) == (30, 12)


def test_a_visit_is_recorded_at_most_once_a_minute(app):
    db = app.extensions["routing"].db
    timeouts = console_sessions.Timeouts(idle=timedelta(minutes=30), max_age=timedelta(hours=12))
    start = datetime.now(UTC).replace(microsecond=0)
    with db.session() as session:
        staff = staff_tokens.authenticate(session, make_token(app, "Nina Nurse", "staff"), now=start)
        secret = console_sessions.start(session, staff, timeouts, now=start)
    seen = []
    for seconds in (30, 59, 60, 90, 125):
        with db.session() as session:
            console_sessions.resume(session, secret, timeouts, now=start + timedelta(seconds=seconds))
            seen.append(session.scalar(select(ConsoleSession.last_seen_at)) - start)

    assert seen == [timedelta(seconds=s) for s in (0, 0, 60, 60, 125)]


def test_signing_in_clears_sessions_that_ran_out(app, client):
    sign_in(client, make_token(app, "Nina Nurse", "staff"))
    _move_session(app, last_seen_at=timedelta(hours=1))

    sign_in(app.test_client(), make_token(app, "Sam Staff", "staff"))

    with app.extensions["routing"].db.session() as session:
        assert session.scalar(select(func.count()).select_from(ConsoleSession)) == 1


# --- expiring tokens in the console ---------------------------------------------------------------------


def _expiring_token(app, name: str, created: datetime, lifetime: timedelta) -> str:
    with app.extensions["routing"].db.session() as session, session.begin():
        _, token = staff_tokens.create_token(session, name, "staff", now=created, expires_in=lifetime)
    return token


def test_an_expired_token_cannot_sign_in_and_the_page_says_when_it_expired(app, client):
    token = _expiring_token(app, "Tess Temp", datetime(2026, 1, 1, 14, tzinfo=UTC), timedelta(days=30))

    response = sign_in(client, token)

    assert response.status_code == 401
    page = response.get_data(as_text=True)
    assert "This token expired on Sat 31 Jan 2026, 09:00 EST. Ask an admin for a new one." in page
    assert client.get("/console/").status_code == 303


def test_the_session_ends_when_its_token_expires(app, client):
    token = _expiring_token(app, "Tess Temp", datetime.now(UTC), timedelta(days=1))
    sign_in(client, token)
    assert client.get("/console/").status_code == 200
    with app.extensions["routing"].db.session() as session, session.begin():
        session.execute(update(StaffToken).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))

    notice = _login_notice(client, client.get("/console/"))

    assert notice == "Your token has expired; ask an admin for a new one."


def test_using_the_console_records_the_token_s_last_use(app, client):
    token = make_token(app, "Nina Nurse", "staff")

    sign_in(client, token)

    with app.extensions["routing"].db.session() as session:
        assert session.scalar(select(StaffToken.last_used_at)) is not None


# --- the queue: paging, filters, new since the last look --------------------------------------------------


def _queue_ids(page: str) -> list[str]:
    return re.findall(r'data-inquiry-id="([^"]+)"', page)


def _links(page: str) -> dict[str, str]:
    """The pager's links by their text (the first pager on the page)."""
    pager = page[page.index('<nav class="pager"') : page.index("</nav>", page.index('<nav class="pager"'))]
    return {text: html.unescape(href) for href, text in re.findall(r'<a href="([^"]+)" rel="\w+">([^<]+)</a>', pager)}


def test_the_queue_pages_through_every_inquiry_keeping_the_filters(app, client):
    routine = [new_inquiry(client) for _ in range(PER_PAGE + 2)]
    new_inquiry(client, "Back pain with a fever of 39 for three days.")
    sign_in(client, make_token(app, "Nina Nurse", "staff"))

    first = client.get("/console/?urgency=routine").get_data(as_text=True)
    links = _links(first)
    second = client.get(links["Next page"]).get_data(as_text=True)

    assert links == {"Next page": "/console/?page=2&urgency=routine", "Last page": "/console/?page=2&urgency=routine"}
    assert f"{PER_PAGE + 2} inquiries" in first
    assert '<span aria-current="page">Page 1 of 2</span>' in first
    assert '<span aria-current="page">Page 2 of 2</span>' in second
    assert _links(second) == {
        "First page": "/console/?page=1&urgency=routine",
        "Previous page": "/console/?page=1&urgency=routine",
    }
    assert sorted(_queue_ids(first) + _queue_ids(second)) == sorted(routine)
    assert len(_queue_ids(first)) == PER_PAGE


def test_a_page_past_the_end_goes_to_the_last_page(app, client):
    new_inquiry(client)
    sign_in(client, make_token(app, "Nina Nurse", "staff"))

    response = client.get("/console/?page=9&status=booked")

    assert response.status_code == 303
    assert response.headers["Location"] == "/console/?status=booked&page=1"


def test_the_queue_has_the_admin_api_s_filters(app, client):
    routine = new_inquiry(client)
    urgent = new_inquiry(client, "Back pain with a fever of 39 for three days.")
    sign_in(client, make_token(app, "Nina Nurse", "staff"))
    today = datetime.now(app.extensions["routing"].settings.timezone).date()
    tomorrow = today + timedelta(days=1)

    def shown(query: str) -> list[str]:
        return _queue_ids(client.get(f"/console/?{query}").get_data(as_text=True))

    assert shown("status=urgent_review") == [urgent]
    assert shown("route=consult") == [routine]
    assert shown("needs_review=no") == [routine]
    assert shown(f"received_from={today}&received_to={today}") == [urgent, routine]
    assert shown(f"received_from={tomorrow}") == []
    assert shown(f"received_to={today - timedelta(days=1)}") == []


def test_bad_filters_are_ignored_and_named(app, client):
    routine = new_inquiry(client)
    sign_in(client, make_token(app, "Nina Nurse", "staff"))

    response = client.get("/console/?status=lost&received_from=yesterday&route=consult&page=0")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert _queue_ids(page) == [routine]
    assert "Not understood, so ignored: page, received from, status." in page
    assert _links(page) == {}


def test_new_since_is_not_shown_on_the_first_view_and_counted_after(app, client):
    sign_in(client, make_token(app, "Nina Nurse", "staff"))

    first = client.get("/console/").get_data(as_text=True)
    arrived = new_inquiry(client)
    second = client.get("/console/").get_data(as_text=True)

    assert 'id="new-since"' not in first
    assert re.search(r'<span id="new-since" class="has-new">1 new since [^<]+</span>', second)
    assert f'class="inquiry new" data-inquiry-id="{arrived}"' in second


# --- words and times ----------------------------------------------------------------------------------------


def test_times_are_shown_in_the_clinic_s_zone_with_the_zone_named():
    tz = ZoneInfo("America/New_York")

    assert local("2026-11-26T14:00:00+00:00", tz) == "Thu 26 Nov 2026, 09:00 EST"
    assert local(datetime(2026, 7, 1, 14, tzinfo=UTC), tz) == "Wed 01 Jul 2026, 10:00 EDT"
    assert local(None, tz) == ""


def test_the_console_reads_its_words_from_the_one_labels_table():
    # No second copy: the console's table is the staff words the API descriptions are built from too.
    assert LABELS is LABEL_TABLE.staff
    assert label("imaging", "route") == "imaging (MRI)"
    assert label("saddle_numbness", "red_flag") == "numbness around the groin or buttocks"
    assert label(None, "route") == "—"


def test_fact_values_read_in_words_from_the_rulebook_s_labels(app):
    labels = app.extensions["routing"].rulebook.source["labels"]

    assert fact_value("red_flags", ["bladder_bowel_dysfunction", "fever"], labels) == "bladder or bowel changes, fever"
    assert fact_value("duration_days", 10, labels) == "10 days"
    assert fact_value("pain_score", 7, labels) == "7/10"
    assert fact_value("radiating_leg_pain", True, labels) == "pain spreading down a leg"
    assert fact_value("onset", "unknown", labels) == "not known"


def test_a_needs_review_reason_names_the_known_facts_in_words():
    reason = {"rule": "NR", "text": "Few details given (known: duration days, onset): staff should confirm."}

    assert reason_text(reason) == "Few details given (known: how long it has lasted, onset): staff should confirm."
    assert reason_text({"rule": "R1", "text": "Kept (known: duration days)"}) == "Kept (known: duration days)"


def test_the_inquiry_page_shows_labels_not_codes(app, client):
    sign_in(client, make_token(app, "Nina Nurse", "staff"))
    inquiry_id = new_inquiry(client, "My back hurts and since yesterday I can't control my bladder.")

    page = client.get(f"/console/inquiries/{inquiry_id}").get_data(as_text=True)

    assert "bladder_bowel_dysfunction" not in page
    assert "<td>red flags</td><td>bladder or bowel changes</td><td>message</td>" in page
    assert (
        '<input type="radio" id="outcome-referred_to_er" name="outcome" value="referred_to_er" required>\n'
        '      <label for="outcome-referred_to_er" class="inline">sent to the emergency department</label>'
    ) in page
    assert "Route <strong>urgent clinician review</strong>, urgency <strong>emergency</strong>" in page
    assert "times in America/New_York" in page


EMERGENCY = "Severe back pain and I can't control my bladder, numb when I wipe."


def _form_fields(page) -> dict[str, str]:
    text = page.get_data(as_text=True)
    etag = html.unescape(re.search(r'name="etag" value="([^"]+)"', text).group(1))
    return {"etag": etag, "csrf_token": csrf_of(page)}


def test_an_emergency_page_puts_the_call_back_first_with_no_outcome_chosen_and_names_the_patient(app, client):
    sign_in(client, make_token(app, "Nina Nurse", "staff"))
    inquiry_id = new_inquiry(client, EMERGENCY)

    page = client.get(f"/console/inquiries/{inquiry_id}").get_data(as_text=True)

    assert "<title>EMERGENCY · Ana Diaz · Inquiry · routing</title>" in page
    main = page[page.index('<main id="main">') :]
    assert main.index('id="callback-form"') < main.index('id="patient"') < main.index('id="override-form"')
    assert len(re.findall(r'<input type="radio"[^>]*name="outcome"[^>]*required>', page)) == 3
    assert "checked" not in page[page.index('id="callback-form"') : page.index("Record call-back")]
    assert '<a href="tel:+15550100">+1 555 0100</a>' in page


def test_a_routine_inquiry_page_is_titled_with_the_patient_and_offers_no_call_back(app, client):
    sign_in(client, make_token(app, "Nina Nurse", "staff"))
    inquiry_id = new_inquiry(client)

    page = client.get(f"/console/inquiries/{inquiry_id}").get_data(as_text=True)

    assert "<title>Ana Diaz · Inquiry · routing</title>" in page
    assert 'id="callback-form"' not in page
    assert 'id="acknowledge-form"' not in page


def test_a_call_back_without_an_outcome_is_refused_and_changes_nothing(app, client):
    sign_in(client, make_token(app, "Nina Nurse", "staff"))
    inquiry_id = new_inquiry(client, EMERGENCY)
    page = client.get(f"/console/inquiries/{inquiry_id}")

    response = client.post(f"/console/inquiries/{inquiry_id}/callback", data=_form_fields(page))

    assert response.status_code == 303
    after = client.get(f"/console/inquiries/{inquiry_id}").get_data(as_text=True)
    assert "Choose the call-back&#39;s outcome." in after
    assert _audit_actions(app) == []


def test_an_acknowledged_emergency_stops_saying_call_now_and_says_who_handled_it(app, client):
    sign_in(client, make_token(app, "Nina Nurse", "staff"))
    inquiry_id = new_inquiry(client, EMERGENCY)
    page = client.get(f"/console/inquiries/{inquiry_id}")

    response = client.post(
        f"/console/inquiries/{inquiry_id}/acknowledge", data={**_form_fields(page), "note": "called from my mobile"}
    )

    assert response.status_code == 303
    after = client.get(f"/console/inquiries/{inquiry_id}").get_data(as_text=True)
    assert "call now" not in after
    assert "<title>Ana Diaz · Inquiry · routing</title>" in after
    assert re.search(
        r"Emergency handled by <strong>Nina Nurse</strong>, \w{3} \d{2} \w{3} \d{4}, [\d:]+ \w+: acknowledged", after
    )
    assert 'id="acknowledge-form"' not in after
    queue = client.get("/console/").get_data(as_text=True)
    assert "call now" not in queue
    assert "emergency · handled</span>" in queue
    assert _audit_actions(app) == ["acknowledge"]


def test_the_queue_has_no_timed_reload_but_a_refresh_link_keeping_filters(app, client):
    sign_in(client, make_token(app, "Nina Nurse", "staff"))
    new_inquiry(client)

    page = client.get("/console/?status=booked&page=1").get_data(as_text=True)

    assert 'http-equiv="refresh"' not in page
    assert '<a id="refresh" href="/console/?page=1&amp;status=booked">Refresh</a>' in page


def test_other_pages_count_inquiries_that_arrived_since_the_queue_was_last_opened(app, client):
    sign_in(client, make_token(app, "Nina Nurse", "staff"))
    first = new_inquiry(client)
    client.get("/console/")
    new_inquiry(client, EMERGENCY)
    new_inquiry(client, "My neck has been stiff for two weeks.")

    page = client.get(f"/console/inquiries/{first}").get_data(as_text=True)
    assert 'id="nav-queue">Queue <span class="badge new">2 new</span></a>' in page
    again = client.get(f"/console/inquiries/{first}").get_data(as_text=True)
    assert '<span class="badge new">2 new</span>' in again  # looking elsewhere does not clear it

    queue = client.get("/console/").get_data(as_text=True)
    assert '<span id="new-since" class="has-new">2 new since' in queue
    assert 'id="nav-queue">Queue</a>' in client.get(f"/console/inquiries/{first}").get_data(as_text=True)


def test_the_queue_searches_by_patient_name_and_the_patient_name_is_the_link(app, client):
    sign_in(client, make_token(app, "Nina Nurse", "staff"))
    ana = new_inquiry(client)
    bea = {"first_name": "Bea", "last_name": "Lopez", "email": "bea@example.org", "phone": "+1 555 0199"}
    client.post("/v1/inquiries", json=inquiry(patient=bea))

    page = client.get("/console/?search=ana+d").get_data(as_text=True)

    assert re.findall(r'data-inquiry-id="([^"]+)"', page) == [ana]
    assert f'<a href="/console/inquiries/{ana}">Ana Diaz</a>' in page
    assert 'value="ana d"' in page


def test_the_rulebook_page_shows_no_placeholders_or_python_reprs(app, client):
    sign_in(client, make_token(app, "Nina Nurse", "staff"))

    page = client.get("/console/rulebook").get_data(as_text=True)

    assert "{" not in page[page.index("<main") :]
    assert "[{" not in page
    assert "&#39;when&#39;" not in page
    assert "Emergency warning signs ([red flags])" in page
    assert re.search(r"<strong>M1</strong> severe pain", page)


def _audit_actions(app) -> list[str]:
    with app.extensions["routing"].db.session() as session:
        return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
