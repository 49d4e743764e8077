"""What staff do to an inquiry: override its route, cancel its appointment, close a call-back, acknowledge an
emergency, re-run triage.

Each action takes the ETag the staff member last saw and refuses (``StaleVersion``) when the inquiry
changed since, so two people cannot overwrite each other. Each runs in one transaction with the inquiry
row locked, and leaves exactly one audit event naming who did it and why. An override books the new
appointment before cancelling the old one: if anything fails, the old appointment stands.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from routing.adapters.db.models import Appointment, AuditEvent, Inquiry, TriageDecision
from routing.adapters.db.types import utcnow
from routing.adapters.db.write_batch import WriteBatch
from routing.adapters.scheduling.interface import (
    PROPOSAL_HORIZON,
    Booking,
    BookingRequest,
    PatientNotIdentified,
    SchedulerUnavailable,
    SchedulingError,
    SlotTaken,
    SlotTime,
)
from routing.domain import patient_messages
from routing.domain.booking_plan import SLOT_TYPE_FOR_ROUTE, BookingPlan
from routing.domain.labels import LABELS
from routing.domain.rulebook_impact import replay
from routing.domain.triage import Decision, triage
from routing.domain.vocabulary import AppointmentStatus, CallbackOutcome, InquiryStatus, Route, Urgency
from routing.observability import events
from routing.services import audit, event_data, outbox, retention, waitlist
from routing.services.booking import book_earliest, booking_request, record_booking
from routing.services.reading import read_only
from routing.services.route_inquiry import Routing
from routing.services.staff_queue import ACKNOWLEDGE, appointment_dict, decision_dict, etag, handling
from routing.services.staff_tokens import Staff
from schemas.inquiry import InquiryRequestSchema

log = logging.getLogger(__name__)
_request_schema = InquiryRequestSchema()

#: A call-back's outcomes, and how the inquiry's status line says each.
CALLBACK_OUTCOMES = tuple(outcome.value for outcome in CallbackOutcome)


class NotFound(LookupError):
    """No inquiry with that id."""


class StaleVersion(Exception):
    """The inquiry changed since the ETag the caller sent (or none was sent)."""


class ActionRefused(Exception):
    """The action cannot be done in the inquiry's current state; the message says why (no patient data)."""

    def __init__(
        self, message: str, *, status: int = 409, proposed: SlotTime | None = None, field: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.proposed = proposed
        #: The request's field at fault, when one is (an unknown site): the answer names it.
        self.field = field


@dataclass(frozen=True)
class Override:
    """A staff member's new route for an inquiry, with a required reason."""

    route: str
    reason: str
    slot_id: str | None = None
    urgency: str | None = None
    #: The site to book at (an active site's id); None: the earliest at any site.
    location: str | None = None


def override_route(
    session: Session,
    routing: Routing,
    staff: Staff,
    inquiry_id: uuid.UUID,
    if_match: str | None,
    change: Override,
    now: datetime | None = None,
) -> None:
    """Move the inquiry to ``change.route``: book the new appointment, then cancel the old one.

    Raises ActionRefused (nothing changed) when no suitable slot is free, the chosen slot was taken, or
    the scheduling system refuses or is unreachable; StaleVersion when the inquiry changed since
    ``if_match``, also while the scheduling system was being asked (the new booking is then undone).

    With the embedded scheduler the booking is a write in our database: everything is one transaction.
    With a scheduler over the network no transaction or row lock is held during its calls: check and
    write the intent (audit ``override.started``), call the scheduler, then lock the row, check the
    version again and record the outcome (``override``), or undo and say so (``override.undone``). An
    intent a dead process left unfinished is finished by :func:`finish_interrupted_overrides`.
    """
    now = now or utcnow()
    if routing.scheduler.capabilities.books_in_transaction:
        with session.begin():
            plan = _plan_override(session, routing, inquiry_id, if_match, change, lock=True)
            booked = _override_in_scheduler(session, routing, plan, change, now)
            _record_override(session, routing, staff, plan, change, booked, now)
    else:
        with session.begin():
            plan = _plan_override(session, routing, inquiry_id, if_match, change, lock=False)
            details = {"change": asdict(change), "etag": _normalise(if_match or ""), "booking_key": plan.booking_key}
            audit.record(session, staff, OVERRIDE_STARTED, inquiry_id=inquiry_id, details=details, now=now)
        _finish_override(session, routing, staff, plan, change, if_match, now)
    events.staff_action("override", inquiry_id, staff.id)
    waitlist.refill_after_freeing(session, routing, now)  # the appointment it replaced, if any, freed a slot


#: The audit actions of an override on a remote scheduler: its intent, then one of its two ends.
OVERRIDE_STARTED = "override.started"
OVERRIDE_UNDONE = "override.undone"
_OVERRIDE_ENDS = ("override", OVERRIDE_UNDONE)
#: How far back an interrupted override is still finished by the worker; an older one is left to staff.
_INTERRUPTED_WITHIN = timedelta(days=1)


def _finish_override(
    session: Session,
    routing: Routing,
    staff: Staff,
    plan: _OverridePlan,
    change: Override,
    if_match: str | None,
    now: datetime,
    *,
    resume: bool = False,
) -> None:
    """Call the scheduler, then record the override, or undo it and record why (its intent is written)."""
    inquiry_id = plan.inquiry.id  # read now: a failed transaction below expires the row
    try:
        booked = _override_in_scheduler(session, routing, plan, change, now, resume=resume)
    except ActionRefused as refused:
        _record_undone(session, staff, inquiry_id, str(refused), now)
        raise
    try:
        with session.begin():
            _locked(session, inquiry_id, if_match)  # nobody changed it while the scheduler was asked
            _record_override(session, routing, staff, plan, change, booked, now)
    except StaleVersion:
        if booked is not None:
            _undo_booking(session, routing, booked, "the inquiry changed during the override")
        _record_undone(session, staff, inquiry_id, "the inquiry changed during the override", now)
        raise


def _record_undone(session: Session, staff: Staff, inquiry_id: uuid.UUID, why: str, now: datetime) -> None:
    with session.begin():
        audit.record(session, staff, OVERRIDE_UNDONE, inquiry_id=inquiry_id, details={"why": why}, now=now)


def finish_interrupted_overrides(session: Session, routing: Routing, now: datetime, after: timedelta) -> int:
    """Finish the overrides whose process died between the scheduler's calls and the record; how many.

    An intent (``override.started``) older than ``after`` with no end is run again on behalf of the staff
    member who started it: the same booking key finds the appointment already made, cancelling the old
    one again is harmless, and the outcome is recorded. If the inquiry changed since, the booking the
    dead process made is found by its key and cancelled, and the override recorded as undone. The
    booking worker calls this between jobs.
    """
    with session.begin():
        started = session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == OVERRIDE_STARTED,
                AuditEvent.at <= now - after,
                AuditEvent.at > now - _INTERRUPTED_WITHIN,  # the audit log only grows: look at recent intents
            )
        ).all()
        # Plain values: the rows expire with the transactions each override runs below.
        unfinished = [
            (event.inquiry_id, Staff(event.actor_id, event.actor_name, "staff"), dict(event.details))
            for event in started
            if not _ended_after(session, event)
        ]
    for inquiry_id, staff, details in unfinished:
        change, etag = Override(**details["change"]), details["etag"]
        try:
            with session.begin():
                plan = _plan_override(session, routing, inquiry_id, etag, change, lock=False)
        except StaleVersion:
            left = routing.scheduler.find_booking(session, details["booking_key"] or "")
            if left is not None:
                _undo_booking(session, routing, left, "the override did not finish and the inquiry has changed")
            _record_undone(session, staff, inquiry_id, "the override did not finish; the inquiry changed", now)
            continue
        except NotFound:
            continue
        try:
            _finish_override(session, routing, staff, plan, change, etag, now, resume=True)
        except (ActionRefused, StaleVersion):
            continue  # undone, and recorded as such, by _finish_override
        log.warning("finished an interrupted override on inquiry %s", inquiry_id)
    return len(unfinished)


