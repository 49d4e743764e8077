"""Settings come from the environment with safe defaults, and bad values stop the start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from routing import create_app
from routing.config import DEFAULT_DATABASE_URL, ConfigError, load_settings

REPO = Path(__file__).resolve().parents[2]


def test_defaults_are_sqlite_embedded_scheduler_and_new_york_time():
    settings = load_settings(environ={})

    assert settings.database_url.get_backend_name() == "sqlite"
    assert str(settings.database_url) == DEFAULT_DATABASE_URL
    assert "instance" in settings.database_url.database
    assert settings.scheduler == "embedded"
    assert settings.log_level == "INFO"
    assert settings.timezone.key == "America/New_York"
    assert settings.signatures_required is False


def test_previews_replay_on_every_core_a_tenth_of_the_time_by_default():
    # The pace measured to keep intake within a fifth of its speed (docs/rulebook-previews.md): 0.2 was 18 %.
    settings = load_settings(environ={})

    assert (settings.preview_processes, settings.preview_duty) == (os.cpu_count() or 1, 0.1)


def test_overrides_win_over_the_environment():
    settings = load_settings({"LOG_LEVEL": "debug"}, environ={"LOG_LEVEL": "ERROR"})

    assert settings.log_level == "DEBUG"


def test_plain_postgresql_url_uses_the_psycopg_driver():
    settings = load_settings(environ={"DATABASE_URL": "postgresql://u:p@db:5432/routing"})

    assert settings.database_url.drivername == "postgresql+psycopg"


def test_several_webhook_secrets_are_accepted_for_rotation():
    settings = load_settings(environ={"ROUTING_WEBHOOK_SECRET": "whsec_c2VjcmV0LW9uZQ== whsec_c2VjcmV0LXR3bw=="})

    assert settings.webhook_secrets == (b"secret-one", b"secret-two")
    assert settings.signatures_required is True


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_URL", "not a url"),
        ("DATABASE_URL", "mysql://u@h/db"),
        ("ROUTING_SCHEDULER", "carrier-pigeon"),
        ("LOG_LEVEL", "LOUD"),
        ("ROUTING_TIMEZONE", "Mars/Olympus_Mons"),
        ("ROUTING_WEBHOOK_SECRET", "whsec_not*base64!"),
        ("ROUTING_PREVIEW_PROCESSES", "0"),
        ("ROUTING_PREVIEW_DUTY", "1.5"),
        ("ROUTING_PREVIEW_DUTY", "0"),
    ],
)
def test_bad_value_fails_with_a_message_naming_the_variable(variable, value):
    with pytest.raises(ConfigError, match=variable):
        load_settings(environ={variable: value})


def test_the_fhir_scheduler_refuses_to_start_with_unsigned_scheduler_events():
    fhir = {"ROUTING_SCHEDULER": "fhir", "FHIR_BASE_URL": "https://ehr.example.org/fhir"}

    with pytest.raises(ConfigError) as refused:
        load_settings(environ=fhir)
    signed = load_settings(environ={**fhir, "ROUTING_SCHEDULER_EVENTS_SECRET": "whsec_c2VjcmV0LW9uZQ=="})

    assert str(refused.value) == (
        "ROUTING_SCHEDULER=fhir needs ROUTING_SCHEDULER_EVENTS_SECRET (or ROUTING_WEBHOOK_SECRET): the "
        "scheduling system's events must be signed."
    )
    assert signed.scheduler_event_secrets == (b"secret-one",)


def test_fhir_notification_tokens_are_comma_separated_so_one_can_be_rotated():
    old, new = "o" * 32, "N-ew_token.~+/" + "n" * 18 + "=="

    settings = load_settings(environ={"ROUTING_FHIR_NOTIFICATION_TOKENS": f" {old} , {new},"})

    assert settings.fhir_notification_tokens == (old, new)
    assert load_settings(environ={}).fhir_notification_tokens == ()


@pytest.mark.parametrize("raw", ["short-token", "x" * 40 + " y", "a" * 32 + ",tab\t" + "b" * 32, ",", "ä" * 40])
def test_a_bad_fhir_notification_token_stops_the_start_without_showing_it(raw):
    with pytest.raises(ConfigError) as refused:
        load_settings(environ={"ROUTING_FHIR_NOTIFICATION_TOKENS": raw})

    assert str(refused.value) == (
        "ROUTING_FHIR_NOTIFICATION_TOKENS must be comma-separated bearer tokens of at least 32 characters "
        "(letters, digits and -._~+/), e.g. the output of python -c 'import secrets; print(secrets.token_urlsafe(32))'."
    )


def test_the_reconciliation_poll_runs_every_two_minutes_unless_told_otherwise():
    assert load_settings(environ={}).reconcile_seconds == 120.0
    assert load_settings(environ={"ROUTING_RECONCILE_SECONDS": "30"}).reconcile_seconds == 30.0
    with pytest.raises(ConfigError, match="ROUTING_RECONCILE_SECONDS"):
        load_settings(environ={"ROUTING_RECONCILE_SECONDS": "0.5"})


def test_create_app_refuses_bad_settings_before_serving():
    with pytest.raises(ConfigError, match="ROUTING_SCHEDULER"):
        create_app({"ROUTING_SCHEDULER": "fax"})


def test_wsgi_entry_point_exits_at_import_with_a_clear_message():
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=REPO,
        env={"LOG_LEVEL": "LOUD", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode != 0
    assert "LOG_LEVEL='LOUD' is not valid" in result.stderr


def test_the_shipped_rulebook_is_the_default():
    assert load_settings(environ={}).rulebook_path.name == "rulebook.json"


def test_processes_ask_for_the_active_rulebook_version_every_2_seconds_unless_set():
    assert load_settings(environ={}).rulebook_check_seconds == 2.0
    assert load_settings(environ={"ROUTING_RULEBOOK_CHECK_SECONDS": "0.5"}).rulebook_check_seconds == 0.5
    with pytest.raises(
        ConfigError, match=r"^ROUTING_RULEBOOK_CHECK_SECONDS='0' is not valid; use a float of at least 0.1.$"
    ):
        load_settings(environ={"ROUTING_RULEBOOK_CHECK_SECONDS": "0"})


def test_create_app_refuses_a_rulebook_that_does_not_validate(tmp_path):
    broken = tmp_path / "rulebook.json"
    broken.write_text('{"version": "local", "rules": [], "modifiers": {"steps": []}, "needs_review": {}}')

    with pytest.raises(ConfigError, match=r"ROUTING_RULEBOOK: .*rules: must be a non-empty list"):
        create_app({"ROUTING_RULEBOOK": str(broken)})


CLINIC_ENV = {
    "ROUTING_CLINIC_NAME": "Hudson Back Clinic",
    "ROUTING_CLINIC_PHONE": "+1 (212) 555-0100 ext. 12",
    "ROUTING_CLINIC_ADDRESS": "12 Pine Street, New York, NY 10005",
    "ROUTING_CLINIC_WEBSITE": "https://hudson.example.org/back",
}


def test_without_clinic_settings_the_clinic_is_the_demo_one_and_says_so():
    clinic = load_settings(environ={}).clinic

    assert (clinic.demo, clinic.name, clinic.phone) == (True, "Riverside Spine & Pain Clinic (demo)", "(555) 010-0142")


def test_the_clinic_profile_comes_from_the_environment():
    clinic = load_settings(environ=CLINIC_ENV).clinic

    assert (clinic.name, clinic.phone, clinic.address, clinic.website, clinic.demo) == (
        "Hudson Back Clinic",
        "+1 (212) 555-0100 ext. 12",
        "12 Pine Street, New York, NY 10005",
        "https://hudson.example.org/back",
        False,
    )


def test_the_clinic_website_is_optional():
    environ = {key: value for key, value in CLINIC_ENV.items() if key != "ROUTING_CLINIC_WEBSITE"}

    assert load_settings(environ=environ).clinic.website is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"ROUTING_CLINIC_PHONE": ""}, "ROUTING_CLINIC_PHONE not set: set ROUTING_CLINIC_NAME, ROUTING_CLINIC_PHONE"),
        ({"ROUTING_CLINIC_PHONE": "call reception"}, "ROUTING_CLINIC_PHONE='call reception' is not a phone number"),
        ({"ROUTING_CLINIC_PHONE": "555-01"}, "ROUTING_CLINIC_PHONE='555-01' is not a phone number"),
        ({"ROUTING_CLINIC_NAME": "Hudson\nBack"}, "ROUTING_CLINIC_NAME must be one line of at most 100 characters"),
        ({"ROUTING_CLINIC_ADDRESS": "x" * 201}, "ROUTING_CLINIC_ADDRESS must be one line of at most 200 characters"),
        ({"ROUTING_CLINIC_WEBSITE": "hudson clinic"}, "ROUTING_CLINIC_WEBSITE='hudson clinic' is not a web address"),
    ],
)
def test_a_bad_or_partial_clinic_profile_stops_the_start(changes, message):
    with pytest.raises(ConfigError) as error:
        load_settings(environ={**CLINIC_ENV, **changes})

    assert str(error.value).startswith(message)


FHIR_ENV = {
    "ROUTING_SCHEDULER": "fhir",
    "FHIR_BASE_URL": "https://ehr.example.org/fhir",
    "ROUTING_SCHEDULER_EVENTS_SECRET": "whsec_c2VjcmV0LW9uZQ==",
}


def test_our_fhir_identifiers_live_under_the_clinics_https_website_unless_set():
    demo = load_settings(environ=FHIR_ENV).fhir
    clinic = load_settings(environ={**FHIR_ENV, **CLINIC_ENV, "ROUTING_CLINIC_WEBSITE": "https://hudsonback.org/"}).fhir
    chosen = load_settings(environ={**FHIR_ENV, "FHIR_IDENTIFIER_BASE": "https://ids.hudsonback.org/fhir/"}).fhir

    assert demo.identifier_base == "https://clinic.example.org/fhir/identifier"
    assert clinic.identifier_base == "https://hudsonback.org/fhir/identifier"
    assert chosen.identifier_base == "https://ids.hudsonback.org/fhir"


@pytest.mark.parametrize("value", ["urn:routing", "http://clinic.example.org/ids", "https://x.org/ids?a=1"])
def test_an_identifier_base_that_is_not_an_https_url_is_refused(value):
    with pytest.raises(ConfigError, match=r"FHIR_IDENTIFIER_BASE=.* must be an https URL the clinic owns"):
        load_settings(environ={**FHIR_ENV, "FHIR_IDENTIFIER_BASE": value})


def test_the_requester_of_orders_is_a_practitioner_role_or_organization_reference():
    chosen = load_settings(
        environ={**FHIR_ENV, "FHIR_REQUESTER": "PractitionerRole/dr-lee", "FHIR_REQUESTER_DISPLAY": "Dr Lee"}
    ).fhir

    assert (chosen.requester, chosen.requester_display) == ("PractitionerRole/dr-lee", "Dr Lee")
    assert load_settings(environ=FHIR_ENV).fhir.requester is None
    with pytest.raises(ConfigError, match=r"FHIR_REQUESTER='Patient/1' must be a relative reference"):
        load_settings(environ={**FHIR_ENV, "FHIR_REQUESTER": "Patient/1"})


def test_the_booking_strategy_is_auto_unless_set_and_only_a_known_one():
    default = load_settings(environ=FHIR_ENV).fhir
    chosen = load_settings(
        environ={**FHIR_ENV, "FHIR_BOOKING_STRATEGY": " Operations ", "FHIR_APPOINTMENT_STATUS": "proposed"}
    ).fhir

    assert (default.booking_strategy, default.appointment_status) == ("auto", "booked")
    assert (chosen.booking_strategy, chosen.appointment_status) == ("operations", "proposed")
    with pytest.raises(ConfigError) as refused:
        load_settings(environ={**FHIR_ENV, "FHIR_BOOKING_STRATEGY": "slots"})
    assert str(refused.value) == (
        "FHIR_BOOKING_STRATEGY='slots' is not valid; use one of: auto, operations, slot-update, appointment."
    )
    with pytest.raises(ConfigError, match=r"^FHIR_APPOINTMENT_STATUS='pending' is not valid; use one of: booked, "):
        load_settings(environ={**FHIR_ENV, "FHIR_APPOINTMENT_STATUS": "pending"})


def test_service_types_come_from_the_terminology_file_unless_fhir_service_types_is_set():
    assert load_settings(environ=FHIR_ENV).fhir.service_types is None
    chosen = load_settings(
        environ={
            **FHIR_ENV,
            "FHIR_SERVICE_TYPES": "consult=https://x.org/st|c,imaging=https://x.org/st|i,injection=https://x.org/st|j",
        }
    ).fhir
    assert chosen.service_types == {
        "consult": ("https://x.org/st", "c"),
        "imaging": ("https://x.org/st", "i"),
        "injection": ("https://x.org/st", "j"),
    }


# --- the patient form (ROUTING_FORM*) --------------------------------------------------------------------------


def test_the_form_is_on_framed_by_no_one_and_answers_with_its_own_page_by_default():
    form = load_settings(environ={}).form

    assert (form.enabled, form.embed_origins, form.thanks_url) == (True, (), None)
    assert (form.min_fill_seconds, form.token_max_age_hours) == (3.0, 24.0)


def test_the_form_settings_come_from_the_environment():
    form = load_settings(
        environ={
            "ROUTING_FORM": "off",
            "ROUTING_FORM_EMBED_ORIGINS": "https://www.example-clinic.org http://localhost:8080",
            "ROUTING_FORM_THANKS_URL": "https://www.example-clinic.org/{lang}/thanks",
            "ROUTING_FORM_MIN_SECONDS": "0",
            "ROUTING_FORM_TOKEN_HOURS": "2",
        }
    ).form

    assert form.enabled is False
    assert form.embed_origins == ("https://www.example-clinic.org", "http://localhost:8080")
    assert form.thanks_url == "https://www.example-clinic.org/{lang}/thanks"
    assert (form.min_fill_seconds, form.token_max_age_hours) == (0.0, 2.0)


@pytest.mark.parametrize(
    "origin",
    [
        "www.example-clinic.org",
        "https://www.example-clinic.org/",
        "https://www.example-clinic.org/contact",
        "https://*.example-clinic.org",
        "'self'",
        "https://a.org;script-src",
    ],
)
def test_an_embed_origin_that_is_not_exactly_an_origin_stops_the_start(origin):
    # They go into a Content-Security-Policy header, where a quote or a semicolon would be a new directive.
    with pytest.raises(ConfigError) as error:
        load_settings(environ={"ROUTING_FORM_EMBED_ORIGINS": f"https://ok.example.org {origin}"})

    assert str(error.value).startswith(f"ROUTING_FORM_EMBED_ORIGINS: {origin!r} is not an origin;")


@pytest.mark.parametrize(
    "url",
    [
        "www.example-clinic.org/thanks",
        "ftp://example.org/",
        "https://example.org/{language}",
        "https://example.org/#x",
        "https://example.org/ thanks",
    ],
)
def test_a_thanks_url_that_is_not_a_page_address_stops_the_start(url):
    with pytest.raises(ConfigError) as error:
        load_settings(environ={"ROUTING_FORM_THANKS_URL": url})

    assert str(error.value).startswith(f"ROUTING_FORM_THANKS_URL={url!r} is not a page address;")


@pytest.mark.parametrize(("variable", "value"), [("ROUTING_FORM_MIN_SECONDS", "-1"), ("ROUTING_FORM_TOKEN_HOURS", "0")])
def test_form_times_out_of_range_stop_the_start(variable, value):
    with pytest.raises(ConfigError, match=variable):
        load_settings(environ={variable: value})


def test_a_patient_s_link_works_thirty_days_and_its_pages_allow_thirty_requests_a_minute_unless_set():
    default = load_settings(environ={})
    chosen = load_settings(
        environ={"ROUTING_PATIENT_LINK_DAYS": "7.5", "ROUTING_RATE_LIMIT_PATIENT_LINK": "10/minute;100/hour"}
    )

    assert (default.patient_link_days, default.rate_limit_patient_link) == (30.0, "30/minute")
    assert (chosen.patient_link_days, chosen.rate_limit_patient_link) == (7.5, "10/minute;100/hour")


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("ROUTING_PATIENT_LINK_DAYS", "0", "ROUTING_PATIENT_LINK_DAYS='0' is not valid; use a float of at least 0.01."),
        ("ROUTING_PATIENT_LINK_DAYS", "a month", "ROUTING_PATIENT_LINK_DAYS='a month' is not valid;"),
        ("ROUTING_RATE_LIMIT_PATIENT_LINK", "lots", "ROUTING_RATE_LIMIT_PATIENT_LINK='lots' is not a rate limit;"),
    ],
)
def test_a_bad_patient_link_setting_stops_the_start(variable, value, message):
    with pytest.raises(ConfigError) as error:
        load_settings(environ={variable: value})

    assert str(error.value).startswith(message)
