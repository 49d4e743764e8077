"""Impact previews: replay a period's stored inquiries through a rulebook version and report what would change.

Staff request a preview of a version over a period (default the last 90 days); it is stored ``queued``. A worker
(``flask worker``, in a thread beside the booking queue) claims it with a lease, replays the period's decisions in
force through the version on every core (:mod:`routing.services.preview_replay`), writes its progress (``done`` of
``total``) after every batch, stops when it was cancelled, and stores the report (``routing.domain.rulebook_impact``)
with the preview. A worker killed mid-run leaves its lease to run out, and another worker starts the preview again.
Requests and cancellations are audited.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, or_, select, update
from sqlalchemy.orm import Session

from routing.adapters.db.models import RulebookPreview, RulebookVersion
from routing.adapters.db.types import utcnow
from routing.domain.rulebook_impact import Tally, report
from routing.domain.triage.rulebook import RulebookError, parse_rulebook
from routing.services import audit, preview_replay
from routing.services.reading import read_only
from routing.services.staff_tokens import Staff

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, CANCELLED, FAILED = "queued", "running", "done", "cancelled", "failed"
LIVE = (QUEUED, RUNNING)
#: The period replayed when none is given.
DEFAULT_PERIOD = timedelta(days=90)
#: The longest period one preview may replay.
LONGEST_PERIOD = timedelta(days=3 * 366)
#: The share of its time a replay process works by default (``ROUTING_PREVIEW_DUTY``).
DUTY = 0.1
#: How long a worker holds a running preview without writing progress before another may take it over.
LEASE = timedelta(seconds=60)

_previews = RulebookPreview.__table__


class NotFound(LookupError):
    """No such preview, or no such rulebook version."""


#: Version ids are the database's 32-bit integers: a larger one in a URL names no version (and must not reach the
#: driver, which refuses to send it).
LARGEST_ID = 2**31 - 1


def known_id(version_id: int) -> int:
    """``version_id``, or NotFound when no version could have it."""
    if not 1 <= version_id <= LARGEST_ID:
        raise NotFound(version_id)
    return version_id


class Refused(ValueError):
    """The request cannot be done as asked; ``status`` is the HTTP status, ``errors`` name bad fields."""

    def __init__(self, status: int, message: str, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.errors = errors or {}


# -- staff: request, read, cancel ------------------------------------------------------------------------------


def request_preview(
    session: Session,
    staff: Staff,
    version_id: int,
    *,
    period_start: datetime | None = None,
    period_end: datetime | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Queue a preview of version ``version_id`` over [period_start, period_end) (default: the last 90 days).

    Refused (409) while another preview of the same version is queued or running: cancel that one first.
    """
    known_id(version_id)
    now = now or utcnow()
    end = period_end or now
    start = period_start or end - DEFAULT_PERIOD
    errors = {}
    if start >= end:
        errors["period_start"] = ["Must be before the period's end."]
    elif end - start > LONGEST_PERIOD:
        errors["period_start"] = [f"A preview replays at most {LONGEST_PERIOD.days} days."]
    if errors:
        raise Refused(422, "The period is not valid.", errors)
    with session.begin():
        version = session.get(RulebookVersion, version_id)
        if version is None:
            raise NotFound(version_id)
        running = session.scalar(
            select(RulebookPreview.id).where(RulebookPreview.version_id == version_id, RulebookPreview.status.in_(LIVE))
        )
        if running is not None:
            raise Refused(409, f"A preview of version {version_id} is already queued or running ({running}).")
        preview = RulebookPreview(
            id=uuid.uuid4(),
            version_id=version_id,
            period_start=start,
            period_end=end,
            status=QUEUED,
            done=0,
            requested_at=now,
            requested_by=staff.name,
        )
        session.add(preview)
        audit.record(
            session,
            staff,
            "rulebook.preview",
            details={
                "preview_id": str(preview.id),
                "version_id": version_id,
                "period_start": start.isoformat(),
                "period_end": end.isoformat(),
            },
            now=now,
        )
        session.flush()
        return as_dict(preview, version.label)


def cancel_preview(session: Session, staff: Staff, preview_id: uuid.UUID, now: datetime | None = None) -> dict:
    """Cancel a queued or running preview (a running one stops after the batch in hand); 409 once it has ended."""
    now = now or utcnow()
    with session.begin():
        preview = session.get(RulebookPreview, preview_id, with_for_update=True)
        if preview is None:
            raise NotFound(preview_id)
        if preview.status not in LIVE:
            raise Refused(409, f"This preview has ended ({preview.status}); there is nothing to cancel.")
        preview.status = CANCELLED
        preview.finished_at = now
        preview.lease_until = None
        audit.record(
            session,
            staff,
            "rulebook.preview_cancel",
            details={"preview_id": str(preview_id), "version_id": preview.version_id, "done": preview.done},
            now=now,
        )
        label = session.scalar(select(RulebookVersion.label).where(RulebookVersion.id == preview.version_id))
        return as_dict(preview, label)


