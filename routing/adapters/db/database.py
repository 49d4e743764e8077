"""Engine and session factory for one configured database."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event, exc, text
from sqlalchemy.engine import URL, Connection
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
        else:
            event.listen(self.engine.pool, "checkin", _note_checkin)
            event.listen(self.engine.pool, "checkout", _ping_if_idle)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def session(self, *, pinned: bool = False) -> Session:
        """A new session; the caller owns its transactions and must close it.

        ``pinned`` holds one connection from the first query until ``close()``, across commits;
        otherwise each transaction checks a connection out of the pool and returns it at commit.
        """
        if not pinned:
            return self.sessions()
        return _PinnedSession(self.engine)

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection of its own for a few reads, never waiting for a writer: on SQLite its transaction
        begins deferred (a WAL snapshot) instead of IMMEDIATE, so it may run even while this very thread's
        request holds the write lock. Rolled back when the block ends."""
        with self.engine.connect() as connection:
            connection.execution_options(**{_READ_ONLY: True})
            yield connection

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


@contextmanager
def autocommit(session: Session) -> Iterator[Connection]:
    """The session's connection for one statement that is a transaction by itself: one round trip.

    On PostgreSQL the statement runs in autocommit mode, without the BEGIN and COMMIT round trips
    around it; the connection is back in its usual isolation level afterwards, so the session's next
    transaction is a real one. SQLite runs in the process, where BEGIN and COMMIT cost no round trip:
    it gets an ordinary transaction. The session must have no transaction open.
    """
    connection = session.get_bind()
    if not isinstance(connection, Connection) or connection.dialect.name == "sqlite":
        with session.begin():
            yield session.connection()
        return
    connection.execution_options(isolation_level="AUTOCOMMIT")
    try:
        yield connection
        connection.commit()  # ends SQLAlchemy's bookkeeping; the database committed the statement
    except BaseException:
        connection.rollback()
        raise
    finally:
        connection.execution_options(isolation_level=connection.default_isolation_level)


def _ensure_sqlite_directory(url: URL) -> None:
    # A fresh clone has no instance/ folder yet; SQLite creates the file but not its folder.
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)


def _engine_options(url: URL) -> dict:
    if url.get_backend_name() == "sqlite":
        # Flask serves requests on several threads; each borrows its own connection from the pool.
        return {"connect_args": {"check_same_thread": False, "timeout": 30}}
    # Not pool_pre_ping: it costs a round trip on every checkout, i.e. every request (see _ping_if_idle).
    return {"pool_size": 5, "max_overflow": 10, "connect_args": {"connect_timeout": 5}}


#: A pooled connection unused for longer than this is pinged before it is handed out.
PING_AFTER_IDLE_SECONDS = 1.0


def _note_checkin(_dbapi_connection, record) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(dbapi_connection, record, _proxy) -> None:
    """Turn a connection dropped while it sat in the pool (a database restart) into a reconnect.

    Only connections idle for a while are pinged: under load a connection comes back within
    milliseconds and a ping per checkout was one of the intake's ten round trips. A connection that
    breaks while in use is invalidated by SQLAlchemy with the rest of the pool, and the intake retries
    its first statement once (``services.intake``), so a restart under load costs no acknowledged request.
    """
    idle_since = record.info.get("idle_since")
    if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
        return
    try:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT 1")
        finally:
            cursor.close()
        # The driver opened a transaction for the ping; hand the connection out idle, as the pool would.
        dbapi_connection.rollback()
    except Exception as error:
        # The pool discards this connection and checks out a new one (up to three times).
        raise exc.DisconnectionError("pooled connection is gone") from error


def _configure_sqlite_connection(dbapi_connection, _record) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (see _begin_immediate).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # Foreign keys are off by default in SQLite; WAL lets readers proceed while one writer commits.
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


#: The execution option :meth:`Database.reading` sets: its transactions only read.
_READ_ONLY = "routing_read_only"


def _begin_immediate(connection) -> None:
    if connection.get_execution_options().get(_READ_ONLY):
        # Reads only: a deferred transaction sees a snapshot and takes no lock a writer would wait for.
        connection.exec_driver_sql("BEGIN")
        return
    # A deferred SQLite transaction that reads and then writes fails at once with "database is locked"
    # when another writer committed in between; taking the write lock up front makes writers queue
    # (up to busy_timeout) instead. SQLite has one writer at a time anyway.
    connection.exec_driver_sql("BEGIN IMMEDIATE")
