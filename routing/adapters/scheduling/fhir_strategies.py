"""How the FHIR scheduler reserves a slot and makes the Appointment: one strategy per kind of server.

:class:`~routing.adapters.scheduling.fhir.FhirScheduler` does what every server shares (our appointment by
its booking key first, the patient's record, the order, reading and cancelling) and hands the rest to its
strategy, taken from ``FHIR_BOOKING_STRATEGY`` or, with ``auto``, from the server's CapabilityStatement
(``resolve``; the choice is explained in ``fhir_capabilities``):

* :class:`SlotUpdate` (``slot-update``): we mark the Slot busy with a versioned update, then make the
  Appointment with a conditional create; cancelling frees the Slot again. For servers that let clients write
  Slots (Medplum).
* :class:`AppointmentCreate` (``appointment``): we POST an Appointment referencing the Slot and the server
  marks the Slot busy itself (and frees it when the Appointment is cancelled); a 409/412/422 because the
  slot was taken is SlotTaken. Oracle Health-style EHRs, where clients may not write Slots.
* :class:`Operations` (``operations``): the IHE ITI Scheduling operations on Appointment: ``$find``
  (ITI-115) finds proposed appointments, ``$hold`` (ITI-116) holds one, ``$book`` (ITI-117) books it with our
  Appointment and also cancels. The server keeps its Slots.

Each also keeps a slot for a waitlist offer (``hold``), gives it back (``release``) and books it when the
patient accepts (``book_held``): ``slot-update`` marks the Slot ``busy-tentative`` tagged with the hold key;
``appointment`` creates a ``pending`` Appointment on the slot, which the server holds the slot for;
``operations`` uses ``$hold`` and books the held appointment with ``$book``.

Idempotency holds with each: before any of this, the scheduler returns the live Appointment already made
under the booking key (``FhirSite.live_appointment``), so a retry never makes a second one.

Every strategy works on a :class:`~routing.adapters.scheduling.fhir_site.FhirSite`: the server's client,
the codes we write and our identifiers, shared with the scheduler.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from routing.adapters.scheduling import fhir_capabilities, fhir_resources
from routing.adapters.scheduling.fhir_capabilities import (
    APPOINTMENT,
    CREATE_STATUSES,
    OPERATIONS,
    SLOT_UPDATE,
    ServerCapabilities,
)
from routing.adapters.scheduling.fhir_client import (
    RETURN_RESOURCE,
    FhirClient,
    identifier_value,
    instant,
    next_link,
    now,
    parse_instant,
    participant_actors,
    reference_id,
    slot_references,
)
from routing.adapters.scheduling.fhir_locations import collect
from routing.adapters.scheduling.fhir_site import PARTICIPANT_TYPES, FhirSite
from routing.adapters.scheduling.interface import (
    BookingRequest,
    SchedulerUnavailable,
    SchedulingError,
    SchedulingRejected,
    SlotHold,
    SlotTaken,
    SlotTime,
)

if TYPE_CHECKING:
    import requests

log = logging.getLogger(__name__)

# Answers to a write that may mean "someone else has this slot now" (checked by re-reading the slot).
_CONFLICT_STATUSES = frozenset({409, 412, 422})
# Answers to $hold/$book meaning the proposed appointment is no longer available (ITI-116: "not-found").
_UNAVAILABLE_STATUSES = frozenset({404, 409, 410, 412, 422})
_UNAVAILABLE_ISSUES = frozenset({"not-found", "conflict", "business-rule", "duplicate"})
# Versioned writes of a slot being freed (or a hold given back), retried after someone else's concurrent edit.
_FREE_ATTEMPTS = 3
# The cancelation reason of a pending Appointment that kept a slot for a waitlist offer.
_HOLD_ENDED = "waitlist offer ended"
# $find pages followed at most (ITI-115: the client SHALL support paging).
_FIND_PAGES = 5

# An order made once the slot is reserved: ``ServiceRequest/<id>``, or None without a referral.
OrderStep = Callable[[], "str | None"]


class BookingStrategy(Protocol):
    """The server-specific part of booking (see module doc)."""

    #: ``slot-update``, ``appointment`` or ``operations``.
    name: str
    #: Whether free slots come from the strategy (``$find``) rather than a Slot search.
    finds_slots: bool

    def find_free_slots(
        self, slot_type: str, start: datetime, end: datetime, limit: int, locations: tuple[str, ...] | None = None
    ) -> list[SlotTime]:
        """Free slots of the type after ``start`` and at or before ``end``, earliest first (``finds_slots`` only)."""
        ...

    def check_slot(self, slot: SlotTime) -> None:
        """Refuse (SchedulingRejected) a slot this strategy cannot book, before anything is written."""
        ...

    def reserve_and_create(
        self, slot: SlotTime, request: BookingRequest, patient: dict[str, str], order: OrderStep
    ) -> dict[str, Any]:
        """Reserve ``slot`` and make the Appointment for ``patient`` on it; the Appointment as stored."""
        ...

    def cancel_appointment(self, appointment: dict[str, Any], reason: str) -> dict[str, Any]:
        """Cancel the (live) appointment; the cancelled Appointment."""
        ...

    def free_slots(self, appointment: dict[str, Any]) -> None:
        """Free what the cancelled appointment held, when that is ours to do."""
        ...

    def hold(self, slot: SlotTime, key: str) -> SlotHold:
        """Keep ``slot`` for a waitlist offer under ``key``; SlotTaken when it is not free."""
        ...

    def release(self, hold: SlotHold) -> None:
        """Give the hold back if it still keeps its slot; anything else is left alone."""
        ...

    def book_held(
        self, hold: SlotHold, request: BookingRequest, patient: dict[str, str], order: OrderStep
    ) -> dict[str, Any]:
        """Book the held slot for ``patient``; the Appointment as stored. SlotTaken when the hold was lost."""
        ...


def build(name: str, site: FhirSite, capabilities: ServerCapabilities | None, appointment_status: str):
    """The strategy called ``name`` on ``site``; ``capabilities`` (when read) tune it (conditional create)."""
    if name == OPERATIONS:
        return Operations(site)
    if name == APPOINTMENT:
        conditional = capabilities is not None and capabilities.creates_conditionally("Appointment")
        return AppointmentCreate(site, status=appointment_status, conditional=conditional)
    if name == SLOT_UPDATE:
        return SlotUpdate(site)
    raise ValueError(f"unknown FHIR booking strategy {name!r}")


def read_capabilities(client: FhirClient) -> ServerCapabilities:
    """What the server declares (``GET [base]/metadata``). Raises SchedulerUnavailable when it cannot be
    reached, SchedulingRejected when it answers with something else than a CapabilityStatement."""
    statement = client.expect_ok(client.request("GET", "metadata"), "read metadata (CapabilityStatement)")
    try:
        return fhir_capabilities.parse(statement)
    except fhir_capabilities.NotACapabilityStatement as error:
        raise SchedulingRejected(f"{error}; set FHIR_BOOKING_STRATEGY to the strategy it supports") from None


def resolve(site: FhirSite, capabilities: ServerCapabilities, appointment_status: str) -> BookingStrategy:
    """The strategy ``auto`` takes for what the server declares (``fhir_capabilities.choose``).

    Raises SchedulingRejected when no strategy fits; the message names what is missing and the setting that
    overrides the choice.
    """
    name = fhir_capabilities.choose(capabilities)
    if name is None:
        raise SchedulingRejected(
            "the FHIR server's CapabilityStatement fits no booking strategy ("
            f"{fhir_capabilities.explain_none(capabilities)}); set FHIR_BOOKING_STRATEGY if it does more than it says"
        )
    log.info("FHIR booking strategy %s, chosen from the server's CapabilityStatement", name)
    return build(name, site, capabilities, appointment_status)


class SlotUpdate:
    """Mark the Slot busy ourselves (tagged with the booking key), then make the Appointment once.

    1. An earlier attempt that died after claiming a slot left it tagged: the retry finishes on that one,
       so it is not left busy for nobody (it is no longer free, so the retry was offered another slot).
    2. Otherwise the Slot is marked ``busy`` by a versioned update (``If-Match``): a concurrent booker gets
       412 and SlotTaken, while our own concurrent retry finds the slot tagged with its key.
    3. The Appointment is a conditional create (``If-None-Exist`` on the key).
    Cancelling frees the slot again, unless another booking holds it by then.

    A waitlist hold is the Slot ``busy-tentative`` tagged with the hold key (a versioned update, as a claim
    is); holding again under the key finds it. ``book_held`` claims the slot from the hold (busy, tagged
    with the booking key instead) and makes the Appointment as above; ``release`` frees it if still ours.
    """

    name = SLOT_UPDATE
    finds_slots = False

    def __init__(self, site: FhirSite):
        self._site = site

    def find_free_slots(
        self, slot_type: str, start: datetime, end: datetime, limit: int, locations: tuple[str, ...] | None = None
    ) -> list[SlotTime]:
        raise NotImplementedError("slot-update searches Slots (FhirScheduler.find_free_slots)")

    def check_slot(self, slot: SlotTime) -> None:
        _slot_id(slot)

    def reserve_and_create(
        self, slot: SlotTime, request: BookingRequest, patient: dict[str, str], order: OrderStep
    ) -> dict[str, Any]:
        site, key = self._site, request.booking_key
        fhir_slot = self._slot_held_by(key) or self._claim_slot(_slot_id(slot), key)
        resource = site.appointment(
            fhir_slot, slot.slot_type, request, patient, order(), site.schedule_actors(fhir_slot)
        )
        return site.client.conditional_create(resource, site.not_made_yet(key))

    def cancel_appointment(self, appointment: dict[str, Any], reason: str) -> dict[str, Any]:
        return _cancel_by_update(self._site, appointment, reason)

    def free_slots(self, appointment: dict[str, Any]) -> None:
        key = identifier_value(appointment, self._site.ids.booking_system)
        for slot_ref in slot_references(appointment):
            slot_id = reference_id("Slot", slot_ref)
            if slot_id is not None:
                self._free_slot(slot_id, key)

    def hold(self, slot: SlotTime, key: str) -> SlotHold:
        slot_id, system = _slot_id(slot), self._site.ids.hold_system
        self._take_slot(
            slot_id,
            ours=lambda current: _tagged(current, "busy-tentative", system, key),
            takeable=lambda current: current.get("status") == "free",
            change=lambda current: fhir_resources.tentative(current, system, key),
        )
        return SlotHold(slot, key, f"Slot/{slot_id}")

    def release(self, hold: SlotHold) -> None:
        ids = self._site.ids
        _update_while(
            self._site.client,
            f"Slot/{_slot_id_of(hold)}",
            still=lambda current: _tagged(current, "busy-tentative", ids.hold_system, hold.hold_key),
            change=lambda current: fhir_resources.freed(current, ids.hold_system),
        )

    def book_held(
        self, hold: SlotHold, request: BookingRequest, patient: dict[str, str], order: OrderStep
    ) -> dict[str, Any]:
        site, key = self._site, request.booking_key
        booking, held = site.ids.booking_system, site.ids.hold_system
        fhir_slot = self._take_slot(
            _slot_id_of(hold),
            # A retry after the claim landed and the Appointment did not: carry on with the slot.
            ours=lambda current: _tagged(current, "busy", booking, key),
            takeable=lambda current: _tagged(current, "busy-tentative", held, hold.hold_key),
            change=lambda current: fhir_resources.busy(current, booking, key, untag=(held,)),
        )
        resource = site.appointment(
            fhir_slot, hold.slot.slot_type, request, patient, order(), site.schedule_actors(fhir_slot)
        )
        return site.client.conditional_create(resource, site.not_made_yet(key))

    def _slot_held_by(self, key: str) -> dict[str, Any] | None:
        """The slot an earlier attempt with this booking key claimed, if any."""
        params = {"identifier": f"{self._site.ids.booking_system}|{key}", "status": "busy"}
        return next(iter(self._site.client.search("Slot", params)), None)

    def _claim_slot(self, slot_id: str, key: str) -> dict[str, Any]:
        """Mark the free slot busy for ``key`` with a versioned update; the slot as now stored."""
        system = self._site.ids.booking_system
        return self._take_slot(
            slot_id,
            ours=lambda current: _tagged(current, "busy", system, key),
            takeable=lambda current: current.get("status") == "free",
            change=lambda current: fhir_resources.busy(current, system, key),
        )

    def _take_slot(
        self,
        slot_id: str,
        *,
        ours: Callable[[dict[str, Any]], bool],
        takeable: Callable[[dict[str, Any]], bool],
        change: Callable[[dict[str, Any]], dict[str, Any]],
    ) -> dict[str, Any]:
        """Apply ``change`` to a ``takeable`` slot with a versioned update; the slot as now stored.

        Our own earlier attempt may already have made the change (``ours``): that counts as done. A 412
        means someone changed the slot since we read it; one re-read tells whether that was us (a
        concurrent retry with the same key) or another booker (SlotTaken).
        """
        site = self._site
        for _ in range(2):
            current = site.read_slot(slot_id)
            if ours(current):
                return current
            if not takeable(current):
                raise SlotTaken(f"Slot/{slot_id} is {current.get('status')}")
            response = site.client.put_versioned(change(current))
            if response.status_code in (409, 412):
                continue
            return site.client.expect_ok(response, "update Slot")
        raise SlotTaken(f"Slot/{slot_id} was taken by another booking")

    def _free_slot(self, slot_id: str, key: str | None) -> None:
        """Set the slot free again unless another booking holds it now; a missing slot is left alone."""
        ids = self._site.ids

        def still_ours(current: dict[str, Any]) -> bool:
            holder = identifier_value(current, ids.booking_system)
            return current.get("status") == "busy" and (holder is None or holder == key)

        _update_while(
            self._site.client,
            f"Slot/{slot_id}",
            still=still_ours,
            change=lambda current: fhir_resources.freed(current, ids.booking_system, ids.hold_system),
        )


class AppointmentCreate:
    """POST an Appointment that references the Slot; the server marks the slot busy (and frees it on cancel).

    With ``conditional`` (the CapabilityStatement says ``conditionalCreate: true`` for Appointment) the
    create carries ``If-None-Exist`` on the booking key; without, the scheduler's search by the booking key
    before booking is what keeps a retry from making a second appointment, and a retry whose first attempt
    did land meets the slot taken by that attempt, which is looked up by the key again before SlotTaken.

    A waitlist hold is a ``pending`` Appointment on the slot, tagged with the hold key and naming no patient
    yet; the server holds the slot for it as for any appointment. Holding again under the key finds it (and
    ``If-None-Exist`` covers a concurrent retry). ``book_held`` updates it to ``booked`` with our booking
    (``If-Match`` its version, so a concurrent release or a staff edit is seen); ``release`` cancels it if it
    is still pending, and the server frees the slot.
    """

    name = APPOINTMENT
    finds_slots = False

    def __init__(self, site: FhirSite, *, status: str = "booked", conditional: bool = False):
        if status not in CREATE_STATUSES:
            raise ValueError(f"an Appointment is created {' or '.join(CREATE_STATUSES)}, not {status!r}")
        self._site = site
        self.status = status
        self.conditional = conditional

    def find_free_slots(
        self, slot_type: str, start: datetime, end: datetime, limit: int, locations: tuple[str, ...] | None = None
    ) -> list[SlotTime]:
        raise NotImplementedError("appointment searches Slots (FhirScheduler.find_free_slots)")

    def check_slot(self, slot: SlotTime) -> None:
        _slot_id(slot)

    def reserve_and_create(
        self, slot: SlotTime, request: BookingRequest, patient: dict[str, str], order: OrderStep
    ) -> dict[str, Any]:
        site = self._site
        slot_id = _slot_id(slot)
        fhir_slot = site.read_slot(slot_id)  # gone: SlotTaken
        if fhir_slot.get("status") != "free":
            raise SlotTaken(f"Slot/{slot_id} is {fhir_slot.get('status')}")
        resource = site.appointment(
            fhir_slot, slot.slot_type, request, patient, order(), site.schedule_actors(fhir_slot)
        )
        headers = dict(RETURN_RESOURCE)
        if self.conditional:
            headers["If-None-Exist"] = site.not_made_yet(request.booking_key)
        body = {**resource, "status": self.status}
        response = site.client.request("POST", "Appointment", json=body, headers=headers)
        if response.status_code in _CONFLICT_STATUSES:
            # Our own earlier attempt may hold the slot (its answer was lost and the POST was sent again).
            mine = site.live_appointment(request.booking_key)
            if mine is not None:
                return mine
            if _slot_taken(site, slot_id):
                raise SlotTaken(f"Slot/{slot_id} was taken by another booking (HTTP {response.status_code})")
        return site.client.expect_ok(response, "create Appointment")

    def cancel_appointment(self, appointment: dict[str, Any], reason: str) -> dict[str, Any]:
        return _cancel_by_update(self._site, appointment, reason)

    def free_slots(self, appointment: dict[str, Any]) -> None:
        """Nothing: the server frees the slot of a cancelled appointment."""

    def hold(self, slot: SlotTime, key: str) -> SlotHold:
        mine = self._pending_hold(key) or self._create_hold(slot, key)
        if mine.get("status") != "pending":  # a server that booked or refused it: not a hold we can keep
            raise SlotTaken(f"Appointment/{mine.get('id')} is {mine.get('status')}, not a hold")
        return SlotHold(slot, key, f"Appointment/{mine['id']}")

    def release(self, hold: SlotHold) -> None:
        _update_while(
            self._site.client,
            f"Appointment/{_appointment_id_of(hold)}",
            still=lambda current: self._is_hold(current, hold),
            change=lambda current: fhir_resources.cancelled(current, _HOLD_ENDED),
        )

    def book_held(
        self, hold: SlotHold, request: BookingRequest, patient: dict[str, str], order: OrderStep
    ) -> dict[str, Any]:
        site, path = self._site, f"Appointment/{_appointment_id_of(hold)}"
        order_ref: list[str | None] = []  # made once, when the hold is known to be still ours
        for _ in range(2):
            current = site.client.read(path)
            if current is not None and _tagged(current, "booked", site.ids.booking_system, request.booking_key):
                return current  # a concurrent retry of this booking got there first
            if current is None or not self._is_hold(current, hold):
                raise SlotTaken(f"{path} no longer holds its slot ({(current or {}).get('status', 'gone')})")
            if not order_ref:
                order_ref.append(order())
            response = site.client.put_versioned(self._booked(current, hold, request, patient, order_ref[0]))
            if response.status_code not in (409, 412):
                return site.client.expect_ok(response, "update Appointment")
        raise SlotTaken(f"{path} kept changing while being booked")

    def _create_hold(self, slot: SlotTime, key: str) -> dict[str, Any]:
        """POST the pending Appointment that holds the free ``slot`` under ``key``; the Appointment as stored."""
        site, slot_id = self._site, _slot_id(slot)
        site.service_type(slot.slot_type)  # an unknown slot type is refused before anything is written
        fhir_slot = site.read_slot(slot_id)  # gone: SlotTaken
        if fhir_slot.get("status") != "free":
            raise SlotTaken(f"Slot/{slot_id} is {fhir_slot.get('status')}")
        resource = fhir_resources.hold_appointment(
            fhir_slot,
            service_type=site.codes.service_type[slot.slot_type].as_concept(),
            hold=(site.ids.hold_system, key),
            actors=site.schedule_actors(fhir_slot),
            created=now(),
        )
        headers = dict(RETURN_RESOURCE)
        if self.conditional:
            headers["If-None-Exist"] = f"identifier={site.ids.hold_system}|{key}&status=pending"
        response = site.client.request("POST", "Appointment", json=resource, headers=headers)
        if response.status_code in _CONFLICT_STATUSES:
            # Our own earlier attempt may hold the slot (its answer was lost and the POST was sent again).
            mine = self._pending_hold(key)
            if mine is not None:
                return mine
            if _slot_taken(site, slot_id):
                raise SlotTaken(f"Slot/{slot_id} was taken by another booking (HTTP {response.status_code})")
        return site.client.expect_ok(response, "create Appointment (hold)")

    def _pending_hold(self, key: str) -> dict[str, Any] | None:
        """The pending Appointment an earlier attempt made under this hold key, if any."""
        params = {"identifier": f"{self._site.ids.hold_system}|{key}", "status": "pending"}
        return next(iter(self._site.client.search("Appointment", params)), None)

    def _is_hold(self, appointment: dict[str, Any], hold: SlotHold) -> bool:
        return _tagged(appointment, "pending", self._site.ids.hold_system, hold.hold_key)

    def _booked(
        self,
        held: dict[str, Any],
        hold: SlotHold,
        request: BookingRequest,
        patient: dict[str, str],
        order_ref: str | None,
    ) -> dict[str, Any]:
        """The held Appointment booked: our Appointment for the request, on the held slot and version."""
        when = {"id": "", "start": held["start"], "end": held["end"]}
        actors = self._site.sites.with_site_location(_actors(held))
        resource = self._site.appointment(when, hold.slot.slot_type, request, patient, order_ref, actors)
        hold_tag = {"system": self._site.ids.hold_system, "value": hold.hold_key}
        return {
            **resource,
            "id": held["id"],
            "meta": held["meta"],
            "slot": held["slot"],
            "identifier": [*resource["identifier"], hold_tag],
            "status": "booked",
        }


class Operations:
    """IHE ITI Scheduling: ``$find`` proposes, ``$hold`` holds, ``$book`` books (and cancels).

    Written from the IHE ITI Scheduling profile (https://profiles.ihe.net/ITI/Scheduling/): the
    OperationDefinitions appointment-find, appointment-hold and appointment-book (version 1.0.0, and the
    1.0.1 build for ``$book``'s ``appointment-resource``) and the transaction texts ITI-115, ITI-116, ITI-117:

    * ``POST [base]/Appointment/$find`` with Parameters ``start`` and ``end`` (dateTime) and ``visit-type``
      (a token, ``system|code``: our service type); ``_count`` limits the answer (ITI-115: the server SHALL
      honour it). The answer is a searchset Bundle of *proposed* Appointments (held ones are never proposed)
      and maybe an OperationOutcome. A :class:`SlotTime` here is the proposal: ``Appointment/<id>``.
    * ``POST [base]/Appointment/$hold`` with ``appointment-reference`` (a Reference to the proposal): the
      server holds its slots and answers the Appointment ``pending``, or ``cancelled`` / an OperationOutcome
      ``not-found`` when it is no longer available (SlotTaken). A hold that is not booked expires (the
      length is the server's business rule).
    * ``POST [base]/Appointment/$book`` with ``appointment-resource``: our Appointment (identifiers, patient,
      order, reasons) with the held appointment's id and status ``pending``, as the 1.0.1 build requires
      for a resource; the answer is the Appointment ``booked``. ITI-117 also has ``$book`` cancel a booked or
      held appointment: the same call with status ``cancelled``, used to cancel and to release a hold.

    A ``$book`` that is refused after the hold releases the hold at once (best effort: the server's expiry
    covers a failed release). One whose answer never came (SchedulerUnavailable) leaves the hold alone: the
    booking may have been made, and the retry finds it by the booking key.
    A ``$hold`` whose answer was lost and that the HTTP client sent again meets its own hold, which the
    server cannot tell from another client's: that slot counts as taken and the first hold expires.

    Argonaut Scheduling has the same three operations with other parameter names (``appt-id``,
    ``appt-resource``); only the IHE names are sent.

    ``book`` also takes a ``Slot/<id>`` (say, a slot staff chose in their EHR): the slot is read for its
    time and the proposal that names it is found with ``$find``.

    A waitlist hold is the ``$hold`` itself: ``book_held`` ``$book``s the held appointment with ours, and
    ``release`` cancels it with ``$book`` while it is still pending. ``$hold`` carries no key of ours, so
    holding again under the same key cannot find the first hold: the slot counts as taken (SlotTaken) and
    an unanswered hold expires on the server. Nor does ``$book`` take a version: a release racing the same
    hold's ``book_held`` could cancel the fresh booking, so the caller settles an offer (accepted or
    ended) before calling either.
    """

    name = OPERATIONS
    finds_slots = True

    def __init__(self, site: FhirSite):
        self._site = site

    def find_free_slots(
        self, slot_type: str, start: datetime, end: datetime, limit: int, locations: tuple[str, ...] | None = None
    ) -> list[SlotTime]:
        """Proposals from ``$find``, each at the site of the Location taking part; with ``locations``, ``$find``
        asks for their Locations (its ``location`` parameter) when it can, and the proposals elsewhere are
        skipped page after page (``fhir_locations.collect``), in case the server does not narrow by location."""
        if locations is None or self._site.sites.everywhere(locations):
            return self._proposed(slot_type, start, False, end, limit)[:limit]
        wanted = frozenset(locations)
        at = self._site.sites.locations_at(wanted)
        if at == ():
            return []  # none of those sites has a Location on this server: no slot there

        # Each $find makes new proposals: one asked again from the last start seen is known by its slots.
        times: dict[str, tuple[str, ...]] = {}

        def page(after: datetime, inclusive: bool, count: int) -> list[SlotTime]:
            return self._proposed(slot_type, after, inclusive, end, count, at, times)

        return collect(page, start, limit, lambda slot: slot.location in wanted, key=lambda slot: times[slot.id])

    def _proposed(
        self,
        slot_type: str,
        after: datetime,
        inclusive: bool,
        end: datetime,
        count: int,
        at: tuple[str, ...] | None = None,
        times: dict[str, tuple[str, ...]] | None = None,
    ) -> list[SlotTime]:
        """The proposals starting after ``after`` (at or after, ``inclusive``) up to ``end``, earliest first.

        ``times``: filled with what each proposal offers (its slots; without any, its start, end and site).
        """
        # One more than asked: the server's window includes its start, which ours may exclude.
        proposals = self._find(slot_type, after, end, count=count + 1, locations=at or ())
        if times is not None:
            for p in proposals:
                where = (p.get("start", ""), p.get("end", ""), *participant_actors(p))
                times[f"Appointment/{p['id']}"] = tuple(slot_references(p)) or where
        sites = self._site.sites
        slots = [
            SlotTime(
                f"Appointment/{p['id']}",
                slot_type,
                parse_instant(p.get("start")),
                parse_instant(p.get("end")),
                sites.site_of_actors(participant_actors(p)),
            )
            for p in proposals
        ]
        starts_in = (lambda moment: after <= moment <= end) if inclusive else (lambda moment: after < moment <= end)
        return sorted((slot for slot in slots if starts_in(slot.start)), key=lambda slot: slot.start)

    def check_slot(self, slot: SlotTime) -> None:
        kind = slot.id.rpartition("/")[0]
        if kind not in ("", "Slot", "Appointment") or reference_id(kind or "Slot", slot.id) is None:
            raise SchedulingRejected("not a FHIR Slot or proposed Appointment reference")
        self._site.service_type(slot.slot_type)

    def reserve_and_create(
        self, slot: SlotTime, request: BookingRequest, patient: dict[str, str], order: OrderStep
    ) -> dict[str, Any]:
        held = self._hold(self._proposal(slot))
        try:
            resource = self._booking_resource(held, slot.slot_type, request, patient, order())
            return self._book(resource)
        except SchedulerUnavailable:
            raise  # the booking may have landed: the retry finds it by the key; else the hold expires
        except SchedulingError:
            self._release(held)
            raise

    def cancel_appointment(self, appointment: dict[str, Any], reason: str) -> dict[str, Any]:
        response = self._operation("book", "appointment-resource", fhir_resources.cancelled(appointment, reason))
        cancelled, issues = _operation_result(self._site.client.expect_ok(response, "Appointment $book (cancel)"))
        if cancelled is None or cancelled.get("status") != "cancelled":
            raise SchedulingRejected(f"Appointment $book did not cancel ({', '.join(issues) or 'no outcome'})")
        return cancelled

    def free_slots(self, appointment: dict[str, Any]) -> None:
        """Nothing: the server frees the slots of an appointment cancelled with ``$book``."""

    def hold(self, slot: SlotTime, key: str) -> SlotHold:
        held = self._hold(self._proposal(slot))
        return SlotHold(slot, key, f"Appointment/{held['id']}")

    def release(self, hold: SlotHold) -> None:
        held = self._site.client.read(f"Appointment/{_appointment_id_of(hold)}")
        if held is not None and held.get("status") == "pending":
            self.cancel_appointment(held, _HOLD_ENDED)

    def book_held(
        self, hold: SlotHold, request: BookingRequest, patient: dict[str, str], order: OrderStep
    ) -> dict[str, Any]:
        path = f"Appointment/{_appointment_id_of(hold)}"
        held = self._site.client.read(path)
        if held is None or held.get("status") != "pending":  # released, expired, or booked by someone
            raise SlotTaken(f"{path} no longer holds its slot ({(held or {}).get('status', 'gone')})")
        return self._book(self._booking_resource(held, hold.slot.slot_type, request, patient, order()))

    # ------------------------------------------------------------------ the operations

    def _find(
        self, slot_type: str, start: datetime, end: datetime, *, count: int, locations: tuple[str, ...] = ()
    ) -> list[dict[str, Any]]:
        """The proposed Appointments ``$find`` returns for the window (at ``locations``, when given), page by page."""
        system, code = self._site.service_type(slot_type)
        parameters = _parameters(
            ("start", "valueDateTime", instant(start)),
            ("end", "valueDateTime", instant(end)),
            ("visit-type", "valueString", f"{system}|{code}"),
            *(("location", "valueReference", {"reference": location}) for location in locations),
        )
        client = self._site.client
        response = client.request("POST", "Appointment/$find", params={"_count": str(count)}, json=parameters)
        proposals: list[dict[str, Any]] = []
        for _ in range(_FIND_PAGES):
            bundle = client.expect_ok(response, "Appointment $find")
            resources = (entry.get("resource") or {} for entry in bundle.get("entry", []))
            proposals += [r for r in resources if _is_proposal(r)]
            following = next_link(bundle)
            if following is None or len(proposals) >= count:
                break
            response = client.request("GET", following)
        return proposals

    def _proposal(self, slot: SlotTime) -> str:
        """The proposed Appointment to hold: the SlotTime's own, or the one ``$find`` makes for a Slot."""
        if slot.id.startswith("Appointment/"):
            return slot.id
        slot_id = _slot_id(slot)
        fhir_slot = self._site.read_slot(slot_id)  # gone: SlotTaken
        if fhir_slot.get("status") != "free":
            raise SlotTaken(f"Slot/{slot_id} is {fhir_slot.get('status')}")
        when = parse_instant(fhir_slot.get("start"))
        for proposal in self._find(slot.slot_type, when, when, count=10):
            if f"Slot/{slot_id}" in slot_references(proposal):
                return f"Appointment/{proposal['id']}"
        raise SlotTaken(f"$find proposes nothing on Slot/{slot_id}")

    def _hold(self, proposal: str) -> dict[str, Any]:
        """``$hold`` the proposal: the Appointment ``pending``; SlotTaken when it is no longer available."""
        response = self._operation("hold", "appointment-reference", {"reference": proposal})
        if response.status_code in _UNAVAILABLE_STATUSES:
            raise SlotTaken(f"{proposal} could not be held (HTTP {response.status_code})")
        held, issues = _operation_result(self._site.client.expect_ok(response, "Appointment $hold"))
        if held is not None and held.get("status") == "pending":
            return held
        if (held is not None and held.get("status") == "cancelled") or _UNAVAILABLE_ISSUES & set(issues):
            raise SlotTaken(f"{proposal} could not be held ({', '.join(issues) or 'hold rejected'})")
        raise SchedulingRejected(f"Appointment $hold answered without a held appointment ({', '.join(issues)})")

    def _book(self, resource: dict[str, Any]) -> dict[str, Any]:
        """``$book`` our Appointment on the held one: the Appointment ``booked``."""
        response = self._operation("book", "appointment-resource", resource)
        if response.status_code in _UNAVAILABLE_STATUSES:
            raise SlotTaken(f"Appointment/{resource['id']} could not be booked (HTTP {response.status_code})")
        booked, issues = _operation_result(self._site.client.expect_ok(response, "Appointment $book"))
        if booked is not None and booked.get("status") == "booked":
            return booked
        if (booked is not None and booked.get("status") == "cancelled") or _UNAVAILABLE_ISSUES & set(issues):
            raise SlotTaken(f"Appointment/{resource['id']} could not be booked ({', '.join(issues) or 'rejected'})")
        raise SchedulingRejected(f"Appointment $book answered without a booked appointment ({', '.join(issues)})")

    def _release(self, held: dict[str, Any]) -> None:
        """Give the hold back (``$book`` it cancelled); a failure is logged and left to the server's expiry."""
        try:
            response = self._operation("book", "appointment-resource", {**held, "status": "cancelled"})
            outcome = f"HTTP {response.status_code}"
        except SchedulingError as error:
            response, outcome = None, type(error).__name__
        if response is None or not 200 <= response.status_code < 300:
            log.warning("FHIR hold on Appointment/%s not released (%s); it expires", held.get("id"), outcome)

    def _booking_resource(
        self,
        held: dict[str, Any],
        slot_type: str,
        request: BookingRequest,
        patient: dict[str, str],
        order_ref: str | None,
    ) -> dict[str, Any]:
        """Our Appointment on the held one: its id, time, slots and actors; our identifiers, patient, order."""
        when = {"id": "", "start": held["start"], "end": held["end"]}
        actors = self._site.sites.with_site_location(_actors(held))  # the site's Location, as other strategies write
        resource = self._site.appointment(when, slot_type, request, patient, order_ref, actors)
        resource = {**resource, "id": held["id"], "status": "pending"}
        if held.get("slot"):
            resource["slot"] = held["slot"]
        else:
            resource.pop("slot")
        return resource

    def _operation(self, name: str, parameter: str, value: dict[str, Any]) -> requests.Response:
        """POST ``Appointment/$<name>`` with one parameter: a Reference, or a resource."""
        kind = "resource" if "resourceType" in value else "valueReference"
        body = {"resourceType": "Parameters", "parameter": [{"name": parameter, kind: value}]}
        return self._site.client.request("POST", f"Appointment/${name}", json=body)


# ---------------------------------------------------------------------- small helpers


def _slot_id(slot: SlotTime) -> str:
    """The id of a ``Slot/<id>`` (or bare id) SlotTime; SchedulingRejected for anything else."""
    slot_id = reference_id("Slot", slot.id)
    if slot_id is None:
        raise SchedulingRejected("not a FHIR Slot reference")
    return slot_id


def _slot_id_of(hold: SlotHold) -> str:
    """The Slot a ``slot-update`` hold keeps; SchedulingRejected for a hold made otherwise."""
    slot_id = reference_id("Slot", hold.external_id)
    if slot_id is None or not hold.external_id.startswith("Slot/"):
        raise SchedulingRejected("not a hold on a FHIR Slot")
    return slot_id


def _appointment_id_of(hold: SlotHold) -> str:
    """The pending Appointment that keeps a hold's slot; SchedulingRejected for a hold made otherwise."""
    appointment_id = reference_id("Appointment", hold.external_id)
    if appointment_id is None or not hold.external_id.startswith("Appointment/"):
        raise SchedulingRejected("not a hold by a FHIR Appointment")
    return appointment_id


def _tagged(resource: dict[str, Any], status: str, system: str, key: str) -> bool:
    """Whether ``resource`` has ``status`` and our identifier ``system|key``."""
    return resource.get("status") == status and identifier_value(resource, system) == key


def _actors(appointment: dict[str, Any]) -> list[str]:
    """The practitioners, locations... taking part in an appointment (its participants other than the patient)."""
    return [
        reference
        for participant in appointment.get("participant", [])
        if (reference := (participant.get("actor") or {}).get("reference") or "").startswith(PARTICIPANT_TYPES)
    ]


def _update_while(
    client: FhirClient,
    path: str,
    *,
    still: Callable[[dict[str, Any]], bool],
    change: Callable[[dict[str, Any]], dict[str, Any]],
) -> dict[str, Any] | None:
    """Apply ``change`` with a versioned update while the resource is ``still`` as expected; the updated
    resource, or None when it is gone or no longer so (someone else's now: left alone)."""
    for _ in range(_FREE_ATTEMPTS):
        current = client.read(path)
        if current is None or not still(current):
            return None
        response = client.put_versioned(change(current))
        if response.status_code not in (409, 412):
            return client.expect_ok(response, f"update {path.partition('/')[0]}")
    raise SchedulingRejected(f"{path} kept changing while being updated")


def _cancel_by_update(site: FhirSite, appointment: dict[str, Any], reason: str) -> dict[str, Any]:
    """Cancel the appointment with a versioned update (re-applied after a concurrent edit)."""
    return site.client.update_with_retry(appointment, lambda current: fhir_resources.cancelled(current, reason))


def _slot_taken(site: FhirSite, slot_id: str) -> bool:
    """Whether the slot is gone or no longer free (after a refused write that may have been about it)."""
    current = site.client.read(f"Slot/{slot_id}")
    return current is None or current.get("status") != "free"


def _is_proposal(resource: dict[str, Any]) -> bool:
    return resource.get("resourceType") == "Appointment" and resource.get("status") == "proposed"


def _parameters(*values: tuple[str, str, Any]) -> dict[str, Any]:
    """A Parameters resource of (name, value[x] element, value) triples."""
    return {"resourceType": "Parameters", "parameter": [{"name": name, kind: value} for name, kind, value in values]}


def _operation_result(body: Any) -> tuple[dict[str, Any] | None, list[str]]:
    """The Appointment an operation answered and its OperationOutcome issue codes.

    The OperationDefinitions answer a Bundle (Appointment and maybe an OperationOutcome); ITI-116's text
    speaks of an Appointment or an OperationOutcome, and FHIR lets a single ``return`` come as Parameters:
    all are read.
    """
    if not isinstance(body, dict):
        return None, []
    kind = body.get("resourceType")
    if kind == "Appointment":
        return body, []
    if kind == "OperationOutcome":
        return None, [str(issue.get("code")) for issue in body.get("issue", []) if issue.get("code")]
    if kind == "Parameters":
        returned = next((p.get("resource") for p in body.get("parameter", []) if p.get("name") == "return"), None)
        return _operation_result(returned)
    if kind == "Bundle":
        appointment, issues = None, []
        for entry in body.get("entry", []):
            found, codes = _operation_result(entry.get("resource"))
            appointment = appointment or found
            issues += codes
        return appointment, issues
    return None, []
