"""The retention tests' app: text kept a year, consult slots to book, the waitlist off (an entry keeps its text)."""

from __future__ import annotations

import pytest

from routing import create_app
from tests.conftest import settings_for
from tests.http.intake_helpers import add_slots
from tests.retention.helpers import DAYS


@pytest.fixture
def app(migrated_url):
    application = create_app(
        settings_for(
            migrated_url,
            ROUTING_WAITLIST="off",
            ROUTING_RETENTION_TEXT_DAYS=str(DAYS),
            ROUTING_SECRET_KEY="k" * 40,
            ROUTING_COOKIE_SECURE="off",
        )
    )
    add_slots(application, "consult", [26, 27, 28, 29, 30, 31])
    yield application
    application.extensions["routing"].db.dispose()
