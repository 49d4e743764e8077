"""The day-before reminder: which booked appointments get one, once each, recorded with the mark or not at all."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from routing.adapters.db.database import Database
from routing.adapters.db.models import Appointment, Inquiry
from routing.services.reminders import due_reminders

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
PERIOD = timedelta(minutes=5)


@pytest.fixture
def db(migrated_url):
    database = Database(migrated_url)
    yield database
    database.dispose()


def add_appointment(db, name: str, *, starts_in: timedelta, booked_before: timedelta, status: str = "booked"):
    """An appointment starting ``starts_in`` after NOW, booked ``booked_before`` its start; its id."""
    start = NOW + starts_in
    inquiry_id, appointment_id = uuid.uuid4(), uuid.uuid5(uuid.NAMESPACE_DNS, name)
    with db.session() as session, session.begin():
        session.add(
            Inquiry(
                id=inquiry_id,
                idempotency_key=name,
                body_sha256="0" * 64,
                content_type="application/json",
                raw_body=b"{}",
                payload={},
                status="booked",
            )
        )
        session.flush()
        session.add(
            Appointment(
                id=appointment_id,
                inquiry_id=inquiry_id,
                slot_type="consult",
                start=start,
                end=start + timedelta(minutes=30),
                scheduler="embedded",
                status=status,
                created_at=start - booked_before,
            )
        )
    return appointment_id


class Recorder:
    """Stands in for the outbox's record_event: keeps what it was given; may fail on a given call."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.events: list[tuple[str, uuid.UUID | None, dict, datetime]] = []
        self.fail_on = fail_on

    def __call__(self, writes, type_: str, inquiry_id, data, now) -> None:
        if self.fail_on is not None and len(self.events) + 1 == self.fail_on:
            raise RuntimeError("the outbox could not take it")
        self.events.append((type_, inquiry_id, data, now))


def recorded_ids(recorder: Recorder) -> list[str]:
    return [data["appointment_id"] for _, _, data, _ in recorder.events]


def test_appointments_starting_in_a_day_get_one_reminder_each_and_others_none(db):
    tomorrow = add_appointment(db, "tomorrow", starts_in=timedelta(hours=24), booked_before=timedelta(days=7))
    edge = add_appointment(db, "edge", starts_in=timedelta(hours=24) + PERIOD, booked_before=timedelta(days=3))
    late = add_appointment(db, "late", starts_in=timedelta(hours=5), booked_before=timedelta(days=3))
    add_appointment(
        db, "too far", starts_in=timedelta(hours=24) + PERIOD + timedelta(seconds=1), booked_before=timedelta(days=3)
    )
    add_appointment(db, "too soon", starts_in=timedelta(hours=2), booked_before=timedelta(days=3))
    add_appointment(db, "short notice", starts_in=timedelta(hours=24), booked_before=timedelta(hours=35))
    add_appointment(db, "cancelled", starts_in=timedelta(hours=24), booked_before=timedelta(days=3), status="cancelled")
    recorder = Recorder()

    with db.session() as session:
        count = due_reminders(session, NOW, record_event=recorder, period=PERIOD)

    assert count == 3
    assert recorded_ids(recorder) == [str(late), str(tomorrow), str(edge)]  # by start
    assert [event[0] for event in recorder.events] == ["appointment.reminder_due"] * 3
    with db.session() as session:
        marked = dict(session.execute(select(Appointment.id, Appointment.reminder_recorded_at)).all())
    assert {key for key, value in marked.items() if value is not None} == {late, tomorrow, edge}
    assert marked[tomorrow] == NOW


def test_a_reminded_appointment_is_not_reminded_again(db):
    add_appointment(db, "tomorrow", starts_in=timedelta(hours=24), booked_before=timedelta(days=7))
    first, second = Recorder(), Recorder()

    with db.session() as session:
        due_reminders(session, NOW, record_event=first, period=PERIOD)
        again = due_reminders(session, NOW + PERIOD, record_event=second, period=PERIOD)

    assert (len(first.events), again, second.events) == (1, 0, [])


def test_if_the_event_cannot_be_recorded_no_appointment_is_marked_and_the_next_poll_tries_again(db):
    add_appointment(db, "one", starts_in=timedelta(hours=23), booked_before=timedelta(days=7))
    add_appointment(db, "two", starts_in=timedelta(hours=24), booked_before=timedelta(days=7))

    with db.session() as session, pytest.raises(RuntimeError):
        due_reminders(session, NOW, record_event=Recorder(fail_on=2), period=PERIOD)
    with db.session() as session:
        marks = session.scalars(select(Appointment.reminder_recorded_at)).all()
    with db.session() as session:
        count = due_reminders(session, NOW, record_event=Recorder(), period=PERIOD)

    assert marks == [None, None]
    assert count == 2
