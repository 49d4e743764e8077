"""Triage a stored inquiry, then book it or hand it to staff; shared by intake and the booking worker."""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from routing.adapters.db.models import Appointment, Inquiry, TriageDecision
from routing.adapters.db.write_batch import RowWrite, WriteBatch
from routing.adapters.scheduling.interface import (
    BookingOutcome,
    BookingRequest,
    PatientNotIdentified,
    Scheduler,
    SchedulerUnavailable,
    SchedulingError,
    SlotTime,
)
from routing.domain import patient_messages, patient_notices
from routing.domain.booking_plan import BookingPlan, plan_booking
from routing.domain.clinic import DEMO_CLINIC, ClinicProfile
from routing.domain.locations import DEFAULT_TRAVEL_RADIUS_KM, Basis, Coordinates, Tier, Wish, tiers
from routing.domain.patient_messages import SiteChoice
from routing.domain.rulebook_impact import StoredDecision, replay
from routing.domain.terminology import Terminology, default_terminology
from routing.domain.time_preferences import TimePreference, TimeWords, preference_result, read_preferences
from routing.domain.triage import HOLD_LANGUAGE, HOLD_POSSIBLE_RED_FLAG, Decision, Rulebook, triage
from routing.domain.triage.reader import Reader
from routing.domain.vocabulary import AppointmentStatus, InquiryStatus
from routing.domain.waitlist_matching import WaitlistPolicy
from routing.observability import events
from routing.services import event_data, outbox, waitlist_join
from routing.services.booking import book_at_sites, booking_request, propose_at_sites, record_booking
from routing.services.location_directory import LocationDirectory
from routing.services.rulebook_source import RulebookSource

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QueuePolicy:
    """How the booking queue retries when the scheduling system is unavailable."""

    max_attempts: int = 5
    #: How long a worker (or the intake request itself) holds an inquiry before others may take it.
    lease: timedelta = timedelta(seconds=50)
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

    #: A fixed rulebook, or the live one (the database's active version, as this process last saw it).
    rulebooks: Rulebook | RulebookSource
    scheduler: Scheduler
    tz: ZoneInfo
    policy: QueuePolicy = QueuePolicy()
    reader: Reader | None = None  # None: the lexicons shipped with the service
    clinic: ClinicProfile = DEMO_CLINIC
    time_words: tuple[TimeWords, ...] = ()  # empty: preferred times are not read
    #: The codes written for orders and appointments (ROUTING_TERMINOLOGY_FILE).
    terminology: Terminology = field(default_factory=default_terminology)
    #: How the waitlist offers freed slots (ROUTING_WAITLIST*).
    waitlist: WaitlistPolicy = field(default_factory=WaitlistPolicy)
    #: The practice's sites; None (or none read yet): book at any site and name none, as with one site.
    locations: LocationDirectory | None = None
    #: Where patients' postal codes are on the map (ROUTING_POSTAL_CODES_FILE), for the travel radius.
    postal_codes: Mapping[str, Coordinates] = field(default_factory=dict)
    travel_radius_km: float = DEFAULT_TRAVEL_RADIUS_KM

    @property
    def rulebook(self) -> Rulebook:
        """The rulebook in force now; read it once per use case, so one decision is one version's."""
        rulebooks = self.rulebooks
        return rulebooks if isinstance(rulebooks, Rulebook) else rulebooks.current()

    def site_tiers(self, slot_type: str, wish: Wish) -> tuple[Tier, ...]:
        """The sites to book ``slot_type`` at, tier by tier (empty: any site, the practice has none on record)."""
        sites = self.locations.sites() if self.locations is not None else ()
        if not sites:
            return ()
        return tiers(sites, slot_type, wish, self.postal_codes, self.travel_radius_km) or (Tier(Basis.ANY, ()),)

    def has_site(self, location_id: str) -> bool:
        """Whether ``location_id`` is one of the practice's active sites (any id, when none are on record)."""
        return self.locations is None or not self.locations.sites() or self.locations.site(location_id) is not None

    def clinic_at(self, location_id: str | None) -> ClinicProfile:
        """The clinic as a patient booked at ``location_id`` should read it (see ``LocationDirectory.clinic_at``)."""
        return self.clinic if self.locations is None else self.locations.clinic_at(location_id)

    def tz_at(self, location_id: str | None) -> ZoneInfo:
        """The time zone a site's appointments are told in: the site's own, else the clinic's."""
        site = self.locations.site(location_id) if self.locations is not None else None
        return ZoneInfo(site.time_zone) if site is not None and site.time_zone else self.tz


