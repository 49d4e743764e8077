"""The outbox's and the alerts' settings, and which URLs events may be sent to."""

from __future__ import annotations

import base64

import pytest

from routing.config import AlertSettings, ConfigError, OutboxSettings, load_settings
from routing.domain.outbound_url import origin, url_problem

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


def test_the_outbox_and_alerts_default_to_a_1_second_poll_24_hours_of_retries_and_no_alerts():
    settings = load_settings(environ={})

    assert settings.outbox == OutboxSettings(
        poll_seconds=1.0, lease_seconds=60.0, retry_hours=24.0, senders=4, connect_timeout=3.05, read_timeout=10.0
    )
    assert settings.alerts == AlertSettings()


def test_alert_settings_are_read_from_the_environment():
    settings = load_settings(
        environ={
            "ROUTING_ALERT_WEBHOOK_URLS": "https://hooks.example.org/services/T1/B2/c3 http://127.0.0.1:9000/page",
            "ROUTING_ALERT_WEBHOOK_SECRET": SECRET,
            "ROUTING_ALERT_REPEAT_MINUTES": "10",
            "ROUTING_ALERT_CONSOLE_URL": "https://routing.example.org/console",
        }
    )

    assert settings.alerts == AlertSettings(
        ("https://hooks.example.org/services/T1/B2/c3", "http://127.0.0.1:9000/page"),
        SECRET,
        10.0,
        "https://routing.example.org/console",
    )
    assert SECRET not in repr(settings.alerts)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"ROUTING_OUTBOX_RETRY_HOURS": "12"},
            "ROUTING_OUTBOX_RETRY_HOURS='12' is not valid; use a float of at least 24.0.",
        ),
        ({"ROUTING_OUTBOX_POLL_SECONDS": "30"}, "ROUTING_OUTBOX_POLL_SECONDS=30.0 is too slow for alerts"),
        (
            {"ROUTING_OUTBOX_LEASE_SECONDS": "10"},
            "ROUTING_OUTBOX_LEASE_SECONDS=10.0 must be longer than a send can take "
            "(ROUTING_WEBHOOK_CONNECT_TIMEOUT + ROUTING_WEBHOOK_READ_TIMEOUT = 13.05)",
        ),
        ({"ROUTING_OUTBOX_SENDERS": "0"}, "ROUTING_OUTBOX_SENDERS='0' is not valid; use a int of at least 1."),
        (
            {"ROUTING_ALERT_WEBHOOK_URLS": "https://hooks.example.org/x"},
            "ROUTING_ALERT_WEBHOOK_URLS is set but ROUTING_ALERT_WEBHOOK_SECRET is not: alerts are signed.",
        ),
        (
            {"ROUTING_ALERT_WEBHOOK_SECRET": SECRET},
            "ROUTING_ALERT_WEBHOOK_SECRET is set but ROUTING_ALERT_WEBHOOK_URLS is not: set both, or neither.",
        ),
        (
            {"ROUTING_ALERT_WEBHOOK_URLS": "https://hooks.example.org/x", "ROUTING_ALERT_WEBHOOK_SECRET": "whsec_@@"},
            "ROUTING_ALERT_WEBHOOK_SECRET must be one Standard Webhooks secret: 'whsec_' followed by base64.",
        ),
        (
            {"ROUTING_ALERT_WEBHOOK_URLS": "https://a.example.org http://chat.example.org/T1/secret-token"},
            "ROUTING_ALERT_WEBHOOK_URLS, URL 2 of 2: Plain http:// is allowed only to this machine",
        ),
        (
            {"ROUTING_ALERT_REPEAT_MINUTES": "0.5"},
            "ROUTING_ALERT_REPEAT_MINUTES='0.5' is not valid; use a float of at least 1.0.",
        ),
        (
            {"ROUTING_ALERT_CONSOLE_URL": "routing.example.org/console"},
            "ROUTING_ALERT_CONSOLE_URL='routing.example.org/console' is not the console's address",
        ),
    ],
)
def test_bad_outbox_and_alert_settings_stop_the_start_naming_the_setting(environ, message):
    with pytest.raises(ConfigError) as refused:
        load_settings(environ=environ)

    assert str(refused.value).startswith(message)
    assert "secret-token" not in str(refused.value)  # an incoming-webhook URL is a secret: never echoed


@pytest.mark.parametrize(
    "url",
    [
        "https://ehr.example.org/hooks",
        "https://10.0.0.5:8443/in?token=abc",
        "http://localhost:8080/hooks",
        "http://127.0.0.1:9000/",
        "http://[::1]:9000/x",
    ],
)
def test_https_anywhere_and_plain_http_to_this_machine_may_receive_events(url):
    assert url_problem(url) is None


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://ehr.example.org/hooks", "Plain http:// is allowed only to this machine"),
        ("http://localhost.example.org/", "Plain http:// is allowed only to this machine"),
        ("ftp://ehr.example.org/", "Use an https:// URL"),
        ("ehr.example.org/hooks", "Use an https:// URL"),
        ("https://user:pass@ehr.example.org/", "Leave credentials out of the URL"),
        ("https://ehr.example.org/#top", "A URL sent to has no #fragment."),
        ("https://ehr.example.org:99999/", "This is not a valid URL."),
        ("https://ehr.example.org/a b", "The URL must not contain spaces or control characters."),
        ("https://ehr.example.org/" + "a" * 2000, "The URL is longer than 2000 characters."),
    ],
)
def test_other_urls_are_refused_with_the_reason(url, problem):
    assert url_problem(url).startswith(problem)


def test_the_origin_leaves_out_the_path_that_may_hold_a_token():
    assert origin("https://hooks.example.org:8443/services/T1/B2/secret") == "https://hooks.example.org:8443"
