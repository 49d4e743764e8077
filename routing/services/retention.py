"""The text retention job: remove the patient's free text from inquiries older than ``ROUTING_RETENTION_TEXT_DAYS``.

What goes and what stays is :mod:`routing.domain.retention`'s (``docs/retention.md``). The worker runs :func:`run`
every few minutes (``flask worker``), and staff may run it by hand (``flask retention run [--dry-run]``). It works in
batches, each one short transaction: due inquiries are locked (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so workers
running it at once take different ones), redacted and marked ``text_redacted_at``; a marked inquiry is never taken
again, so a run killed midway, or run twice, redacts nothing twice. A run that redacted anything records one audit
event (actor ``retention``) with its counts, in the transaction of its last batch; never any text.

An inquiry still in play keeps its text whatever its age: pending a booking, on the waitlist, with an appointment
still to come, or an urgent review nobody has acknowledged yet (staff must read it).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, bindparam, exists, func, not_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from routing.adapters.db.models import Appointment, AuditEvent, Inquiry, Referral, TriageDecision, WaitlistEntry
from routing.domain.retention import (
    TextRetention,
    redact_facts,
    redact_payload,
    redact_reason_texts,
    redact_reasons,
)
from routing.domain.rulebook_impact import STAFF_RULE, StoredDecision
from routing.domain.vocabulary import AppointmentStatus, InquiryStatus
from routing.services import audit
from routing.services.staff_queue import ACKNOWLEDGE

log = logging.getLogger(__name__)

#: Who the audit trail names for the job, and what it did.
ACTOR = "retention"
ACTION = "retention.text_removed"

_inquiries = Inquiry.__table__
_decisions = TriageDecision.__table__
_referrals = Referral.__table__
_entries = WaitlistEntry.__table__

_LIVE_ENTRY = exists().where(WaitlistEntry.inquiry_id == Inquiry.id, WaitlistEntry.status.in_(("waiting", "offered")))
_APPOINTMENT_TO_COME = exists().where(
    Appointment.inquiry_id == Inquiry.id,
    Appointment.status == AppointmentStatus.BOOKED,
    Appointment.end > bindparam("now"),
)
_ACKNOWLEDGED = exists().where(AuditEvent.inquiry_id == Inquiry.id, AuditEvent.action == ACKNOWLEDGE)
#: Due: received at or before the cutoff, text still kept, and nothing in play that needs the patient's words.
_DUE = (
    Inquiry.text_redacted_at.is_(None),
    Inquiry.received_at <= bindparam("cutoff"),
    Inquiry.status != InquiryStatus.PENDING_BOOKING,
    not_(and_(Inquiry.status == InquiryStatus.URGENT_REVIEW, not_(_ACKNOWLEDGED))),
    not_(_LIVE_ENTRY),
    not_(_APPOINTMENT_TO_COME),
)
_TAKE = (
    select(Inquiry.id, Inquiry.payload, Inquiry.facts)
    .where(*_DUE)
    .order_by(Inquiry.received_at, Inquiry.id)
    .limit(bindparam("batch"))
    .with_for_update(skip_locked=True)
)
_COUNT_DUE = select(func.count()).select_from(Inquiry).where(*_DUE)
_REDACT = (
    update(_inquiries)
    .where(_inquiries.c.id == bindparam("inquiry_id"), _inquiries.c.text_redacted_at.is_(None))
    .values(
        raw_body=b"",
        payload=bindparam("payload"),
        facts=bindparam("facts"),
        text_redacted_at=bindparam("now"),
        updated_at=bindparam("now"),
    )
)
_SET_DECISION_REASONS = (
    update(_decisions).where(_decisions.c.id == bindparam("decision_id")).values(reasons=bindparam("reasons"))
)
_SET_REFERRAL_REASONS = (
    update(_referrals).where(_referrals.c.id == bindparam("referral_id")).values(reasons=bindparam("reasons"))
)


@dataclass(frozen=True)
class RetentionRun:
    """What one run did: inquiries redacted (or, in a dry run, due), in how many batches, before which moment."""

    cutoff: datetime
    redacted: int = 0
    batches: int = 0
    #: A dry run: how many inquiries are due now; nothing was changed.
    due: int | None = None


def run(
    session: Session, policy: TextRetention, now: datetime, *, dry_run: bool = False, max_batches: int | None = None
) -> RetentionRun:
    """Redact every due inquiry, ``policy.batch_size`` per transaction, at most ``max_batches`` batches (None: until
    none is due); with ``dry_run``, only count them. Commits; the session must have no transaction open."""
    cutoff = policy.cutoff(now)
    params = {"cutoff": cutoff, "now": now}
    if dry_run:
        with session.begin():
            due = session.execute(_COUNT_DUE, params).scalar_one()
        return RetentionRun(cutoff, due=due)
    redacted = batches = 0
    while True:
        with session.begin():
            connection = session.connection()
            rows = connection.execute(_TAKE, {**params, "batch": policy.batch_size}).all()
            done = _redact(connection, rows, now)
            redacted += done
            batches += 1 if rows else 0
            last = len(rows) < policy.batch_size or (max_batches is not None and batches >= max_batches)
            if last and redacted:
                # One event per run, committed with its last batch: counts and the policy only, never text.
                audit.record(
                    session,
                    None,
                    ACTION,
                    details={
                        "inquiries": redacted,
                        "batches": batches,
                        "text_days": policy.text_days,
                        "received_before": cutoff.isoformat(),
                    },
                    now=now,
                    actor_name=ACTOR,
                )
        if last:
            break
    if redacted:
        log.info("retention: text removed from %d inquiries in %d batches", redacted, batches)
    return RetentionRun(cutoff, redacted=redacted, batches=batches)


def run_safely(session: Session, policy: TextRetention, now: datetime) -> RetentionRun | None:
    """One run of the worker's periodic job (at most ``policy.max_batches`` batches); an error is logged, not
    raised, so the worker goes on booking."""
    try:
        return run(session, policy, now, max_batches=policy.max_batches)
    except Exception as error:  # the worker must survive; the next run takes the same inquiries again
        session.rollback()
        log.error("retention run failed: %s", type(error).__name__)
        return None


def _redact(connection: Connection, rows, now: datetime) -> int:
    """Redact the taken inquiries, their decisions' reasons, referrals' reasons and waitlist entries' times."""
    if not rows:
        return 0
    ids = [row.id for row in rows]
    done = 0
    for row in rows:
        values = {"inquiry_id": row.id, "payload": redact_payload(row.payload), "facts": redact_facts(row.facts)}
        done += connection.execute(_REDACT, {**values, "now": now}).rowcount
    _redact_reasons(connection, ids)
    # A closed entry's unavailable times are the patient's words too (live entries are never due).
    connection.execute(
        update(_entries)
        .where(_entries.c.inquiry_id.in_(ids), _entries.c.unavailable_times.is_not(None))
        .values(unavailable_times=None)
    )
    return done