_decisions = TriageDecision.__table__
_inquiries = Inquiry.__table__
NO_WISH = Wish()
_RECORD_DECISION = RowWrite.insert(_decisions)
_STORE_INQUIRY = RowWrite.insert(_inquiries)
_BOOKING_NOW = "booking with the scheduling system"
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
    new_inquiry: dict[str, Any] | None = None,
    stored: StoredDecision | None = None,
) -> Outcome:
    """Triage the inquiry, record the decision, and book it (or hand it to staff).

    ``data`` is the validated intake body. ``new_inquiry`` is the row of an inquiry not stored yet (from
    intake): it is written in the same transaction as its decision, so a stored inquiry always has one;
    an emergency or a held inquiry is in front of staff from that first commit on. A taken delivery key
    then raises IntegrityError with nothing written.

    With the embedded scheduler, the decision and the booking commit together (one commit, the
    booking under a savepoint: if it fails, the inquiry and its decision still commit, pending for the
    worker). With an external scheduler the decision is committed first, the booking is made over the
    network, and its record committed after. When the scheduler is unavailable the inquiry stays
    ``pending_booking`` for the worker, with the attempt counted. ``attempts`` counts earlier failed
    attempts; ``first_booking`` (intake) skips looking for earlier appointments; the urgency window runs
    from ``window_from`` (default: when the inquiry was received). ``stored`` is given for an inquiry whose text was
    removed (``routing.services.retention``): it is decided again on the facts it was read for, not on its message.
    """
    rulebook = routing.rulebook
    try:
        if stored is not None:
            decision = replay(stored, rulebook)
        else:
            decision = triage(
                data.get("symptoms") or {},
                data.get("message"),
                received_at.astimezone(routing.tz).date(),
                rulebook,
                language=data.get("language"),
                reader=routing.reader,
            )
    except Exception as error:
        if new_inquiry is None:
            raise
        return _store_untriaged(session, routing, new_inquiry, error, now)
    plan = _plan(decision, rulebook, window_from or received_at, now)
    preference = read_preferences(data.get("preferred_times"), routing.time_words, routing.tz, decision.language)
    if data.get("unavailable_times"):
        unavailable = read_preferences(data["unavailable_times"], routing.time_words, routing.tz, decision.language)
        preference = preference.excluding(unavailable)
    wish = Wish(data.get("preferred_location"), data.get("postal_code"))
    step = _Step(session, routing, inquiry_id, decision, now, retry=not first_booking, new_inquiry=new_inquiry)
    step.location = wish.preferred
    if plan is None:
        message = patient_messages.urgent_review(decision.urgency, decision.language, clinic=routing.clinic)
        with session.begin(), WriteBatch(session.connection()) as writes:
            step.record(writes, InquiryStatus.URGENT_REVIEW, "a clinician must call the patient", message)
        events.inquiry_routed(inquiry_id, InquiryStatus.URGENT_REVIEW, decision)
        return Outcome(inquiry_id, InquiryStatus.URGENT_REVIEW, message, decision.to_dict(), language=decision.language)
    sites = routing.site_tiers(plan.slot_type, wish)
    if decision.hold is not None:
        return _hold_for_reading(step, plan, preference, sites)

    scheduler = routing.scheduler

    def request_for_booking() -> BookingRequest:
        return booking_request(
            session,
            inquiry_id=inquiry_id,
            slot_type=plan.slot_type,
            route=decision.route,
            urgency=decision.urgency,
            reasons=[reason.text for reason in decision.reasons],
            patient=data.get("patient"),
            terminology=routing.terminology,
            first=first_booking,
        )

    def settle(writes: WriteBatch, request: BookingRequest, booking: BookingOutcome, replaced) -> Outcome:
        unavailable = data.get("unavailable_times")
        return _apply(
            writes,
            routing,
            inquiry_id,
            decision,
            plan,
            request,
            booking,
            now,
            preference,
            replaced,
            unavailable,
            told_by=_notice_channels(data),
            wished=wish,
            sites=sites,
        )

    if scheduler.capabilities.books_in_transaction:
        with session.begin():
            with WriteBatch(session.connection()) as writes:
                step.record_waiting(writes)
            try:
                with session.begin_nested(), WriteBatch(session.connection()) as writes:
                    request = request_for_booking()
                    replaced = None if first_booking else _replaced_appointment(session, inquiry_id)
                    booking = book_at_sites(session, scheduler, plan, request, preference, sites)
                    outcome = settle(writes, request, booking, replaced)
            except Exception as error:  # rolled back to the savepoint: the inquiry and decision stay
                log.error("inquiry %s decided but not booked: %s", inquiry_id, type(error).__name__)
                events.booking_attempt_failed(scheduler.name, "error", inquiry_id)
                why = f"booking failed ({type(error).__name__})"
                with WriteBatch(session.connection()) as writes:
                    outcome = _count_failure(writes, routing, inquiry_id, attempts + 1, why, now, decision.language)
        if outcome.status != InquiryStatus.PENDING_BOOKING:
            _announce(routing, outcome, decision)
        return outcome

    # An external scheduling system: never hold a database transaction open across network calls.
    with session.begin(), WriteBatch(session.connection()) as writes:
        request = request_for_booking()
        replaced = None if first_booking else _replaced_appointment(session, inquiry_id)
        step.record_waiting(writes)
    try:
        booking = book_at_sites(session, scheduler, plan, request, preference, sites)
    except SchedulerUnavailable:
        events.booking_attempt_failed(scheduler.name, "unavailable", inquiry_id)
        why = "scheduling system unavailable"
        return booking_failed(session, routing, inquiry_id, attempts + 1, why, now, decision.language)
    except PatientNotIdentified as doubt:
        return _hold_for_identity(step, doubt)
    with session.begin(), WriteBatch(session.connection()) as writes:
        outcome = settle(writes, request, booking, replaced)
    _announce(routing, outcome, decision)
    return outcome


