"""A transaction's closing writes: one statement on PostgreSQL, the same rows on every database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, select, update
from sqlalchemy.exc import IntegrityError

from routing.adapters.db.database import Database
from routing.adapters.db.models import Appointment, Inquiry, Referral
from routing.adapters.db.write_batch import RowWrite, WriteBatch

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
_inquiries = Inquiry.__table__
RENAME = RowWrite(
    "rename_inquiry",
    lambda keys, bind: (
        update(_inquiries)
        .where(_inquiries.c.id == bind("inquiry_id"))
        .values({key: bind(key) for key in keys if key != "inquiry_id"})
    ),
)


@pytest.fixture
def db(migrated_url):
    database = Database(migrated_url)
    yield database
    database.dispose()


@pytest.fixture
def inquiry_id(db) -> uuid.UUID:
    inquiry = Inquiry(
        idempotency_key="k1", body_sha256="0" * 64, content_type="application/json", raw_body=b"{}", payload={}
    )
    with db.session() as session, session.begin():
        session.add(inquiry)
    return inquiry.id


def statements_sent(db, action) -> list[str]:
    sent: list[str] = []
    listener = lambda *args: sent.append(args[2])  # noqa: E731 - (conn, cursor, statement, ...)
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        action()
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    return sent


def referral_and_appointment(inquiry_id: uuid.UUID, writes: WriteBatch) -> tuple[uuid.UUID, uuid.UUID]:
    referral_id, appointment_id = uuid.uuid4(), uuid.uuid4()
    writes.add(
        RowWrite.insert(Referral.__table__),
        {
            "id": referral_id,
            "inquiry_id": inquiry_id,
            "route": "imaging",
            "code_system": "urn:routing:procedure",
            "code": "mri-lumbar-spine",
            "display": "MRI of the lumbar spine",
            "priority": "routine",
            "reasons": ["a reason"],
            "scheduler": "embedded",
            "created_at": NOW,
        },
    )
    writes.add(
        RowWrite.insert(Appointment.__table__),
        {
            "id": appointment_id,
            "inquiry_id": inquiry_id,
            "slot_type": "imaging",
            "start": NOW,
            "end": NOW,
            "scheduler": "embedded",
            "external_id": "x",
            "booking_key": str(inquiry_id),
            "referral_id": referral_id,  # a row added in the same batch
            "created_at": NOW,
        },
    )
    writes.add(RENAME, {"inquiry_id": inquiry_id, "status_detail": "booked", "updated_at": NOW})
    return referral_id, appointment_id


def test_a_batch_writes_every_row_with_constant_defaults_and_as_one_statement_on_postgresql(db, inquiry_id):
    with db.session() as session, session.begin():
        writes = WriteBatch(session.connection())
        referral_id, appointment_id = referral_and_appointment(inquiry_id, writes)
        sent = statements_sent(db, writes.flush)

    assert len(sent) == (1 if db.url.get_backend_name() == "postgresql" else 3)
    with db.session() as session:
        appointment = session.get(Appointment, appointment_id)
        assert (appointment.referral_id, appointment.status) == (referral_id, "booked")  # status: a column default
        assert session.get(Referral, referral_id).status == "active"
        assert session.get(Inquiry, inquiry_id).status_detail == "booked"


def test_a_failing_write_leaves_none_of_the_batch(db, inquiry_id):
    def book_twice() -> None:
        with db.session() as session, session.begin():
            writes = WriteBatch(session.connection())
            referral_and_appointment(inquiry_id, writes)
            referral_and_appointment(inquiry_id, writes)  # the same booking key again
            writes.flush()

    with pytest.raises(IntegrityError):
        book_twice()

    with db.session() as session:
        assert session.scalars(select(Appointment)).all() == []
        assert session.scalars(select(Referral)).all() == []
        assert session.get(Inquiry, inquiry_id).status_detail is None


def test_a_row_missing_a_computed_default_is_refused(db, inquiry_id):
    with db.session() as session, session.begin():
        writes = WriteBatch(session.connection())
        writes.add(RowWrite.insert(Referral.__table__), {"inquiry_id": inquiry_id})  # no id, no created_at

        with pytest.raises(ValueError, match="computed default"):
            writes.flush()


def test_an_update_missing_a_computed_onupdate_value_is_refused(db, inquiry_id):
    with db.session() as session, session.begin():
        writes = WriteBatch(session.connection())
        writes.add(RENAME, {"inquiry_id": inquiry_id, "status_detail": "x"})  # no updated_at

        with pytest.raises(ValueError, match="onupdate"):
            writes.flush()


def test_a_batch_block_sends_its_writes_at_its_end_and_none_when_it_fails(db, inquiry_id):
    with db.session() as session, session.begin(), WriteBatch(session.connection()) as writes:
        writes.add(RENAME, {"inquiry_id": inquiry_id, "status_detail": "sent", "updated_at": NOW})

    def fail_midway() -> None:
        with db.session() as session, session.begin(), WriteBatch(session.connection()) as writes:
            writes.add(RENAME, {"inquiry_id": inquiry_id, "status_detail": "not sent", "updated_at": NOW})
            raise RuntimeError("the booking failed before the end of the block")

    with pytest.raises(RuntimeError):
        fail_midway()

    with db.session() as session:
        assert session.get(Inquiry, inquiry_id).status_detail == "sent"
