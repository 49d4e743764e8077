"""Engine and session factory for one configured database."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker


class Database:
    """Owns the engine and the session factory; one per application."""

    def __init__(self, url: URL) -> None:
        self.url = url
        _ensure_sqlite_directory(url)
        self.engine = create_engine(url, **_engine_options(url))
        if url.get_backend_name() == "sqlite":
            event.listen(self.engine, "connect", _configure_sqlite_connection)
            event.listen(self.engine, "begin", _begin_immediate)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def session(self, *, pinned: bool = False) -> Session:
        """A new session; the caller owns its transactions and must close it.

        ``pinned`` holds one connection from the first query until ``close()``, across commits;
        otherwise each transaction checks a connection out of the pool and returns it at commit.
        """
        if not pinned:
            return self.sessions()
        return _PinnedSession(self.engine)

    def ping(self) -> None:
        """Raise if the database cannot answer a trivial query."""
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        """Close pooled connections (at shutdown, or after a fork)."""
        self.engine.dispose()


class _PinnedSession(Session):
    """A session that checks out one connection lazily and keeps it until closed."""

    def __init__(self, engine) -> None:
        self._engine = engine
        self._pinned = None
        super().__init__(expire_on_commit=False)

    def get_bind(self, *args, **kwargs):
        """The pinned connection, checked out on first use (SQLAlchemy asks before every statement)."""
        if self._pinned is None:
            self._pinned = self._engine.connect()
        return self._pinned

    def close(self) -> None:
        """End the session and return the pinned connection to the pool."""
        try:
            super().close()
        finally:
            if self._pinned is not None:
                self._pinned.close()
                self._pinned = None


def _ensure_sqlite_directory(url: URL) -> None:
    # A fresh clone has no instance/ folder yet; SQLite creates the file but not its folder.
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)


def _engine_options(url: URL) -> dict:
    if url.get_backend_name() == "sqlite":
        # Flask serves requests on several threads; each borrows its own connection from the pool.
        return {"connect_args": {"check_same_thread": False, "timeout": 30}}
    # pre_ping turns a connection dropped by a database restart into a reconnect, not a failed request.
    return {"pool_pre_ping": True, "pool_size": 5, "max_overflow": 10, "connect_args": {"connect_timeout": 5}}


def _configure_sqlite_connection(dbapi_connection, _record) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (see _begin_immediate).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # Foreign keys are off by default in SQLite; WAL lets readers proceed while one writer commits.
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _begin_immediate(connection) -> None:
    # A deferred SQLite transaction that reads and then writes fails at once with "database is locked"
    # when another writer committed in between; taking the write lock up front makes writers queue
    # (up to busy_timeout) instead. SQLite has one writer at a time anyway.
    connection.exec_driver_sql("BEGIN IMMEDIATE")
