"""Fuzz fixtures: one migrated SQLite database per module, with free slots, staff tokens and inquiries.

Fuzzing runs on SQLite only (the PostgreSQL parametrisation of the other suites is not needed here) and
shares one application per module, so hundreds of generated requests do not each pay for migrations.
Rate limits are off: the fuzzers send far more requests a minute than any clinic's web form.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask import Flask
from sqlalchemy.engine import make_url

from routing import create_app
from routing.adapters.db import migrations
from tests.conftest import settings_for
from tests.http.admin_helpers import RED_FLAG, bearer, make_token, new_inquiry
from tests.http.intake_helpers import add_slots


@dataclass(frozen=True)
class Seeded:
    """What the fuzzed app holds before the first generated request."""

    admin_token: str
    staff_token: str
    #: Inquiries in different states: booked, urgent_review (red flag), and one with free-text only.
    inquiry_ids: tuple[str, ...]

    @property
    def admin_headers(self) -> dict[str, str]:
        return bearer(self.admin_token)

    @property
    def staff_headers(self) -> dict[str, str]:
        return bearer(self.staff_token)


def fuzz_settings(url) -> dict[str, object]:
    """create_app() overrides for fuzzing: the test database, quiet logs, no rate limits."""
    return settings_for(url, LOG_LEVEL="WARNING", ROUTING_RATE_LIMITS="off")


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory) -> Iterator[Flask]:
    """The application on a migrated SQLite database with a few days of free slots of every type."""
    url = make_url(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'routing.sqlite3'}")
    migrations.upgrade(url)
    app = create_app(fuzz_settings(url))
    hours = [2 + 3 * i for i in range(40)]
    for slot_type in ("consult", "imaging", "injection"):
        add_slots(app, slot_type, hours, minutes=30)
    yield app
    app.extensions["routing"].db.dispose()


@pytest.fixture(scope="module")
def seeded(fuzz_app) -> Seeded:
    """Staff tokens and inquiries in known states in :func:`fuzz_app`."""
    admin = make_token(fuzz_app, "Fuzz Admin", "admin")
    staff = make_token(fuzz_app, "Fuzz Staff", "staff")
    client = fuzz_app.test_client()
    ids = (
        new_inquiry(client),
        new_inquiry(client, RED_FLAG),
        new_inquiry(client, "Sharp pain down my left leg for three weeks, worse when sitting; MRI last year."),
    )
    return Seeded(admin_token=admin, staff_token=staff, inquiry_ids=ids)
