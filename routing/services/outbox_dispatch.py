"""The outbox's worker side: fan new events out to deliveries, deliver the due ones, retry, dead-letter.

Each step is a short transaction; no transaction is open while a channel sends (a network call):

1. **Fan out**: new events (``fanned_out_at`` unset) are taken (``FOR UPDATE SKIP LOCKED`` on PostgreSQL,
   so two workers never take the same), each channel names its targets, and one delivery row is made per
   (event, channel, target) (unique, so it is made once whatever happens).
2. **Take**: due pending deliveries are leased to this worker (``lease_until``; SKIP LOCKED again). The
   lease is also when the delivery is due again: a worker killed mid-delivery loses nothing, another takes
   it when the lease runs out and sends it again, with the same ``webhook-id`` (at least once).
3. **Deliver** through the channel, then **record** the attempt in the delivery log (result, latency, an
   HTTP status or error kind; no body) and the delivery's new state: delivered; pending again after an
   exponential backoff with jitter; or dead, after a permanent refusal or once retries have run for the
   policy's horizon (24 hours at least). A replay (admin API and console) makes a dead or delivered
   delivery pending again, with a new horizon.

Alerts are never stuck behind slow webhooks: the ``alert`` channel has its own lane of senders.
"""

from __future__ import annotations

import logging
import random
import threading
import uuid
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from routing.adapters.db.models import OutboxAttempt, OutboxDelivery, OutboxEvent
from routing.adapters.db.types import utcnow
from routing.observability import events
from routing.services.outbox import Channel, DeliveryResult, OutboundEvent, as_event

log = logging.getLogger(__name__)

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"
DELIVERY_STATUSES = (PENDING, DELIVERED, DEAD)
#: The channels whose deliveries have their own senders, so nothing else can hold them up.
ALERT_CHANNELS = frozenset({"alert"})


@dataclass(frozen=True)
class OutboxPolicy:
    """How long a worker holds a delivery, how retries back off, and when they stop."""

    #: Longer than a send can take (the HTTP timeouts): only a dead worker's lease runs out.
    lease: timedelta = timedelta(seconds=60)
    retry_base: timedelta = timedelta(seconds=10)
    retry_cap: timedelta = timedelta(hours=1)
    #: Retries stop, and the delivery is dead-lettered, this long after it was made (or replayed).
    give_up_after: timedelta = timedelta(hours=24)

    def retry_delay(self, attempts: int) -> timedelta:
        """Exponential backoff with jitter (half to all of the step), so a recovering receiver is not hit by
        every delivery at once: about 10 s, 20 s, 40 s... up to an hour between attempts."""
        ceiling = min(self.retry_cap, self.retry_base * (2 ** max(attempts - 1, 0)))
        return ceiling * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not a secret


@dataclass(frozen=True)
class Taken:
    """A delivery leased to this worker, with its event."""

    id: uuid.UUID
    channel: str
    target: str
    attempts: int
    lease_until: datetime
    give_up_at: datetime
    event: OutboundEvent


_deliveries = OutboxDelivery.__table__
_events = OutboxEvent.__table__
_attempts = OutboxAttempt.__table__


