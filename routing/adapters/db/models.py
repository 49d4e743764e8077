"""SQLAlchemy models: the schema that Alembic migrations create.

Any change here needs a migration; ``tests/db/test_migrations.py`` fails when the two disagree.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Computed,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from routing.adapters.db.types import UTCDateTime, utcnow
from routing.domain.vocabulary import AppointmentStatus, InquiryStatus, SlotStatus

# Deterministic constraint names, so migrations can drop and alter them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with the naming convention and column types used throughout."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


#: Where an inquiry stands in the staff queue, from its own row alone (``Inquiry.queue_rank``): tens are the
#: attention rank (0 an open emergency; 1 pending booking or no decision in force; 2 an open urgent_review;
#: 3 held for a person to read; 4 the rest; open means neither closed nor acknowledged), units the urgency
#: (0 emergency .. 3 routine, 4 none). Migration 0013 has the same text.
QUEUE_RANK_SQL = (
    "CASE"
    " WHEN urgency = 'emergency' AND status <> 'closed' AND acknowledged_at IS NULL THEN 0"
    " WHEN status = 'pending_booking' OR urgency IS NULL THEN 10"
    " WHEN status = 'urgent_review' AND acknowledged_at IS NULL THEN 20"
    " WHEN status = 'needs_review' AND hold IS NOT NULL THEN 30"
    " ELSE 40 END"
    " + CASE urgency WHEN 'emergency' THEN 0 WHEN 'urgent' THEN 1 WHEN 'soon' THEN 2 WHEN 'routine' THEN 3"
    " ELSE 4 END"
)
#: Inquiries not waiting for a booking (the status index's part; the due index holds the others).
NOT_PENDING = text("status <> 'pending_booking'")
#: Inquiries whose free text is still kept (the retention job's partial index).
TEXT_KEPT = text("text_redacted_at IS NULL")


class Inquiry(Base):
    """A web-form inquiry exactly as delivered, plus what we made of it."""

    __tablename__ = "inquiries"
    __table_args__ = (
        # The booking worker's claim: the pending inquiries in the order it takes them, so a claim reads one entry
        # however long the queue (a backlog after the scheduling system was down), not every pending inquiry.
        Index(
            "ix_inquiries_due",
            "next_attempt_at",
            "received_at",
            sqlite_where=text("status = 'pending_booking'"),
            postgresql_where=text("status = 'pending_booking'"),
        ),
        # Every other status (an open urgent review, those held for staff). The pending inquiries are left out:
        # with them here, the planner, its statistics not yet counting a fresh backlog, read all of them through
        # this index and sorted them for each claim instead of taking the first from the one above (0014).
        Index(
            "ix_inquiries_status",
            "status",
            sqlite_where=NOT_PENDING,
            postgresql_where=NOT_PENDING,
        ),
        # The staff queue's order, so a page is read off an index however many inquiries a year brings
        # (keyset pages continue from a row's position in it); and the same within one site.
        Index("ix_inquiries_queue_order", "queue_rank", "received_at", "id"),
        Index("ix_inquiries_location_queue_order", "location_id", "queue_rank", "received_at", "id"),
        # The retention job's query: inquiries whose text is still kept, oldest first (redacted ones drop out).
        Index(
            "ix_inquiries_text_kept_received_at",
            "received_at",
            sqlite_where=TEXT_KEPT,
            postgresql_where=TEXT_KEPT,
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    # The delivery's identity (webhook-id or Idempotency-Key); unique so concurrent retries of one
    # delivery cannot both be stored, whatever the application code does.
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    body_sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(255))
    raw_body: Mapped[bytes] = mapped_column(LargeBinary)
    payload: Mapped[dict[str, Any]]
    facts: Mapped[dict[str, Any] | None]
    # Stored first as pending_booking: until triage and booking finish, that is what is pending.
    status: Mapped[str] = mapped_column(String(32), default=InquiryStatus.PENDING_BOOKING)
    status_detail: Mapped[str | None] = mapped_column(String(500))
    patient_message: Mapped[str | None] = mapped_column(Text)
    # The form's language, else the message's as detected ("en", "es", or another the reader cannot read).
    language: Mapped[str | None] = mapped_column(String(8))
    # The earliest slot offered when none was free inside the urgency window (held for staff, not booked).
    proposed_slot_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("slots.id"))
    # The proposed slot as offered (id, type, start, end), whichever scheduler it came from.
    proposed_slot: Mapped[dict[str, Any] | None]
    #: The site the inquiry is routed to: its booked or proposed slot's location, else the one the patient chose.
    location_id: Mapped[str | None] = mapped_column(String(40), index=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # The booking queue: a pending inquiry is due at next_attempt_at; a worker holding it sets
    # lease_until, so a worker killed mid-job leaves it to be taken again once the lease runs out.
    booking_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]
    #: The urgency and hold of the decision in force (None: no decision yet), written with each decision: the
    #: queue's order is then a function of this row alone, and an index can serve it.
    urgency: Mapped[str | None] = mapped_column(String(16))
    hold: Mapped[str | None] = mapped_column(String(32))
    #: When staff first acknowledged it (the ``acknowledge`` audit event says who); None: not acknowledged.
    acknowledged_at: Mapped[datetime | None]
    #: Computed by the database from the columns above and ``status`` (``QUEUE_RANK_SQL``); never written.
    queue_rank: Mapped[int | None] = mapped_column(SmallInteger, Computed(QUEUE_RANK_SQL, persisted=True))
    #: When the patient's free text was removed under the retention policy (``routing.services.retention``):
    #: the raw body, the message and time wishes in the payload, the quoted words in facts and reasons. None: kept.
    text_redacted_at: Mapped[datetime | None]

    decisions: Mapped[list[TriageDecision]] = relationship(
        back_populates="inquiry", order_by="TriageDecision.created_at"
    )
    appointments: Mapped[list[Appointment]] = relationship(back_populates="inquiry", order_by="Appointment.created_at")


class TriageDecision(Base):
    """One run of the rulebook over an inquiry's facts; the newest one not superseded is in force."""

    __tablename__ = "triage_decisions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    inquiry_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inquiries.id"), index=True)
    urgency: Mapped[str] = mapped_column(String(16))
    likely_cause: Mapped[str] = mapped_column(String(40))
    route: Mapped[str] = mapped_column(String(20))
    rule_id: Mapped[str] = mapped_column(String(8))
    needs_review: Mapped[bool]
    # Why staff must read the inquiry before anything is booked: "language" or "possible_red_flag".
    hold: Mapped[str | None] = mapped_column(String(32))
    reasons: Mapped[list[Any]]
    facts: Mapped[dict[str, Any]]
    rulebook_version: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    superseded_at: Mapped[datetime | None]

    inquiry: Mapped[Inquiry] = relationship(back_populates="decisions")


