"""The live rulebook of a process (RulebookSource): the database's active version, asked for at most once per
check interval, compiled only when it changed; the file's rulebook until the database can say; never stuck."""

from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import event, update

from routing import create_app
from routing.adapters.db import migrations
from routing.adapters.db.database import Database
from routing.adapters.db.models import RulebookVersion, StaffToken
from routing.domain.triage.rulebook import load_rulebook
from routing.services.rulebook_source import RulebookSource
from tests.conftest import settings_for
from tests.http.rulebook_helpers import SHIPPED_LABEL, document


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Reads:
    """The statements sent to the database that read rulebook_versions."""

    def __init__(self, db: Database) -> None:
        self.statements: list[str] = []
        event.listen(db.engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "rulebook_versions" in statement:
            self.statements.append("document" if "document" in statement else "active id")


@pytest.fixture
def db(migrated_url):
    database = Database(migrated_url)
    yield database
    database.dispose()


def _add_version(db: Database, version_id: int, label: str, state: str, body: dict | None = None) -> None:
    with db.session() as session, session.begin():
        session.add(
            RulebookVersion(
                id=version_id,
                label=label,
                document=body or document(label, r10_urgency="soon"),
                sha256="0" * 64,
                state=state,
                created_by="test",
            )
        )


def _activate(db: Database, version_id: int) -> None:
    """Another process's activation, as the database sees it."""
    with db.session() as session, session.begin():
        session.execute(update(RulebookVersion).where(RulebookVersion.state == "active").values(state="retired"))
        session.execute(update(RulebookVersion).where(RulebookVersion.id == version_id).values(state="active"))


def test_the_database_is_asked_once_per_check_interval_and_the_document_read_only_when_it_changed(db):
    clock = Clock()
    reads = Reads(db)
    source = RulebookSource(db, load_rulebook(), check_every=2.0, clock=clock)

    versions = [source.current().version for _ in range(100)]
    clock.now += 1.9
    versions += [source.current().version for _ in range(100)]
    first_interval = list(reads.statements)
    clock.now += 0.1
    versions += [source.current().version for _ in range(100)]

    assert versions == [SHIPPED_LABEL] * 300
    assert first_interval == ["active id", "document"]
    assert reads.statements == ["active id", "document", "active id"]
    assert source.version_id == 1


def test_an_activation_elsewhere_is_in_force_at_the_next_check(db):
    clock = Clock()
    source = RulebookSource(db, load_rulebook(), check_every=2.0, clock=clock)
    assert source.current().version == SHIPPED_LABEL
    _add_version(db, 2, "2026-12-07.1", "approved")

    _activate(db, 2)
    before_the_check = source.current().version
    clock.now += 2.0
    after_the_check = source.current()

    assert before_the_check == SHIPPED_LABEL
    assert after_the_check.version == "2026-12-07.1"
    assert next(rule.urgency for rule in after_the_check.rules if rule.id == "R10") == "soon"
    assert source.version_id == 2


def test_expire_makes_the_next_call_check(db):
    clock = Clock()
    source = RulebookSource(db, load_rulebook(), check_every=2.0, clock=clock)
    source.current()
    _add_version(db, 2, "2026-12-07.1", "approved")
    _activate(db, 2)

    source.expire()

    assert source.current().version == "2026-12-07.1"


def test_before_the_schema_is_migrated_the_file_s_rulebook_is_used_then_the_database_s(database_url, tmp_path, caplog):
    own = tmp_path / "rulebook.json"
    own.write_text(json.dumps(document("clinic-own-file")), encoding="utf-8")
    db = Database(database_url)
    clock = Clock()
    source = RulebookSource(db, load_rulebook(own), check_every=2.0, clock=clock, fallback_named="ROUTING_RULEBOOK")
    try:
        with caplog.at_level(logging.INFO, logger="routing.services.rulebook_source"):
            unmigrated = [source.current().version, source.current().version]
            clock.now += 2.0
            unmigrated.append(source.current().version)
            migrations.upgrade(database_url)
            clock.now += 2.0
            migrated = source.current().version
    finally:
        db.dispose()

    assert unmigrated == ["clinic-own-file"] * 3
    assert migrated == SHIPPED_LABEL
    messages = [(record.levelname, record.getMessage()) for record in caplog.records]
    assert messages[0][0] == "WARNING"
    assert messages[0][1].startswith("cannot read the active rulebook version (")
    assert messages[0][1].endswith("); triaging with rulebook clinic-own-file until it can be read")
    assert messages[1:] == [
        ("INFO", "the active rulebook version can be read again"),
        (
            "WARNING",
            f"ROUTING_RULEBOOK's file (rulebook clinic-own-file) is not the active version ({SHIPPED_LABEL}), which "
            "is in force: upload the file as a draft to use it (docs/rulebook-versions.md)",
        ),
        ("INFO", f"rulebook version 1 ({SHIPPED_LABEL}) in force in this process (was clinic-own-file)"),
    ]


def test_an_active_version_that_does_not_compile_is_logged_once_and_the_rulebook_in_hand_kept(db, caplog):
    clock = Clock()
    reads = Reads(db)
    source = RulebookSource(db, load_rulebook(), check_every=2.0, clock=clock)
    source.current()
    _add_version(db, 2, "2026-12-07.1", "approved", body={**document("2026-12-07.1"), "rules": []})
    _activate(db, 2)

    with caplog.at_level(logging.ERROR, logger="routing.services.rulebook_source"):
        seen = []
        for _ in range(3):
            clock.now += 2.0
            seen.append(source.current().version)

    assert seen == [SHIPPED_LABEL] * 3
    assert source.version_id == 1
    assert [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR] == [
        "active rulebook version 2: rules: must be a non-empty list, in the order they are tried; still triaging "
        f"with rulebook {SHIPPED_LABEL}"
    ]
    assert reads.statements == ["active id", "document", "active id", "document", "active id", "active id"]


def test_the_check_does_not_wait_for_the_write_lock_this_thread_holds(db):
    clock = Clock()
    source = RulebookSource(db, load_rulebook(), check_every=2.0, clock=clock)
    source.current()
    _add_version(db, 2, "2026-12-07.1", "approved")
    _activate(db, 2)

    with db.session() as session, session.begin():
        # A request's transaction in the middle of a write (on SQLite it holds the database's write lock).
        session.execute(update(StaffToken).values(name="nobody"))
        clock.now += 2.0
        version = source.current().version

    assert version == "2026-12-07.1"


def test_the_app_triages_with_the_database_s_active_version_not_the_file(migrated_url, tmp_path):
    own = tmp_path / "rulebook.json"
    own.write_text(json.dumps(document("clinic-own-file")), encoding="utf-8")
    app = create_app(settings_for(migrated_url, ROUTING_RULEBOOK=str(own)))
    try:
        wiring = app.extensions["routing"]
        assert (wiring.rulebook.version, wiring.routing.rulebook.version) == (SHIPPED_LABEL, SHIPPED_LABEL)
    finally:
        app.extensions["routing"].db.dispose()