def _ended_after(session: Session, started: AuditEvent) -> bool:
    later = select(AuditEvent.id).where(
        AuditEvent.inquiry_id == started.inquiry_id,
        AuditEvent.action.in_(_OVERRIDE_ENDS),
        AuditEvent.id > started.id,
    )
    return session.scalar(later.limit(1)) is not None


@dataclass(frozen=True)
class _OverridePlan:
    """What an override found before calling the scheduler: the inquiry, its decision, its appointment."""

    inquiry: Inquiry
    decision: TriageDecision | None
    old: Appointment | None
    urgency: str
    request: BookingRequest | None  # None: moved to urgent review, nothing to book

    @property
    def booking_key(self) -> str | None:
        """The key the new booking is made under (the same when the override is run again)."""
        return self.request.booking_key if self.request else None


def _plan_override(
    session: Session, routing: Routing, inquiry_id: uuid.UUID, if_match: str | None, change: Override, *, lock: bool
) -> _OverridePlan:
    inquiry = _locked(session, inquiry_id, if_match) if lock else _checked(session, inquiry_id, if_match)
    decision = _current_decision(session, inquiry_id)
    old = _live_appointment(session, inquiry_id, lock=lock)
    urgency = change.urgency or (decision.urgency if decision else "routine")
    request = None
    if change.route != Route.URGENT_REVIEW:
        _check_site(routing, change.location, SLOT_TYPE_FOR_ROUTE[Route(change.route)].value)
        earlier = [reason.get("text", "") for reason in (decision.reasons if decision else [])]
        reasons = [f"Staff override: {change.reason}", *earlier]
        request = booking_request(
            session,
            inquiry_id=inquiry.id,
            slot_type=SLOT_TYPE_FOR_ROUTE[Route(change.route)].value,
            route=change.route,
            urgency=urgency,
            reasons=reasons,
            patient=(inquiry.payload or {}).get("patient"),
            terminology=routing.terminology,
        )
    return _OverridePlan(inquiry, decision, old, urgency, request)