def _redact_reasons(connection: Connection, ids: list[uuid.UUID]) -> None:
    decisions = connection.execute(
        select(_decisions.c.id, _decisions.c.reasons).where(_decisions.c.inquiry_id.in_(ids))
    ).all()
    changed = [
        {"decision_id": row.id, "reasons": new}
        for row in decisions
        if (new := redact_reasons(row.reasons)) != row.reasons
    ]
    if changed:
        connection.execute(_SET_DECISION_REASONS, changed)
    referrals = connection.execute(
        select(_referrals.c.id, _referrals.c.reasons).where(_referrals.c.inquiry_id.in_(ids))
    ).all()
    changed = [
        {"referral_id": row.id, "reasons": new}
        for row in referrals
        if (new := redact_reason_texts(row.reasons)) != row.reasons
    ]
    if changed:
        connection.execute(_SET_REFERRAL_REASONS, changed)


def stored_decision(session: Session, inquiry: Inquiry) -> StoredDecision:
    """What a redacted inquiry is decided again on, its message gone: the facts and the safety net's finds of its
    newest decision made by the rulebook (a staff override's route is not the rulebook's); the inquiry's stored
    facts when it has none. Reads in the caller's transaction."""
    row = session.scalars(
        select(TriageDecision)
        .where(TriageDecision.inquiry_id == inquiry.id, TriageDecision.rule_id != STAFF_RULE)
        .order_by(TriageDecision.created_at.desc())
        .limit(1)
    ).first()
    if row is None:
        facts = (inquiry.facts or {}).get("values") or {}
        return StoredDecision(str(inquiry.id), "", "", "", facts, inquiry.language)
    return StoredDecision.of(
        str(inquiry.id), row.route, row.urgency, row.rule_id, row.reasons, row.facts, inquiry.language
    )