@read_only
def preview(session: Session, preview_id: uuid.UUID) -> dict[str, Any]:
    """One preview: status, progress, and its report once done."""
    row = session.execute(
        select(RulebookPreview, RulebookVersion.label)
        .join(RulebookVersion, RulebookVersion.id == RulebookPreview.version_id)
        .where(RulebookPreview.id == preview_id)
    ).first()
    if row is None:
        raise NotFound(preview_id)
    return as_dict(*row)


@read_only
def previews_of(session: Session, version_id: int, limit: int = 20) -> list[dict[str, Any]]:
    known_id(version_id)
    """A version's previews, newest first, without their reports (NotFound when there is no such version)."""
    label = session.scalar(select(RulebookVersion.label).where(RulebookVersion.id == version_id))
    if label is None:
        raise NotFound(version_id)
    rows = session.scalars(
        select(RulebookPreview)
        .where(RulebookPreview.version_id == version_id)
        .order_by(RulebookPreview.requested_at.desc())
        .limit(limit)
    )
    return [as_dict(row, label, with_result=False) for row in rows]


@read_only
def latest_report(session: Session, version_id: int) -> dict[str, Any] | None:
    """The newest finished preview of a version, with its report (what approval shows), or None."""
    if not 1 <= version_id <= LARGEST_ID:
        return None
    row = session.scalar(
        select(RulebookPreview)
        .where(RulebookPreview.version_id == version_id, RulebookPreview.status == DONE)
        .order_by(RulebookPreview.finished_at.desc())
        .limit(1)
    )
    if row is None:
        return None
    label = session.scalar(select(RulebookVersion.label).where(RulebookVersion.id == version_id))
    return as_dict(row, label)


def as_dict(row: RulebookPreview, label: str | None = None, *, with_result: bool = True) -> dict[str, Any]:
    """A preview as the API and the console show it."""
    out = {
        "id": str(row.id),
        "version_id": row.version_id,
        "version_label": label,
        "status": row.status,
        "period_start": row.period_start.isoformat(),
        "period_end": row.period_end.isoformat(),
        "total": row.total,
        "done": row.done,
        "requested_at": row.requested_at.isoformat(),
        "requested_by": row.requested_by,
        "started_at": row.started_at.isoformat() if row.started_at else None,
        "finished_at": row.finished_at.isoformat() if row.finished_at else None,
        "error": row.error,
    }
    if with_result:
        out["result"] = row.result
    return out


# -- the worker: claim, replay, report ------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """A preview this worker runs: ``started_at`` marks this claim, so a worker that lost it cannot write."""

    id: uuid.UUID
    version_id: int
    document: dict[str, Any]
    period_start: datetime
    period_end: datetime
    started_at: datetime


_CLAIMABLE = (
    select(_previews.c.id)
    .where(
        or_(
            _previews.c.status == QUEUED,
            and_(_previews.c.status == RUNNING, _previews.c.lease_until <= bindparam("now")),
        )
    )
    .order_by(_previews.c.requested_at)
    .limit(1)
    .with_for_update(skip_locked=True)
    .scalar_subquery()
)
_CLAIM = (
    update(_previews)
    .where(_previews.c.id == _CLAIMABLE, or_(_previews.c.status == QUEUED, _previews.c.lease_until <= bindparam("now")))
    .values(status=RUNNING, started_at=bindparam("now"), lease_until=bindparam("lease_until"), done=0, total=None)
    .returning(_previews.c.id, _previews.c.version_id, _previews.c.period_start, _previews.c.period_end)
)


def claim_next(session: Session, now: datetime, lease: timedelta = LEASE) -> Claim | None:
    """Take the oldest queued preview (or a running one whose worker's lease ran out), or None."""
    with session.begin():
        row = session.connection().execute(_CLAIM, {"now": now, "lease_until": now + lease}).first()
        if row is None:
            return None
        document = session.scalar(select(RulebookVersion.document).where(RulebookVersion.id == row.version_id))
    return Claim(row.id, row.version_id, document, row.period_start, row.period_end, now)


def _mine(claim: Claim):
    return and_(_previews.c.id == claim.id, _previews.c.status == RUNNING, _previews.c.started_at == claim.started_at)


def _write(session: Session, claim: Claim, **values: Any) -> bool:
    """Write to the preview while this worker still holds it; False when it was cancelled or taken over."""
    with session.begin():
        return session.connection().execute(update(_previews).where(_mine(claim)).values(**values)).rowcount == 1