class Location(Base):
    """One of the practice's sites: where it is, how to reach it, and the kinds of appointment it offers.

    Empty ``address``, ``phone`` and ``time_zone`` fall back to the clinic's settings (``ROUTING_CLINIC_*``,
    ``ROUTING_TIMEZONE``): the default site ``main``, made by the migration, starts that way.
    """

    __tablename__ = "locations"

    #: A short code staff choose ("downtown"), used by forms, the API and filters.
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    time_zone: Mapped[str | None] = mapped_column(String(64))
    postal_code: Mapped[str | None] = mapped_column(String(16))
    #: Where it is, for the travel radius (a patient's postal code is placed with the postal-code table).
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    #: The slot types offered here ("consult", "imaging", "injection").
    slot_types: Mapped[list[Any]]
    #: The site in the EHR ("Location/12"): FHIR slots whose Schedule.actor names it belong here.
    fhir_location: Mapped[str | None] = mapped_column(String(255), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Slot(Base):
    """A bookable time in the embedded scheduler (the default scheduling system), at one location."""

    __tablename__ = "slots"
    __table_args__ = (
        UniqueConstraint("location_id", "slot_type", "start"),
        # Searches order by start, then site: the index gives them in that order without a sort.
        Index("ix_slots_type_status_start_location", "slot_type", "status", "start", "location_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    location_id: Mapped[str] = mapped_column(ForeignKey("locations.id"), default="main")
    slot_type: Mapped[str] = mapped_column(String(20))
    start: Mapped[datetime]
    end: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(10), default=SlotStatus.FREE)
    # Bumped on every change; a booking updates "where version = seen" so a lost race is detected.
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Appointment(Base):
    """An appointment held for an inquiry in a scheduling system (embedded or FHIR)."""

    __tablename__ = "appointments"
    __table_args__ = (
        # At most one live booking per embedded slot: the database itself refuses a double booking.
        Index(
            "uq_appointments_live_slot",
            "slot_id",
            unique=True,
            sqlite_where=text("status = 'booked'"),
            postgresql_where=text("status = 'booked'"),
        ),
        # The reminder query: booked appointments starting within the next day or so.
        Index("ix_appointments_status_start", "status", "start"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    inquiry_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inquiries.id"), index=True)
    slot_type: Mapped[str] = mapped_column(String(20))
    start: Mapped[datetime]
    end: Mapped[datetime]
    scheduler: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str | None] = mapped_column(String(255), index=True)
    slot_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("slots.id"))
    status: Mapped[str] = mapped_column(String(16), default=AppointmentStatus.BOOKED)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    # The slot in the scheduling system (FHIR "Slot/123"; the embedded slot's id otherwise).
    external_slot_id: Mapped[str | None] = mapped_column(String(255))
    #: The site of the appointment (a ``locations`` id), when known.
    location_id: Mapped[str | None] = mapped_column(String(40))
    # Identifies the booking across retries: a retried booking finds what it made instead of making more.
    booking_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    referral_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("referrals.id"))
    #: When the day-before reminder was recorded for the patient (routing.services.reminders); None: not yet.
    reminder_recorded_at: Mapped[datetime | None]

    inquiry: Mapped[Inquiry] = relationship(back_populates="appointments")


class Referral(Base):
    """An order for imaging or an injection (FHIR ServiceRequest), kept for both schedulers alike."""

    __tablename__ = "referrals"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    inquiry_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inquiries.id"), index=True)
    route: Mapped[str] = mapped_column(String(20))
    code_system: Mapped[str] = mapped_column(String(255))
    code: Mapped[str] = mapped_column(String(64))
    display: Mapped[str] = mapped_column(String(255))
    priority: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[list[Any]]
    status: Mapped[str] = mapped_column(String(16), default="active")
    scheduler: Mapped[str] = mapped_column(String(20))
    # The scheduling system's ServiceRequest ("ServiceRequest/45"); None for the embedded scheduler.
    external_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SchedulerEvent(Base):
    """A change reported by the scheduling system, kept once per delivery so a replay acts only once."""

    __tablename__ = "scheduler_events"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    delivery_key: Mapped[str] = mapped_column(String(255), unique=True)
    body_sha256: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(40))
    appointment_external_id: Mapped[str] = mapped_column(String(255))
    inquiry_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("inquiries.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    # What we did about it, as answered to the scheduling system (replays get the same answer).
    result: Mapped[dict[str, Any]]


class SyncCheckpoint(Base):
    """How far a poll of the scheduling system has read, kept so a restarted worker goes on from there."""

    __tablename__ = "sync_checkpoints"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: The newest change handled, by the scheduling system's own clock (FHIR meta.lastUpdated).
    position: Mapped[datetime | None]
    #: When a worker last started a poll: the claim that lets one worker of many poll each period.
    checked_at: Mapped[datetime | None]


class StaffToken(Base):
    """A staff member's API token; only its SHA-256 is stored."""

    __tablename__ = "staff_tokens"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    #: Written at most once a minute per token (see ``staff_tokens.authenticate``), not on every request.
    last_used_at: Mapped[datetime | None]
    #: After this the token is refused; None: it never expires.
    expires_at: Mapped[datetime | None]


class ConsoleSession(Base):
    """A signed-in console session; the cookie holds a random secret whose SHA-256 is the id.

    Kept on the server so signing out, idling and the absolute limit end the session for every copy of
    the cookie (a signed cookie alone stays valid until it expires).
    """

    __tablename__ = "console_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff_tokens.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Moved at most once a minute, so the idle timeout is exact to a minute.
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class ContactOptOut(Base):
    """A patient's email address or phone number that asked for no more notices (or asked for them again).

    Kept per contact, not per inquiry: one unsubscribe or STOP covers every inquiry the address or number
    gave. The history is in the audit trail (``contact.opted_out`` / ``contact.opted_in``).
    """

    __tablename__ = "contact_opt_outs"
    __table_args__ = (UniqueConstraint("channel", "contact"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    #: "email" or "sms".
    channel: Mapped[str] = mapped_column(String(8))
    #: The address in lower case, or the number in E.164 (+12125550100).
    contact: Mapped[str] = mapped_column(String(254))
    #: True while the contact wants no notices; False once it asked for them again (SMS START).
    opted_out: Mapped[bool]
    #: How it was said: "unsubscribe_link", "sms_keyword", "provider" (the SMS provider refused: 21610).
    source: Mapped[str] = mapped_column(String(32))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEvent(Base):
    """An append-only record of who changed what, written in the same transaction as the change."""

    __tablename__ = "audit_events"
    # The audit search by actor, newest first (keyset pages continue from (at, id)).
    __table_args__ = (Index("ix_audit_events_actor_name_at_id", "actor_name", "at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff_tokens.id"))
    # Kept alongside the id so the trail stays readable after a token is revoked.
    actor_name: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(64))
    inquiry_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("inquiries.id"), index=True)
    details: Mapped[dict[str, Any]]
    reason: Mapped[str | None] = mapped_column(Text)


class OutboxEvent(Base):
    """Something that happened, written in the transaction of the change itself (the durable outbox).

    ``data`` holds ids and codes only, never a patient's name, contact or words. The worker fans each new
    event out to its deliveries (one per channel and target) and marks it ``fanned_out_at``.
    """

    __tablename__ = "outbox_events"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    type: Mapped[str] = mapped_column(String(64))
    inquiry_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("inquiries.id"), index=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    data: Mapped[dict[str, Any]]
    #: Set when an event may be recorded twice by design (an alert's repeat): the second one is dropped.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    #: None until the worker has made the event's deliveries (the worker's query for new events).
    fanned_out_at: Mapped[datetime | None] = mapped_column(index=True)


class OutboxDelivery(Base):
    """One event on its way to one target of one channel (a webhook subscription, the on-call alert...).

    ``pending`` until delivered or dead-lettered; a worker holding it sets ``lease_until``, so a worker
    killed mid-delivery leaves it to be taken again once the lease runs out (at least once, same id).
    """

    __tablename__ = "outbox_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "channel", "target"),
        # The worker's query: pending deliveries that are due, soonest first.
        Index("ix_outbox_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("outbox_events.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(100), index=True)
    #: pending, delivered or dead.
    status: Mapped[str] = mapped_column(String(16), default="pending")
    #: Attempts started (counted when a worker takes it, so a killed worker's attempt counts too).
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    #: Retried until then, dead-lettered after (a replay sets a new one).
    give_up_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_attempt_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    #: The last attempt's result: an HTTP status or an error kind, never a body.
    last_result: Mapped[str | None] = mapped_column(String(200))


class OutboxAttempt(Base):
    """The delivery log: one row per attempt, with its result and latency (no request or response body)."""

    __tablename__ = "outbox_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("outbox_deliveries.id"), index=True)
    started_at: Mapped[datetime]
    latency_ms: Mapped[float] = mapped_column(Float)
    #: delivered, failed (retried) or refused (permanent).
    result: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(String(200))


class WebhookSubscription(Base):
    """An outbound webhook endpoint an admin subscribed to some event types (Standard Webhooks, signed)."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    description: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(2000))
    event_types: Mapped[list[Any]]
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    #: The patient's name and contact are added to payloads (off by default; turning it on is audited).
    include_phi: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The signing secret (``whsec_...``); it signs, so it is kept as is, and shown only on create and rotate.
    secret: Mapped[str] = mapped_column(String(100))
    #: After a rotation the old secret also signs until then, so receivers can switch without a gap.
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_secret_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


#: Waitlist entries and offers that are still in play (the partial unique indexes below count only these).
LIVE_ENTRY = text("status IN ('waiting', 'offered')")
LIVE_OFFER = text("status IN ('holding', 'open', 'booking')")


class WaitlistEntry(Base):
    """An inquiry waiting for a slot to free up inside its urgency window (``routing.services.waitlist``).

    ``waiting`` for an offer, ``offered`` while one is open; it ends ``booked``, ``removed`` (by staff, or the
    inquiry was settled another way) or ``window_passed`` (handed to staff). At most one live entry per inquiry.
    """

    __tablename__ = "waitlist_entries"
    __table_args__ = (
        Index(
            "uq_waitlist_entries_live_inquiry",
            "inquiry_id",
            unique=True,
            sqlite_where=LIVE_ENTRY,
            postgresql_where=LIVE_ENTRY,
        ),
        # The refill's query: live entries of one slot type, most urgent first.
        Index("ix_waitlist_entries_status_slot_type_priority", "status", "slot_type", "priority"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    inquiry_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inquiries.id"), index=True)
    route: Mapped[str] = mapped_column(String(20))
    slot_type: Mapped[str] = mapped_column(String(20))
    urgency: Mapped[str] = mapped_column(String(16))
    #: Lower is offered first: set from the urgency on joining, changed by staff with a reason.
    priority: Mapped[int] = mapped_column(Integer)
    #: The end of the urgency window: no slot starting after it is offered.
    window_end: Mapped[datetime]
    #: The earliest later slot the patient was told of when joining (id, type, start, end), if any.
    proposed_slot: Mapped[dict[str, Any] | None]
    #: When appointments do not suit the patient, in their words (read with the time words at each match).
    unavailable_times: Mapped[str | None] = mapped_column(String(500))
    #: The sites a freed slot may be at, in the order the patient would take them; None: any site.
    locations: Mapped[list[Any] | None]
    status: Mapped[str] = mapped_column(String(16), default="waiting")
    #: Offers that ran out unanswered; after ``WaitlistPolicy.max_unanswered`` the entry goes to staff.
    unanswered: Mapped[int] = mapped_column(Integer, default=0)
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]
    close_reason: Mapped[str | None] = mapped_column(String(200))


class WaitlistOffer(Base):
    """A freed slot offered to one waitlist entry, kept for them (a hold in the scheduler) until it is answered.

    ``holding`` (the hold is being made), ``open`` (the patient may accept until ``expires_at``), ``booking``
    (accepted, the scheduler is booking it); it ends ``accepted``, ``declined``, ``expired`` or ``withdrawn``.
    One live offer per slot and per entry: the database refuses a second.
    """

    __tablename__ = "waitlist_offers"
    __table_args__ = (
        Index(
            "uq_waitlist_offers_live_slot",
            "slot_ref",
            unique=True,
            sqlite_where=LIVE_OFFER,
            postgresql_where=LIVE_OFFER,
        ),
        Index(
            "uq_waitlist_offers_live_entry",
            "entry_id",
            unique=True,
            sqlite_where=LIVE_OFFER,
            postgresql_where=LIVE_OFFER,
        ),
        Index("ix_waitlist_offers_status_expires_at", "status", "expires_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    entry_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("waitlist_entries.id"), index=True)
    inquiry_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inquiries.id"), index=True)
    #: The slot in the scheduling system (its ``SlotTime.id``), and what it is.
    slot_ref: Mapped[str] = mapped_column(String(255))
    slot_type: Mapped[str] = mapped_column(String(20))
    start: Mapped[datetime]
    end: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))
    #: Booked straight away, without asking (an urgent entry, when the clinic allows it).
    direct: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The scheduler's reference to the hold (``SlotHold.external_id``), once made.
    hold_ref: Mapped[str | None] = mapped_column(String(255))
    offered_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    #: Until then the process that moved it to ``holding`` or ``booking`` is at work; after, the worker finishes.
    lease_until: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    #: When the hold was given back to the scheduler (declined, expired, withdrawn); None while it holds.
    released_at: Mapped[datetime | None]


ACTIVE_VERSION = text("state = 'active'")


class RulebookVersion(Base):
    """One version of the triage rulebook (``routing.services.rulebook_versions``): the repository's file seeds
    version 1 (migration 0010); staff upload or edit later ones. ``draft`` -> ``approved`` (by an admin other than
    its author) -> ``active``; one is active at a time, and every process reads it within seconds. A version once
    active and replaced is ``retired`` (it can be re-activated: a rollback)."""

    __tablename__ = "rulebook_versions"
    __table_args__ = (
        Index(
            "uq_rulebook_versions_active",
            "state",
            unique=True,
            sqlite_where=ACTIVE_VERSION,
            postgresql_where=ACTIVE_VERSION,
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: The rulebook's own ``version`` (stored with every decision it makes), unique across versions.
    label: Mapped[str] = mapped_column(String(40), unique=True)
    #: The rulebook as JSON, exactly as validated.
    document: Mapped[dict[str, Any]]
    sha256: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    #: The version it was copied from, if any.
    based_on: Mapped[int | None] = mapped_column(ForeignKey("rulebook_versions.id"))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(120))
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff_tokens.id"))
    approved_at: Mapped[datetime | None]
    approved_by: Mapped[str | None] = mapped_column(String(120))
    approved_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff_tokens.id"))
    activated_at: Mapped[datetime | None]
    activated_by: Mapped[str | None] = mapped_column(String(120))


class RulebookPreview(Base):
    """An impact preview: a draft replayed over the stored inquiries of a period, run by a worker in the background
    (``queued`` -> ``running`` -> ``done``; or ``cancelled``, ``failed``), with its progress and its report."""

    __tablename__ = "rulebook_previews"
    __table_args__ = (Index("ix_rulebook_previews_status_requested_at", "status", "requested_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    version_id: Mapped[int] = mapped_column(ForeignKey("rulebook_versions.id"), index=True)
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))
    #: Inquiries in the period, and how many have been replayed so far.
    total: Mapped[int | None] = mapped_column(Integer)
    done: Mapped[int] = mapped_column(Integer, default=0)
    #: The report (transition matrix, red-flag changes, rules firing more or less, samples); None until done.
    result: Mapped[dict[str, Any] | None]
    error: Mapped[str | None] = mapped_column(String(500))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    requested_by: Mapped[str] = mapped_column(String(120))
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    #: A worker running it holds it until then; a killed worker's preview is taken again after.
    lease_until: Mapped[datetime | None]
