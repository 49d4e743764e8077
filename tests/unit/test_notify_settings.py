"""Patient notifications' settings (ROUTING_PUBLIC_URL, ROUTING_SMTP_*, ROUTING_SMS_*): off by default, checked
at start with messages that say what to set, secrets never printed."""

from __future__ import annotations

from pathlib import Path

import pytest

from routing.config import ConfigError, SmsSettings, SmtpSettings, load_settings

SECRET_KEY = "k" * 40
EMAIL = {
    "ROUTING_SMTP_HOST": "smtp.example-clinic.org",
    "ROUTING_SMTP_FROM": "appointments@example-clinic.org",
    "ROUTING_PUBLIC_URL": "https://routing.example-clinic.org/",
    "ROUTING_SECRET_KEY": SECRET_KEY,
}
SID = "AC" + "0123456789abcdef" * 2
SMS = {"ROUTING_SMS_ACCOUNT_SID": SID, "ROUTING_SMS_AUTH_TOKEN": "t" * 32, "ROUTING_SMS_FROM": "+12125550100"}


def test_without_settings_no_patient_is_emailed_or_texted():
    settings = load_settings(environ={})

    assert (settings.email, settings.sms, settings.public_url) == (None, None, None)


def test_email_defaults_to_starttls_on_port_587_with_the_system_cas():
    settings = load_settings(environ=EMAIL)

    assert settings.email == SmtpSettings(
        host="smtp.example-clinic.org",
        port=587,
        security="starttls",
        sender="appointments@example-clinic.org",
        user=None,
        password=None,
        timeout=10.0,
        ca_file=None,
    )
    assert settings.public_url == "https://routing.example-clinic.org"


def test_every_email_setting_is_read(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    settings = load_settings(
        environ={
            **EMAIL,
            "ROUTING_SMTP_SECURITY": "TLS",
            "ROUTING_SMTP_PORT": "2465",
            "ROUTING_SMTP_USER": "clinic",
            "ROUTING_SMTP_PASSWORD": "pa55word",
            "ROUTING_SMTP_FROM": "Example Clinic <appointments@example-clinic.org>",
            "ROUTING_SMTP_TIMEOUT": "4.5",
            "ROUTING_SMTP_CA_FILE": str(ca),
        }
    )

    assert settings.email == SmtpSettings(
        "smtp.example-clinic.org",
        2465,
        "tls",
        "Example Clinic <appointments@example-clinic.org>",
        "clinic",
        "pa55word",
        4.5,
        Path(ca),
    )
    assert "pa55word" not in repr(settings)


def test_plain_smtp_is_allowed_for_a_relay_on_this_machine_only():
    local = load_settings(environ={**EMAIL, "ROUTING_SMTP_HOST": "127.0.0.1", "ROUTING_SMTP_SECURITY": "none"})

    assert (local.email.security, local.email.port) == ("none", 25)
    with pytest.raises(ConfigError) as refused:
        load_settings(environ={**EMAIL, "ROUTING_SMTP_SECURITY": "none"})
    assert str(refused.value) == (
        "ROUTING_SMTP_SECURITY=none is only for a mail relay on this machine (localhost), not "
        "'smtp.example-clinic.org'; use starttls (port 587) or tls (port 465)."
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"ROUTING_SMTP_HOST": "", "ROUTING_SMTP_PORT": "587"},
            "ROUTING_SMTP_PORT, ROUTING_SMTP_FROM set but ROUTING_SMTP_HOST not: set it to send patient emails.",
        ),
        (
            {"ROUTING_SMTP_SECURITY": "ssl"},
            "ROUTING_SMTP_SECURITY='ssl' is not valid; use one of: starttls, tls, none.",
        ),
        (
            {"ROUTING_SMTP_PORT": "70000"},
            "ROUTING_SMTP_PORT='70000' is not a port number (1 to 65535), e.g. 587.",
        ),
        (
            {"ROUTING_SMTP_USER": "clinic"},
            "ROUTING_SMTP_USER and ROUTING_SMTP_PASSWORD go together: set both to sign in to the mail server, "
            "or neither.",
        ),
        (
            {"ROUTING_SMTP_FROM": "the clinic"},
            "ROUTING_SMTP_FROM='the clinic' is not an email address to send from; use e.g. "
            "appointments@example-clinic.org or 'Example Clinic <appointments@example-clinic.org>'.",
        ),
        (
            {"ROUTING_SMTP_FROM": ""},
            "ROUTING_SMTP_FROM='' is not an email address to send from; use e.g. "
            "appointments@example-clinic.org or 'Example Clinic <appointments@example-clinic.org>'.",
        ),
        (
            {"ROUTING_SMTP_TIMEOUT": "soon"},
            "ROUTING_SMTP_TIMEOUT='soon' is not valid; use seconds between 0.1 and 300.",
        ),
        (
            {"ROUTING_SMTP_CA_FILE": "/no/such/ca.pem"},
            "ROUTING_SMTP_CA_FILE='/no/such/ca.pem' is not a file; give the PEM file of the CA that signed the mail "
            "server's certificate, or leave it unset to trust the system's CAs.",
        ),
        (
            {"ROUTING_PUBLIC_URL": "", "ROUTING_SECRET_KEY": ""},
            "ROUTING_SMTP_HOST is set but ROUTING_PUBLIC_URL and ROUTING_SECRET_KEY not: every patient email "
            "carries an unsubscribe link to this service at ROUTING_PUBLIC_URL (e.g. "
            "https://routing.example-clinic.org), signed with ROUTING_SECRET_KEY.",
        ),
        (
            {"ROUTING_PUBLIC_URL": "http://routing.example-clinic.org"},
            "ROUTING_PUBLIC_URL='http://routing.example-clinic.org' is not the https address patients reach this "
            "service at; use e.g. https://routing.example-clinic.org (no query or fragment; plain http only for "
            "localhost).",
        ),
    ],
)
def test_a_bad_email_setting_stops_the_start_saying_what_to_set(changes, message):
    with pytest.raises(ConfigError) as refused:
        load_settings(environ={**EMAIL, **changes})

    assert str(refused.value) == message


