"""The CLI applies migrations and seeds the embedded scheduler with a demo week."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from routing import create_app
from routing.adapters.db import migrations
from routing.adapters.db.models import Inquiry, Slot, TriageDecision
from tests.conftest import settings_for
from tests.http.intake_helpers import SECRET

REPO = Path(__file__).resolve().parents[1]
UPGRADE_HINT = "run `.venv/bin/flask --app wsgi db upgrade`"


@pytest.fixture
def fresh_app(database_url):
    app = create_app(settings_for(database_url))
    yield app
    app.extensions["routing"].db.dispose()


def _run(app, *args):
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_db_upgrade_brings_an_empty_database_to_head(fresh_app):
    _run(fresh_app, "db", "upgrade")

    assert "current: 0014" in _run(fresh_app, "db", "current")
    assert fresh_app.test_client().get("/readyz").status_code == 200


def test_db_downgrade_base_empties_the_schema(fresh_app):
    _run(fresh_app, "db", "upgrade")
    _run(fresh_app, "db", "downgrade", "base", "--yes")

    assert "current: none" in _run(fresh_app, "db", "current")


def test_db_downgrade_asks_first_and_keeps_the_schema_unless_told_yes(fresh_app):
    _run(fresh_app, "db", "upgrade")
    runner = fresh_app.test_cli_runner()

    refused = runner.invoke(args=["db", "downgrade", "base"], input="n\n")
    no_terminal = runner.invoke(args=["db", "downgrade", "base"], input="")

    assert refused.exit_code == 1
    assert (
        refused.output == "Revert the schema to base, dropping every table and all patient data? [y/N]: n\nAborted!\n"
    )
    assert no_terminal.exit_code == 1
    assert f"current: {migrations.head_revision()}" in _run(fresh_app, "db", "current")

    confirmed = runner.invoke(args=["db", "downgrade", "base"], input="y\n")
    assert confirmed.exit_code == 0, confirmed.output
    assert "current: none" in _run(fresh_app, "db", "current")


@pytest.mark.parametrize(
    "command",
    [["staff", "list"], ["staff", "create", "Dr Lee"], ["schedule", "seed"], ["worker", "--until-idle"]],
    ids=" ".join,
)
def test_a_command_on_an_unmigrated_database_says_in_one_line_to_run_db_upgrade(fresh_app, command):
    result = fresh_app.test_cli_runner().invoke(args=command)

    assert result.exit_code == 1
    head = migrations.head_revision()
    assert result.output == f"Error: the database schema is at revision none, the code needs {head}: {UPGRADE_HINT}\n"


def _flask(tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ROUTING_", "FLASK_"))}
    # A real clinic, so the demo-clinic warning (a different matter) stays out of the way.
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        LOG_LEVEL="INFO",
        ROUTING_CLINIC_NAME="Test Pain Clinic",
        ROUTING_CLINIC_PHONE="+1 555 010 0100",
        ROUTING_CLINIC_ADDRESS="1 Test Street, Testville",
    )
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_commands_do_not_warn_about_the_console_session_key(tmp_path):
    upgrade = _flask(tmp_path, "db", "upgrade")
    listed = _flask(tmp_path, "staff", "list")

    assert (upgrade.returncode, upgrade.stderr) == (0, "")
    assert (listed.returncode, listed.stdout, listed.stderr) == (0, "", "")


def test_the_served_app_still_warns_about_a_missing_session_key(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ROUTING_", "FLASK_"))}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'served.sqlite3'}", LOG_LEVEL="INFO")
    # What gunicorn does: import wsgi outside any click command.
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 0, result.stderr
    assert "ROUTING_SECRET_KEY is not set" in result.stderr


def test_readme_cli_lines_name_the_virtualenv_flask():
    readme = (REPO / "README.md").read_text()

    commands = re.findall(r"^(\S*flask) --app wsgi", readme, flags=re.MULTILINE)
    assert commands
    assert set(commands) == {".venv/bin/flask"}


def test_schedule_seed_fills_a_week_of_slots_in_clinic_hours(fresh_app):
    _run(fresh_app, "db", "upgrade")

    output = _run(fresh_app, "schedule", "seed", "--days", "7", "--start", "2026-11-30")

    assert "Added 100 slots" in output
    assert "consult 70, imaging 24, injection 6" in output
    new_york = ZoneInfo("America/New_York")
    with fresh_app.extensions["routing"].db.session() as session:
        slots = session.scalars(select(Slot)).all()
    assert len(slots) == 100
    assert all(slot.status == "free" for slot in slots)
    assert all(time(8) <= slot.start.astimezone(new_york).time() < time(17) for slot in slots)


def test_schedule_seed_again_adds_nothing(fresh_app):
    _run(fresh_app, "db", "upgrade")
    _run(fresh_app, "schedule", "seed", "--days", "7", "--start", "2026-11-30")

    output = _run(fresh_app, "schedule", "seed", "--days", "7", "--start", "2026-11-30")

    assert "Added 0 slots" in output


def test_schedule_seed_rejects_a_nonsense_day_count(fresh_app):
    result = fresh_app.test_cli_runner().invoke(args=["schedule", "seed", "--days", "0"])

    assert result.exit_code != 0
    assert "--days" in result.output


def test_gated_seed_fills_the_embedded_scheduler_unless_demo_slots_are_off(fresh_app, monkeypatch):
    _run(fresh_app, "db", "upgrade")
    monkeypatch.setenv("ROUTING_DEMO_SLOTS", "off")
    skipped = _run(fresh_app, "schedule", "seed", "--start", "2026-11-30", "--if-demo-slots")
    monkeypatch.delenv("ROUTING_DEMO_SLOTS")
    seeded = _run(fresh_app, "schedule", "seed", "--start", "2026-11-30", "--if-demo-slots")
    again = _run(fresh_app, "schedule", "seed", "--start", "2026-11-30", "--if-demo-slots")

    assert skipped == "No demo slots: ROUTING_DEMO_SLOTS=off.\n"
    assert seeded.startswith("Added 100 slots")
    assert again.startswith("Added 0 slots")


def test_gated_seed_leaves_a_fhir_scheduler_alone(database_url):
    app = create_app(
        settings_for(
            database_url,
            ROUTING_SCHEDULER="fhir",
            FHIR_BASE_URL="http://127.0.0.1:9/fhir",
            ROUTING_SCHEDULER_EVENTS_SECRET=SECRET,
        )
    )
    try:
        _run(app, "db", "upgrade")
        output = _run(app, "schedule", "seed", "--if-demo-slots")
    finally:
        app.extensions["routing"].db.dispose()

    assert output == "No demo slots: the fhir scheduler keeps its own slots.\n"


def test_gated_seed_names_a_bad_demo_slots_value(fresh_app, monkeypatch):
    _run(fresh_app, "db", "upgrade")
    monkeypatch.setenv("ROUTING_DEMO_SLOTS", "maybe")

    result = fresh_app.test_cli_runner().invoke(args=["schedule", "seed", "--if-demo-slots"])

    assert result.exit_code == 1
    assert result.output == "Error: ROUTING_DEMO_SLOTS must be 'on' or 'off', not 'maybe'\n"


def test_demo_seed_inquiries_fills_the_queue_through_intake_once(fresh_app):
    _run(fresh_app, "db", "upgrade")
    tomorrow = (datetime.now(ZoneInfo("America/New_York")) + timedelta(days=1)).date().isoformat()
    _run(fresh_app, "schedule", "seed", "--days", "21", "--start", tomorrow)

    first = _run(fresh_app, "demo", "seed-inquiries")
    again = _run(fresh_app, "demo", "seed-inquiries")

    by_status = "booked 6, needs_review 1, urgent_review 3"
    assert first == f"Delivered 10 example inquiries (10 new). By status: {by_status}.\n"
    assert again == f"Delivered 10 example inquiries (0 new). By status: {by_status}.\n"
    with fresh_app.extensions["routing"].db.session() as session:
        inquiries = session.scalars(select(Inquiry).order_by(Inquiry.idempotency_key)).all()
        routes = [
            session.scalar(select(TriageDecision.route).where(TriageDecision.inquiry_id == inquiry.id))
            for inquiry in inquiries
        ]
    assert [inquiry.idempotency_key for inquiry in inquiries] == [f"demo-inquiry-{n:04d}" for n in range(1, 11)]
    assert [inquiry.language for inquiry in inquiries] == ["en", "es", "en", "en", "es", "en", "en", "fr", "en", "es"]
    assert routes == [
        "consult", "consult", "imaging", "injection", "imaging",
        "urgent_review", "urgent_review", "consult", "consult", "urgent_review",
    ]  # fmt: skip
