"""/unsubscribe/<token>: GET shows what the button does and changes nothing; POST (the button, or a mail program's
one-click POST) records the opt-out for the inquiry's address, once, audited."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from routing import create_app
from routing.adapters.db.models import AuditEvent, ContactOptOut
from routing.services import opt_outs
from tests.conftest import settings_for
from tests.http.intake_helpers import inquiry

SECRET_KEY = "u" * 40
EMAIL = {
    "ROUTING_SMTP_HOST": "127.0.0.1",
    "ROUTING_SMTP_SECURITY": "none",
    "ROUTING_SMTP_FROM": "appointments@example-clinic.org",
    "ROUTING_PUBLIC_URL": "https://routing.example-clinic.org",
    "ROUTING_SECRET_KEY": SECRET_KEY,
}


@pytest.fixture
def app(migrated_url):
    application = create_app(settings_for(migrated_url, **EMAIL))
    yield application
    application.extensions["routing"].db.dispose()


@pytest.fixture
def inquiry_id(client) -> uuid.UUID:
    response = client.post("/v1/inquiries", json=inquiry(consent=True, language="es"))
    return uuid.UUID(response.get_json()["id"])


def _opt_outs(app) -> list[tuple[str, str, bool, str]]:
    with app.extensions["routing"].db.session() as session:
        rows = session.scalars(select(ContactOptOut)).all()
        return [(row.channel, row.contact, row.opted_out, row.source) for row in rows]


def _audited(app) -> list[tuple[str, str, uuid.UUID | None, dict]]:
    with app.extensions["routing"].db.session() as session:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.action.like("contact.%"))).all()
        return [(row.action, row.actor_name, row.inquiry_id, row.details) for row in rows]


def test_opening_the_link_asks_in_the_emails_language_and_changes_nothing(app, client, inquiry_id):
    token = opt_outs.unsubscribe_token(SECRET_KEY, inquiry_id, "email", "es")

    response = client.get(f"/unsubscribe/{token}")

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert '<html lang="es">' in page
    assert "¿Quiere dejar de recibir correos de Riverside Spine &amp; Pain Clinic (demo) sobre sus citas?" in page
    assert f'<form method="post" action="/unsubscribe/{token}">' in page
    assert "No recibir más correos</button>" in page
    assert "ana@example.org" not in page
    assert "form-action 'self'" in response.headers["Content-Security-Policy"]
    assert _opt_outs(app) == []


def test_the_button_records_the_opt_out_for_the_inquirys_address_once_and_audits_it(app, client, inquiry_id):
    token = opt_outs.unsubscribe_token(SECRET_KEY, inquiry_id, "email", "es")

    first = client.post(f"/unsubscribe/{token}")
    again = client.post(f"/unsubscribe/{token}")

    assert (first.status_code, again.status_code) == (200, 200)
    assert "No recibirá más correos" in first.get_data(as_text=True)
    assert _opt_outs(app) == [("email", "ana@example.org", True, "unsubscribe_link")]
    assert _audited(app) == [
        (
            "contact.opted_out",
            "patient",
            inquiry_id,
            {"channel": "email", "contact": "a…@example.org", "source": "unsubscribe_link"},
        )
    ]


def test_a_mail_programs_one_click_post_unsubscribes_too(app, client, inquiry_id):
    token = opt_outs.unsubscribe_token(SECRET_KEY, inquiry_id, "email", "en")

    response = client.post(f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    assert "You will not get more emails" in response.get_data(as_text=True)
    assert _opt_outs(app) == [("email", "ana@example.org", True, "unsubscribe_link")]


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_token_we_did_not_sign_opens_nothing_and_records_nothing(app, client, inquiry_id, method):
    forged = opt_outs.unsubscribe_token("another-key-" + "x" * 30, inquiry_id, "email", "en")

    response = getattr(client, method)(f"/unsubscribe/{forged}")

    assert response.status_code == 404
    assert "This link does not work" in response.get_data(as_text=True)
    assert _opt_outs(app) == []


def test_without_email_set_up_there_is_nothing_to_unsubscribe_from(migrated_url):
    application = create_app(settings_for(migrated_url, ROUTING_SECRET_KEY=SECRET_KEY))
    try:
        token = opt_outs.unsubscribe_token(SECRET_KEY, uuid.uuid4(), "email", "en")
        response = application.test_client().post(f"/unsubscribe/{token}")
    finally:
        application.extensions["routing"].db.dispose()

    assert response.status_code == 404


def test_a_link_for_an_inquiry_that_is_not_there_records_nothing(app, client):
    token = opt_outs.unsubscribe_token(SECRET_KEY, uuid.uuid4(), "email", "en")

    response = client.post(f"/unsubscribe/{token}")

    assert response.status_code == 200  # the same page: a link tells no one whether an inquiry exists
    with app.extensions["routing"].db.session() as session:
        assert session.scalar(select(func.count()).select_from(ContactOptOut)) == 0
