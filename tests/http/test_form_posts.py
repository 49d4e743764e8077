"""Posts from the served form at POST /v1/inquiries: the form token, the honeypot, the fill time, consent.

Only a post that carries ``form_token`` is checked: JSON clients and a clinic's own HTML form are unaffected
(``test_a_post_without_a_form_token_is_an_ordinary_delivery``).
"""

from __future__ import annotations

import logging
import time

import pytest

from routing import create_app
from routing.adapters.db.models import Inquiry
from routing.http import form_token
from tests.conftest import settings_for
from tests.http.form_helpers import BROWSER, read_page, served_token, strain_form
from tests.http.intake_helpers import SECRET, add_slots, count

PROBLEM = "application/problem+json"


@pytest.fixture
def slots(app):
    add_slots(app, "consult", [26, 27, 28])
    return app


@pytest.fixture
def signed_app(migrated_url):
    """Deliveries must be signed (ROUTING_WEBHOOK_SECRET), as a clinic with a server-side integration sets it."""
    application = create_app(settings_for(migrated_url, ROUTING_WEBHOOK_SECRET=SECRET))
    add_slots(application, "consult", [26, 27])
    yield application
    application.extensions["routing"].db.dispose()


def problem_type(response) -> str:
    return response.get_json()["type"]


def test_a_post_from_the_served_form_is_stored_and_booked(slots, client):
    response = client.post("/v1/inquiries", data=strain_form(served_token(slots)))

    assert response.status_code == 201
    assert response.get_json()["status"] == "booked"
    assert count(slots, Inquiry) == 1


def test_the_same_form_sent_twice_is_one_inquiry(slots, client):
    answers = strain_form(served_token(slots))

    first = client.post("/v1/inquiries", data=answers)
    again = client.post("/v1/inquiries", data=answers)  # a double click

    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json()["id"] == again.get_json()["id"]
    assert count(slots, Inquiry) == 1


def test_the_same_answers_from_two_forms_are_two_inquiries(slots, client):
    first = client.post("/v1/inquiries", data=strain_form(served_token(slots, seconds_ago=60)))
    second = client.post("/v1/inquiries", data=strain_form(served_token(slots, seconds_ago=30)))

    assert (first.status_code, second.status_code) == (201, 201)
    assert count(slots, Inquiry) == 2


def test_a_forged_token_is_refused_and_nothing_is_stored(slots, client):
    forged = form_token.issue("not-the-app-secret-" * 3, "en", time.time() - 60)

    responses = [
        client.post("/v1/inquiries", data=strain_form(forged)),
        client.post("/v1/inquiries", data=strain_form("not a token at all")),
        client.post("/v1/inquiries", data=strain_form(served_token(slots)[:-2] + "xx")),
    ]

    assert [(r.status_code, r.mimetype) for r in responses] == [(400, PROBLEM)] * 3
    assert {problem_type(r) for r in responses} == {"urn:routing:problem:invalid-form-token"}
    assert count(slots, Inquiry) == 0


def test_an_expired_token_is_refused(slots, client):
    day_old = served_token(slots, seconds_ago=24 * 3600 + 5)

    response = client.post("/v1/inquiries", data=strain_form(day_old))

    assert response.status_code == 400
    assert problem_type(response) == "urn:routing:problem:expired-form-token"
    assert count(slots, Inquiry) == 0


def test_the_token_lifetime_is_a_setting(migrated_url):
    app = create_app(settings_for(migrated_url, ROUTING_FORM_TOKEN_HOURS="1"))
    client = app.test_client()

    hour_old = client.post("/v1/inquiries", data=strain_form(served_token(app, seconds_ago=3700)))
    fresh = client.post("/v1/inquiries", data=strain_form(served_token(app, seconds_ago=3500)))

    assert problem_type(hour_old) == "urn:routing:problem:expired-form-token"
    assert fresh.status_code == 201
    app.extensions["routing"].db.dispose()


def test_a_filled_honeypot_is_refused_and_nothing_is_stored(slots, client, caplog):
    with caplog.at_level(logging.INFO, logger="routing.events"):
        response = client.post("/v1/inquiries", data=strain_form(served_token(slots), homepage="http://spam.example"))

    assert response.status_code == 400
    assert problem_type(response) == "urn:routing:problem:form-not-sent"
    assert count(slots, Inquiry) == 0
    refused = [record for record in caplog.records if getattr(record, "event", None) == "form.refused"]
    assert [record.reason for record in refused] == ["honeypot"]


