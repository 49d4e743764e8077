"""Triage a stored inquiry, then book it or hand it to staff; shared by intake and the booking worker."""

from __future__ import annotations

import logging
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.orm import Session

from routing.adapters.db.models import Inquiry, TriageDecision
from routing.adapters.db.write_batch import RowWrite, WriteBatch
from routing.adapters.scheduling.interface import (
    BookingOutcome,
    BookingRequest,
    Scheduler,
    SchedulerUnavailable,
    SchedulingError,
    SlotTime,
)
from routing.domain import patient_messages
from routing.domain.booking_plan import BookingPlan, plan_booking
from routing.domain.triage import HOLD_LANGUAGE, HOLD_POSSIBLE_RED_FLAG, Decision, Rulebook, triage
from routing.domain.triage.reader import Reader
from routing.domain.vocabulary import InquiryStatus
from routing.observability import events
from routing.services.booking import book_earliest, booking_request, propose_earliest, record_booking

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QueuePolicy:
    """How the booking queue retries when the scheduling system is unavailable."""

    max_attempts: int = 5
    #: How long a worker (or the intake request itself) holds an inquiry before others may take it.
    lease: timedelta = timedelta(seconds=120)
    retry_base: timedelta = timedelta(seconds=30)
    retry_cap: timedelta = timedelta(minutes=30)

    def retry_delay(self, attempts: int) -> timedelta:
        """Exponential backoff with jitter, so a recovering scheduler is not hit by every job at once."""
        ceiling = min(self.retry_cap, self.retry_base * (2 ** max(attempts - 1, 0)))
        return ceiling * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not a secret


@dataclass(frozen=True)
class Outcome:
    """What happened to an inquiry; ``created`` is False for a redelivery of a stored one."""

    id: uuid.UUID
    status: str
    patient_message: str
    triage: dict[str, Any] | None = None
    appointment: SlotTime | None = None
    proposed_slot: SlotTime | None = None
    created: bool = True
    completed: bool = True
    language: str | None = None


@dataclass(frozen=True)
class Routing:
    """What routing an inquiry needs: the rulebook, the scheduler, the clinic's time zone, queue policy."""

    rulebook: Rulebook
    scheduler: Scheduler
    tz: ZoneInfo
    policy: QueuePolicy = QueuePolicy()
    reader: Reader | None = None  # None: the lexicons shipped with the service


_decisions = TriageDecision.__table__
_inquiries = Inquiry.__table__
_RECORD_DECISION = RowWrite.insert(_decisions)
_SUPERSEDE = RowWrite(
    "supersede_decisions",
    lambda _, bind: (
        update(_decisions)
        .where(_decisions.c.inquiry_id == bind("for_inquiry"), _decisions.c.superseded_at.is_(None))
        .values(superseded_at=bind("now"))
    ),
)
# Every change after storing is guarded by "still pending", so a late duplicate of a job (intake and a
# worker, or two workers after a lease ran out) cannot settle one inquiry twice.
_SETTLE = RowWrite(
    "settle_inquiry",
    lambda keys, bind: (
        update(_inquiries)
        .where(_inquiries.c.id == bind("inquiry_id"), _inquiries.c.status == InquiryStatus.PENDING_BOOKING)
        .values({key: bind(key) for key in keys if key != "inquiry_id"})
    ),
)


