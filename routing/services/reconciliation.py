"""The reconciliation poll: a change to our appointments that no notification reported is caught anyway.

A notification can be lost (the server gave up retrying, the subscription was off, a payload was
``empty``). So the booking worker asks a remote scheduling system every few minutes for our appointments
changed since a checkpoint (:meth:`~routing.adapters.scheduling.interface.Scheduler.changed_appointments`)
and syncs each through the same handling as notifications (:mod:`routing.services.appointment_sync`).

The checkpoint is the scheduling system's own timestamp of the newest change handled, kept in the
database (``sync_checkpoints``), so a restarted worker goes on from there and our clock never matters.
Each poll looks ``OVERLAP`` behind it again, for a change stamped earlier but committed later than the
last one seen (or a server clock stepping back); handling is idempotent (a change already acted on finds
our appointment no longer booked, and each change version has its own delivery key), so seeing a change
twice does nothing twice. With several workers, the one that claims the checkpoint row's ``checked_at``
for the period polls; the others do not. The embedded scheduler is never polled: its appointments live in
our database.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from routing.adapters.db.models import Appointment, SyncCheckpoint
from routing.adapters.scheduling.interface import AppointmentChange, SchedulerUnavailable
from routing.domain.vocabulary import AppointmentStatus
from routing.observability import events
from routing.services.appointment_sync import sync_appointment
from routing.services.route_inquiry import Routing

log = logging.getLogger(__name__)

#: The checkpoint's name in ``sync_checkpoints``.
CHECKPOINT = "scheduler.appointments"
#: How far behind the checkpoint each poll looks again (clock skew, late commits on the server).
OVERLAP = timedelta(minutes=1)
#: Where the very first poll starts, with no checkpoint yet.
FIRST_LOOKBACK = timedelta(days=1)
#: What a poll did to an appointment when it acted on it (the others: none, ignored).
ACTED = frozenset({"rebooked", "queued_for_staff", "rebook_pending"})


@dataclass(frozen=True)
class PollResult:
    """One poll: where it read from, what it saw and did, and the checkpoint it left."""

    since: datetime
    changes: int
    checkpoint: datetime | None
    results: list[dict[str, Any]] = field(default_factory=list)

    @property
    def acted(self) -> list[dict[str, Any]]:
        """The results that changed something (rebooked, queued for staff, rebook pending)."""
        return [result for result in self.results if result["action"] in ACTED]


def poll_if_due(session: Session, routing: Routing, now: datetime, every: timedelta) -> PollResult | None:
    """Poll unless another worker (or this one) did within ``every``; None when not due or it failed.

    Never raises for the scheduling system's or one change's failure: the worker must go on booking.
    The failure is logged and counted, and the checkpoint stays where the last handled change left it.
    """
    if routing.scheduler.capabilities.books_in_transaction or not claim_poll(session, now, every):
        return None
    try:
        result = reconcile(session, routing, now)
    except SchedulerUnavailable:
        session.rollback()
        events.reconciliation_poll("unavailable")
        return None
    except Exception as error:  # one bad change must not stop the worker; the next poll tries again
        session.rollback()
        log.error("reconciliation poll failed: %s", type(error).__name__)
        events.reconciliation_poll("error")
        return None
    events.reconciliation_poll("ok", result.changes, len(result.acted))
    return result


def claim_poll(session: Session, now: datetime, every: timedelta) -> bool:
    """Take this period's poll: True for one caller among all workers, until ``every`` has passed again."""
    try:
        with session.begin():
            # Locked only for this short transaction (no network call inside): a rival claim waits, then sees ours.
            row = session.get(SyncCheckpoint, CHECKPOINT, with_for_update=True)
            if row is None:
                session.add(SyncCheckpoint(name=CHECKPOINT, checked_at=now))
                return True
            if row.checked_at is not None and row.checked_at > now - every:
                return False
            row.checked_at = now
            return True
    except IntegrityError:  # another worker made the row first, and with it claimed this period
        session.rollback()
        return False


def reconcile(session: Session, routing: Routing, now: datetime) -> PollResult:
    """Ask the scheduling system for our appointments changed since the checkpoint and sync each one.

    The checkpoint moves to each change once it is handled, so a failure part way keeps what was done.
    Raises SchedulerUnavailable (nothing done) and whatever syncing a change raised.
    """
    with session.begin():
        row = session.get(SyncCheckpoint, CHECKPOINT)
        position = row.position if row is not None else None
    since = position - OVERLAP if position is not None else now - FIRST_LOOKBACK
    # A network call, outside any transaction.
    changes = routing.scheduler.changed_appointments(session, since)
    booked = _booked(session, [change.external_id for change in changes])
    results: list[dict[str, Any]] = []
    newest = position
    try:
        for change in changes:
            if change.external_id in booked:
                results.append(_sync(session, routing, change, now))
            # Only a change after ``since`` moves the checkpoint (not one a server returned regardless).
            if change.updated_at > since and (newest is None or change.updated_at > newest):
                newest = change.updated_at
    finally:
        session.rollback()  # whatever a failed change left open, so the checkpoint can still be saved
        if newest is not None and newest != position:
            _save_position(session, newest)
    return PollResult(since=since, changes=len(changes), checkpoint=newest, results=results)


def checkpoint(session: Session) -> datetime | None:
    """Where the poll has read up to (the scheduling system's clock), or None before the first poll."""
    position = session.scalar(select(SyncCheckpoint.position).where(SyncCheckpoint.name == CHECKPOINT))
    session.rollback()
    return position


def _sync(session: Session, routing: Routing, change: AppointmentChange, now: datetime) -> dict[str, Any]:
    # One key per version of the appointment: the overlap's second look at a change replays, never acts.
    version = change.version or change.updated_at.isoformat()
    key = f"poll:{routing.scheduler.name}:{change.external_id}@{version}"
    return sync_appointment(
        session, routing, change.external_id, key=key, how="reconciliation poll", status=change.status, now=now
    )


def _booked(session: Session, external_ids: list[str]) -> set[str]:
    """Which of these appointments are ours and booked: the only ones a change can ask anything of."""
    booked: set[str] = set()
    # In chunks: a long IN list is slow to plan and, on SQLite, limited in parameters.
    for start in range(0, len(external_ids), 500):
        chunk = external_ids[start : start + 500]
        booked.update(
            session.scalars(
                select(Appointment.external_id).where(
                    Appointment.external_id.in_(chunk), Appointment.status == AppointmentStatus.BOOKED
                )
            )
        )
    session.rollback()
    return booked


def _save_position(session: Session, position: datetime) -> None:
    with session.begin():
        row = session.get(SyncCheckpoint, CHECKPOINT, with_for_update=True)
        if row is None:
            session.add(SyncCheckpoint(name=CHECKPOINT, position=position))
        elif row.position is None or position > row.position:  # never backwards (a slower rival poll)
            row.position = position
