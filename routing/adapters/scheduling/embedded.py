"""The embedded scheduler: slots kept in our own database, the default scheduling system."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Row, bindparam, exists, false, func, select, true, update
from sqlalchemy.orm import Session

from routing.adapters.db.models import Slot
from routing.adapters.scheduling.interface import (
    PROPOSAL_HORIZON,
    AppointmentChange,
    Booking,
    BookingOutcome,
    BookingRequest,
    Capabilities,
    SlotHold,
    SlotTaken,
    SlotTime,
    UnknownAppointment,
)
from routing.domain.booking_plan import BookingPlan
from routing.domain.demo_schedule import SlotSpec
from routing.domain.vocabulary import SlotStatus


def add_slots(session: Session, specs: Iterable[SlotSpec]) -> int:
    """Add free slots that do not exist yet (same site, type and start); return how many were added.

    Runs inside the caller's transaction; re-running with the same specs adds nothing.
    """
    specs = list(specs)
    if not specs:
        return 0
    earliest = min(spec.start for spec in specs)
    latest = max(spec.start for spec in specs)
    existing = {
        (location, slot_type, start)
        for location, slot_type, start in session.execute(
            select(Slot.location_id, Slot.slot_type, Slot.start).where(Slot.start >= earliest, Slot.start <= latest)
        )
    }
    added = 0
    for spec in specs:
        if (spec.location, str(spec.slot_type), spec.start) in existing:
            continue
        session.add(
            Slot(
                location_id=spec.location,
                slot_type=spec.slot_type,
                start=spec.start,
                end=spec.end,
                status=SlotStatus.FREE,
            )
        )
        added += 1
    session.flush()
    return added


def count_free_slots(session: Session) -> dict[str, int]:
    """Free slots per slot type, for the seed command's summary."""
    rows = session.execute(
        select(Slot.slot_type, func.count()).where(Slot.status == SlotStatus.FREE).group_by(Slot.slot_type)
    )
    return dict(rows.all())


# Built once at import: on a local database, building a statement costs more than running it. Each search has
# two forms, at any site and at some (``AT_SITES``: the plan's locations, an expanding parameter).
_slots = Slot.__table__
_SLOT_COLUMNS = (_slots.c.id, _slots.c.slot_type, _slots.c.start, _slots.c.end, _slots.c.location_id)
_AT_SITES = _slots.c.location_id.in_(bindparam("sites", expanding=True))


def _free_in_range(*where):
    return (
        select(*_SLOT_COLUMNS)
        .where(_slots.c.slot_type == bindparam("want_type"), _slots.c.status == SlotStatus.FREE, *where)
        .where(_slots.c.start > bindparam("after"), _slots.c.start <= bindparam("until"))
        # (slot_type, start) is unique per site, and the (slot_type, status, start, location_id) index returns
        # a type's slots in this order without sorting.
        .order_by(_slots.c.start, _slots.c.location_id)
        .limit(bindparam("max_rows"))
    )