def _check_site(routing: Routing, location: str | None, slot_type: str) -> None:
    """Refuse an override to a site the practice does not have (422, naming the field), or one that holds no
    appointment of the route's kind (409)."""
    if location is None:
        return
    if not routing.has_site(location):
        raise ActionRefused("No active site with this id; see GET /v1/admin/locations.", status=422, field="location")
    site = routing.locations.site(location) if routing.locations is not None else None
    if site is not None and not site.offers(slot_type):
        raise ActionRefused(
            f"{site.name} holds no {LABELS.staff_words('slot_type', slot_type)} appointments; choose another site."
        )


def _override_in_scheduler(
    session: Session, routing: Routing, plan: _OverridePlan, change: Override, now: datetime, *, resume: bool = False
) -> Booking | None:
    """Book the new appointment (if any), then cancel the old one; undo the new one if that fails.

    ``resume``: an interrupted override run again, so its booking may exist already (found by its key).
    """
    try:
        booked = None
        if plan.request is not None and resume:
            booked = routing.scheduler.find_booking(session, plan.request.booking_key)
        if plan.request is not None and booked is None:
            booked = _book_new(session, routing, plan.request, change, plan.urgency, now)
        if plan.old is not None:
            try:
                routing.scheduler.cancel(session, plan.old.external_id, change.reason)
            except SchedulingError:
                if booked is not None:
                    _undo_booking(session, routing, booked, "override could not cancel the old appointment")
                raise
    except SchedulingError as error:
        raise ActionRefused(_scheduling_problem(error), status=_status_for(error)) from None
    return booked


