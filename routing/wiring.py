"""The one place where settings become live objects (database, scheduler) for an application."""

from __future__ import annotations

from dataclasses import dataclass

from routing.adapters.db import migrations
from routing.adapters.db.database import Database
from routing.adapters.scheduling.embedded import EmbeddedScheduler
from routing.config import ConfigError, Settings
from routing.domain.triage import Rulebook, RulebookError, load_rulebook


@dataclass
class Wiring:
    """Everything use cases need, built once per application."""

    settings: Settings
    db: Database
    head_revision: str | None
    rulebook: Rulebook
    scheduler: EmbeddedScheduler


def wire(settings: Settings) -> Wiring:
    """Build the live objects for ``settings``; a rulebook that does not validate stops the start."""
    try:
        rulebook = load_rulebook(settings.rulebook_path)
    except RulebookError as error:
        raise ConfigError(f"ROUTING_RULEBOOK: {error}") from None
    return Wiring(
        settings=settings,
        db=Database(settings.database_url),
        head_revision=migrations.head_revision(),
        rulebook=rulebook,
        scheduler=EmbeddedScheduler(),
    )
