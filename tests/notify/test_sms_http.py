"""Patient text messages through a Twilio-shaped API on loopback: the request's shape and credentials, how each
refusal is classified, and Twilio's request signatures."""

from __future__ import annotations

import base64

import pytest

from routing.adapters.notify import Sent
from routing.adapters.notify.sms_http import TwilioSms, signature, valid_signature
from routing.config import SmsSettings
from tests.notify.conftest import ACCOUNT_SID, AUTH_TOKEN
from tests.notify.servers import free_port

BODY = "Hudson Back Clinic: appointment booked for Monday 30 November at 9:00 AM EST. Reply STOP to opt out."


def sms(base_url: str, *, sender: str = "+12125550100", token: str = AUTH_TOKEN) -> TwilioSms:
    return TwilioSms(SmsSettings(ACCOUNT_SID, token, sender, base_url, "1", 5.0))


def test_a_message_is_posted_to_the_accounts_messages_with_basic_auth_and_its_sid_kept(sms_api):
    result = sms(sms_api.url).send("+12125550123", BODY)

    assert result == Sent(True, False, "sms 201 SM00000000000000000000000000000001")
    [request] = sms_api.requests
    assert request.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert request.authorization == "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    assert sms_api.messages == [{"To": "+12125550123", "From": "+12125550100", "Body": BODY}]


def test_a_messaging_service_is_named_instead_of_a_from_number(sms_api):
    service = "MG" + "ab" * 16

    sms(sms_api.url, sender=service).send("+12125550123", BODY)

    assert sms_api.messages == [{"To": "+12125550123", "MessagingServiceSid": service, "Body": BODY}]


def test_a_recipient_who_replied_stop_is_a_final_refusal_that_says_they_opted_out(sms_api):
    sms_api.answers = [(400, {"code": 21610, "message": "Attempt to send to unsubscribed recipient", "status": 400})]

    result = sms(sms_api.url).send("+12125550123", BODY)

    assert result == Sent(False, False, "sms 400 error 21610 (recipient opted out)", opted_out=True)


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (400, {"code": 21211, "message": "The 'To' number +12125550123 is not valid.", "status": 400},
         Sent(False, False, "sms 400 error 21211")),
        (400, {"message": "no code"}, Sent(False, False, "sms 400")),
        (429, {"code": 20429, "message": "Too Many Requests", "status": 429}, Sent(False, True, "sms 429 error 20429")),
        (500, {}, Sent(False, True, "sms 500")),
        (503, {"code": 20503, "message": "Service unavailable"}, Sent(False, True, "sms 503 error 20503")),
    ],
)  # fmt: skip
def test_a_bad_request_is_final_and_a_busy_or_failing_provider_is_retried(sms_api, status, body, expected):
    sms_api.answers = [(status, body)]

    result = sms(sms_api.url).send("+12125550123", BODY)

    # The provider's message (which may quote the number) never reaches the detail.
    assert result == expected


def test_wrong_credentials_are_retried_so_messages_go_once_the_setting_is_fixed(sms_api):
    result = sms(sms_api.url, token="0" * 32).send("+12125550123", BODY)

    assert result == Sent(False, True, "sms 401 error 20003 (check ROUTING_SMS_ACCOUNT_SID and ROUTING_SMS_AUTH_TOKEN)")


def test_a_provider_that_is_not_there_is_retried():
    result = sms(f"http://127.0.0.1:{free_port()}").send("+12125550123", BODY)

    assert result == Sent(False, True, "sms connection failed (ConnectionError)")


# --- Twilio's signature on what it posts to us --------------------------------------------------------------------

# Twilio's documented example: auth token 12345, this URL and these parameters.
DOC_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
DOC_PARAMS = {
    "CallSid": ["CA1234567890ABCDE"],
    "Caller": ["+12349013030"],
    "Digits": ["1234"],
    "From": ["+12349013030"],
    "To": ["+18005551212"],
}
DOC_SIGNATURE = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def test_the_signature_is_twilios_for_its_documented_example():
    assert signature("12345", DOC_URL, DOC_PARAMS.items()) == DOC_SIGNATURE


def test_a_signature_is_valid_only_for_its_url_parameters_and_token():
    assert valid_signature("12345", DOC_URL, DOC_PARAMS, DOC_SIGNATURE) is True
    assert valid_signature("12345", DOC_URL, {**DOC_PARAMS, "Digits": ["1235"]}, DOC_SIGNATURE) is False
    assert valid_signature("12345", DOC_URL.replace("foo=1", "foo=2"), DOC_PARAMS, DOC_SIGNATURE) is False
    assert valid_signature("54321", DOC_URL, DOC_PARAMS, DOC_SIGNATURE) is False
    assert valid_signature("12345", DOC_URL, DOC_PARAMS, None) is False


def test_a_signature_made_with_or_without_the_default_port_is_accepted():
    with_port = signature("12345", "https://mycompany.com:443/sms", DOC_PARAMS.items())
    without_port = signature("12345", "https://mycompany.com/sms", DOC_PARAMS.items())

    assert valid_signature("12345", "https://mycompany.com/sms", DOC_PARAMS, with_port) is True
    assert valid_signature("12345", "https://mycompany.com:443/sms", DOC_PARAMS, without_port) is True
