"""Settings come from the environment with safe defaults, and bad values stop the start."""

from __future__ import annotations

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
    ],
)
def test_bad_value_fails_with_a_message_naming_the_variable(variable, value):
    with pytest.raises(ConfigError, match=variable):
        load_settings(environ={variable: value})


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


def test_create_app_refuses_a_rulebook_that_does_not_validate(tmp_path):
    broken = tmp_path / "rulebook.json"
    broken.write_text('{"version": "local", "rules": [], "modifiers": {"steps": []}, "needs_review": {}}')

    with pytest.raises(ConfigError, match=r"ROUTING_RULEBOOK: .*rules: must be a non-empty list"):
        create_app({"ROUTING_RULEBOOK": str(broken)})
