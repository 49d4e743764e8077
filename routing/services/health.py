"""Readiness: can this instance serve requests right now?"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from routing.adapters.db import migrations
from routing.adapters.db.database import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Readiness:
    """The outcome of the readiness checks; ``problems`` is empty when ready."""

    database: str
    current_revision: str | None
    head_revision: str | None
    problems: tuple[str, ...]

    @property
    def ready(self) -> bool:
        """True when every check passed."""
        return not self.problems


def check_readiness(*, db: Database, head_revision: str | None) -> Readiness:
    """Check that the database answers and its schema is at the newest migration."""
    try:
        with db.engine.connect() as connection:
            current = migrations.current_revision(connection)
    except SQLAlchemyError as error:
        # The driver's message can include the URL; the type is enough to tell "down" from "refused".
        log.warning("readiness: database unreachable (%s)", type(error).__name__)
        return Readiness("unreachable", None, head_revision, ("The database cannot be reached.",))
    problems = ()
    if current != head_revision:
        problems = (
            f"The database schema is at revision {current or 'none'} but the code expects {head_revision}; "
            "run `flask --app wsgi db upgrade`.",
        )
    return Readiness("ok", current, head_revision, problems)