_HOLD_DETAIL = {
    HOLD_LANGUAGE: "held for staff: the message is in a language the reader does not read",
    HOLD_POSSIBLE_RED_FLAG: "held for staff: a possible red flag the reader could not place",
}


@dataclass
class _Step:
    """One routing of one inquiry. Its first write carries the decision, with the inquiry's status (and
    the inquiry itself when it is new), so no inquiry is ever stored or settled without its decision."""

    session: Session
    routing: Routing
    inquiry_id: uuid.UUID
    decision: Decision
    now: datetime
    retry: bool
    new_inquiry: dict[str, Any] | None
    decision_recorded: bool = False
    #: The site the patient chose (recorded as the inquiry's site until a slot's site is known).
    location: str | None = None

    def record(
        self,
        writes: WriteBatch,
        status: str,
        detail: str | None,
        message: str,
        *,
        proposed: SlotTime | None = None,
        lease_until: datetime | None = None,
        hold: str | None = None,
    ) -> None:
        """Write the inquiry's status (and, the first time, the decision and its facts), with its events
        (``hold``: why a ``needs_review`` inquiry is held, an ``inquiry.held`` reason)."""
        values = _status_values(status, detail, message, self.now, proposed=proposed, lease_until=lease_until)
        values["location_id"] = proposed.location if proposed is not None and proposed.location else self.location
        told = _outcome_events(self.inquiry_id, status, self.decision, hold)
        if self.decision_recorded:
            _settle(writes, self.inquiry_id, values, told, self.now)
            return
        # The decision's urgency and hold ride on the inquiry too: the staff queue sorts on them (models.Inquiry).
        values.update(
            facts=_facts_record(self.decision),
            language=self.decision.language,
            urgency=self.decision.urgency,
            hold=self.decision.hold,
        )
        if self.new_inquiry is not None:
            writes.add(_STORE_INQUIRY, {**self.new_inquiry, **values})
            _record_new(writes, self.inquiry_id, self.decision.language, told, self.now)
        else:
            _settle(writes, self.inquiry_id, values, told, self.now)
        _record_decision(writes, self.inquiry_id, self.decision, self.now, retry=self.retry)
        self.decision_recorded = True

    def record_waiting(self, writes: WriteBatch) -> None:
        """Decided, and about to ask the scheduler: pending, leased to this process for the call."""
        until = self.now + self.routing.policy.lease
        message = patient_messages.pending(self.decision.language, clinic=self.routing.clinic)
        self.record(writes, InquiryStatus.PENDING_BOOKING, _BOOKING_NOW, message, lease_until=until)


