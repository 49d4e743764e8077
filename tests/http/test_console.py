"""The staff console through the test client: sign-in, CSRF, sessions, escaping (the browser suite does the rest)."""

from __future__ import annotations

import html
import re

import pytest
from flask import request as flask_request
from sqlalchemy import select

from routing import create_app
from routing.adapters.db.models import AuditEvent
from routing.http.console_text import highlight
from routing.services import staff_tokens
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
