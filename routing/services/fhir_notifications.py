"""Act on a FHIR Subscriptions notification: which of our appointments changed, as the server says.

Handshakes and heartbeats are recorded (a log line and a metric, with the subscription's id) and need
nothing else; ``query-status`` and ``query-event`` answers are recorded the same way. For an event
notification, every focus that is an ``Appointment`` is read back from the FHIR server and synced
(:mod:`routing.services.appointment_sync`); a ``Slot`` focus stands for our booked appointments on
that slot, each read back the same way. A focus of another type, an appointment not ours, and an event
without a focus (an ``empty`` payload, which the reconciliation poll covers) change nothing.

Each appointment of each event acts once: its delivery key is the subscription, the event number and the
appointment, so a redelivered notification gets the stored answer. SchedulingError (the server could
not be asked) goes up with the events before it done, so a retry of the whole notification finishes it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from routing.adapters.db.models import Appointment
from routing.adapters.scheduling.fhir_notification import EVENT_NOTIFICATION, Notification, NotificationEvent
from routing.domain.vocabulary import AppointmentStatus
from routing.observability import events
from routing.services.appointment_sync import sync_appointment
from routing.services.route_inquiry import Routing

#: The focus types a notification can be acted on for.
APPOINTMENT, SLOT = "Appointment", "Slot"


def receive_notification(
    session: Session, routing: Routing, notification: Notification, now: datetime | None = None
) -> dict[str, Any]:
    """Record the notification and act on its events; ``{subscription, type, results}``, one result per
    appointment (or per event that names none)."""
    events.fhir_notification(notification.type, notification.subscription, len(notification.events))
    results: list[dict[str, Any]] = []
    if notification.type == EVENT_NOTIFICATION:
        for event in notification.events:
            results += _event_results(session, routing, notification.subscription, event, now)
    return {"subscription": notification.subscription, "type": notification.type, "results": results}


def _event_results(
    session: Session, routing: Routing, subscription: str, event: NotificationEvent, now: datetime | None
) -> list[dict[str, Any]]:
    """The results for one event: one per appointment it concerns."""
    header = {"event_number": event.number, "focus": event.focus}

    def nothing(action: str, note: str) -> list[dict[str, Any]]:
        return [{**header, "appointment": None, "action": action, "note": note, "inquiry": None, "replayed": False}]

    if event.focus is None:
        return nothing("none", "no focus (an empty payload): the reconciliation poll picks the change up")
    if event.focus_type == APPOINTMENT:
        appointments = [event.focus]
    elif event.focus_type == SLOT:
        appointments = _booked_on_slot(session, event.focus)
        if not appointments:
            return nothing("none", "no booked appointment of ours on this slot")
    else:
        return nothing("ignored", f"a {event.focus_type} is not an appointment or a slot")
    how = f"FHIR notification, {subscription} event {event.number}"
    results = []
    for external_id in appointments:
        key = f"fhir:{subscription}#{event.number}:{external_id}"
        results.append({**header, **sync_appointment(session, routing, external_id, key=key, how=how, now=now)})
    return results


def _booked_on_slot(session: Session, slot_reference: str) -> list[str]:
    """Our booked appointments on the FHIR slot, by their references."""
    found = session.scalars(
        select(Appointment.external_id)
        .where(Appointment.external_slot_id == slot_reference, Appointment.status == AppointmentStatus.BOOKED)
        .order_by(Appointment.created_at)
    ).all()
    session.rollback()
    return [external_id for external_id in found if external_id]