def _hold_for_reading(step: _Step, plan: BookingPlan, preference: TimePreference, sites: tuple[Tier, ...]) -> Outcome:
    """The safety net: a person reads the inquiry before anything is booked; the fitting slot is proposed."""
    session, scheduler, decision = step.session, step.routing.scheduler, step.decision
    detail = _HOLD_DETAIL[decision.hold]
    message = patient_messages.held_for_reading(decision.language, clinic=step.routing.clinic)
    status = InquiryStatus.NEEDS_REVIEW
    if scheduler.capabilities.books_in_transaction:
        with session.begin():
            proposed = propose_at_sites(session, scheduler, plan, preference, sites)
            with WriteBatch(session.connection()) as writes:
                step.record(writes, status, detail, message, proposed=proposed, hold=decision.hold)
    else:
        with session.begin(), WriteBatch(session.connection()) as writes:
            step.record_waiting(writes)
        # An external scheduler is asked outside any transaction. The proposal is a courtesy: whatever goes
        # wrong with it (unreachable, a refusal), the inquiry is still held for staff, who book by phone.
        try:
            proposed = propose_at_sites(session, scheduler, plan, preference, sites)
        except SchedulingError as error:
            log.warning("inquiry %s held for staff without a proposed slot: %s", step.inquiry_id, type(error).__name__)
            proposed = None
        with session.begin(), WriteBatch(session.connection()) as writes:
            step.record(writes, status, detail, message, proposed=proposed, hold=decision.hold)
    events.inquiry_routed(step.inquiry_id, status, decision, scheduler=scheduler.name, booked=False)
    return Outcome(
        step.inquiry_id, status, message, decision.to_dict(), proposed_slot=proposed, language=decision.language
    )


def _hold_for_identity(step: _Step, doubt: PatientNotIdentified) -> Outcome:
    """The scheduling system has records that may be this patient: staff choose one; nothing was booked."""
    decision = step.decision
    detail = f"held for staff: {doubt} in the scheduling system; choose the patient's record, then book"
    message = patient_messages.held_for_reading(decision.language, clinic=step.routing.clinic)
    with step.session.begin(), WriteBatch(step.session.connection()) as writes:
        step.record(writes, InquiryStatus.NEEDS_REVIEW, detail, message, hold="patient_identity")
    events.inquiry_routed(
        step.inquiry_id, InquiryStatus.NEEDS_REVIEW, decision, scheduler=step.routing.scheduler.name, booked=False
    )
    return Outcome(step.inquiry_id, InquiryStatus.NEEDS_REVIEW, message, decision.to_dict(), language=decision.language)


