"""What a patient does from their own link: cancel their appointment, or ask for another time.

Both act on the :class:`~routing.services.patient_page.PatientView` their link opened, and only with the
action token of the confirmation step they were shown (:mod:`routing.services.patient_link`). Both leave one
audit event whose actor is :data:`PATIENT`, and put the inquiry in front of staff (``needs_review``).

A cancel takes the staff's path (:func:`routing.services.staff_actions.cancel_booked`): the scheduling system
cancels the appointment and frees its slot, with no transaction open during a call to a remote one.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from routing.adapters.db.models import Appointment, Inquiry
from routing.domain import patient_messages
from routing.domain.clinic import ClinicProfile
from routing.domain.labels import LABELS
from routing.domain.vocabulary import AppointmentStatus, InquiryStatus
from routing.observability import events
from routing.services import audit, patient_link
from routing.services.patient_page import ASK_FROM, PatientView
from routing.services.route_inquiry import Routing
from routing.services.staff_actions import ActionRefused, Canceller, cancel_booked

#: How the audit trail, the appointment's cancel reason and the status line name a patient using their link.
PATIENT = "patient (own link)"
#: The actions (audit actions, and the names their action tokens carry).
CANCEL = "cancel"
ANOTHER_TIME = "another_time"
#: What the scheduling system is told about a patient's cancel.
CANCEL_REASON = "the patient cancelled it from their own page"


class NotConfirmed(Exception):
    """The post did not carry a valid action token for this step (missing, forged, expired, another one's)."""


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
    books the new time, then cancels this one).

    Raises NotConfirmed without this step's action token; ActionRefused when the inquiry's status no longer
    allows it.
    """
    if not view.can_ask:
        raise ActionRefused("Another time cannot be asked for now.")
    if not patient_link.action_allowed(secret, token, view.inquiry_id, ANOTHER_TIME, now):
        raise NotConfirmed
    # This goes to staff. Once a waitlist exists it could go back into booking instead: book the earliest
    # free slot that fits these times (as intake does with preferred_times), and reach staff only if none does.
    with session.begin():
        inquiry = session.get(Inquiry, view.inquiry_id, with_for_update=True, populate_existing=True)
        if inquiry is None or inquiry.status not in ASK_FROM:
            raise ActionRefused("Another time cannot be asked for now.")
        live = session.scalar(
            select(Appointment).where(
                Appointment.inquiry_id == inquiry.id, Appointment.status == AppointmentStatus.BOOKED
            )
        )
        before = inquiry.status
        inquiry.status = InquiryStatus.NEEDS_REVIEW
        inquiry.status_detail = f"the patient asked for another time: {preferred_times}"[:500]
        inquiry.patient_message = asked_message(live, routing.tz, inquiry.language, routing.clinic)
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


def cancelled_message(
    slot_type: str, start: datetime, tz: ZoneInfo, language: str | None, clinic: ClinicProfile
) -> str:
    """What the patient reads after cancelling from their page."""
    lang = _language(language)
    kind = LABELS.patient_words("slot_type", slot_type, lang)
    when = patient_messages.local_time(start, tz, lang)
    return LABELS.page_text("my", "cancelled_message", lang, kind=kind, when=when, phone=clinic.phone)


def asked_message(live: Appointment | None, tz: ZoneInfo, language: str | None, clinic: ClinicProfile) -> str:
    """What the patient reads after asking for another time (their appointment, if any, stands until then)."""
    lang = _language(language)
    fill = {"clinic": clinic.name, "phone": clinic.phone}
    if live is None:
        text = LABELS.page_text("my", "asked_message", lang, **fill)
    else:
        kind = LABELS.patient_words("slot_type", live.slot_type, lang)
        when = patient_messages.local_time(live.start, tz, lang)
        text = LABELS.page_text("my", "asked_message_kept", lang, kind=kind, when=when, **fill)
    return f"{text} {patient_messages.EMERGENCY_SIGNS[lang]}"


def _language(language: str | None) -> str:
    return language if language in patient_messages.LANGUAGES else "en"
