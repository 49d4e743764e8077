"""The schema's own guarantees: aware UTC timestamps, unique deliveries, one live booking per slot."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.exc import IntegrityError

from routing.adapters.db.database import Database
from routing.adapters.db.models import Appointment, Inquiry, Slot

NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture
def db(migrated_url):
    database = Database(migrated_url)
    yield database
    database.dispose()


def _inquiry(key: str) -> Inquiry:
    return Inquiry(
        idempotency_key=key,
        body_sha256="0" * 64,
        content_type="application/json",
        raw_body=b'{"message": "x"}',
        payload={"message": "x"},
    )


def _slot() -> Slot:
    return Slot(
        slot_type="consult",
        start=datetime(2026, 11, 30, 9, 0, tzinfo=NEW_YORK),
        end=datetime(2026, 11, 30, 9, 30, tzinfo=NEW_YORK),
    )


def test_timestamps_come_back_timezone_aware_in_utc(db):
    with db.session() as session, session.begin():
        slot = _slot()
        session.add(slot)
    with db.session() as session:
        stored = session.get(Slot, slot.id)

    assert stored.start.tzinfo is not None
    assert stored.start.utcoffset().total_seconds() == 0
    assert stored.start == datetime(2026, 11, 30, 14, 0, tzinfo=UTC)


def test_naive_timestamps_are_refused(db):
    with db.session() as session, session.begin():
        session.add(Slot(slot_type="consult", start=datetime(2026, 11, 30, 9), end=datetime(2026, 11, 30, 10)))
        with pytest.raises(Exception, match="naive datetime"):
            session.flush()


def test_raw_body_is_kept_byte_for_byte(db):
    raw = "first_name=Ana&message=caf%C3%A9+\u00e9\r\n".encode()
    with db.session() as session, session.begin():
        inquiry = _inquiry("k-raw")
        inquiry.raw_body = raw
        session.add(inquiry)
    with db.session() as session:
        assert session.get(Inquiry, inquiry.id).raw_body == raw


def test_the_database_refuses_a_second_inquiry_with_the_same_idempotency_key(db):
    with db.session() as session, session.begin():
        session.add(_inquiry("delivery-1"))

    with pytest.raises(IntegrityError), db.session() as session, session.begin():
        session.add(_inquiry("delivery-1"))


def _appointment(inquiry: Inquiry, slot: Slot, status: str = "booked") -> Appointment:
    return Appointment(
        id=uuid.uuid4(),
        inquiry=inquiry,
        slot_type=slot.slot_type,
        start=slot.start,
        end=slot.end,
        scheduler="embedded",
        slot_id=slot.id,
        status=status,
    )


def test_the_database_refuses_two_live_bookings_of_one_slot(db):
    with db.session() as session, session.begin():
        slot, first, second = _slot(), _inquiry("a"), _inquiry("b")
        session.add_all([slot, first, second])
        session.flush()
        session.add(_appointment(first, slot))

    with db.session() as session:
        session.add(_appointment(session.get(Inquiry, second.id), session.get(Slot, slot.id)))
        with pytest.raises(IntegrityError):
            session.commit()


def test_a_cancelled_booking_frees_the_slot_for_another(db):
    with db.session() as session, session.begin():
        slot, first, second = _slot(), _inquiry("a"), _inquiry("b")
        session.add_all([slot, first, second])
        session.flush()
        session.add(_appointment(first, slot, status="cancelled"))
        session.add(_appointment(second, slot))

    with db.session() as session:
        assert session.query(Appointment).count() == 2
