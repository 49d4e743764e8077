"""The one fake scheduling system the tests share: slots and appointments in memory, failures on demand.

It keeps the contract every scheduler keeps (tests/scheduling/test_scheduler_contract.py runs against
it too), books outside any transaction like a remote system, and any call can be made to raise or to
be slow: ``FakeScheduler().failing("find_free_slots", SchedulerUnavailable("down"))``,
``FakeScheduler().slowed("book", 3)``.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from routing.adapters.scheduling.interface import (
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
from routing.adapters.scheduling.search import book_earliest_by_search
from routing.domain.booking_plan import BookingPlan
from routing.domain.locations import DEFAULT_LOCATION


class FakeScheduler:
    """An in-memory scheduler; ``name`` is what it is recorded as (e.g. "fhir" to stand in for one)."""

    capabilities = Capabilities()

    def __init__(self, name: str = "fake") -> None:
        self.name = name
        self.slots: dict[str, SlotTime] = {}
        self.held_by: dict[str, str] = {}  # slot id -> booking key holding it
        self.holds: dict[str, str] = {}  # slot id -> hold key keeping it for a waitlist offer
        self.appointments: dict[str, Booking] = {}  # external id -> appointment
        self.changed_at: dict[str, datetime] = {}  # external id -> when it last changed
        self.calls: list[str] = []
        self._failures: dict[str, BaseException] = {}
        self._delays: dict[str, float] = {}
        self._ids = itertools.count(1)

    # --- test controls ----------------------------------------------------------------------------

    def failing(self, call: str, error: BaseException | None) -> FakeScheduler:
        """Make ``call`` (a method name, e.g. "book") raise ``error`` from now on (None: not any more)."""
        if error is None:
            self._failures.pop(call, None)
        else:
            self._failures[call] = error
        return self

    def slowed(self, call: str, seconds: float) -> FakeScheduler:
        """Make ``call`` take ``seconds`` longer from now on, as a slow network would; returns self."""
        self._delays[call] = seconds
        return self

    def add_slot(self, slot_type: str, start: datetime, end: datetime, location: str | None = None) -> SlotTime:
        """A free slot (at the site ``location``, a ``locations`` id; None: the system does not say)."""
        slot = SlotTime(f"slot-{next(self._ids)}", slot_type, start, end, location)
        self.slots[slot.id] = slot
        return slot

    def set_status(self, external_id: str, status: str) -> Booking:
        """Change an appointment as the scheduling system's own staff would (e.g. to "noshow")."""
        appointment = replace(self._appointment(external_id), status=status)
        self._changed(appointment)
        return appointment

    def _changed(self, appointment: Booking) -> None:
        self.appointments[appointment.external_id] = appointment
        self.changed_at[appointment.external_id] = datetime.now(UTC)

    def _called(self, call: str) -> None:
        self.calls.append(call)
        time.sleep(self._delays.get(call, 0))
        if call in self._failures:
            raise self._failures[call]

    # --- the Scheduler protocol -------------------------------------------------------------------

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
        self._called("find_free_slots")
        free = [
            slot
            for slot in self.slots.values()
            if slot.slot_type == slot_type
            and start < slot.start <= end
            and not self._taken(slot.id)
            # A slot the system names no site for is at the default site, as the FHIR adapter reads one.
            and (locations is None or (slot.location or DEFAULT_LOCATION) in locations)
        ]
        return sorted(free, key=lambda slot: (slot.start, slot.id))[:limit]

    def book(self, session: Session, slot: SlotTime, request: BookingRequest) -> Booking:
        """Hold ``slot`` for the request; the same booking key gets its live appointment back."""
        self._called("book")
        mine = self._live(request.booking_key)
        if mine is not None:
            return mine
        if slot.id not in self.slots or self._taken(slot.id):
            raise SlotTaken("the slot is no longer free")
        return self._book_for(slot.id, request)

    def hold(self, session: Session, slot: SlotTime, hold_key: str) -> SlotHold:
        """Keep ``slot`` for ``hold_key``; the same key gets its hold back, any other SlotTaken."""
        self._called("hold")
        if self.holds.get(slot.id) != hold_key and (slot.id not in self.slots or self._taken(slot.id)):
            raise SlotTaken("the slot is not free")
        self.holds[slot.id] = hold_key
        return SlotHold(self.slots[slot.id], hold_key, external_id=slot.id)

    def release(self, session: Session, hold: SlotHold) -> None:
        """Free the slot if this hold still keeps it; anything else is left alone."""
        self._called("release")
        if self.holds.get(hold.external_id) == hold.hold_key:
            del self.holds[hold.external_id]

    def book_held(self, session: Session, hold: SlotHold, request: BookingRequest) -> Booking:
        """Book the held slot (the same booking key gets its live appointment back); SlotTaken when not held."""
        self._called("book_held")
        mine = self._live(request.booking_key)
        if mine is not None:
            return mine
        if self.holds.get(hold.external_id) != hold.hold_key:
            raise SlotTaken("the slot is no longer held")
        del self.holds[hold.external_id]
        return self._book_for(hold.external_id, request)

    def _live(self, booking_key: str) -> Booking | None:
        for appointment in self.appointments.values():
            if appointment.status == "booked" and self.held_by.get(appointment.slot.id) == booking_key:
                return appointment
        return None

    def _taken(self, slot_id: str) -> bool:
        return slot_id in self.held_by or slot_id in self.holds

    def _book_for(self, slot_id: str, request: BookingRequest) -> Booking:
        self.held_by[slot_id] = request.booking_key
        appointment = Booking(f"Appointment/{next(self._ids)}", self.slots[slot_id])
        self._changed(appointment)
        return appointment

    def cancel(self, session: Session, external_id: str, reason: str) -> None:
        """Cancel the appointment and free its slot; cancelling twice is harmless."""
        self._called("cancel")
        appointment = self._appointment(external_id)
        if appointment.status == "booked":
            self.held_by.pop(appointment.slot.id, None)
            self._changed(replace(appointment, status="cancelled"))

    def read(self, session: Session, external_id: str) -> Booking:
        """The appointment as this fake has it now."""
        self._called("read")
        return self._appointment(external_id)

    def find_booking(self, session: Session, booking_key: str) -> Booking | None:
        """The live appointment held under ``booking_key``, if any."""
        self._called("find_booking")
        return self._live(booking_key)

    def book_earliest(self, session: Session, plan: BookingPlan, request: BookingRequest) -> BookingOutcome:
        """Search and book, as a remote scheduling system is booked."""
        return book_earliest_by_search(self, session, plan, request)

    def breaker_state(self) -> str | None:
        """None: no circuit breaker."""

    def changed_appointments(self, session: Session, since: datetime) -> list[AppointmentChange]:
        """The appointments changed after ``since``, oldest change first."""
        self._called("changed_appointments")
        changes = [
            AppointmentChange(external_id, self.appointments[external_id].status, at)
            for external_id, at in self.changed_at.items()
            if at > since
        ]
        return sorted(changes, key=lambda change: change.updated_at)

    def _appointment(self, external_id: str) -> Booking:
        if external_id not in self.appointments:
            raise UnknownAppointment("no such appointment")
        return self.appointments[external_id]
