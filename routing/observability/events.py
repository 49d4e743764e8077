"""Domain events: one JSON log line (ids, states and labels only) and the matching metric, in one call.

Services call these with one line each, so what is logged and counted lives here, not spread over the
use cases. Nothing here takes patient data: ids, statuses, routes, urgencies and scheduler names only.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from routing.observability import metrics

log = logging.getLogger("routing.events")


def inquiry_stored(inquiry_id: uuid.UUID) -> None:
    """An inquiry was committed, with its triage decision (and, on the embedded scheduler, its booking)."""
    _emit(logging.INFO, "inquiry.stored", inquiry_id=inquiry_id)


def inquiry_routed(
    inquiry_id: uuid.UUID, status: str, decision: Any, *, scheduler: str | None = None, booked: bool | None = None
) -> None:
    """An inquiry reached an outcome under ``decision`` (its ``route`` and ``urgency`` are read).

    ``booked`` (given when a booking was tried on ``scheduler``) counts the booking attempt too.
    """
    route, urgency = decision.route, decision.urgency
    metrics.count_inquiry(status, route, urgency)
    if scheduler is not None and booked is not None:
        metrics.count_booking_attempt(scheduler, "booked" if booked else "no_slot")
    _emit(logging.INFO, "inquiry.routed", inquiry_id=inquiry_id, status=status, route=route, urgency=urgency)


def booking_attempt_failed(scheduler: str, result: str, inquiry_id: uuid.UUID | None = None) -> None:
    """A booking attempt ended in ``unavailable`` (scheduler unreachable) or ``error`` (anything else)."""
    metrics.count_booking_attempt(scheduler, result)
    _emit(logging.INFO, "booking.attempt", inquiry_id=inquiry_id, scheduler=scheduler, result=result)


def booking_failed(inquiry_id: uuid.UUID, attempts: int, status: str) -> None:
    """An attempt was counted against the inquiry: it waits for a retry, or went to staff after the last."""
    if status != "pending_booking":
        metrics.count_inquiry(status, None, None)
    _emit(logging.WARNING, "booking.failed", inquiry_id=inquiry_id, attempts=attempts, status=status)


def worker_job(inquiry_id: uuid.UUID, status: str) -> None:
    """A booking worker finished one job."""
    _emit(logging.INFO, "worker.job", inquiry_id=inquiry_id, status=status)


def scheduler_event(event_type: str, action: str, inquiry_id: uuid.UUID) -> None:
    """The scheduling system reported a change and we acted on it (``action``: rebooked, queued...)."""
    _emit(logging.INFO, "scheduler.event", event_type=event_type, action=action, inquiry_id=inquiry_id)


def fhir_notification(notification_type: str, subscription: str, event_count: int) -> None:
    """A FHIR server's subscription notified us (handshake, heartbeat, event-notification, ...)."""
    metrics.count_fhir_notification(notification_type)
    _emit(
        logging.INFO,
        "fhir.notification",
        notification_type=notification_type,
        subscription=subscription,
        event_count=event_count,
    )


def reconciliation_poll(result: str, changes: int = 0, acted: int = 0) -> None:
    """The reconciliation poll ran: ``ok`` (``changes`` seen, ``acted`` on), ``unavailable`` or ``error``."""
    metrics.count_reconciliation_poll(result)
    level = logging.INFO if acted or result != "ok" else logging.DEBUG
    _emit(level, "reconciliation.poll", result=result, changes=changes, acted=acted)


def staff_action(action: str, inquiry_id: uuid.UUID, staff_id: uuid.UUID) -> None:
    """A staff member changed an inquiry (override, cancel, callback, acknowledge, retriage)."""
    _emit(logging.INFO, "staff.action", action=action, inquiry_id=inquiry_id, staff_id=staff_id)


def patient_action(action: str, inquiry_id: uuid.UUID) -> None:
    """A patient changed their inquiry from their own link (``cancel``, ``another_time``)."""
    _emit(logging.INFO, "patient.action", action=action, inquiry_id=inquiry_id)


def outbox_delivery(event: Any, channel: str, delivery_id: uuid.UUID, status: str, result: Any, now: datetime) -> None:
    """An outbox delivery attempt ended: ``status`` is the delivery's new one (delivered, pending, dead);
    ``result`` the channel's ``DeliveryResult`` (its detail is a status or an error kind, never a body)."""
    counted = "delivered" if result.ok else ("dead" if status == "dead" else "failed")
    metrics.count_outbox_delivery(channel, counted, result.latency_ms / 1000)
    if result.ok and channel == "alert" and not result.detail.startswith("not sent"):
        metrics.observe_alert_latency((now - event.occurred_at).total_seconds())
    _emit(
        logging.WARNING if status == "dead" else logging.INFO,
        "outbox.delivery",
        event_id=event.id,
        event_type=event.type,
        inquiry_id=event.inquiry_id,
        channel=channel,
        delivery_id=delivery_id,
        status=status,
        detail=result.detail,
        latency_ms=result.latency_ms,
    )


def form_refused(reason: str) -> None:
    """A post from the served form was refused before anything was stored (``reason``: the token was forged
    or expired, the honeypot was filled, or it came too soon after the form was served)."""
    _emit(logging.INFO, "form.refused", reason=reason)


def patient_notice(channel: str, notice: str, inquiry_id: uuid.UUID | None, result: str) -> None:
    """A notice to a patient was sent (``result`` sent), skipped, or failed (``retry`` or ``refused``)."""
    level = logging.WARNING if result in ("retry", "refused") else logging.INFO
    _emit(level, "patient.notice", channel=channel, notice=notice, inquiry_id=inquiry_id, result=result)


def contact_opted(channel: str, opted_out: bool, source: str) -> None:
    """A patient's contact opted out of notices (or back in); never which contact."""
    _emit(logging.INFO, "contact.opted_out" if opted_out else "contact.opted_in", channel=channel, source=source)


def waitlist_offer(slot_type: str, urgency: str, result: str) -> None:
    """A waitlist offer was made (``open``) or ended (accepted, declined, expired, withdrawn)."""
    metrics.count_waitlist_offer(slot_type, urgency, result)
    _emit(logging.INFO, "waitlist.offer", slot_type=slot_type, urgency=urgency, result=result)


def waitlist_closed(slot_type: str, urgency: str, outcome: str, waited_seconds: float) -> None:
    """A waitlist entry left the list (booked, removed, window passed) after waiting ``waited_seconds``."""
    metrics.observe_time_on_list(slot_type, urgency, outcome, waited_seconds)
    _emit(logging.INFO, "waitlist.closed", slot_type=slot_type, urgency=urgency, outcome=outcome)


def reminders_recorded(count: int) -> None:
    """The reminder poll recorded ``count`` day-before reminders."""
    _emit(logging.INFO if count else logging.DEBUG, "reminders.recorded", count=count)


def _emit(level: int, event: str, **fields: Any) -> None:
    if not log.isEnabledFor(level):  # the metric is counted either way; skip building a line nobody keeps
        return
    log.log(level, event, extra={"event": event, **{key: value for key, value in fields.items() if value is not None}})