def test_sms_is_read_with_twilio_as_the_default_provider_and_north_american_numbers():
    settings = load_settings(environ=SMS)

    assert settings.sms == SmsSettings(SID, "t" * 32, "+12125550100", "https://api.twilio.com", "1", 10.0)
    assert "t" * 32 not in repr(settings)


def test_sms_may_use_a_messaging_service_another_base_url_and_country():
    service = "MG" + "ab" * 16
    settings = load_settings(
        environ={
            **SMS,
            "ROUTING_SMS_FROM": service,
            "ROUTING_SMS_BASE_URL": "http://127.0.0.1:8099/",
            "ROUTING_SMS_COUNTRY_CODE": "+34",
            "ROUTING_SMS_TIMEOUT": "3",
        }
    )

    assert settings.sms == SmsSettings(SID, "t" * 32, service, "http://127.0.0.1:8099", "34", 3.0)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"ROUTING_SMS_AUTH_TOKEN": ""},
            "ROUTING_SMS_AUTH_TOKEN not set: SMS needs ROUTING_SMS_ACCOUNT_SID, ROUTING_SMS_AUTH_TOKEN, "
            "ROUTING_SMS_FROM (the provider account's SID, its auth token and the number or Messaging Service to "
            "send from), or none of the ROUTING_SMS_* settings.",
        ),
        (
            {"ROUTING_SMS_ACCOUNT_SID": "AC/../x"},
            "ROUTING_SMS_ACCOUNT_SID='AC/../x' is not an account SID, e.g. AC followed by 32 hex digits.",
        ),
        (
            {"ROUTING_SMS_AUTH_TOKEN": "short"},
            "ROUTING_SMS_AUTH_TOKEN must be the account's auth token: at least 16 characters, no spaces.",
        ),
        (
            {"ROUTING_SMS_FROM": "212 555 0100"},
            "ROUTING_SMS_FROM='212 555 0100' must be the number to send from in E.164 form (+12125550100) or a "
            "Messaging Service SID (MG followed by 32 hex digits).",
        ),
        (
            {"ROUTING_SMS_BASE_URL": "http://sms.example.org"},
            "ROUTING_SMS_BASE_URL='http://sms.example.org' must be the provider's https API address (default "
            "https://api.twilio.com); plain http only for a test server on localhost.",
        ),
        (
            {"ROUTING_SMS_COUNTRY_CODE": "0"},
            "ROUTING_SMS_COUNTRY_CODE='0' must be a country calling code, e.g. 1 or 34.",
        ),
    ],
)
def test_a_bad_sms_setting_stops_the_start_saying_what_to_set(changes, message):
    with pytest.raises(ConfigError) as refused:
        load_settings(environ={**SMS, **changes})

    assert str(refused.value) == message
    assert "t" * 32 not in str(refused.value)
