"""The day-before reminder: the worker calls :func:`due_reminders` every ``period``; each booked appointment
starting about 24 hours later gets an ``appointment.reminder_due`` event, once, recorded in the same
transaction as the mark that says so (``appointments.reminder_recorded_at``). The outbox then tells the patient
on their channel, like any other event.

Which appointments: booked, starting between ``MIN_NOTICE`` (2 hours) and 24 hours plus one period from now,
not yet reminded, and booked at least ``BOOKED_AHEAD`` (36 hours) before they start. A reminder therefore goes
out at most one period early, and late (after a worker outage) only while there is still time to act on it; an
appointment booked a day or less ahead gets its confirmation, not a reminder hours after it. A rebooked
appointment is a new row: it is reminded on its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from routing.adapters.db.models import Appointment
from routing.adapters.db.write_batch import WriteBatch
from routing.domain.vocabulary import AppointmentStatus
from routing.observability import events

REMINDER_DUE = "appointment.reminder_due"
#: How long before the appointment the reminder is due.
LEAD = timedelta(hours=24)
#: A reminder later than this before the appointment is not worth sending.
MIN_NOTICE = timedelta(hours=2)
#: An appointment booked less than this before it starts is not reminded (its confirmation is recent).
BOOKED_AHEAD = timedelta(hours=36)
#: How often the worker is expected to call (the window's slack).
DEFAULT_PERIOD = timedelta(minutes=5)
#: The outbox's ``record_event(writes, type, inquiry_id, data, now)``: adds the event to the caller's batch.
RecordEvent = Callable[[WriteBatch, str, uuid.UUID | None, dict[str, Any], datetime], None]

_appointments = Appointment.__table__
_CANDIDATES = (
    select(_appointments.c.id, _appointments.c.inquiry_id, _appointments.c.start, _appointments.c.created_at)
    .where(
        _appointments.c.status == AppointmentStatus.BOOKED,
        _appointments.c.reminder_recorded_at.is_(None),
        _appointments.c.start > bindparam("earliest"),
        _appointments.c.start <= bindparam("latest"),
    )
    .order_by(_appointments.c.start)
    # On PostgreSQL, workers polling at once take different appointments; SQLite has one writer anyway.
    .with_for_update(skip_locked=True)
)
# The mark, guarded: of two pollers that read the same appointment, only one marks it (and records the event).
_MARK = (
    update(_appointments)
    .where(_appointments.c.id == bindparam("appointment_id"), _appointments.c.reminder_recorded_at.is_(None))
    .values(reminder_recorded_at=bindparam("now"))
)


def due_reminders(
    session: Session, now: datetime, *, record_event: RecordEvent, period: timedelta = DEFAULT_PERIOD
) -> int:
    """Record the reminders now due (see the module's docstring); how many. Commits; the session must have no
    transaction open."""
    recorded = 0
    with session.begin():
        connection = session.connection()
        rows = connection.execute(_CANDIDATES, {"earliest": now + MIN_NOTICE, "latest": now + LEAD + period}).all()
        with WriteBatch(connection) as writes:
            for appointment_id, inquiry_id, start, created_at in rows:
                if created_at > start - BOOKED_AHEAD:
                    continue  # booked at short notice: the confirmation is the reminder
                if connection.execute(_MARK, {"appointment_id": appointment_id, "now": now}).rowcount != 1:
                    continue
                record_event(writes, REMINDER_DUE, inquiry_id, {"appointment_id": str(appointment_id)}, now)
                recorded += 1
    events.reminders_recorded(recorded)
    return recorded
