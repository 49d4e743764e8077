"""Replaying a period's stored decisions through a candidate rulebook, in batches of inquiry ids, on every core.

The period's inquiries (those with a decision in force) are listed by id and cut into batches. Each batch is read and
replayed by a process of a pool (forked from a fork server, not from the worker: no connection or thread inherited),
which opens its own database connection, compiles the rulebook once and sends back a :class:`Tally`; the caller
merges them as they come, so it can report progress and stop early. The pool's processes, and the worker's preview
thread that starts them, run at a lower CPU priority (``nice``): on a machine that also takes intake, a preview uses
the cores intake leaves idle.

With one process (or an in-memory SQLite database, which another process cannot open) batches run in the caller.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime
from multiprocessing import get_all_start_methods, get_context
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import Any

from sqlalchemy import Text, cast, create_engine, select
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import Session

from routing.adapters.db.models import Inquiry, TriageDecision
from routing.domain.rulebook_impact import StoredDecision, Tally
from routing.domain.triage.rulebook import Rulebook, parse_rulebook

#: Inquiries per batch: big enough that a batch's query and its round trip cost little per inquiry, small enough
#: that progress moves every fraction of a second and a cancellation is seen soon.
BATCH_SIZE = 2_000
#: How much lower the pool's processes run than the worker (``os.nice``; 19 is the lowest priority).
NICENESS = 10

_decisions = TriageDecision.__table__
_inquiries = Inquiry.__table__
_IN_FORCE = _decisions.c.superseded_at.is_(None)


@dataclass(frozen=True)
class Batch:
    """Some of the period's inquiries, by id (sorted)."""

    ids: tuple[uuid.UUID, ...]

    @property
    def size(self) -> int:
        """How many inquiries."""
        return len(self.ids)


def batches(session: Session, start: datetime, end: datetime, size: int = BATCH_SIZE) -> list[Batch]:
    """The inquiries received in [start, end) with a decision in force, by id, in batches of ``size``."""
    ids = tuple(
        session.scalars(
            select(_inquiries.c.id)
            .where(
                _inquiries.c.received_at >= start,
                _inquiries.c.received_at < end,
                select(_decisions.c.id).where(_decisions.c.inquiry_id == _inquiries.c.id, _IN_FORCE).exists(),
            )
            .order_by(_inquiries.c.id)
        )
    )
    return [Batch(ids[index : index + size]) for index in range(0, len(ids), size)]


def read_batch(connection: Connection, batch: Batch) -> Iterator[StoredDecision]:
    """The batch's decisions in force, in inquiry id order (one per inquiry: the newest, should there be two).

    Only ``triage_decisions`` is read, by its inquiry id index: the inquiries' wide rows are not touched. (The
    inquiry's language is not needed: a language the reader does not read left its own safety-net reason.)
    """
    rows = connection.execute(
        select(
            _decisions.c.inquiry_id,
            _decisions.c.route,
            _decisions.c.urgency,
            _decisions.c.rule_id,
            # As text: only the rule ids are read from it (see StoredDecision.of), not every reason parsed.
            cast(_decisions.c.reasons, Text),
            _decisions.c.facts,
        )
        .where(_IN_FORCE, _decisions.c.inquiry_id.in_(batch.ids))
        .order_by(_decisions.c.inquiry_id, _decisions.c.created_at.desc())
    ).all()
    previous = None
    for inquiry_id, route, urgency, rule_id, reasons, facts in rows:
        if inquiry_id == previous:
            continue
        previous = inquiry_id
        yield StoredDecision.of(str(inquiry_id), route, urgency, rule_id, reasons, facts)


def replay_batch(connection: Connection, batch: Batch, rulebook: Rulebook) -> Tally:
    """Replay one batch through ``rulebook``."""
    tally = Tally()
    for stored in read_batch(connection, batch):
        tally.add(stored, rulebook)
    return tally