@dataclass(frozen=True)
class ReplaySettings:
    """Where and how a worker replays: the database (the pool's processes open it too) and how many processes."""

    database_url: str
    processes: int = 2
    #: The share of its time each replay process works (the rest it sleeps): intake on the machine keeps the CPU.
    duty: float = DUTY
    batch_size: int = preview_replay.BATCH_SIZE
    lease: timedelta = LEASE


def run_claim(
    sessions: Callable[[], Session], claim: Claim, settings: ReplaySettings, clock: Callable[[], datetime] = utcnow
) -> str:
    """Replay a claimed preview and store its report; the status it ended in (``done``, ``cancelled``, ...)."""
    began = time.perf_counter()
    try:
        rulebook = parse_rulebook(claim.document, origin=f"rulebook version {claim.version_id}")
        # The pool starts first: its processes import and connect while the period's inquiries are listed.
        with (
            preview_replay.Replayer(
                settings.database_url, claim.document, settings.processes, settings.duty
            ) as replayer,
            sessions() as session,
        ):
            tally = _replay(session, claim, settings, replayer, clock)
            if tally is None:
                return _ended(session, claim)
            result = {**report(tally, rulebook), "seconds": round(time.perf_counter() - began, 3)}
            result["processes"] = replayer.processes
            if not _write(session, claim, status=DONE, result=result, finished_at=clock(), lease_until=None):
                return _ended(session, claim)
        log.info(
            "rulebook preview %s of version %s: %d inquiries replayed in %.1f s",
            claim.id,
            claim.version_id,
            tally.replayed,
            result["seconds"],
        )
        return DONE
    except Exception as error:
        # Only the error's kind is kept and logged: a database error's text may quote an inquiry's values.
        why = str(error)[:400] if isinstance(error, RulebookError) else f"the replay failed ({type(error).__name__})"
        log.error("rulebook preview %s failed: %s", claim.id, type(error).__name__)
        with sessions() as session:
            _write(session, claim, status=FAILED, error=why, finished_at=clock(), lease_until=None)
        return FAILED


def _replay(
    session: Session,
    claim: Claim,
    settings: ReplaySettings,
    replayer: preview_replay.Replayer,
    clock: Callable[[], datetime],
) -> Tally | None:
    """The period's tally, writing progress after each batch; None as soon as the preview is no longer ours."""
    with session.begin():
        work = preview_replay.batches(session, claim.period_start, claim.period_end, settings.batch_size)
    if not _write(session, claim, total=sum(batch.size for batch in work), lease_until=clock() + settings.lease):
        return None
    tally, done = Tally(), 0
    for batch, part in replayer.run(work):
        tally.merge(part)
        done += batch.size
        if not _write(session, claim, done=done, lease_until=clock() + settings.lease):
            return None
    return tally


def _ended(session: Session, claim: Claim) -> str:
    with session.begin():
        status = session.scalar(select(RulebookPreview.status).where(RulebookPreview.id == claim.id))
    log.info("rulebook preview %s stopped: %s", claim.id, status if status != RUNNING else "taken over")
    return status or CANCELLED


def run_next(
    sessions: Callable[[], Session], settings: ReplaySettings, clock: Callable[[], datetime] = utcnow
) -> str | None:
    """Claim and run the next preview; its final status, or None when none was waiting."""
    with sessions() as session:
        claim = claim_next(session, clock(), settings.lease)
    if claim is None:
        return None
    return run_claim(sessions, claim, settings, clock)


def run_pending(sessions: Callable[[], Session], settings: ReplaySettings) -> int:
    """Run previews until none is waiting (``flask worker --until-idle``); how many ran."""
    count = 0
    while run_next(sessions, settings) is not None:
        count += 1
    return count


def work(sessions: Callable[[], Session], settings: ReplaySettings, stop: threading.Event, poll: float) -> None:
    """The worker's preview thread: run previews as they are requested until ``stop`` is set; never raises.

    The thread runs at a lower CPU priority (and so do the processes it starts): bookings and intake go first.
    """
    preview_replay.lower_priority()
    while not stop.is_set():
        try:
            ran = run_next(sessions, settings)
        except Exception as error:  # the database away for a moment: try again at the next poll
            log.error("rulebook previews: %s", type(error).__name__)
            ran = None
        if ran is None:
            stop.wait(poll)


__all__ = [
    "CANCELLED",
    "DEFAULT_PERIOD",
    "DONE",
    "FAILED",
    "QUEUED",
    "RUNNING",
    "Claim",
    "NotFound",
    "Refused",
    "ReplaySettings",
    "cancel_preview",
    "claim_next",
    "latest_report",
    "preview",
    "previews_of",
    "request_preview",
    "run_claim",
    "run_next",
    "run_pending",
    "work",
]
