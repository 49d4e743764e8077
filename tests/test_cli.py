"""The CLI applies migrations and seeds the embedded scheduler with a demo week."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from routing import create_app
from routing.adapters.db.models import Inquiry, Slot, TriageDecision
from tests.conftest import settings_for


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

    assert "current: 0005" in _run(fresh_app, "db", "current")
    assert fresh_app.test_client().get("/readyz").status_code == 200


def test_db_downgrade_base_empties_the_schema(fresh_app):
    _run(fresh_app, "db", "upgrade")
    _run(fresh_app, "db", "downgrade", "base")

    assert "current: none" in _run(fresh_app, "db", "current")


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