def can_share(database_url: str) -> bool:
    """Whether other processes can open this database (not an in-memory SQLite one)."""
    url = make_url(database_url)
    return not (url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"))


class Replayer:
    """Replays batches on ``processes`` processes (1: in the caller), as a context manager.

    ``run(batches)`` yields each batch's tally as it is done; leaving the ``with`` block early (a cancellation)
    drops the batches not started.
    """

    def __init__(self, database_url: str, document: dict[str, Any], processes: int, duty: float = 1.0) -> None:
        self.database_url = database_url
        self.document = document
        self.processes = processes if can_share(database_url) else 1
        self.duty = duty
        self._pool: ProcessPoolExecutor | None = None
        self._engine: Engine | None = None
        self._rulebook: Rulebook | None = None

    def __enter__(self) -> Replayer:
        if self.processes > 1:
            self._pool = ProcessPoolExecutor(
                self.processes,
                mp_context=_context(self.database_url),
                initializer=_start_process,
                initargs=(self.database_url, self.document, self.duty),
            )
            # Start every process now: they import and connect while the caller lists the period's inquiries.
            for _ in range(self.processes):
                self._pool.submit(_ready)
        else:
            self._engine = create_engine(self.database_url)
            self._rulebook = parse_rulebook(self.document, origin="draft")
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        if self._engine is not None:
            self._engine.dispose()

    def _replay_here(self, batch: Batch) -> Tally:
        # A connection (and its transaction) per batch: none stays open while the pace rests, which would hold back
        # the database's clean-up of old row versions for as long as the whole preview.
        with self._engine.connect() as connection:
            return replay_batch(connection, batch, self._rulebook)

    def run(self, work: list[Batch]) -> Iterator[tuple[Batch, Tally]]:
        """Each batch with its tally, in the order they finish."""
        if self._pool is None:
            pace = Pace(self.duty)
            for batch in work:
                yield batch, pace.run(lambda batch=batch: self._replay_here(batch))
            return
        # A few batches queued per process: none waits for the next while the caller merges.
        pending: dict[Future, Batch] = {}
        queue = iter(work)
        _top_up(self._pool, pending, queue, self.processes * 2)
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                batch = pending.pop(future)
                yield batch, future.result()
            _top_up(self._pool, pending, queue, self.processes * 2)


def _context(database_url: str) -> BaseContext:
    """Where the pool's processes come from: a fork server that has imported this module and the database's driver
    once (the first preview of a worker pays for the imports, later ones start at once), else fresh interpreters.
    Never a plain fork of the worker: its other threads (the booking loop, the outbox) may hold locks that a forked
    copy would wait on forever."""
    if "forkserver" not in get_all_start_methods():
        return get_context("spawn")
    dialect = make_url(database_url).get_dialect()
    context = get_context("forkserver")
    context.set_forkserver_preload([__name__, dialect.__module__, dialect.import_dbapi().__name__])
    return context


class Pace:
    """Work ``duty`` of the time, at most (1: flat out): before each batch, rest in proportion to the CPU time the
    last one took (this thread's: time spent waiting for the CPU or the database is not counted twice).

    A replay's processes then leave the rest of the machine (intake, bookings) that share of its CPU, whatever the
    scheduler makes of priorities; a replay takes about 1/duty times as long as flat out.
    """

    def __init__(self, duty: float) -> None:
        self.duty = duty
        self.rest = 0.0

    def run(self, work: Callable[[], Tally]) -> Tally:
        """``work()``, after the rest the previous one earned."""
        if self.rest:
            time.sleep(self.rest)
        began = time.thread_time()
        try:
            return work()
        finally:
            self.rest = (time.thread_time() - began) * (1 / self.duty - 1)


def _top_up(pool: ProcessPoolExecutor, pending: dict[Future, Batch], queue: Iterator[Batch], depth: int) -> None:
    while len(pending) < depth:
        batch = next(queue, None)
        if batch is None:
            return
        pending[pool.submit(_replay_in_process, batch)] = batch


# -- in the pool's processes --------------------------------------------------------------------------------------

_process: dict[str, Any] = {}


def lower_priority() -> None:
    """Run the calling thread, and the processes it starts from now on, at ``NICENESS`` (if not lower already).

    On Linux a niceness is a thread's own: the worker's preview thread calls this, so its pool (started from it)
    yields the CPU to the booking loop, to intake on the same machine, and to the pool's own database reads.
    """
    if hasattr(os, "getpriority") and os.getpriority(os.PRIO_PROCESS, 0) < NICENESS:
        os.setpriority(os.PRIO_PROCESS, 0, NICENESS)


def _start_process(database_url: str, document: dict[str, Any], duty: float) -> None:
    _own_low_priority_group()
    lower_priority()
    _process["engine"] = create_engine(database_url, pool_size=1)
    _process["rulebook"] = parse_rulebook(document, origin="draft")
    _process["pace"] = Pace(duty)


def _own_low_priority_group() -> None:
    # Where Linux groups processes by session for scheduling ("autogroup", on by default in many kernels), a niceness
    # counts only within the group, and each group gets an equal share of the CPU: the worker's group would take as
    # much as the web server's. In a session of its own whose group's niceness is lowered, the process yields to
    # every other service. Best effort: without autogroup (or the permission) the plain niceness is what there is.
    try:
        os.setsid()
        Path("/proc/self/autogroup").write_text(str(NICENESS))
    except OSError:
        pass


def _ready() -> None:
    return None


def _replay_in_process(batch: Batch) -> Tally:
    def replay() -> Tally:
        with _process["engine"].connect() as connection:
            return replay_batch(connection, batch, _process["rulebook"])

    return _process["pace"].run(replay)


__all__ = [
    "BATCH_SIZE",
    "Batch",
    "Pace",
    "Replayer",
    "batches",
    "can_share",
    "lower_priority",
    "read_batch",
    "replay_batch",
]
