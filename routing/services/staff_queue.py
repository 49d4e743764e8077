"""What staff read: the queue of inquiries, most pressing first, and one inquiry's whole story."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, cast, func, or_, select, tuple_
from sqlalchemy.orm import Session, defer

from routing.adapters.db.models import Appointment, AuditEvent, Inquiry, Referral, TriageDecision
from routing.adapters.db.types import utcnow
from routing.domain.vocabulary import AppointmentStatus, InquiryStatus
from routing.services import audit, keyset, waitlist_reading
from routing.services.reading import read_only
from routing.services.route_inquiry import Routing

#: Staff actions that count as handling an emergency or an urgent review. A call-back that reached the
#: patient closes the inquiry; "no answer" keeps it open (call again), so only "closed" counts for it.
#: An acknowledgement is also kept on the inquiry (``acknowledged_at``), where the queue's order reads it.
ACKNOWLEDGE = "acknowledge"
# The queue's order: ``Inquiry.queue_rank`` (computed by the database from the inquiry's status, its decision's
# urgency and hold, and whether it was acknowledged; see models.QUEUE_RANK_SQL), then oldest first. Open
# emergencies first; then whatever is not settled yet (pending booking, or no decision at all: it must never
# sink out of sight); then every other open urgent_review; then what the reader's safety net held for a person
# to read (a possible red flag, an unread language); then by urgency (a handled emergency is first among these,
# below everything still open). One index serves it, so a page costs the same on a year of data as on a day's.
_QUEUE_ORDER = (Inquiry.queue_rank, Inquiry.received_at, Inquiry.id)
#: Large columns a queue row does not show: not read (nor their JSON parsed) for a page.
_NOT_SUMMARISED = (
    defer(Inquiry.raw_body),
    defer(Inquiry.facts),
    defer(Inquiry.patient_message),
    defer(Inquiry.proposed_slot),
    defer(TriageDecision.reasons),
    defer(TriageDecision.facts),
)
_current_decision = and_(TriageDecision.inquiry_id == Inquiry.id, TriageDecision.superseded_at.is_(None))


@dataclass(frozen=True)
class QueueFilter:
    """What the queue shows; every field optional."""

    status: str | None = None
    urgency: str | None = None
    route: str | None = None
    needs_review: bool | None = None
    received_after: datetime | None = None
    received_before: datetime | None = None
    #: Part of the patient's name (first, last, or "first last") or phone number, any case; a phone
    #: matches on its digits alone. Not indexed: a scan of the inquiries, fine at a clinic's volume.
    search: str | None = None
    #: A site's id: inquiries routed there (their booked or proposed slot's site, else the one they chose).
    location: str | None = None


def etag(inquiry: Inquiry) -> str:
    """The inquiry's version as an HTTP entity tag; every change to an inquiry moves ``updated_at``."""
    digest = hashlib.sha256(f"{inquiry.id}:{inquiry.updated_at.isoformat()}".encode()).hexdigest()
    return f'"{digest[:20]}"'


@dataclass(frozen=True)
class QueuePage:
    """One page of the queue: its items, how many match (at most ``keyset.COUNT_LIMIT``, then ``total_capped``), and
    the cursor of the next page (None on the last)."""

    items: list[dict]
    total: int
    total_capped: bool
    next_cursor: str | None


@read_only
def queue(session: Session, filters: QueueFilter, page: int = 1, per_page: int = 25) -> tuple[list[dict], int]:
    """One page of the queue, most pressing first, and the number matching (at most ``keyset.COUNT_LIMIT``)."""
    found = queue_page(session, filters, page=page, per_page=per_page)
    return found.items, found.total


@read_only
def queue_page(
    session: Session, filters: QueueFilter, *, page: int = 1, per_page: int = 25, after: str | None = None
) -> QueuePage:
    """One page of the queue, most pressing first: the ``page``-th, or the one after the cursor ``after`` (from
    ``next_cursor``; it costs the same however deep, where a page number reads and skips every row before it)."""
    conditions = _conditions(filters)
    by_decision = filters.urgency or filters.route or filters.needs_review is not None
    counted = select(Inquiry.id)
    if by_decision:  # the count joins the decision only when a filter reads it
        counted = counted.join(TriageDecision, _current_decision)
    total, capped = keyset.count_upto(session, counted.where(*conditions))
    query = (
        select(Inquiry, TriageDecision)
        .outerjoin(TriageDecision, _current_decision)
        .where(*conditions)
        .options(*_NOT_SUMMARISED)
    )
    if after is not None:
        query = query.where(tuple_(*_QUEUE_ORDER) > keyset.decode(after, int, datetime, uuid.UUID))
    else:
        query = query.offset((page - 1) * per_page)
    rows = session.execute(query.order_by(*_QUEUE_ORDER).limit(per_page + 1)).all()
    more, rows = len(rows) > per_page, rows[:per_page]
    last = rows[-1][0] if rows else None
    next_cursor = keyset.encode(last.queue_rank, last.received_at, last.id) if more and last is not None else None
    appointments = _live_appointments(session, [inquiry.id for inquiry, _ in rows])
    handled = handling(session, [inquiry for inquiry, _ in rows])
    items = [
        _summary(inquiry, decision, appointments.get(inquiry.id), handled.get(inquiry.id)) for inquiry, decision in rows
    ]
    return QueuePage(items, total, capped, next_cursor)