def _record_override(
    session: Session,
    routing: Routing,
    staff: Staff,
    plan: _OverridePlan,
    change: Override,
    booked: Booking | None,
    now: datetime,
) -> None:
    inquiry = session.get(Inquiry, plan.inquiry.id)
    decision, old = plan.decision, plan.old
    before = {"route": decision.route if decision else None, "appointment": _brief(old), "status": inquiry.status}
    new_view, appointment = None, None
    if booked is None:
        status, detail = InquiryStatus.URGENT_REVIEW, f"moved to urgent review by {staff.name}"
        message = patient_messages.urgent_review(plan.urgency, inquiry.language, clinic=routing.clinic)
    else:
        with WriteBatch(session.connection()) as writes:
            appointment = record_booking(writes, routing.scheduler, plan.request, booked, now)
        slot_type, site = plan.request.slot_type, appointment.location
        new_view = {
            "id": appointment.id,
            "slot_type": slot_type,
            "start": appointment.start.isoformat(),
            "location": site,
        }
        message = patient_messages.booked(
            slot_type, appointment.start, routing.tz_at(site), inquiry.language, clinic=routing.clinic_at(site)
        )
        status, detail = InquiryStatus.BOOKED, f"route set by {staff.name}"
        if site:
            inquiry.location_id = site  # the queue's site filter follows the appointment
    if old is not None:
        _mark_cancelled(session.merge(old), f"override by {staff.name}: {change.reason}", now)
    current = session.merge(decision) if decision is not None else None
    in_force = _put_override_in_force(session, inquiry.id, current, change, plan.urgency, staff, now)
    _set_status(inquiry, status, detail, message, now)
    _record_override_events(session, routing, inquiry.id, in_force, status, old, appointment, now)
    after = {"route": change.route, "urgency": plan.urgency, "appointment": new_view, "status": status}
    audit.record(
        session,
        staff,
        "override",
        inquiry_id=inquiry.id,
        details={"from": before, "to": after},
        reason=change.reason,
        now=now,
    )


def _record_override_events(
    session: Session,
    routing: Routing,
    inquiry_id: uuid.UUID,
    decision: TriageDecision,
    status: str,
    old: Appointment | None,
    new: SlotTime | None,
    now: datetime,
) -> None:
    """An override's outbox events: the new route, and the appointment's change, told once: rebooked (the old
    one replaced by the new), booked (there was none), or cancelled (moved to urgent review)."""
    with WriteBatch(session.connection()) as writes:
        routed = event_data.routed(inquiry_id, status, decision)
        outbox.record_event(writes, outbox.INQUIRY_ROUTED, inquiry_id, routed, now)
        if status == InquiryStatus.URGENT_REVIEW:
            data = event_data.urgent_review(inquiry_id, decision)
            outbox.record_event(writes, outbox.INQUIRY_URGENT_REVIEW, inquiry_id, data, now)
        scheduler = routing.scheduler.name
        if old is not None and new is not None:
            data = event_data.rebooked(
                inquiry_id, old.id, new.id, new.slot_type, new.start, new.end, scheduler, by="staff"
            )
            outbox.record_event(writes, outbox.APPOINTMENT_REBOOKED, inquiry_id, data, now)
        elif new is not None:
            data = event_data.appointment(inquiry_id, new.id, new.slot_type, new.start, new.end, scheduler, by="staff")
            outbox.record_event(writes, outbox.APPOINTMENT_BOOKED, inquiry_id, data, now)
        elif old is not None:
            _record_cancelled_event(writes, old, "staff", now)


def _record_cancelled_event(writes: WriteBatch, old: Appointment, by: str, now: datetime) -> None:
    data = event_data.appointment(old.inquiry_id, old.id, old.slot_type, old.start, old.end, old.scheduler, by=by)
    outbox.record_event(writes, outbox.APPOINTMENT_CANCELLED, old.inquiry_id, data, now)


def cancel_appointment(
    session: Session,
    routing: Routing,
    staff: Staff,
    inquiry_id: uuid.UUID,
    if_match: str | None,
    reason: str,
    now: datetime | None = None,
) -> None:
    """Cancel the inquiry's appointment in the scheduling system; the inquiry goes back to staff review.

    Refused (``StaleVersion``) when the inquiry changed since ``if_match``. See :func:`cancel_booked`.
    """
    cancel_booked(
        session,
        routing,
        inquiry_id,
        Canceller(staff.name, reason, staff=staff),
        expect=lambda inquiry, _appointment: _check_version(inquiry, if_match),
        now=now,
    )
    events.staff_action("cancel", inquiry_id, staff.id)


@dataclass(frozen=True)
class Canceller:
    """Who cancels an appointment and why: a staff member, or the patient from their own link."""

    #: How the audit trail, the appointment's cancel reason and the inquiry's status line name them.
    name: str
    reason: str
    #: The staff member, when it is one (the audit event then carries their token's id).
    staff: Staff | None = None
    #: What the patient is told afterwards (language, appointment -> text); None: staff will call to rearrange.
    patient_message: Callable[[str | None, Appointment], str] | None = None