def route_inquiry(
    session: Session,
    routing: Routing,
    *,
    inquiry_id: uuid.UUID,
    data: dict[str, Any],
    received_at: datetime,
    now: datetime,
    attempts: int = 0,
    first_booking: bool = False,
    window_from: datetime | None = None,
) -> Outcome:
    """Triage the inquiry, record the decision, and book it (or hand it to staff).

    ``data`` is the validated intake body. With the embedded scheduler the booking and its record
    commit together; with an external scheduler the decision is committed first, the booking is made
    over the network, and its record committed after. When the scheduler is unavailable the inquiry
    stays ``pending_booking`` for the worker, with the attempt counted. ``attempts`` counts earlier
    failed attempts; ``first_booking`` (intake) skips looking for earlier appointments; the urgency
    window runs from ``window_from`` (default: when the inquiry was received).
    """
    tz = routing.tz
    decision = triage(
        data.get("symptoms") or {},
        data.get("message"),
        received_at.astimezone(tz).date(),
        routing.rulebook,
        language=data.get("language"),
        reader=routing.reader,
    )
    language = decision.language
    plan = _plan(decision, routing.rulebook, window_from or received_at, now)
    if plan is None:
        with session.begin(), WriteBatch(session.connection()) as writes:
            facts = _record_decision(writes, inquiry_id, decision, now, retry=not first_booking)
            message = patient_messages.urgent_review(decision.urgency, language)
            detail = "a clinician must call the patient"
            _settle(
                writes, inquiry_id, InquiryStatus.URGENT_REVIEW, detail, message, now, facts=facts, language=language
            )
        events.inquiry_routed(inquiry_id, InquiryStatus.URGENT_REVIEW, decision)
        return Outcome(inquiry_id, InquiryStatus.URGENT_REVIEW, message, decision.to_dict(), language=language)

    scheduler = routing.scheduler
    if decision.hold is not None:
        return _hold_for_reading(session, routing, inquiry_id, decision, plan, now, retry=not first_booking)

    def request_for_booking() -> BookingRequest:
        return booking_request(
            session,
            inquiry_id=inquiry_id,
            slot_type=plan.slot_type,
            route=decision.route,
            urgency=decision.urgency,
            reasons=[reason.text for reason in decision.reasons],
            patient=data.get("patient"),
            first=first_booking,
        )

    if getattr(scheduler, "books_in_transaction", False):
        with session.begin(), WriteBatch(session.connection()) as writes:
            request = request_for_booking()
            booking = book_earliest(session, scheduler, plan, request)
            facts = _record_decision(writes, inquiry_id, decision, now, retry=not first_booking)
            outcome = _apply(writes, routing, inquiry_id, decision, plan, request, booking, now, facts=facts)
        _announce(routing, outcome, decision)
        return outcome

    # An external scheduling system: never hold a database transaction open across network calls.
    with session.begin(), WriteBatch(session.connection()) as writes:
        request = request_for_booking()
        facts = _record_decision(writes, inquiry_id, decision, now, retry=not first_booking)
        writes.add(_SETTLE, {**_lease(inquiry_id, now + routing.policy.lease, now), "facts": facts})
    try:
        booking = book_earliest(session, scheduler, plan, request)
    except SchedulerUnavailable:
        events.booking_attempt_failed(scheduler.name, "unavailable", inquiry_id)
        return booking_failed(session, routing, inquiry_id, attempts + 1, "scheduling system unavailable", now)
    with session.begin(), WriteBatch(session.connection()) as writes:
        outcome = _apply(writes, routing, inquiry_id, decision, plan, request, booking, now)
    _announce(routing, outcome, decision)
    return outcome


_HOLD_DETAIL = {
    HOLD_LANGUAGE: "held for staff: the message is in a language the reader does not read",
    HOLD_POSSIBLE_RED_FLAG: "held for staff: a possible red flag the reader could not place",
}


def _hold_for_reading(
    session: Session,
    routing: Routing,
    inquiry_id: uuid.UUID,
    decision: Decision,
    plan: BookingPlan,
    now: datetime,
    *,
    retry: bool,
) -> Outcome:
    """The safety net: a person reads the inquiry before anything is booked; the fitting slot is proposed."""
    scheduler = routing.scheduler
    language = decision.language
    detail = _HOLD_DETAIL[decision.hold]
    message = patient_messages.held_for_reading(language)

    def record(proposed: SlotTime | None) -> None:
        with WriteBatch(session.connection()) as writes:
            facts = _record_decision(writes, inquiry_id, decision, now, retry=retry)
            status = InquiryStatus.NEEDS_REVIEW
            _settle(writes, inquiry_id, status, detail, message, now, proposed=proposed, facts=facts, language=language)

    if getattr(scheduler, "books_in_transaction", False):
        with session.begin():
            proposed = propose_earliest(session, scheduler, plan)
            record(proposed)
    else:
        # An external scheduler is asked outside any transaction. The proposal is a courtesy: whatever goes
        # wrong with it (unreachable, a refusal), the inquiry is still held for staff, who book by phone.
        try:
            proposed = propose_earliest(session, scheduler, plan)
        except SchedulingError as error:
            log.warning("inquiry %s held for staff without a proposed slot: %s", inquiry_id, type(error).__name__)
            proposed = None
        with session.begin():
            record(proposed)
    events.inquiry_routed(inquiry_id, InquiryStatus.NEEDS_REVIEW, decision, scheduler=scheduler.name, booked=False)
    return Outcome(
        inquiry_id, InquiryStatus.NEEDS_REVIEW, message, decision.to_dict(), proposed_slot=proposed, language=language
    )


def booking_failed(
    session: Session, routing: Routing, inquiry_id: uuid.UUID, attempts: int, why: str, now: datetime
) -> Outcome:
    """Count a failed booking attempt: retry later with backoff, or hand to staff after the last attempt."""
    policy = routing.policy
    with session.begin(), WriteBatch(session.connection()) as writes:
        if attempts >= policy.max_attempts:
            detail = f"{why}; gave up after {attempts} attempts, staff to book by phone"
            values = {"status": InquiryStatus.NEEDS_REVIEW, "next_attempt_at": None}
        else:
            detail = f"{why}; attempt {attempts} of {policy.max_attempts}, retrying automatically"
            values = {"next_attempt_at": now + policy.retry_delay(attempts)}
        message = patient_messages.pending()
        params = {
            "inquiry_id": inquiry_id,
            "booking_attempts": attempts,
            "lease_until": None,
            "status_detail": detail[:500],
            "patient_message": message,
            "updated_at": now,
            **values,
        }
        writes.add(_SETTLE, params)
    status = values.get("status", InquiryStatus.PENDING_BOOKING)
    log.warning("inquiry %s booking attempt %d failed: %s", inquiry_id, attempts, why)
    events.booking_failed(inquiry_id, attempts, status)
    return Outcome(inquiry_id, status, message, completed=False)