def fan_out(
    session: Session, channels: Sequence[Channel], policy: OutboxPolicy, now: datetime, limit: int = 100
) -> int:
    """Make the deliveries of up to ``limit`` new events, oldest first; how many events were fanned out.

    An event whose targets cannot be read (a channel's defect) is left for the next round and logged;
    the others go on.
    """
    with session.begin():
        rows = session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.fanned_out_at.is_(None))
            .order_by(OutboxEvent.occurred_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        made, fanned = [], []
        for row in rows:
            event = as_event(row)
            try:  # targets() only reads: a failure leaves nothing to undo
                targets = [(channel.name, target) for channel in channels for target in channel.targets(session, event)]
            except Exception as error:
                log.error("outbox event %s (%s) not fanned out: %s", event.id, event.type, type(error).__name__)
                continue
            made.extend(_new_delivery(event.id, name, target, now, policy) for name, target in targets)
            fanned.append(event.id)
        if made:
            session.execute(insert(_deliveries), made)
        if fanned:
            session.execute(update(_events).where(_events.c.id.in_(fanned)).values(fanned_out_at=now))
    return len(fanned)


def _new_delivery(event_id: uuid.UUID, channel: str, target: str, now: datetime, policy: OutboxPolicy) -> dict:
    return {
        "id": uuid.uuid4(),
        "event_id": event_id,
        "channel": channel,
        "target": target,
        "status": PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "give_up_at": now + policy.give_up_after,
        "created_at": now,
    }


def take_due(
    session: Session,
    policy: OutboxPolicy,
    now: datetime,
    limit: int,
    *,
    channels: Collection[str] | None = None,
    other_than: Collection[str] = (),
) -> list[Taken]:
    """Lease up to ``limit`` due deliveries to this worker, soonest due first (only ``channels``' when
    given, none of ``other_than``'s). The lease end is also when each is due again, should this worker die."""
    due = (
        select(_deliveries.c.id)
        .where(_deliveries.c.status == PENDING, _deliveries.c.next_attempt_at <= bindparam("now"))
        .order_by(_deliveries.c.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if channels is not None:
        due = due.where(_deliveries.c.channel.in_(list(channels)))
    if other_than:
        due = due.where(_deliveries.c.channel.not_in(list(other_than)))
    lease_until = now + policy.lease
    take = (
        update(_deliveries)
        .where(_deliveries.c.id.in_(due.scalar_subquery()), _deliveries.c.status == PENDING)
        .values(
            lease_until=lease_until,
            next_attempt_at=lease_until,
            attempts=_deliveries.c.attempts + 1,
            last_attempt_at=bindparam("now"),
        )
        .returning(
            _deliveries.c.id,
            _deliveries.c.event_id,
            _deliveries.c.channel,
            _deliveries.c.target,
            _deliveries.c.attempts,
            _deliveries.c.give_up_at,
        )
    )
    with session.begin():
        rows = session.connection().execute(take, {"now": now}).all()
        if not rows:
            return []
        found = session.scalars(select(OutboxEvent).where(OutboxEvent.id.in_({row.event_id for row in rows})))
        by_id = {event.id: as_event(event) for event in found}
    return [
        Taken(row.id, row.channel, row.target, row.attempts, lease_until, row.give_up_at, by_id[row.event_id])
        for row in rows
    ]


def deliver(session: Session, channels: dict[str, Channel], taken: Taken) -> DeliveryResult:
    """Send one taken delivery through its channel (no transaction open); a channel's defect is a failure
    to retry, never a crash of the worker."""
    channel = channels.get(taken.channel)
    if channel is None:
        return DeliveryResult(False, True, f"channel {taken.channel} not configured in this worker", 0.0)
    try:
        return channel.deliver(session, taken.event, taken.target)
    except Exception as error:
        session.rollback()
        log.error("delivery %s through %s failed: %s", taken.id, taken.channel, type(error).__name__)
        return DeliveryResult(False, True, f"error {type(error).__name__}", 0.0)


def record_result(
    session: Session, policy: OutboxPolicy, taken: Taken, result: DeliveryResult, started: datetime, now: datetime
) -> str:
    """Log the attempt and move the delivery on: delivered, pending again (backoff), or dead; its new status.

    The delivery changes only while this worker still holds its lease; a worker whose lease ran out (and
    whose delivery another took) still logs its attempt.
    """
    detail = result.detail[:200]
    if result.ok:
        status, values = DELIVERED, {"delivered_at": now}
    elif result.retry and now < taken.give_up_at:
        status = PENDING
        values = {"next_attempt_at": min(now + policy.retry_delay(taken.attempts), taken.give_up_at)}
    else:
        status, values = DEAD, {}
    with session.begin():
        session.execute(
            insert(_attempts).values(
                delivery_id=taken.id,
                started_at=started,
                latency_ms=result.latency_ms,
                result=DELIVERED if result.ok else ("failed" if result.retry else "refused"),
                detail=detail,
            )
        )
        session.execute(
            update(_deliveries)
            .where(_deliveries.c.id == taken.id, _deliveries.c.lease_until == taken.lease_until)
            .values(status=status, lease_until=None, last_result=detail, **values)
        )
    events.outbox_delivery(taken.event, taken.channel, taken.id, status, result, now)
    return status


def replay(session: Session, delivery_id: uuid.UUID, policy: OutboxPolicy, now: datetime) -> OutboxDelivery | None:
    """Make a dead or delivered delivery pending again, due now, with a new retry horizon (the caller audits
    it, in its transaction). None when there is no such delivery; ValueError when it is still pending."""
    delivery = session.get(OutboxDelivery, delivery_id, with_for_update=True)
    if delivery is None:
        return None
    if delivery.status == PENDING:
        raise ValueError("This delivery is still pending: it is retried on its own.")
    delivery.status = PENDING
    delivery.next_attempt_at = now
    delivery.lease_until = None
    delivery.give_up_at = now + policy.give_up_after
    return delivery


# --- running it ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Periodic:
    """A job the outbox worker runs every ``every`` (the alerts' repeats, for one)."""

    name: str
    every: timedelta
    run: Callable[[Session, datetime], object]


@dataclass
class _Lane:
    """Senders for some channels: their pool, and how many of its threads are busy."""

    name: str
    senders: int
    channels: frozenset[str] | None  # None: every channel the other lanes do not take
    other_than: frozenset[str] = frozenset()
    busy: int = 0
    pool: ThreadPoolExecutor | None = field(default=None, repr=False)


class OutboxWorker:
    """Fans out and delivers in background threads of the booking worker's process (``flask worker``).

    The loop asks the database for new events and due deliveries every ``poll`` seconds when idle, and
    at once again after any work: two indexed queries a second per worker process at the default, light
    enough for SQLite and PostgreSQL alike, and an alert is on its way within about a second of the
    intake's commit. (PostgreSQL's LISTEN/NOTIFY could wake it sooner, but SQLite has nothing like it and
    a second is well inside the ten seconds an alert may take.)
    """

    def __init__(
        self,
        sessions: Callable[[], Session],
        channels: Sequence[Channel],
        policy: OutboxPolicy,
        *,
        poll: float = 1.0,
        senders: int = 4,
        alert_senders: int = 2,
        periodic: Sequence[Periodic] = (),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.sessions = sessions
        self.channels = {channel.name: channel for channel in channels}
        self.policy = policy
        self.poll = poll
        self.periodic = list(periodic)
        self.clock = clock
        self._lanes = [
            _Lane("alert", alert_senders, ALERT_CHANNELS),
            _Lane("other", senders, None, other_than=ALERT_CHANNELS),
        ]
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._next_run = {job.name: self.clock() for job in self.periodic}

    def run(self, stop: threading.Event) -> None:
        """Fan out and deliver until ``stop`` is set; then wait for the sends in hand to finish."""
        for lane in self._lanes:
            lane.pool = ThreadPoolExecutor(lane.senders, thread_name_prefix=f"outbox-{lane.name}")
        try:
            while not stop.is_set():
                try:
                    busy = self._round()
                except Exception as error:  # the database went away, say: keep going, it may come back
                    log.error("outbox round failed: %s", type(error).__name__)
                    busy = False
                if not busy:
                    self._wake.wait(self.poll)
                    self._wake.clear()
        finally:
            for lane in self._lanes:
                lane.pool.shutdown(wait=True)

    def drain(self) -> int:
        """Run the periodic jobs once, then fan out and deliver everything due now, in this thread, until
        nothing is due (``flask worker --until-idle``, for cron and tests); deliveries made."""
        for job in self.periodic:
            with self.sessions() as session:
                job.run(session, self.clock())
        done = 0
        while True:
            now = self.clock()
            with self.sessions() as session:
                fan_out(session, list(self.channels.values()), self.policy, now)
                taken = take_due(session, self.policy, now, 50)
            if not taken:
                return done
            for item in taken:
                self._send(item)
                done += 1

    def _round(self) -> bool:
        """One pass: periodic jobs that are due, fan-out, and as many takes as there are idle senders."""
        now = self.clock()
        for job in self.periodic:
            if now >= self._next_run[job.name]:
                self._next_run[job.name] = now + job.every
                with self.sessions() as session:
                    job.run(session, now)
        with self.sessions() as session:
            fanned = fan_out(session, list(self.channels.values()), self.policy, now)
            took = False
            for lane in self._lanes:
                with self._lock:
                    idle = lane.senders - lane.busy
                if idle <= 0:
                    continue
                taken = take_due(session, self.policy, now, idle, channels=lane.channels, other_than=lane.other_than)
                for item in taken:
                    with self._lock:
                        lane.busy += 1
                    lane.pool.submit(self._send_in_lane, lane, item)
                took = took or bool(taken)
        return bool(fanned) or took

    def _send_in_lane(self, lane: _Lane, taken: Taken) -> None:
        try:
            self._send(taken)
        finally:
            with self._lock:
                lane.busy -= 1
            self._wake.set()  # a sender is free: look for more at once

    def _send(self, taken: Taken) -> None:
        started = self.clock()
        with self.sessions() as session:
            result = deliver(session, self.channels, taken)
            try:
                record_result(session, self.policy, taken, result, started, self.clock())
            except Exception as error:
                # Not recorded: the lease runs out and the delivery is sent again (at least once).
                log.error("delivery %s sent but not recorded: %s", taken.id, type(error).__name__)