def _claim_earliest(*where):
    earliest_in_window = (
        select(_slots.c.id)
        .where(_slots.c.slot_type == bindparam("want_type"), _slots.c.status == SlotStatus.FREE, *where)
        .where(_slots.c.start > bindparam("window_start"), _slots.c.start <= bindparam("window_end"))
        .order_by(_slots.c.start, _slots.c.location_id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    return (
        update(_slots)
        .where(_slots.c.id == earliest_in_window, _slots.c.status == SlotStatus.FREE)
        .values(status=SlotStatus.BUSY, version=_slots.c.version + 1)
        .returning(*_SLOT_COLUMNS)
    )


_FREE_IN_RANGE = {False: _free_in_range(), True: _free_in_range(_AT_SITES)}
_CLAIM_EARLIEST = {False: _claim_earliest(), True: _claim_earliest(_AT_SITES)}
_CLAIM_ONE = (
    update(_slots)
    .where(_slots.c.id == bindparam("slot_id"), _slots.c.status == SlotStatus.FREE)
    .values(status=SlotStatus.BUSY, version=_slots.c.version + 1)
    .returning(*_SLOT_COLUMNS)
)
_RELEASE = (
    update(_slots)
    .where(_slots.c.id == bindparam("slot_id"))
    .values(status=SlotStatus.FREE, version=_slots.c.version + 1)
    .returning(_slots.c.id)
)
# A waitlist hold: free -> held, held -> free (release), held -> busy (the patient accepted). Each guarded
# on the status it leaves, so a lost race (another booker, a concurrent release) changes nothing.
_HOLD_ONE = (
    update(_slots)
    .where(_slots.c.id == bindparam("slot_id"), _slots.c.status == SlotStatus.FREE)
    .values(status=SlotStatus.HELD, version=_slots.c.version + 1)
    .returning(*_SLOT_COLUMNS)
)
_RELEASE_HELD = (
    update(_slots)
    .where(_slots.c.id == bindparam("slot_id"), _slots.c.status == SlotStatus.HELD)
    .values(status=SlotStatus.FREE, version=_slots.c.version + 1)
)
_BOOK_HELD = (
    update(_slots)
    .where(_slots.c.id == bindparam("slot_id"), _slots.c.status == SlotStatus.HELD)
    .values(status=SlotStatus.BUSY, version=_slots.c.version + 1)
    .returning(*_SLOT_COLUMNS)
)
_READ = select(*_SLOT_COLUMNS, _slots.c.status).where(_slots.c.id == bindparam("slot_id"))


def _claim_or_propose(at_sites: bool):
    # PostgreSQL only (SQLite has no UPDATE inside WITH): claim the earliest slot in the window and, when
    # there is none, find the slot to propose instead, in one statement. Rows: (booked, slot columns).
    claimed = _CLAIM_EARLIEST[at_sites].cte("claimed")
    later = _FREE_IN_RANGE[at_sites].where(~exists(select(claimed.c.id))).subquery("later")
    return select(true().label("booked"), *claimed.c).union_all(select(false().label("booked"), *later.c))


_CLAIM_OR_PROPOSE = {at_sites: _claim_or_propose(at_sites) for at_sites in (False, True)}


def free_slots(
    session: Session,
    slot_type: str,
    after: datetime,
    until: datetime,
    limit: int = 10,
    locations: tuple[str, ...] | None = None,
) -> list[SlotTime]:
    """Free slots of ``slot_type`` starting after ``after`` and at or before ``until`` (at one of ``locations``,
    when given), earliest first."""
    params = {"want_type": slot_type, "after": after, "until": until, "max_rows": limit}
    statement = _FREE_IN_RANGE[_with_sites(params, locations)]
    return [_slot_time(row) for row in session.connection().execute(statement, params)]


def _with_sites(params: dict, locations: tuple[str, ...] | None) -> bool:
    """Add the sites to ``params`` when a search is limited to some; whether it is."""
    if locations is None:
        return False
    params["sites"] = list(locations)
    return True


def claim_earliest_slot(session: Session, plan: BookingPlan) -> SlotTime | None:
    """Mark the earliest free slot inside the plan's window busy, in one statement; the slot, or None.

    The candidate is chosen ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so concurrent bookings each take
    a different slot without waiting on or retrying after one another; the ``status = 'free'`` guard
    keeps the update safe on any database. SQLite runs one writer at a time (BEGIN IMMEDIATE).
    """
    params = {"want_type": plan.slot_type, "window_start": plan.earliest, "window_end": plan.latest}
    statement = _CLAIM_EARLIEST[_with_sites(params, plan.locations)]
    return _slot_time(session.connection().execute(statement, params).first())


def _slot_time(row: Row | None) -> SlotTime | None:
    return None if row is None else SlotTime(str(row.id), row.slot_type, row.start, row.end, row.location_id)


def _slot_uuid(external_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(external_id)
    except ValueError:
        raise UnknownAppointment("not an embedded slot id") from None


class EmbeddedScheduler:
    """Books slots kept in our own database, inside the caller's transaction.

    Its "appointment" is the busy slot: the external id of a booking is the slot's id. Because it
    shares our transaction, a booking and our record of it commit or roll back together.

    A waitlist hold is the slot's status ``held`` (searches and claims take only ``free`` slots). The slot
    keeps no hold key: the hold commits with the caller's record of it (the waitlist offer), as a booking
    does, so no retry meets a hold half made, and holding a held slot again raises SlotTaken whatever the
    key. By the same token, release and book_held act on whichever hold the slot has: the caller's offer
    record, in the same transaction, is what says the hold is still its own.
    """

    name = "embedded"
    capabilities = Capabilities(books_in_transaction=True, local_slots=True)

    def find_free_slots(
        self,
        session: Session,
        slot_type: str,
        start: datetime,
        end: datetime,
        limit: int = 10,
        locations: tuple[str, ...] | None = None,
    ) -> list[SlotTime]:
        """Free slots of ``slot_type`` starting after ``start`` and at or before ``end`` (at one of ``locations``,
        when given), earliest first."""
        return free_slots(session, slot_type, start, end, limit, locations)

    def book(self, session: Session, slot: SlotTime, request: BookingRequest) -> Booking:
        """Mark ``slot`` busy for the request; SlotTaken when it is no longer free."""
        row = session.connection().execute(_CLAIM_ONE, {"slot_id": _slot_uuid(slot.id)}).first()
        if row is None:
            raise SlotTaken("the slot is no longer free")
        booked = _slot_time(row)
        return Booking(external_id=booked.id, slot=booked)

    def book_earliest(self, session: Session, plan: BookingPlan, request: BookingRequest) -> BookingOutcome:
        """Book the earliest free slot the plan allows in one statement; else propose the earliest later one."""
        connection = session.connection()
        if connection.dialect.name == "postgresql":  # one round trip instead of two when nothing fits
            params = {
                "want_type": plan.slot_type,
                "window_start": plan.earliest,
                "window_end": plan.latest,
                "after": plan.latest,
                "until": plan.latest + PROPOSAL_HORIZON,
                "max_rows": 1,
            }
            row = connection.execute(_CLAIM_OR_PROPOSE[_with_sites(params, plan.locations)], params).first()
            slot, booked = _slot_time(row), row is not None and row.booked
        else:
            slot, booked = claim_earliest_slot(session, plan), True
            if slot is None:
                later = free_slots(
                    session, plan.slot_type, plan.latest, plan.latest + PROPOSAL_HORIZON, 1, plan.locations
                )
                slot, booked = (later[0] if later else None), False
        if not booked:
            return BookingOutcome(None, proposed=slot)
        return BookingOutcome(slot, booking=Booking(external_id=slot.id, slot=slot))

    def hold(self, session: Session, slot: SlotTime, hold_key: str) -> SlotHold:
        """Mark ``slot`` held in the caller's transaction; SlotTaken when it is not free (held again too)."""
        row = session.connection().execute(_HOLD_ONE, {"slot_id": _slot_uuid(slot.id)}).first()
        if row is None:
            raise SlotTaken("the slot is no longer free")
        held = _slot_time(row)
        return SlotHold(slot=held, hold_key=hold_key, external_id=held.id)

    def release(self, session: Session, hold: SlotHold) -> None:
        """Make the held slot free again; a slot no longer held (released, booked) is left as it is."""
        session.connection().execute(_RELEASE_HELD, {"slot_id": _slot_uuid(hold.external_id)})

    def book_held(self, session: Session, hold: SlotHold, request: BookingRequest) -> Booking:
        """Mark the held slot busy for the request; SlotTaken when it is no longer held (released, booked)."""
        row = session.connection().execute(_BOOK_HELD, {"slot_id": _slot_uuid(hold.external_id)}).first()
        if row is None:
            raise SlotTaken("the slot is no longer held")
        booked = _slot_time(row)
        return Booking(external_id=booked.id, slot=booked)

    def find_booking(self, session: Session, booking_key: str) -> Booking | None:
        """None: a booking here commits with our record of it, so no process leaves one behind."""

    def breaker_state(self) -> str | None:
        """None: no circuit breaker, the slots are in our own database."""

    def cancel(self, session: Session, external_id: str, reason: str) -> None:
        """Free the slot again (the reason is kept on our appointment record by the caller)."""
        if session.connection().execute(_RELEASE, {"slot_id": _slot_uuid(external_id)}).first() is None:
            raise UnknownAppointment("no such embedded slot")

    def read(self, session: Session, external_id: str) -> Booking:
        """The slot behind the booking; ``booked`` while it is busy, ``cancelled`` once it is free again."""
        row = session.connection().execute(_READ, {"slot_id": _slot_uuid(external_id)}).first()
        if row is None:
            raise UnknownAppointment("no such embedded slot")
        status = "booked" if row.status == SlotStatus.BUSY else "cancelled"
        return Booking(external_id=str(row.id), slot=_slot_time(row), status=status)

    def changed_appointments(self, session: Session, since: datetime) -> list[AppointmentChange]:
        """[]: its appointments live in our own database, so none changes without our knowing."""
        return []