def cancel_booked(
    session: Session,
    routing: Routing,
    inquiry_id: uuid.UUID,
    by: Canceller,
    *,
    expect: Callable[[Inquiry, Appointment | None], None],
    now: datetime | None = None,
) -> None:
    """Cancel the inquiry's live appointment in the scheduling system (its slot is freed) and record it: the
    inquiry goes to staff review, with one ``cancel`` audit event naming ``by``.

    ``expect(inquiry, appointment)`` runs first, inside the transaction, and raises to refuse (a stale
    version, another appointment than the one the caller saw, ...); NotFound when there is no such inquiry,
    ActionRefused when nothing is booked or the scheduler refuses. As for an override, a scheduler over the
    network is called with no transaction open: check, cancel, then lock and record. Cancelling is
    idempotent in every scheduler, so sending it again is safe.
    """
    now = now or utcnow()
    in_transaction = routing.scheduler.capabilities.books_in_transaction
    with session.begin():
        inquiry = session.get(Inquiry, inquiry_id, with_for_update=in_transaction, populate_existing=True)
        if inquiry is None:
            raise NotFound(inquiry_id)
        old = _live_appointment(session, inquiry_id, lock=in_transaction)
        expect(inquiry, old)
        if old is None:
            raise ActionRefused("This inquiry has no booked appointment to cancel.")
        freed = old.slot_type
        if in_transaction:
            _cancel_in_scheduler(session, routing, old, by.reason)
            _record_cancel(session, routing, by, inquiry_id, old, now)
    if not in_transaction:
        _cancel_in_scheduler(session, routing, old, by.reason)
        with session.begin():
            # Recorded whatever changed meanwhile: the scheduling system has cancelled it.
            session.get(Inquiry, inquiry_id, with_for_update=True, populate_existing=True)
            _record_cancel(session, routing, by, inquiry_id, session.merge(old), now)
    # The freed slot goes to the waitlist's most urgent patient at once, not at the worker's next run.
    waitlist.refill_after_freeing(session, routing, now, freed)


def _cancel_in_scheduler(session: Session, routing: Routing, old: Appointment, reason: str) -> None:
    try:
        routing.scheduler.cancel(session, old.external_id, reason)
    except SchedulingError as error:
        raise ActionRefused(_scheduling_problem(error), status=_status_for(error)) from None


def _record_cancel(
    session: Session,
    routing: Routing,
    by: Canceller,
    inquiry_id: uuid.UUID,
    old: Appointment,
    now: datetime,
) -> None:
    inquiry = session.get(Inquiry, inquiry_id)
    _mark_cancelled(old, f"cancelled by {by.name}: {by.reason}", now)
    if by.patient_message is not None:
        message = by.patient_message(inquiry.language, old)
    else:
        message = patient_messages.held_for_staff(
            old.slot_type, None, routing.tz, inquiry.language, clinic=routing.clinic
        )
    _set_status(inquiry, InquiryStatus.NEEDS_REVIEW, f"appointment cancelled by {by.name}", message, now)
    audit.record(
        session,
        by.staff,
        "cancel",
        inquiry_id=inquiry_id,
        details={"appointment": _brief(old)},
        reason=by.reason,
        now=now,
        actor_name=by.name,
    )
    with WriteBatch(session.connection()) as writes:
        _record_cancelled_event(writes, old, "staff" if by.staff is not None else "patient", now)


def record_callback(
    session: Session,
    staff: Staff,
    inquiry_id: uuid.UUID,
    if_match: str | None,
    outcome: str,
    note: str | None,
    now: datetime | None = None,
) -> None:
    """Record a clinician's call-back on an ``urgent_review`` inquiry; no answer keeps it open."""
    now = now or utcnow()
    with session.begin():
        inquiry = _locked(session, inquiry_id, if_match)
        if inquiry.status != InquiryStatus.URGENT_REVIEW:
            raise ActionRefused(f"Call-backs are recorded on urgent_review inquiries; this one is {inquiry.status}.")
        if outcome == "no_answer":
            status, detail = InquiryStatus.URGENT_REVIEW, f"call-back by {staff.name}: no answer; call again"
        else:
            status, detail = (
                InquiryStatus.CLOSED,
                f"call-back done by {staff.name}: {LABELS.staff_words('outcome', outcome)}",
            )
        _set_status(inquiry, status, detail, inquiry.patient_message, now)
        audit.record(
            session,
            staff,
            "callback",
            inquiry_id=inquiry_id,
            details={"outcome": outcome, "status": status},
            reason=note,
            now=now,
        )
    events.staff_action("callback", inquiry_id, staff.id)


