"""The rows a transaction writes at its end, sent to PostgreSQL as one statement.

A booking records a decision, maybe a referral and an appointment, and the inquiry's new status: four
statements, each a round trip and a statement's worth of driver work. PostgreSQL runs INSERTs and
UPDATEs inside WITH, so the batch sends them as one ``WITH w0 AS (INSERT ...), ... UPDATE ...``; the
foreign keys between them are checked at the end of that statement. SQLite has no writes inside WITH
and runs in the process anyway: there they run one after another, in the order added.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Table, bindparam, insert
from sqlalchemy.engine import Connection
from sqlalchemy.sql.dml import Update, ValuesBase
from sqlalchemy.sql.elements import BindParameter

#: Builds a row write from the names of its values and a way to name their bound parameters.
Builder = Callable[[frozenset[str], Callable[[str], BindParameter[Any]]], ValuesBase]


class RowWrite:
    """One kind of write that returns nothing (an INSERT into a table, or an UPDATE), combinable with others."""

    def __init__(self, name: str, build: Builder) -> None:
        self.name = name
        self.build = build

    @classmethod
    def insert(cls, table: Table) -> RowWrite:
        """Inserting one row into ``table`` with the values given, and the columns' constant defaults."""
        return cls(f"insert_{table.name}", lambda keys, bind: insert(table).values(_row_values(table, keys, bind)))

    def __repr__(self) -> str:
        return f"RowWrite({self.name})"


# Built statements by the writes and value names they hold; a request has only a handful of shapes.
_ALONE: dict[tuple[RowWrite, frozenset[str]], ValuesBase] = {}
_COMBINED: dict[tuple[tuple[RowWrite, frozenset[str]], ...], ValuesBase] = {}


class WriteBatch:
    """Writes added during a transaction and sent by :meth:`flush`, before the transaction commits.

    As a context manager (inside the transaction's block) it flushes when the block ends without error.
    """

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._pending: list[tuple[RowWrite, dict[str, Any]]] = []

    def __enter__(self) -> WriteBatch:
        return self

    def __exit__(self, error_type: type[BaseException] | None, *_: object) -> None:
        if error_type is None:
            self.flush()

    def add(self, write: RowWrite, values: dict[str, Any]) -> None:
        """Queue ``write`` with its values (column names, and the names its WHERE clause binds)."""
        self._pending.append((write, values))

    def flush(self) -> None:
        """Send every queued write: as one statement on PostgreSQL, one by one elsewhere."""
        pending, self._pending = self._pending, []
        if len(pending) > 1 and self._connection.dialect.name == "postgresql":
            shape = tuple((write, frozenset(values)) for write, values in pending)
            statement = _COMBINED.get(shape)
            if statement is None:
                statement = _COMBINED[shape] = _combine(shape)
            self._connection.execute(
                statement,
                {f"w{i}_{key}": value for i, (_, values) in enumerate(pending) for key, value in values.items()},
            )
            return
        for write, values in pending:
            shape = (write, frozenset(values))
            statement = _ALONE.get(shape)
            if statement is None:
                statement = _ALONE[shape] = _build(write, shape[1], bindparam)
            self._connection.execute(statement, values)


def _combine(shape: tuple[tuple[RowWrite, frozenset[str]], ...]) -> ValuesBase:
    # Each write's parameters get its position as a prefix, so two writes may bind the same name.
    parts = [_build(write, keys, _prefixed(f"w{i}_")) for i, (write, keys) in enumerate(shape)]
    *first, last = parts
    return last.add_cte(*(part.cte(f"w{i}") for i, part in enumerate(first)))


def _build(write: RowWrite, keys: frozenset[str], bind: Callable[[str], BindParameter[Any]]) -> ValuesBase:
    statement = write.build(keys, bind)
    if isinstance(statement, Update):
        # Inside WITH, SQLAlchemy would leave a Python-side onupdate value out (NULL): it must be given.
        for column in statement.table.columns:
            if column.onupdate is not None and column.name not in keys:
                raise ValueError(f"{write.name}: {column.name} has a computed onupdate value: give it")
    return statement


def _row_values(table: Table, keys: frozenset[str], bind: Callable[[str], BindParameter[Any]]) -> dict[str, Any]:
    # SQLAlchemy fills in Python-side column defaults only for the outermost statement, not inside WITH,
    # so they are spelled out here. A computed default (a new id, the time) must come with the values.
    values: dict[str, Any] = {key: bind(key) for key in keys}
    for column in table.columns:
        if column.name in values or column.default is None:
            continue
        if not column.default.is_scalar:
            raise ValueError(f"{table.name}.{column.name} has a computed default: give its value")
        values[column.name] = column.default.arg
    return values


def _prefixed(prefix: str) -> Callable[[str], BindParameter[Any]]:
    return lambda key: bindparam(prefix + key)