def _plan(decision: Decision, rulebook: Rulebook, window_from: datetime, now: datetime) -> BookingPlan | None:
    # The urgency window runs from when the patient wrote, not from when a retry happens to run.
    plan = plan_booking(decision.route, decision.urgency, rulebook.urgency_windows_days, window_from)
    if plan is None or plan.earliest >= now:
        return plan
    return BookingPlan(plan.slot_type, now, max(plan.latest, now))


def _apply(
    writes: WriteBatch,
    routing: Routing,
    inquiry_id: uuid.UUID,
    decision: Decision,
    plan: BookingPlan,
    request: BookingRequest,
    booking: BookingOutcome,
    now: datetime,
    facts: dict[str, Any] | None = None,
) -> Outcome:
    tz = routing.tz
    language = decision.language
    appointment = None
    if booking.booking is not None:
        appointment = record_booking(writes, routing.scheduler, request, booking.booking, now)
        status, detail = InquiryStatus.BOOKED, None
        message = patient_messages.booked(plan.slot_type, appointment.start, tz, language)
    else:
        status = InquiryStatus.NEEDS_REVIEW
        detail = f"no free {plan.slot_type} slot within the {decision.urgency} window"
        message = patient_messages.held_for_staff(
            plan.slot_type, booking.proposed.start if booking.proposed else None, tz, language
        )
    proposed = booking.proposed
    _settle(writes, inquiry_id, status, detail, message, now, proposed=proposed, facts=facts, language=language)
    return Outcome(
        inquiry_id,
        status,
        message,
        decision.to_dict(),
        appointment=appointment,
        proposed_slot=proposed,
        language=language,
    )


def _announce(routing: Routing, outcome: Outcome, decision: Decision) -> None:
    booked = outcome.appointment is not None
    events.inquiry_routed(outcome.id, outcome.status, decision, scheduler=routing.scheduler.name, booked=booked)


def _settle(
    writes: WriteBatch,
    inquiry_id: uuid.UUID,
    status: str,
    detail: str | None,
    message: str,
    now: datetime,
    proposed: SlotTime | None = None,
    facts: dict[str, Any] | None = None,
    language: str | None = None,
) -> None:
    params = {
        "inquiry_id": inquiry_id,
        "status": status,
        "status_detail": detail,
        "patient_message": message,
        "proposed_slot": _slot_record(proposed),
        "next_attempt_at": None,
        "lease_until": None,
        "updated_at": now,
    }
    if facts is not None:
        params["facts"] = facts
    if language is not None:
        params["language"] = language
    writes.add(_SETTLE, params)


def _slot_record(slot: SlotTime | None) -> dict[str, str] | None:
    if slot is None:
        return None
    return {"id": slot.id, "slot_type": slot.slot_type, "start": slot.start.isoformat(), "end": slot.end.isoformat()}


def _lease(inquiry_id: uuid.UUID, until: datetime, now: datetime) -> dict[str, Any]:
    return {
        "inquiry_id": inquiry_id,
        "lease_until": until,
        "next_attempt_at": now,
        "status_detail": "booking with the scheduling system",
        "updated_at": now,
    }


def _record_decision(
    writes: WriteBatch, inquiry_id: uuid.UUID, decision: Decision, now: datetime, *, retry: bool = False
) -> dict[str, Any]:
    """Insert the decision; return the facts record the caller writes onto the inquiry with its status.

    On a retry the decisions of earlier attempts are marked superseded, so one stays in force.
    """
    facts = decision.facts
    if retry:
        writes.add(_SUPERSEDE, {"for_inquiry": inquiry_id, "now": now})
    writes.add(
        _RECORD_DECISION,
        {
            "id": uuid.uuid4(),
            "inquiry_id": inquiry_id,
            "urgency": decision.urgency,
            "likely_cause": decision.likely_cause,
            "route": decision.route,
            "rule_id": decision.rule_id,
            "needs_review": decision.needs_review,
            "hold": decision.hold,
            "reasons": [reason.to_dict() for reason in decision.reasons],
            "facts": facts.to_dict(),
            "rulebook_version": decision.rulebook_version,
            "created_at": now,
        },
    )
    return {
        "values": facts.to_dict(),
        "evidence": [
            {"fact": e.fact, "value": _jsonable(e.value), "source": e.source, "phrase": e.phrase}
            for e in facts.evidence
        ],
    }


def _jsonable(value: Any) -> Any:
    return sorted(value) if isinstance(value, frozenset) else value