def acknowledge(
    session: Session,
    staff: Staff,
    inquiry_id: uuid.UUID,
    if_match: str | None,
    note: str | None,
    now: datetime | None = None,
) -> None:
    """Mark an open emergency or urgent review as handled by ``staff`` (say, called outside the console).

    It stops being "call now" and sorts below the open ones; the status is unchanged (a call-back, when
    recorded, closes it). Refused on anything else, and on one already handled.
    """
    now = now or utcnow()
    with session.begin():
        inquiry = _locked(session, inquiry_id, if_match)
        decision = _current_decision(session, inquiry_id)
        pressing = inquiry.status == InquiryStatus.URGENT_REVIEW or (
            decision is not None and decision.urgency == Urgency.EMERGENCY
        )
        if not pressing or inquiry.status == InquiryStatus.CLOSED:
            raise ActionRefused("Only an open emergency or urgent review is acknowledged; this one is not.")
        if (done := handling(session, [inquiry]).get(inquiry_id)) is not None:
            raise ActionRefused(f"Already handled by {done['by']} at {done['at']}.")
        inquiry.updated_at = now  # a new version: a form opened before the acknowledgement is stale
        inquiry.acknowledged_at = now  # the queue sorts on it; the audit event below says who
        audit.record(
            session,
            staff,
            ACKNOWLEDGE,
            inquiry_id=inquiry_id,
            details={"status": inquiry.status, "urgency": decision.urgency if decision else None},
            reason=note,
            now=now,
        )
    events.staff_action(ACKNOWLEDGE, inquiry_id, staff.id)


@read_only
def preview_retriage(session: Session, routing: Routing, inquiry_id: uuid.UUID) -> dict[str, Any]:
    """The decision in force and the one the current rulebook would make now, without changing anything."""
    inquiry = session.get(Inquiry, inquiry_id)
    if inquiry is None:
        raise NotFound(inquiry_id)
    current = _current_decision(session, inquiry_id)
    proposed = _triage_again(session, routing, inquiry)
    return {
        "current": decision_dict(current) if current else None,
        "proposed": {**proposed.to_dict(), "rulebook_version": proposed.rulebook_version},
        "changed": current is None or _differs(current, proposed),
        "etag": etag(inquiry),
    }