def _store_untriaged(
    session: Session, routing: Routing, new_inquiry: dict[str, Any], error: Exception, now: datetime
) -> Outcome:
    """Triage itself failed (a defect): store the inquiry anyway, in front of staff, who read it."""
    inquiry_id = new_inquiry["id"]
    log.error("inquiry %s could not be triaged: %s", inquiry_id, type(error).__name__)
    language = (new_inquiry.get("payload") or {}).get("language")
    message = patient_messages.held_for_reading(language, clinic=routing.clinic)
    detail = f"triage failed ({type(error).__name__}): staff must read it"
    values = _status_values(InquiryStatus.NEEDS_REVIEW, detail, message, now)
    held = [(outbox.INQUIRY_HELD, event_data.held(inquiry_id, "triage_failed"))]
    with session.begin(), WriteBatch(session.connection()) as writes:
        writes.add(_STORE_INQUIRY, {**new_inquiry, **values})
        _record_new(writes, inquiry_id, language, held, now)
    return Outcome(inquiry_id, InquiryStatus.NEEDS_REVIEW, message)


def booking_failed(
    session: Session,
    routing: Routing,
    inquiry_id: uuid.UUID,
    attempts: int,
    why: str,
    now: datetime,
    language: str | None = None,
) -> Outcome:
    """Count a failed booking attempt: retry later with backoff, or hand to staff after the last attempt."""
    with session.begin(), WriteBatch(session.connection()) as writes:
        return _count_failure(writes, routing, inquiry_id, attempts, why, now, language)


def _count_failure(
    writes: WriteBatch,
    routing: Routing,
    inquiry_id: uuid.UUID,
    attempts: int,
    why: str,
    now: datetime,
    language: str | None,
) -> Outcome:
    policy = routing.policy
    if attempts >= policy.max_attempts:
        detail = f"{why}; gave up after {attempts} attempts, staff to book by phone"
        values = {"status": InquiryStatus.NEEDS_REVIEW, "next_attempt_at": None}
    else:
        detail = f"{why}; attempt {attempts} of {policy.max_attempts}, retrying automatically"
        values = {"next_attempt_at": now + policy.retry_delay(attempts)}
    message = patient_messages.pending(language, clinic=routing.clinic)
    params = {
        "inquiry_id": inquiry_id,
        "booking_attempts": attempts,
        "lease_until": None,
        "status_detail": detail[:500],
        "patient_message": message,
        "updated_at": now,
        **values,
    }
    status = values.get("status", InquiryStatus.PENDING_BOOKING)
    told = (
        []
        if status == InquiryStatus.PENDING_BOOKING
        else [(outbox.INQUIRY_HELD, event_data.held(inquiry_id, "booking_failed"))]
    )
    _settle(writes, inquiry_id, params, told, now)
    log.warning("inquiry %s booking attempt %d failed: %s", inquiry_id, attempts, why)
    events.booking_failed(inquiry_id, attempts, status)
    return Outcome(inquiry_id, status, message, completed=False, language=language)


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
    preference: TimePreference | None = None,
    replaced: uuid.UUID | None = None,
    unavailable_times: list[str] | None = None,
    *,
    told_by: tuple[str, ...] = (),
    wished: Wish = NO_WISH,
    sites: tuple[Tier, ...] = (),
) -> Outcome:
    language = decision.language
    appointment = None
    slot = booking.booking.slot if booking.booking is not None else booking.proposed
    location = slot.location if slot is not None and slot.location else wished.preferred
    tz, clinic = routing.tz_at(location), routing.clinic_at(location)
    if booking.booking is not None:
        appointment = record_booking(writes, routing.scheduler, request, booking.booking, now)
        status, detail = InquiryStatus.BOOKED, None
        booked = [_booked_event(inquiry_id, routing, booking, appointment, replaced)]
        told = preference_result(preference, appointment.start)
        site = _site_choice(sites, location, wished)
        message = patient_messages.booked(
            plan.slot_type, appointment.start, tz, language, clinic=clinic, preference=told, site=site
        )
    else:
        status = InquiryStatus.NEEDS_REVIEW
        detail = f"no free {plan.slot_type} slot within the {decision.urgency} window"
        booked = []
        message = patient_messages.held_for_staff(
            plan.slot_type,
            booking.proposed.start if booking.proposed else None,
            tz,
            language,
            clinic=clinic,
            # On the waitlist too: an earlier slot may be offered, by the channels the patient is told on.
            waitlist=told_by if routing.waitlist.enabled else None,
        )
        if routing.waitlist.enabled:
            detail += "; on the waitlist for a slot that frees up"
            waitlist_join.join(
                writes,
                inquiry_id=inquiry_id,
                route=decision.route,
                urgency=decision.urgency,
                plan=plan,
                proposed=booking.proposed,
                unavailable_times=unavailable_times,
                now=now,
                locations=_acceptable_sites(sites, wished),
            )
    proposed = booking.proposed
    values = _status_values(status, detail, message, now, proposed=proposed)
    values["location_id"] = location
    hold = None if appointment is not None else "no_slot"
    _settle(writes, inquiry_id, values, _outcome_events(inquiry_id, status, decision, hold) + booked, now)
    return Outcome(
        inquiry_id,
        status,
        message,
        decision.to_dict(),
        appointment=appointment,
        proposed_slot=proposed,
        language=language,
    )