def _conditions(filters: QueueFilter) -> list:
    conditions = []
    if filters.status:
        conditions.append(Inquiry.status == filters.status)
    if filters.urgency:
        conditions.append(TriageDecision.urgency == filters.urgency)
    if filters.route:
        conditions.append(TriageDecision.route == filters.route)
    if filters.needs_review is not None:
        conditions.append(TriageDecision.needs_review.is_(filters.needs_review))
    if filters.received_after:
        conditions.append(Inquiry.received_at >= filters.received_after)
    if filters.received_before:
        conditions.append(Inquiry.received_at < filters.received_before)
    if filters.search and filters.search.strip():
        conditions.append(_matches(filters.search))
    if filters.location:
        conditions.append(Inquiry.location_id == filters.location)
    return conditions


@read_only
def received_since(session: Session, moment: datetime) -> int:
    """How many inquiries were received after ``moment``."""
    return session.scalar(select(func.count()).select_from(Inquiry).where(Inquiry.received_at > moment)) or 0


def handling(session: Session, inquiries: list[Inquiry]) -> dict[uuid.UUID, dict[str, Any]]:
    """Who handled each inquiry that was handled, and when, and how (``acknowledge`` or ``callback``).

    Handled means closed by a call-back that reached the patient, or acknowledged; the latest such audit
    event names the person. A call-back with no answer handles nothing (the inquiry stays open).
    """
    closed = {inquiry.id for inquiry in inquiries if inquiry.status == InquiryStatus.CLOSED}
    # Only an acknowledged or a closed inquiry can have been handled (an acknowledgement always sets
    # ``acknowledged_at``), so a queue page of open emergencies asks the audit log nothing.
    ids = [inquiry.id for inquiry in inquiries if inquiry.acknowledged_at is not None or inquiry.id in closed]
    if not ids:
        return {}
    rows = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.inquiry_id.in_(ids), AuditEvent.action.in_([ACKNOWLEDGE, "callback"]))
        .order_by(AuditEvent.at, AuditEvent.id)
    )
    handled: dict[uuid.UUID, dict[str, Any]] = {}
    for event in rows:
        outcome = (event.details or {}).get("outcome")
        if event.action == "callback" and (outcome == "no_answer" or event.inquiry_id not in closed):
            continue
        handled[event.inquiry_id] = {
            "by": event.actor_name,
            "at": event.at.isoformat(),
            "action": event.action,
            "outcome": outcome,
        }
    return handled


@read_only
def detail(
    session: Session,
    inquiry_id: uuid.UUID,
    routing: Routing | None = None,
    now: datetime | None = None,
    *,
    text_days: int | None = None,
) -> dict[str, Any] | None:
    """Everything about one inquiry: as received, facts and their sources, decision, bookings, its waitlist
    entries and offers, audit trail. With ``routing``, whether its unavailable times could be read is said.
    An inquiry whose text was removed has no message, and ``text_removed`` says when (and after how many days:
    ``text_days``, the retention in force)."""
    inquiry = session.get(Inquiry, inquiry_id)
    if inquiry is None:
        return None
    decisions = session.scalars(
        select(TriageDecision).where(TriageDecision.inquiry_id == inquiry_id).order_by(TriageDecision.created_at)
    ).all()
    current = next((d for d in reversed(decisions) if d.superseded_at is None), None)
    appointments = session.scalars(
        select(Appointment).where(Appointment.inquiry_id == inquiry_id).order_by(Appointment.created_at)
    ).all()
    referrals = session.scalars(
        select(Referral).where(Referral.inquiry_id == inquiry_id).order_by(Referral.created_at)
    ).all()
    payload = inquiry.payload or {}
    facts = inquiry.facts or {}
    return {
        "id": str(inquiry.id),
        "etag": etag(inquiry),
        "status": inquiry.status,
        "status_detail": inquiry.status_detail,
        "language": inquiry.language,
        "received_at": inquiry.received_at.isoformat(),
        "updated_at": inquiry.updated_at.isoformat(),
        "location": inquiry.location_id,
        "patient": payload.get("patient") or {},
        "message": None if inquiry.text_redacted_at is not None else payload.get("message"),
        "text_removed": text_removed(inquiry, text_days),
        "symptoms": payload.get("symptoms") or {},
        "preferred_times": payload.get("preferred_times") or [],
        "patient_message": inquiry.patient_message,
        "facts": facts.get("values") or {},
        "evidence": facts.get("evidence") or [],
        "decision": decision_dict(current) if current else None,
        "handled": handling(session, [inquiry]).get(inquiry.id),
        "earlier_decisions": [decision_dict(d) for d in decisions if d is not current],
        "appointments": [appointment_dict(a) for a in appointments],
        "referrals": [referral_dict(r) for r in referrals],
        "proposed_slot": inquiry.proposed_slot,
        "booking": {
            "attempts": inquiry.booking_attempts,
            "next_attempt_at": inquiry.next_attempt_at.isoformat() if inquiry.next_attempt_at else None,
        },
        "waitlist": waitlist_reading.for_inquiry(session, routing, inquiry_id, now or utcnow()),
        "audit": [audit.as_dict(event) for event in audit.trail(session, inquiry_id)],
    }


