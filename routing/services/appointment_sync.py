"""Bring one of our appointments in line with the scheduling system's own record of it.

Shared by the FHIR notification receiver (which reads each focus back from the server) and the
reconciliation poll (which searches the server for changed appointments). Either way the appointment's
status comes from the scheduling system itself, never from a notification's copy, and is mapped to a
scheduler event: ``cancelled`` and ``entered-in-error`` act as ``appointment.cancelled`` (rebook),
``noshow`` as ``appointment.noshow`` (staff queue); any other status asks nothing of us. The event then
goes through :func:`routing.services.scheduler_events.handle_confirmed_event`, which acts once per
delivery key and audits what it did.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from routing.adapters.db.models import Appointment
from routing.adapters.scheduling.interface import UnknownAppointment
from routing.domain.vocabulary import AppointmentStatus, SchedulerEventType
from routing.services.route_inquiry import Routing
from routing.services.scheduler_events import (
    EventConflict,
    SchedulerEventInput,
    handle_confirmed_event,
    stored_result,
)

#: The scheduling system's appointment statuses that are events for us (FHIR R4 Appointment.status).
EVENT_FOR_STATUS = {
    "cancelled": SchedulerEventType.APPOINTMENT_CANCELLED,
    "entered-in-error": SchedulerEventType.APPOINTMENT_CANCELLED,
    "noshow": SchedulerEventType.APPOINTMENT_NOSHOW,
}


def sync_appointment(
    session: Session,
    routing: Routing,
    external_id: str,
    *,
    key: str,
    how: str,
    status: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Act once (per ``key``) on what the scheduling system says of our appointment ``external_id``.

    ``status`` is its status there, as the caller just read it; None: read it now (a network call, made
    outside any transaction; SchedulingError goes up with nothing done). ``how`` says in the audit trail
    how we learned of it. Returns ``{appointment, action, note, inquiry, replayed}``; ``action`` is
    rebooked, queued_for_staff or rebook_pending when something was done, else none or ignored.
    """
    stored = stored_result(session, key)
    if stored is not None:
        return _summary(external_id, stored, replayed=True)
    ours = session.scalar(
        select(Appointment).where(Appointment.external_id == external_id).order_by(Appointment.created_at.desc())
    )
    inquiry_id, booked = (ours.inquiry_id, ours.status == AppointmentStatus.BOOKED) if ours else (None, False)
    session.rollback()
    if ours is None:
        return _summary(external_id, {"action": "ignored", "note": "not an appointment of ours"})
    if not booked:
        return _summary(external_id, {"action": "none", "note": "the appointment was no longer booked"}, inquiry_id)
    if status is None:
        try:
            status = routing.scheduler.read(session, external_id).status
        except UnknownAppointment:
            note = "the scheduling system has no such appointment"
            return _summary(external_id, {"action": "ignored", "note": note}, inquiry_id)
    event_type = EVENT_FOR_STATUS.get(status)
    if event_type is None:
        note = f"the scheduling system shows the appointment as {status}: nothing to do"
        return _summary(external_id, {"action": "none", "note": note}, inquiry_id)
    event = SchedulerEventInput(
        key=key,
        # The fingerprint of what the event is: a redelivery derives the same one.
        raw_body=f"{event_type} {external_id}".encode(),
        event_type=event_type,
        appointment=external_id,
        reason=f"{status} in the scheduling system ({how})",
    )
    try:
        result, replayed = handle_confirmed_event(session, routing, event, now)
    except UnknownAppointment:  # removed from our records meanwhile
        return _summary(external_id, {"action": "ignored", "note": "not an appointment of ours"})
    except EventConflict:  # a concurrent delivery under this key saw another status first: its result stands
        return _summary(external_id, stored_result(session, key) or {"action": "none"}, replayed=True)
    return _summary(external_id, result, replayed=replayed)


def _summary(external_id: str, result: dict[str, Any], inquiry_id: Any = None, replayed: bool = False) -> dict:
    inquiry = result.get("inquiry") or (str(inquiry_id) if inquiry_id else None)
    return {
        "appointment": external_id,
        "action": result["action"],
        "note": result.get("note"),
        "inquiry": inquiry,
        "replayed": replayed,
    }
