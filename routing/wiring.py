"""The one place where settings become live objects (database, scheduler) for an application."""

from __future__ import annotations

from dataclasses import dataclass

from routing.adapters.db import migrations
from routing.adapters.db.database import Database
from routing.config import Settings


@dataclass
class Wiring:
    """Everything use cases need, built once per application."""

    settings: Settings
    db: Database
    head_revision: str | None


def wire(settings: Settings) -> Wiring:
    """Build the live objects for ``settings``."""
    return Wiring(settings=settings, db=Database(settings.database_url), head_revision=migrations.head_revision())