def apply_retriage(
    session: Session,
    routing: Routing,
    staff: Staff,
    inquiry_id: uuid.UUID,
    if_match: str | None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Put the current rulebook's decision in force (the old one is kept, superseded). Bookings stay as
    they are: when the route changed, staff override it deliberately."""
    now = now or utcnow()
    with session.begin():
        inquiry = _locked(session, inquiry_id, if_match)
        current = _current_decision(session, inquiry_id)
        proposed = _triage_again(session, routing, inquiry)
        if current is not None:
            current.superseded_at = now
        session.add(
            TriageDecision(
                inquiry_id=inquiry_id,
                urgency=proposed.urgency,
                likely_cause=proposed.likely_cause,
                route=proposed.route,
                rule_id=proposed.rule_id,
                needs_review=proposed.needs_review,
                hold=proposed.hold,
                reasons=[reason.to_dict() for reason in proposed.reasons],
                facts=proposed.facts.to_dict(),
                rulebook_version=proposed.rulebook_version,
                created_at=now,
            )
        )
        inquiry.urgency, inquiry.hold = proposed.urgency, proposed.hold  # the queue's order follows it
        inquiry.updated_at = now
        summary = {
            "from": _decision_brief(current) if current else None,
            "to": {"route": proposed.route, "urgency": proposed.urgency, "rule": proposed.rule_id},
            "rulebook_version": proposed.rulebook_version,
        }
        audit.record(session, staff, "retriage", inquiry_id=inquiry_id, details=summary, now=now)
    events.staff_action("retriage", inquiry_id, staff.id)
    route_changed = current is None or current.route != proposed.route
    return {**summary, "route_changed": route_changed}


# --- helpers ------------------------------------------------------------------------------------------


def _locked(session: Session, inquiry_id: uuid.UUID, if_match: str | None) -> Inquiry:
    # FOR UPDATE on PostgreSQL (SQLite's BEGIN IMMEDIATE already serialises writers): a concurrent
    # action waits here, then sees the new version and is refused.
    return _checked(session, inquiry_id, if_match, lock=True)


def _checked(session: Session, inquiry_id: uuid.UUID, if_match: str | None, *, lock: bool = False) -> Inquiry:
    """The inquiry, if ``if_match`` is its current version; else StaleVersion (NotFound if there is none)."""
    inquiry = session.get(Inquiry, inquiry_id, with_for_update=lock, populate_existing=True)
    if inquiry is None:
        raise NotFound(inquiry_id)
    _check_version(inquiry, if_match)
    return inquiry


def _check_version(inquiry: Inquiry, if_match: str | None) -> None:
    if not if_match or _normalise(if_match) != etag(inquiry):
        raise StaleVersion(etag(inquiry))


def _normalise(tag: str) -> str:
    tag = tag.strip()
    return tag[2:] if tag.startswith("W/") else tag


def _current_decision(session: Session, inquiry_id: uuid.UUID) -> TriageDecision | None:
    return session.scalar(
        select(TriageDecision)
        .where(TriageDecision.inquiry_id == inquiry_id, TriageDecision.superseded_at.is_(None))
        .order_by(TriageDecision.created_at.desc())
        .limit(1)
    )


#: The rule id of a decision staff made by overriding the rulebook's.
STAFF_RULE = "STAFF"


def _put_override_in_force(
    session: Session,
    inquiry_id: uuid.UUID,
    current: TriageDecision | None,
    change: Override,
    urgency: str,
    staff: Staff,
    now: datetime,
) -> TriageDecision:
    """Staff's route becomes the decision in force (the rulebook's is kept, superseded), so the queue,
    its filters and the public outcome all show what was decided last, and why. Returns it."""
    if current is not None:
        current.superseded_at = now
    reasons = [{"rule": STAFF_RULE, "text": f"Route set by {staff.name}: {change.reason}"}]
    decision = TriageDecision(
        inquiry_id=inquiry_id,
        urgency=urgency,
        likely_cause=current.likely_cause if current else "undetermined",
        route=change.route,
        rule_id=STAFF_RULE,
        needs_review=change.route == Route.URGENT_REVIEW,
        reasons=reasons + (list(current.reasons) if current else []),
        facts=dict(current.facts) if current else {},
        rulebook_version=current.rulebook_version if current else "staff",
        created_at=now,
    )
    session.add(decision)
    inquiry = session.get(Inquiry, inquiry_id)  # loaded (and locked) by the caller: no query
    inquiry.urgency, inquiry.hold = decision.urgency, decision.hold  # the queue's order follows it
    return decision


def _live_appointment(session: Session, inquiry_id: uuid.UUID, *, lock: bool = True) -> Appointment | None:
    query = select(Appointment).where(
        Appointment.inquiry_id == inquiry_id, Appointment.status == AppointmentStatus.BOOKED
    )
    return session.scalar(query.with_for_update() if lock else query)


def _book_new(
    session: Session, routing: Routing, request: BookingRequest, change: Override, urgency: str, now: datetime
) -> Booking:
    """Book the chosen slot, or the earliest inside the urgency's window; recorded by the caller."""
    slot_type = request.slot_type
    scheduler = routing.scheduler
    if change.slot_id:
        booking = scheduler.book(session, SlotTime(change.slot_id, slot_type, now, now), request)
        if booking.slot.slot_type != slot_type:
            _undo_booking(session, routing, booking, "the chosen slot was of another type")
            raise ActionRefused(f"The chosen slot is a {booking.slot.slot_type} slot, not {slot_type}.")
        if change.location and booking.slot.location != change.location:
            _undo_booking(session, routing, booking, "the chosen slot was at another site")
            raise ActionRefused(
                f"The chosen slot is at another site than {change.location}; choose one of its slots or no site."
            )
        return booking
    days = routing.rulebook.urgency_windows_days.get(urgency) or 0
    sites = (change.location,) if change.location else None
    plan = BookingPlan(slot_type, now, now + timedelta(days=days) if days else now + PROPOSAL_HORIZON, sites)
    outcome = book_earliest(session, scheduler, plan, request)
    if outcome.booking is None:
        when = f"; the earliest is {outcome.proposed.start.isoformat()}" if outcome.proposed else ""
        choices = "a slot_id, another urgency or another site" if change.location else "a slot_id or another urgency"
        where = f" at {change.location}" if change.location else ""
        raise ActionRefused(
            f"No free {slot_type} slot{where} within the {urgency} window{when}. Choose {choices}; "
            "the current appointment stands.",
            proposed=outcome.proposed,
        )
    return outcome.booking


