"""The booking queue: inquiries stored as ``pending_booking`` are booked by workers when they can be.

An inquiry is due when its ``next_attempt_at`` has passed and nobody holds its lease. A worker takes
one by setting ``lease_until`` in a short transaction (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so
workers never take the same one), then books it without holding a transaction open across network
calls. A worker killed mid-job simply lets the lease run out, and another worker takes the job.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from routing.adapters.db.models import Inquiry
from routing.adapters.db.types import utcnow
from routing.domain.retention import TextRetention
from routing.domain.vocabulary import InquiryStatus
from routing.observability import events
from routing.services import reconciliation, retention, staff_actions, waitlist
from routing.services.route_inquiry import Outcome, Routing, booking_failed, route_inquiry
from schemas.inquiry import InquiryRequestSchema

log = logging.getLogger(__name__)

_inquiries = Inquiry.__table__
_DUE = (
    select(_inquiries.c.id)
    .where(
        _inquiries.c.status == InquiryStatus.PENDING_BOOKING,
        or_(_inquiries.c.next_attempt_at.is_(None), _inquiries.c.next_attempt_at <= bindparam("now")),
        or_(_inquiries.c.lease_until.is_(None), _inquiries.c.lease_until <= bindparam("now")),
    )
    .order_by(_inquiries.c.next_attempt_at, _inquiries.c.received_at)
    .limit(1)
    .with_for_update(skip_locked=True)
    .scalar_subquery()
)
_JOB_COLUMNS = (
    _inquiries.c.id,
    _inquiries.c.payload,
    _inquiries.c.received_at,
    _inquiries.c.booking_attempts,
    _inquiries.c.language,
    _inquiries.c.text_redacted_at,
)
# By id alone: the subquery has just locked a row that is pending (PostgreSQL re-checks its conditions on the
# newest version before locking it; SQLite runs the statement alone), so "still pending" needs no second test
# here. With one, the planner took the status index for this update (too few pending rows to tell them apart
# by its statistics) and read every pending inquiry for each claim: slower the longer the queue.
_TAKE = (
    update(_inquiries)
    .where(_inquiries.c.id == _DUE)
    .values(lease_until=bindparam("lease_until"))
    .returning(*_JOB_COLUMNS)
)
# One given inquiry, on the same terms: pending, due, and nobody holding its lease.
_TAKE_ONE = (
    update(_inquiries)
    .where(
        _inquiries.c.id == bindparam("inquiry_id"),
        _inquiries.c.status == InquiryStatus.PENDING_BOOKING,
        or_(_inquiries.c.next_attempt_at.is_(None), _inquiries.c.next_attempt_at <= bindparam("now")),
        or_(_inquiries.c.lease_until.is_(None), _inquiries.c.lease_until <= bindparam("now")),
    )
    .values(lease_until=bindparam("lease_until"))
    .returning(*_JOB_COLUMNS)
)
_request_schema = InquiryRequestSchema()


@dataclass(frozen=True)
class Job:
    """A pending inquiry taken by one worker until ``lease_until``."""

    inquiry_id: uuid.UUID
    payload: dict
    received_at: datetime
    attempts: int
    language: str | None = None
    #: Set when the inquiry's text was removed (retention): it is decided again on its stored facts.
    text_redacted_at: datetime | None = None


def take_next(session: Session, routing: Routing, now: datetime) -> Job | None:
    """Lease the next due inquiry to this worker, or None when nothing is due."""
    with session.begin():
        row = session.connection().execute(_TAKE, {"now": now, "lease_until": now + routing.policy.lease}).first()
    return Job(*row) if row is not None else None


def work_one(session: Session, routing: Routing, now: datetime | None = None) -> Outcome | None:
    """Take one due inquiry and try to book it; None when the queue has nothing due."""
    now = now or utcnow()
    job = take_next(session, routing, now)
    return _work(session, routing, job, now) if job is not None else None


def resume(session: Session, routing: Routing, inquiry_id: uuid.UUID, now: datetime) -> Outcome | None:
    """Take one given inquiry as a worker would, if it is pending, due and free, and book it; else None.

    A redelivery uses it: the request that stored the inquiry died before settling it.
    """
    params = {"inquiry_id": inquiry_id, "now": now, "lease_until": now + routing.policy.lease}
    with session.begin():
        row = session.connection().execute(_TAKE_ONE, params).first()
    return _work(session, routing, Job(*row), now) if row is not None else None


def _work(session: Session, routing: Routing, job: Job, now: datetime) -> Outcome:
    try:
        # The payload passed validation when it was received; load it again for its typed values.
        data = _request_schema.load(job.payload)
        stored = None
        if job.text_redacted_at is not None:
            with session.begin():
                stored = retention.stored_decision(session, session.get(Inquiry, job.inquiry_id))
        return route_inquiry(
            session,
            routing,
            inquiry_id=job.inquiry_id,
            data=data,
            received_at=job.received_at,
            now=now,
            attempts=job.attempts,
            stored=stored,
        )
    except Exception as error:
        # One bad job must not stop the worker; count it like an unavailable scheduler.
        session.rollback()
        log.error("booking job for inquiry %s failed: %s", job.inquiry_id, type(error).__name__)
        events.booking_attempt_failed(routing.scheduler.name, "error", job.inquiry_id)
        why = f"booking failed ({type(error).__name__})"
        return booking_failed(session, routing, job.inquiry_id, job.attempts + 1, why, now, job.language)


def queue_depth(session: Session) -> int:
    """How many inquiries wait for a booking (for metrics and the worker's log)."""
    return session.scalar(select(func.count()).where(Inquiry.status == InquiryStatus.PENDING_BOOKING)) or 0


def run_worker(
    sessions: Callable[[], Session],
    routing: Routing,
    *,
    stop: threading.Event,
    idle_sleep: float = 1.0,
    until_idle: bool = False,
    clock: Callable[[], datetime] = utcnow,
    reconcile_every: timedelta | None = None,
    waitlist_every: timedelta | None = None,
    text_retention: TextRetention | None = None,
) -> int:
    """Book due inquiries until ``stop`` is set (or, with ``until_idle``, until none is due); jobs done.

    Sleeps ``idle_sleep`` seconds when nothing is due. Each job gets a fresh session. With a remote
    scheduler and ``reconcile_every``, also runs the reconciliation poll that often (at start, then between
    jobs; among several workers, one polls each period). With ``waitlist_every`` (and the waitlist on), runs the
    waitlist that often: offers of freed slots, expiries, windows passed. With ``text_retention`` on, removes
    patients' free text past its retention every ``text_retention.every`` (``routing.services.retention``).
    """
    done = 0
    remote = not routing.scheduler.capabilities.books_in_transaction
    next_poll = clock()  # this process's own timer, so it asks the database only when a poll may be due
    next_refill = clock()
    refills = waitlist_every is not None and routing.waitlist.enabled
    next_retention = clock()
    retains = text_retention is not None and text_retention.enabled
    while not stop.is_set():
        if retains and clock() >= next_retention:
            next_retention = clock() + text_retention.every
            with sessions() as session:
                retention.run_safely(session, text_retention, clock())
        if refills and clock() >= next_refill:
            next_refill = clock() + waitlist_every
            with sessions() as session:
                waitlist.run_safely(session, routing, clock())
        if remote and reconcile_every is not None and clock() >= next_poll:
            next_poll = clock() + reconcile_every
            with sessions() as session:
                reconciliation.poll_if_due(session, routing, clock(), reconcile_every)
        with sessions() as session:
            outcome = work_one(session, routing, clock())
        if outcome is not None:
            events.worker_job(outcome.id, outcome.status)
            done += 1
            continue
        if until_idle:
            break
        if remote:
            # Nothing due: finish any staff override a dead process left between a remote scheduler's calls
            # and its record (with the embedded scheduler an override is one transaction: none is left).
            with sessions() as session:
                staff_actions.finish_interrupted_overrides(session, routing, clock(), after=routing.policy.lease)
        stop.wait(idle_sleep)
    return done