Told = list[tuple[str, dict[str, Any]]]


def _site_choice(sites: tuple[Tier, ...], location: str | None, wished: Wish) -> SiteChoice | None:
    """What to tell the patient about the site booked, when it is not the one they asked for (None: nothing)."""
    basis = next((tier.basis for tier in sites if location in tier.sites), None)
    if basis == Basis.NEARBY and wished.preferred:
        return SiteChoice.NEAR_CHOSEN
    if basis == Basis.ANY and len(sites) > 1:  # a nearer tier was tried and had nothing in time
        return SiteChoice.ELSEWHERE
    return None


def _acceptable_sites(sites: tuple[Tier, ...], wished: Wish) -> list[str] | None:
    """The sites a waitlist offer may be at, in the order the patient would take them; None: any site.

    Stricter than booking: a patient who named a site or a postal code is offered a freed slot only there or
    within the travel radius (a freed slot far away is no improvement on the one staff will arrange).
    """
    near = [site for tier in sites if tier.basis != Basis.ANY for site in tier.sites]
    return near if wished.stated and near else None


def _notice_channels(data: dict[str, Any]) -> tuple[str, ...]:
    """The channels the patient is sent notices on (and so a waitlist offer), as their intake says."""
    patient = data.get("patient") or {}
    return patient_notices.channels_for(
        consent=data.get("consent") is True,
        preference=data.get("contact_preference"),
        email=patient.get("email"),
        phone=patient.get("phone"),
    )


def _outcome_events(inquiry_id: uuid.UUID, status: str, decision: Decision, hold: str | None) -> Told:
    """The events of an inquiry settling at ``status`` under ``decision`` (none while it is pending)."""
    if status == InquiryStatus.PENDING_BOOKING:
        return []
    told = [(outbox.INQUIRY_ROUTED, event_data.routed(inquiry_id, status, decision))]
    if status == InquiryStatus.URGENT_REVIEW:
        told.append((outbox.INQUIRY_URGENT_REVIEW, event_data.urgent_review(inquiry_id, decision)))
    elif status == InquiryStatus.NEEDS_REVIEW:
        reason = hold or decision.hold or "no_slot"
        told.append((outbox.INQUIRY_HELD, event_data.held(inquiry_id, reason, decision.route, decision.urgency)))
    return told


def _settle(writes: WriteBatch, inquiry_id: uuid.UUID, values: dict[str, Any], told: Told, now: datetime) -> None:
    """The settle of a stored inquiry, and its events, recorded only if the settle applies (still pending)."""
    for type_, data in told:  # before the settle: they check the status it is about to change
        outbox.record_event_if_pending(writes, type_, inquiry_id, data, now)
    writes.add(_SETTLE, {"inquiry_id": inquiry_id, **values})


