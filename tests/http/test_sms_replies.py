"""POST /v1/notify/sms/inbound: Twilio's incoming-message webhook, signed; STOP and START recorded per number."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from routing import create_app
from routing.adapters.db.models import AuditEvent, ContactOptOut
from routing.adapters.notify.sms_http import signature
from tests.conftest import settings_for

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "a1b2c3d4" * 4
PUBLIC_URL = "https://routing.example-clinic.org"
SMS = {
    "ROUTING_SMS_ACCOUNT_SID": SID,
    "ROUTING_SMS_AUTH_TOKEN": TOKEN,
    "ROUTING_SMS_FROM": "+12125550199",
    "ROUTING_PUBLIC_URL": PUBLIC_URL,
}
PATH = "/v1/notify/sms/inbound"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


@pytest.fixture
def app(migrated_url):
    application = create_app(settings_for(migrated_url, **SMS))
    yield application
    application.extensions["routing"].db.dispose()


def reply(body: str, sender: str = "+12125550123", **extra: str) -> dict[str, str]:
    """The form Twilio posts for an incoming message."""
    return {
        "MessageSid": "SM" + "1" * 32,
        "AccountSid": SID,
        "From": sender,
        "To": "+12125550199",
        "Body": body,
        "NumMedia": "0",
        **extra,
    }


def post(client, form: dict[str, str], *, token: str = TOKEN, url: str = PUBLIC_URL + PATH):
    signed = signature(token, url, [(name, [value]) for name, value in form.items()])
    return client.post(PATH, data=form, headers={"X-Twilio-Signature": signed})


def opt_outs(app) -> list[tuple[str, str, bool, str]]:
    with app.extensions["routing"].db.session() as session:
        return [(row.channel, row.contact, row.opted_out, row.source) for row in session.scalars(select(ContactOptOut))]


def test_stop_opts_the_number_out_answers_empty_twiml_and_is_audited(app, client):
    response = post(client, reply("Stop"))

    assert (response.status_code, response.mimetype, response.get_data(as_text=True)) == (
        200,
        "text/xml",
        EMPTY_TWIML,
    )
    assert opt_outs(app) == [("sms", "+12125550123", True, "sms_keyword")]
    with app.extensions["routing"].db.session() as session:
        [audit] = session.scalars(select(AuditEvent)).all()
        assert (audit.action, audit.actor_name, audit.details) == (
            "contact.opted_out",
            "patient",
            {"channel": "sms", "contact": "…0123", "source": "sms_keyword"},
        )


def test_start_after_stop_opts_the_number_back_in(app, client):
    post(client, reply("STOP"))
    post(client, reply(" start "))

    assert opt_outs(app) == [("sms", "+12125550123", False, "sms_keyword")]


@pytest.mark.parametrize(
    ("form", "recorded"),
    [
        (reply("PARAR"), [("sms", "+12125550123", True, "sms_keyword")]),
        (reply("Arrêt", OptOutType="STOP"), [("sms", "+12125550123", True, "sms_keyword")]),
        (reply("stop calling me about my back"), []),
        (reply("HELP", OptOutType="HELP"), []),
        (reply("Can I come at 3 instead?"), []),
        (reply("START"), []),  # never opted out: nothing to take back
    ],
)
def test_only_a_whole_message_keyword_or_the_providers_opt_out_type_acts(app, client, form, recorded):
    response = post(client, form)

    assert response.status_code == 200
    assert opt_outs(app) == recorded


@pytest.mark.parametrize(
    "signed_with",
    [
        {"token": "0" * 32},
        {"url": "https://attacker.example.org" + PATH},
    ],
)
def test_a_post_not_signed_by_our_provider_for_our_url_is_refused(app, client, signed_with):
    response = post(client, reply("STOP"), **signed_with)

    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"
    assert opt_outs(app) == []


def test_an_unsigned_post_is_refused(app, client):
    response = client.post(PATH, data=reply("STOP"))

    assert response.status_code == 403
    assert opt_outs(app) == []


def test_a_changed_field_breaks_the_signature(app, client):
    form = reply("HELP")
    signed = signature(TOKEN, PUBLIC_URL + PATH, [(name, [value]) for name, value in form.items()])

    response = client.post(PATH, data={**form, "Body": "STOP"}, headers={"X-Twilio-Signature": signed})

    assert response.status_code == 403
    assert opt_outs(app) == []


def test_json_is_not_the_providers_form_post(app, client):
    response = client.post(PATH, json=reply("STOP"))

    assert response.status_code == 415


def test_without_sms_set_up_the_webhook_is_not_there(migrated_url):
    application = create_app(settings_for(migrated_url))
    try:
        response = application.test_client().post(PATH, data=reply("STOP"))
    finally:
        application.extensions["routing"].db.dispose()

    assert response.status_code == 404
