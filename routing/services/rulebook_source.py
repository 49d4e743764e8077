"""The rulebook in force in this process: the database's active version, seen within seconds of its activation.

Every process (each gunicorn worker, the booking worker) keeps the active version compiled in memory and asks
the database which version is active at most every ``check_every`` seconds, when something needs the rulebook:
one indexed read of a single id. Only when the id changed is the version's document read and compiled. So an
activation or a rollback reaches every process within seconds, without a restart, and intake pays for the
database only at those checks.

Until a check has succeeded (the schema is not migrated yet, the database is unreachable) the process triages
with its fallback: the rulebook of ``ROUTING_RULEBOOK``'s file, validated at start. A failed check, or an active
version that no longer compiles, keeps the rulebook in hand: the service never stops triaging over it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy import select

from routing.adapters.db.database import Database
from routing.adapters.db.models import RulebookVersion
from routing.domain.triage import Rulebook
from routing.domain.triage.rulebook import RulebookError, parse_rulebook
from routing.domain.vocabulary import RulebookState

log = logging.getLogger(__name__)

_ACTIVE_ID = select(RulebookVersion.id).where(RulebookVersion.state == RulebookState.ACTIVE)


def _version_document(version_id: int):
    return select(RulebookVersion.label, RulebookVersion.document).where(RulebookVersion.id == version_id)


class RulebookSource:
    """The live rulebook of one process; :meth:`current` is cheap enough to call on every request."""

    def __init__(
        self,
        db: Database,
        fallback: Rulebook,
        check_every: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        fallback_named: str | None = None,
    ) -> None:
        self._db = db
        self._rulebook = fallback
        #: The setting that named the fallback's file, when it is not the shipped one (to warn it is not in force).
        self._fallback_named = fallback_named
        self._check_every = check_every
        self._clock = clock
        #: The version compiled now; None while the fallback file's rulebook is in use.
        self._version_id: int | None = None
        #: An active version that failed to compile, so it is not compiled again at every check.
        self._refused_id: int | None = None
        self._next_check = float("-inf")
        self._failing = False
        self._lock = threading.Lock()

    @property
    def version_id(self) -> int | None:
        """The id of the version in use; None while the fallback file's rulebook is in use."""
        return self._version_id

    def current(self) -> Rulebook:
        """The rulebook to triage with now (the active version as of the last check, at most ``check_every`` old)."""
        if self._clock() >= self._next_check and self._lock.acquire(blocking=False):
            # One thread checks; the others go on with the rulebook in hand rather than wait for it.
            try:
                now = self._clock()
                if now >= self._next_check:
                    self._next_check = now + self._check_every
                    self._check()
            finally:
                self._lock.release()
        return self._rulebook

    def expire(self) -> None:
        """Check at the next :meth:`current` (this process just activated a version: use it at once)."""
        self._next_check = float("-inf")

    def _check(self) -> None:
        try:
            with self._db.reading() as connection:
                active = connection.scalar(_ACTIVE_ID)
                if active is None or active in (self._version_id, self._refused_id):
                    self._recovered()
                    return
                label, document = connection.execute(_version_document(active)).one()
        except Exception as error:
            # No table yet (not migrated), or no database: keep triaging with what this process has.
            if not self._failing:
                log.warning(
                    "cannot read the active rulebook version (%s); triaging with rulebook %s until it can be read",
                    type(error).__name__,
                    self._rulebook.version,
                )
            self._failing = True
            return
        self._recovered()
        try:
            rulebook = parse_rulebook(document, origin=f"rulebook version {active}")
        except RulebookError as error:
            # Validated when it was created and when it was activated: only a code change can get here.
            self._refused_id = active
            log.error("active %s; still triaging with rulebook %s", error, self._rulebook.version)
            return
        previous = self._rulebook.version
        if self._version_id is None and self._fallback_named and rulebook.version != previous:
            log.warning(
                "%s's file (rulebook %s) is not the active version (%s), which is in force: upload the file as a "
                "draft to use it (docs/rulebook-versions.md)",
                self._fallback_named,
                previous,
                label,
            )
        self._rulebook, self._version_id, self._refused_id = rulebook, active, None
        log.info("rulebook version %s (%s) in force in this process (was %s)", active, label, previous)

    def _recovered(self) -> None:
        if self._failing:
            log.info("the active rulebook version can be read again")
        self._failing = False
