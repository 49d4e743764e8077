"""What a patient does from their own link: cancel their appointment, ask for another time, answer a waitlist
offer (accept or decline it), and say which days or times do not suit them while on the waitlist.

Each acts on the :class:`~routing.services.patient_page.PatientView` their link opened, and only with the
action token of the step they were shown (:mod:`routing.services.patient_link`; an offer's answer is bound to
that offer). Each leaves audit events whose actor is :data:`PATIENT`. A cancel and a request for another time
put the inquiry in front of staff (``needs_review``); an accepted offer books it.

A cancel takes the staff's path (:func:`routing.services.staff_actions.cancel_booked`): the scheduling system
cancels the appointment and frees its slot, with no transaction open during a call to a remote one. An offer's
answer takes the waitlist's (:mod:`routing.services.waitlist_answers`), which keeps the same rule.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from routing.adapters.db.models import Appointment, Inquiry, WaitlistEntry
from routing.domain import patient_messages
from routing.domain.clinic import ClinicProfile
from routing.domain.labels import LABELS
from routing.domain.time_preferences import read_preferences
from routing.domain.vocabulary import AppointmentStatus, InquiryStatus
from routing.observability import events
from routing.services import audit, patient_link, waitlist, waitlist_answers
from routing.services.patient_page import ASK_FROM, PatientView
from routing.services.route_inquiry import Routing
from routing.services.staff_actions import ActionRefused, Canceller, cancel_booked
from routing.services.waitlist_answers import OfferClosed
from routing.services.waitlist_join import LIVE_ENTRY, joined_times, split_times
from routing.services.waitlist_staff import UNAVAILABLE_TIMES_CHANGED

#: How the audit trail, the appointment's cancel reason and the status line name a patient using their link.
PATIENT = "patient (own link)"
#: The actions (audit actions, and the names their action tokens carry).
CANCEL = "cancel"
ANOTHER_TIME = "another_time"
ACCEPT_OFFER = "accept_offer"
DECLINE_OFFER = "decline_offer"
UNAVAILABLE_TIMES = "unavailable_times"
#: The reason audited when a patient changes the days or times that do not suit them.
UNAVAILABLE_REASON = "the patient changed them on their own page"
#: What the scheduling system is told about a patient's cancel.
CANCEL_REASON = "the patient cancelled it from their own page"


class NotConfirmed(Exception):
    """The post did not carry a valid action token for this step (missing, forged, expired, another one's)."""


class TimesUnread(Exception):
    """A day or time the patient gave could not be read: stored, it would stop every offer to them."""

    def __init__(self, line: str) -> None:
        super().__init__("a day or time could not be read")
        self.line = line


def cancel(session: Session, routing: Routing, secret: str, view: PatientView, token: str, now: datetime) -> None:
    """Cancel the appointment the patient's page showed; its slot is freed and staff see the inquiry.

    Raises NotConfirmed without the cancel step's action token for that appointment; ActionRefused (nothing
    changed) when there is nothing to cancel any more, the appointment changed since, or the scheduling
    system refuses or is unreachable (``status`` 503).
    """
    shown = view.appointment
    if shown is None or not view.can_cancel:
        raise ActionRefused("There is no appointment to cancel.")
    if not patient_link.action_allowed(secret, token, view.inquiry_id, CANCEL, now, shown.id):
        raise NotConfirmed

    def still_as_shown(inquiry: Inquiry, appointment: Appointment | None) -> None:
        if inquiry.status == InquiryStatus.CLOSED or appointment is None or appointment.id != shown.id:
            raise ActionRefused("The appointment changed since the page was shown.")

    def told(language: str | None, old: Appointment) -> str:
        return cancelled_message(old.slot_type, old.start, routing.tz, language, routing.clinic)

    by = Canceller(PATIENT, CANCEL_REASON, patient_message=told)
    cancel_booked(session, routing, view.inquiry_id, by, expect=still_as_shown, now=now)
    events.patient_action(CANCEL, view.inquiry_id)


def ask_for_another_time(
    session: Session,
    routing: Routing,
    secret: str,
    view: PatientView,
    token: str,
    preferred_times: str,
    now: datetime,
) -> None:
    """Put the patient's preferred times in front of staff: the inquiry goes to ``needs_review`` with the text
    in its status line and in the audit event. A booked appointment stands until staff move it (an override
    books the new time, then cancels this one). An inquiry on the waitlist stays on it, and the patient is
    told so.

    Raises NotConfirmed without this step's action token; ActionRefused when the inquiry's status no longer
    allows it.
    """
    if not view.can_ask:
        raise ActionRefused("Another time cannot be asked for now.")
    if not patient_link.action_allowed(secret, token, view.inquiry_id, ANOTHER_TIME, now):
        raise NotConfirmed
    # This goes to staff, and does not go back into booking. An inquiry on the waitlist keeps its entry, which
    # already takes the earliest slot in its window the moment one frees up, most urgent patient first: booking
    # a free slot from here would step around that order. A booked patient's new time needs staff's override
    # (book the new time, then cancel the old), as before.
    with session.begin():
        inquiry = session.get(Inquiry, view.inquiry_id, with_for_update=True, populate_existing=True)
        if inquiry is None or inquiry.status not in ASK_FROM:
            raise ActionRefused("Another time cannot be asked for now.")
        live = session.scalar(
            select(Appointment).where(
                Appointment.inquiry_id == inquiry.id, Appointment.status == AppointmentStatus.BOOKED
            )
        )
        waiting_for = session.scalar(
            select(WaitlistEntry.slot_type).where(
                WaitlistEntry.inquiry_id == inquiry.id, WaitlistEntry.status.in_(LIVE_ENTRY)
            )
        )
        before = inquiry.status
        inquiry.status = InquiryStatus.NEEDS_REVIEW
        inquiry.status_detail = f"the patient asked for another time: {preferred_times}"[:500]
        inquiry.patient_message = asked_message(
            live, routing.tz, inquiry.language, routing.clinic, waiting_for=waiting_for
        )
        inquiry.updated_at = now
        audit.record(
            session,
            None,
            ANOTHER_TIME,
            inquiry_id=inquiry.id,
            details={"status": before, "appointment": str(live.id) if live else None},
            reason=preferred_times,
            now=now,
            actor_name=PATIENT,
        )
    events.patient_action(ANOTHER_TIME, view.inquiry_id)


def accept_offer(session: Session, routing: Routing, secret: str, view: PatientView, token: str, now: datetime) -> None:
    """Book the waitlist's offer the patient's page showed: the inquiry is ``booked`` and the patient is sent the
    booking's confirmation as for any booking.

    Raises OfferClosed when there is no open offer any more (answered, expired, withdrawn, the inquiry settled
    another way, the slot lost); NotConfirmed without the accept step's action token for that offer;
    OfferUnavailable when the scheduling system cannot be reached (the offer stays open: try again).
    """
    offer = view.offer
    if offer is None:
        raise OfferClosed("no open offer")
    if not patient_link.action_allowed(secret, token, view.inquiry_id, ACCEPT_OFFER, now, offer.id):
        raise NotConfirmed
    waitlist_answers.accept(session, routing, offer.id, view.inquiry_id, now, actor=PATIENT)
    events.patient_action(ACCEPT_OFFER, view.inquiry_id)


def decline_offer(
    session: Session, routing: Routing, secret: str, view: PatientView, token: str, now: datetime
) -> None:
    """Decline the offer the patient's page showed: they keep their place on the waitlist, and the slot is offered
    to the next entry at once.

    Raises OfferClosed when there is no open offer any more; NotConfirmed without the decline step's action token
    for that offer.
    """
    offer = view.offer
    if offer is None:
        raise OfferClosed("no open offer")
    if not patient_link.action_allowed(secret, token, view.inquiry_id, DECLINE_OFFER, now, offer.id):
        raise NotConfirmed
    slot_type = waitlist_answers.decline(session, routing, offer.id, view.inquiry_id, now, actor=PATIENT)
    events.patient_action(DECLINE_OFFER, view.inquiry_id)
    waitlist.refill_after_freeing(session, routing, now, slot_type)


def set_unavailable_times(
    session: Session,
    routing: Routing,
    secret: str,
    view: PatientView,
    token: str,
    times: list[str],
    now: datetime,
) -> None:
    """Store the days or times that do not suit the patient on their waitlist entry (one per line; none: any time
    suits them), audited; no slot at those times is offered to them from then on.

    Raises NotConfirmed without this step's action token; TimesUnread when one of them cannot be read with the
    clinic's time words (stored, it would hold back every offer until staff restate it); ActionRefused when the
    patient is no longer on the waitlist.
    """
    if view.waitlist is None:
        raise ActionRefused("You are not on the waitlist now.")
    if not patient_link.action_allowed(secret, token, view.inquiry_id, UNAVAILABLE_TIMES, now):
        raise NotConfirmed
    for line in times:
        if read_preferences([line], routing.time_words, routing.tz, view.language).unread:
            raise TimesUnread(line)
    stored = joined_times(times)
    with session.begin():
        entry = session.scalar(
            select(WaitlistEntry)
            .where(WaitlistEntry.inquiry_id == view.inquiry_id, WaitlistEntry.status.in_(LIVE_ENTRY))
            .with_for_update()
        )
        if entry is None:
            raise ActionRefused("You are not on the waitlist now.")
        slot_type, before = entry.slot_type, split_times(entry.unavailable_times)
        if stored == entry.unavailable_times:
            return
        entry.unavailable_times, entry.updated_at = stored, now
        # As staff's restatement records it (``waitlist_staff``): the console shows the change from the details.
        brief = {"entry": str(entry.id), "slot_type": slot_type, "urgency": entry.urgency, "priority": entry.priority}
        audit.record(
            session,
            None,
            UNAVAILABLE_TIMES_CHANGED,
            inquiry_id=view.inquiry_id,
            details={**brief, "from": before, "to": split_times(stored)},
            reason=UNAVAILABLE_REASON,
            now=now,
            actor_name=PATIENT,
        )
    events.patient_action(UNAVAILABLE_TIMES, view.inquiry_id)
    # Fewer exclusions may let a slot that is free now fit them: offer it at once rather than at the next run.
    waitlist.refill_after_freeing(session, routing, now, slot_type)


def cancelled_message(
    slot_type: str, start: datetime, tz: ZoneInfo, language: str | None, clinic: ClinicProfile
) -> str:
    """What the patient reads after cancelling from their page."""
    lang = _language(language)
    kind = LABELS.patient_words("slot_type", slot_type, lang)
    when = patient_messages.local_time(start, tz, lang)
    return LABELS.page_text("my", "cancelled_message", lang, kind=kind, when=when, phone=clinic.phone)


def asked_message(
    live: Appointment | None,
    tz: ZoneInfo,
    language: str | None,
    clinic: ClinicProfile,
    *,
    waiting_for: str | None = None,
) -> str:
    """What the patient reads after asking for another time (their appointment, if any, stands until then; on
    the waitlist for a ``waiting_for`` slot, they stay on it)."""
    lang = _language(language)
    fill = {"clinic": clinic.name, "phone": clinic.phone}
    if live is None and waiting_for is not None:
        kind = LABELS.patient_words("slot_type", waiting_for, lang)
        text = LABELS.page_text("my", "asked_message_waitlist", lang, kind=kind, **fill)
    elif live is None:
        text = LABELS.page_text("my", "asked_message", lang, **fill)
    else:
        kind = LABELS.patient_words("slot_type", live.slot_type, lang)
        when = patient_messages.local_time(live.start, tz, lang)
        text = LABELS.page_text("my", "asked_message_kept", lang, kind=kind, when=when, **fill)
    return f"{text} {patient_messages.EMERGENCY_SIGNS[lang]}"


def _language(language: str | None) -> str:
    return language if language in patient_messages.LANGUAGES else "en"