def _record_new(writes: WriteBatch, inquiry_id: uuid.UUID, language: str | None, told: Told, now: datetime) -> None:
    """A new inquiry's events, after its row (which they refer to): received, then what became of it."""
    outbox.record_event(writes, outbox.INQUIRY_RECEIVED, inquiry_id, event_data.received(inquiry_id, language), now)
    for type_, data in told:
        outbox.record_event(writes, type_, inquiry_id, data, now)


def _booked_event(
    inquiry_id: uuid.UUID,
    routing: Routing,
    booking: BookingOutcome,
    appointment: SlotTime,
    replaced: uuid.UUID | None,
) -> tuple[str, dict[str, Any]]:
    """``appointment.booked``, or ``appointment.rebooked`` when it replaces one the scheduling system cancelled."""
    at = (appointment.id, appointment.slot_type, appointment.start, appointment.end, routing.scheduler.name)
    if replaced is not None:
        return outbox.APPOINTMENT_REBOOKED, event_data.rebooked(inquiry_id, replaced, *at, by="routing")
    data = event_data.appointment(inquiry_id, *at, scheduler_appointment_id=booking.booking.external_id)
    return outbox.APPOINTMENT_BOOKED, data


def _replaced_appointment(session: Session, inquiry_id: uuid.UUID) -> uuid.UUID | None:
    """The appointment a new booking replaces: the inquiry's latest, when it is no longer booked (the
    scheduling system cancelled it, and routing books again). Asked only after the inquiry's first booking."""
    latest = session.execute(
        select(Appointment.id, Appointment.status)
        .where(Appointment.inquiry_id == inquiry_id)
        .order_by(Appointment.created_at.desc())
        .limit(1)
    ).first()
    return latest.id if latest is not None and latest.status != AppointmentStatus.BOOKED else None


def _announce(routing: Routing, outcome: Outcome, decision: Decision) -> None:
    booked = outcome.appointment is not None
    events.inquiry_routed(outcome.id, outcome.status, decision, scheduler=routing.scheduler.name, booked=booked)


def _status_values(
    status: str,
    detail: str | None,
    message: str,
    now: datetime,
    *,
    proposed: SlotTime | None = None,
    lease_until: datetime | None = None,
) -> dict[str, Any]:
    """The inquiry's columns for a status; pending with a lease is due again when the lease runs out."""
    return {
        "status": status,
        "status_detail": detail,
        "patient_message": message,
        "proposed_slot": _slot_record(proposed),
        "next_attempt_at": now if lease_until is not None else None,
        "lease_until": lease_until,
        "updated_at": now,
    }


def _slot_record(slot: SlotTime | None) -> dict[str, str] | None:
    if slot is None:
        return None
    record = {"id": slot.id, "slot_type": slot.slot_type, "start": slot.start.isoformat(), "end": slot.end.isoformat()}
    if slot.location is not None:  # only when the scheduling system says: records made before sites keep their shape
        record["location"] = slot.location
    return record


def _record_decision(
    writes: WriteBatch, inquiry_id: uuid.UUID, decision: Decision, now: datetime, *, retry: bool = False
) -> None:
    """Insert the decision. On a retry the decisions of earlier attempts are marked superseded, so one
    stays in force."""
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
            "facts": decision.facts.to_dict(),
            "rulebook_version": decision.rulebook_version,
            "created_at": now,
        },
    )


def _facts_record(decision: Decision) -> dict[str, Any]:
    """The facts as stored on the inquiry: their values, and where in the inquiry each was read."""
    facts = decision.facts
    return {
        "values": facts.to_dict(),
        "evidence": [
            {"fact": e.fact, "value": _jsonable(e.value), "source": e.source, "phrase": e.phrase}
            for e in facts.evidence
        ],
    }


def _jsonable(value: Any) -> Any:
    return sorted(value) if isinstance(value, frozenset) else value