def test_a_post_sooner_than_the_minimum_fill_time_is_refused(slots, client, caplog):
    with caplog.at_level(logging.INFO, logger="routing.events"):
        quick = client.post("/v1/inquiries", data=strain_form(served_token(slots, seconds_ago=0)))
        patient = client.post("/v1/inquiries", data=strain_form(served_token(slots, seconds_ago=4)))

    assert quick.status_code == 400
    assert problem_type(quick) == "urn:routing:problem:form-not-sent"
    assert patient.status_code == 201
    assert count(slots, Inquiry) == 1
    refused = [record for record in caplog.records if getattr(record, "event", None) == "form.refused"]
    assert [record.reason for record in refused] == ["too_fast"]


def test_the_minimum_fill_time_is_a_setting(migrated_url):
    app = create_app(settings_for(migrated_url, ROUTING_FORM_MIN_SECONDS="30"))

    response = app.test_client().post("/v1/inquiries", data=strain_form(served_token(app, seconds_ago=20)))

    assert problem_type(response) == "urn:routing:problem:form-not-sent"
    app.extensions["routing"].db.dispose()


def test_the_served_form_requires_consent(slots, client):
    unticked = strain_form(served_token(slots))
    del unticked["consent"]

    response = client.post("/v1/inquiries", data=unticked)
    said_no = client.post("/v1/inquiries", data=strain_form(served_token(slots), consent="false"))

    assert response.status_code == said_no.status_code == 422
    assert list(response.get_json()["errors"]) == list(said_no.get_json()["errors"]) == ["consent"]
    assert count(slots, Inquiry) == 0


def test_a_post_without_a_form_token_is_an_ordinary_delivery(slots, client):
    # A clinic's own HTML form: no token, no consent box, no honeypot checks; as before this change.
    answers = strain_form(homepage="anything")
    del answers["consent"]

    response = client.post("/v1/inquiries", data=answers)

    assert response.status_code == 201
    assert response.mimetype == "application/json"


def test_a_json_body_with_a_form_token_field_is_not_a_form_post(slots, client):
    body = {"patient": {"first_name": "Ana", "last_name": "Diaz", "phone": "+1 555 0100"}, "message": "Sore back."}

    response = client.post("/v1/inquiries", json={**body, "form_token": "anything"})

    assert response.status_code == 201


def test_with_signatures_required_the_form_token_stands_in_for_the_signature(signed_app):
    client = signed_app.test_client()

    from_form = client.post("/v1/inquiries", data=strain_form(served_token(signed_app)))
    unsigned = client.post("/v1/inquiries", data=strain_form())
    forged = client.post("/v1/inquiries", data=strain_form("forged"))

    assert from_form.status_code == 201
    assert (unsigned.status_code, problem_type(unsigned)) == (401, "urn:routing:problem:invalid-signature")
    assert (forged.status_code, problem_type(forged)) == (400, "urn:routing:problem:invalid-form-token")


def test_with_the_form_switched_off_a_token_opens_nothing(migrated_url):
    app = create_app(settings_for(migrated_url, ROUTING_FORM="off", ROUTING_WEBHOOK_SECRET=SECRET))

    response = app.test_client().post("/v1/inquiries", data=strain_form(served_token(app)))

    assert response.status_code == 401
    app.extensions["routing"].db.dispose()


def test_the_intake_rate_limit_counts_form_posts(migrated_url):
    app = create_app(settings_for(migrated_url, ROUTING_RATE_LIMIT_INTAKE="2/minute"))
    client = app.test_client()

    codes = [
        client.post(
            "/v1/inquiries", data=strain_form(served_token(app, seconds_ago=60 - n)), headers=BROWSER
        ).status_code
        for n in range(3)
    ]

    assert codes == [201, 201, 429]
    app.extensions["routing"].db.dispose()


def test_a_refused_form_post_shows_a_browser_the_form_again_with_a_fresh_token(slots, client):
    old = served_token(slots, "es", seconds_ago=24 * 3600 + 60)

    response = client.post("/v1/inquiries", data=strain_form(old, language="es"), headers=BROWSER)

    page = read_page(response)
    assert response.status_code == 400
    assert page.lang == "es"
    assert page.by_id["not-sent-title"] == "Su formulario todavía no se ha enviado"
    assert page.values["first_name"] == ["Ana"]
    assert page.values["onset"] == ["sudden"]
    fresh = form_token.read(slots.secret_key, page.values["form_token"][0])
    assert fresh is not None
    assert time.time() - fresh.issued_at < 60
    assert page.values["homepage"] == [""]