def text_removed(inquiry: Inquiry, text_days: int | None) -> dict[str, Any] | None:
    """When the inquiry's free text was removed under the retention policy, and the note staff read instead of
    the message; None while it is kept."""
    if inquiry.text_redacted_at is None:
        return None
    after = f" after {text_days} days" if text_days is not None else ""
    return {
        "at": inquiry.text_redacted_at.isoformat(),
        "note": f"Text removed{after} under the retention policy; the facts and decisions read from it are kept.",
    }


def decision_dict(decision: TriageDecision) -> dict[str, Any]:
    """A stored decision as the admin API shows it."""
    return {
        "id": str(decision.id),
        "urgency": decision.urgency,
        "likely_cause": decision.likely_cause,
        "route": decision.route,
        "rule": decision.rule_id,
        "needs_review": decision.needs_review,
        "hold": decision.hold,
        "reasons": decision.reasons,
        "rulebook_version": decision.rulebook_version,
        "created_at": decision.created_at.isoformat(),
        "superseded_at": decision.superseded_at.isoformat() if decision.superseded_at else None,
    }


def appointment_dict(appointment: Appointment) -> dict[str, Any]:
    """An appointment as the admin API shows it."""
    return {
        "id": str(appointment.id),
        "slot_type": appointment.slot_type,
        "start": appointment.start.isoformat(),
        "end": appointment.end.isoformat(),
        "status": appointment.status,
        "scheduler": appointment.scheduler,
        "external_id": appointment.external_id,
        "slot_id": appointment.external_slot_id,
        "location": appointment.location_id,
        "cancelled_at": appointment.cancelled_at.isoformat() if appointment.cancelled_at else None,
        "cancel_reason": appointment.cancel_reason,
    }


def referral_dict(referral: Referral) -> dict[str, Any]:
    """A referral (imaging or injection order) as the admin API shows it."""
    return {
        "id": str(referral.id),
        "route": referral.route,
        "code": {"system": referral.code_system, "code": referral.code, "display": referral.display},
        "priority": referral.priority,
        "reasons": referral.reasons,
        "status": referral.status,
        "scheduler": referral.scheduler,
        "external_id": referral.external_id,
    }


def _live_appointments(session: Session, inquiry_ids: list[uuid.UUID]) -> dict[uuid.UUID, Appointment]:
    if not inquiry_ids:
        return {}
    rows = session.scalars(
        select(Appointment).where(
            Appointment.inquiry_id.in_(inquiry_ids), Appointment.status == AppointmentStatus.BOOKED
        )
    )
    return {row.inquiry_id: row for row in rows}


def _matches(search: str):
    """Inquiries whose patient's name or phone contains ``search`` (any case; a phone by its digits)."""
    patient = Inquiry.payload["patient"]
    first, last = (func.lower(func.coalesce(patient[key].as_string(), "")) for key in ("first_name", "last_name"))
    words = search.strip().lower()
    conditions = [first.contains(words, autoescape=True), last.contains(words, autoescape=True)]
    conditions.append((first + " " + last).contains(words, autoescape=True))
    digits = "".join(ch for ch in search if ch.isdigit())
    if len(digits) >= 3:  # fewer would match nearly every number
        phone = func.coalesce(patient["phone"].as_string(), "")
        for punctuation in (" ", "-", "(", ")", ".", "+", "/"):
            phone = func.replace(phone, punctuation, "")
        conditions.append(cast(phone, String).contains(digits, autoescape=True))
    return or_(*conditions)


def _summary(
    inquiry: Inquiry, decision: TriageDecision | None, appointment: Appointment | None, handled: dict | None
) -> dict[str, Any]:
    patient = (inquiry.payload or {}).get("patient") or {}
    return {
        "id": str(inquiry.id),
        "received_at": inquiry.received_at.isoformat(),
        "status": inquiry.status,
        "status_detail": inquiry.status_detail,
        "patient_name": " ".join(str(patient.get(k) or "") for k in ("first_name", "last_name")).strip(),
        "urgency": decision.urgency if decision else None,
        "route": decision.route if decision else None,
        "likely_cause": decision.likely_cause if decision else None,
        "needs_review": decision.needs_review if decision else None,
        "hold": decision.hold if decision else None,
        "language": inquiry.language,
        "rule": decision.rule_id if decision else None,
        "location": inquiry.location_id,
        "appointment": appointment_dict(appointment) if appointment else None,
        "phone": patient.get("phone"),
        "handled": handled,
    }