def _undo_booking(session: Session, routing: Routing, booking: Booking, why: str) -> None:
    """Cancel a booking the override will not keep; if even that fails, staff must see it in the log."""
    try:
        routing.scheduler.cancel(session, booking.external_id, why)
    except SchedulingError:
        log.error("override left appointment %s in the scheduling system; cancel it by hand", booking.external_id)


def _mark_cancelled(appointment: Appointment, reason: str, now: datetime) -> None:
    appointment.status = AppointmentStatus.CANCELLED
    appointment.cancelled_at = now
    appointment.cancel_reason = reason[:1000]


def _set_status(inquiry: Inquiry, status: str, detail: str, message: str | None, now: datetime) -> None:
    inquiry.status = status
    inquiry.status_detail = detail[:500]
    inquiry.patient_message = message
    inquiry.next_attempt_at = None
    inquiry.lease_until = None
    inquiry.updated_at = now


def _brief(appointment: Appointment | None) -> dict[str, Any] | None:
    if appointment is None:
        return None
    view = appointment_dict(appointment)
    return {key: view[key] for key in ("id", "slot_type", "start", "status")}


def _decision_brief(decision: TriageDecision) -> dict[str, Any]:
    return {"route": decision.route, "urgency": decision.urgency, "rule": decision.rule_id}


def _triage_again(session: Session, routing: Routing, inquiry: Inquiry) -> Decision:
    if inquiry.text_redacted_at is not None:
        # Its text was removed (retention): the rulebook in force decides on the facts it was read for.
        return replay(retention.stored_decision(session, inquiry), routing.rulebook)
    data = _request_schema.load(inquiry.payload or {})
    received_on = inquiry.received_at.astimezone(routing.tz).date()
    symptoms, message = data.get("symptoms") or {}, data.get("message")
    return triage(symptoms, message, received_on, routing.rulebook, reader=routing.reader)


def _differs(current: TriageDecision, proposed: Decision) -> bool:
    return (current.route, current.urgency, current.rule_id, current.likely_cause) != (
        proposed.route,
        proposed.urgency,
        proposed.rule_id,
        proposed.likely_cause,
    )


def _scheduling_problem(error: SchedulingError) -> str:
    if isinstance(error, SlotTaken):
        return "That slot is no longer free; pick another. The current appointment stands."
    if isinstance(error, SchedulerUnavailable):
        return "The scheduling system is unavailable; try again shortly. The current appointment stands."
    if isinstance(error, PatientNotIdentified):
        # The message counts records only (no patient data): staff settle it in the EHR, then book again.
        return (
            f"The scheduling system cannot tell which record is this patient's ({error}); settle it in the EHR, "
            "then book again. The current appointment stands."
        )
    return f"The scheduling system refused the change ({type(error).__name__}); the current appointment stands."


def _status_for(error: SchedulingError) -> int:
    return 503 if isinstance(error, SchedulerUnavailable) else 409


__all__ = [
    "CALLBACK_OUTCOMES",
    "ActionRefused",
    "Canceller",
    "NotFound",
    "Override",
    "StaleVersion",
    "acknowledge",
    "apply_retriage",
    "cancel_appointment",
    "cancel_booked",
    "override_route",
    "preview_retriage",
    "record_callback",
]
