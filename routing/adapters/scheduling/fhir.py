"""The FHIR R4 scheduler: slots and appointments kept by a real scheduling system, over HTTP.

Resources used: ``Slot`` (free/busy time of one service type), ``Appointment`` (our booking, pointing at
its slot), ``ServiceRequest`` (the imaging or injection order an appointment is based on), ``Patient`` and
``Schedule`` (read). Every call goes through :class:`~routing.adapters.scheduling.fhir_client.FhirClient`
(answers mapped) on :class:`~routing.adapters.scheduling.fhir_http.FhirHttp` (unreachable servers,
timeouts and 429/5xx become SchedulerUnavailable).

Ids: :class:`SlotTime` ids and :class:`Booking` external ids are FHIR relative references
(``Slot/<id>``, ``Appointment/<id>``, ``ServiceRequest/<id>``), what the scheduling system's own staff
see and what our ``appointments.external_slot_id`` column stores; ``book`` also accepts a bare slot id.

Our identifiers live under an https base the clinic owns (:class:`FhirIdentity`): ``<base>/booking``
(the booking key), ``<base>/inquiry`` (our inquiry id), ``<base>/patient`` (patients we registered). The
codes written (service type, specialty, appointment type, procedure, order category) come from the
practice's terminology file (``routing/domain/terminology``).

Booking is several calls, any of which may fail or be retried, so each step is idempotent on the
booking key:

1. an Appointment already made for the key (and not cancelled) is returned as is;
2. the patient's record is found, or made (``fhir_patients``); in doubt, nothing is booked
   (PatientNotIdentified: staff choose the record);
3. the Slot is marked ``busy`` by a versioned update (``If-Match``), tagged with the key: a concurrent
   booker gets 412 and SlotTaken, while our own retry finds the slot by its tag and carries on with it;
4. the order (imaging and injection: a ServiceRequest) is the inquiry's active order for the procedure,
   made once (a rebook after a cancellation reuses it); the Appointment is a conditional create
   (``If-None-Exist`` on the key), so a retry finds what the first attempt made instead of making another.
   Its participants are the patient and the actors of the slot's Schedule (practitioner, location).

Steps 3 and 4 are those of the ``slot-update`` booking strategy. Servers that do not let clients write Slots
book differently (``fhir_strategies``: an Appointment create the server reserves the slot for, or the IHE
``$find``/``$hold``/``$book`` operations); the strategy is set, or chosen from the server's CapabilityStatement.

Cancelling an appointment revokes its order unless another live appointment is based on it.

A waitlist offer keeps a slot with ``hold`` (each strategy its own way: a ``busy-tentative`` Slot, a
``pending`` Appointment, or ``$hold``; tagged ``<base>/hold`` with the hold key where we can tag it) and
books it with ``book_held``: steps 1, 2 and 4 as above, on the held slot instead of a free one.

Sites: a slot is at the practice's site whose ``fhir_location`` is among its Schedule's actors (a Schedule naming
none: the default site); searches for some sites ask for their Schedules (``Slot?schedule=``) and every slot and
booking carries its site (``fhir_locations``, docs/fhir-locations.md).

Error messages name resource types, ids and HTTP statuses only, never patient data.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from routing.adapters.scheduling import fhir_capabilities, fhir_patients, fhir_resources, fhir_strategies
from routing.adapters.scheduling.fhir_capabilities import ServerCapabilities
from routing.adapters.scheduling.fhir_client import (
    DEAD_APPOINTMENT,
    FhirClient,
    instant,
    next_link,
    now,
    parse_instant,
    participant_actors,
    reference_id,
    resources_of,
    slot_references,
)
from routing.adapters.scheduling.fhir_locations import SiteMap, SitesProvider, collect
from routing.adapters.scheduling.fhir_resources import FhirIdentity
from routing.adapters.scheduling.fhir_site import FhirSite
from routing.adapters.scheduling.interface import (
    AppointmentChange,
    Booking,
    BookingOutcome,
    BookingRequest,
    Capabilities,
    PatientDetails,
    PatientNotIdentified,
    ReferralRequest,
    SchedulingRejected,
    SlotHold,
    SlotTime,
    UnknownAppointment,
)
from routing.adapters.scheduling.search import book_earliest_by_search
from routing.domain.booking_plan import BookingPlan
from routing.domain.terminology import Terminology

if TYPE_CHECKING:
    from routing.adapters.scheduling.fhir_http import FhirHttp
    from routing.adapters.scheduling.fhir_strategies import BookingStrategy

# Orders in these states may still be acted on, so cancelling their last appointment revokes them.
_OPEN_ORDER = frozenset({"draft", "active", "on-hold"})


class FhirScheduler:
    """Books slots held by a FHIR R4 scheduling system (see module doc for the mapping)."""

    name = "fhir"
    capabilities = Capabilities()  # a network call: booked outside any transaction

    def __init__(
        self,
        http: FhirHttp,
        terminology: Terminology,
        identity: FhirIdentity,
        *,
        strategy: str = "slot-update",
        appointment_status: str = "booked",
        sites: SitesProvider | None = None,
    ):
        """``terminology``: the codes to write (its service types are also how free Slots are searched).

        ``strategy``: how slots are reserved (``fhir_strategies``): ``slot-update`` (the default here),
        ``appointment``, ``operations``, or ``auto``: chosen from the server's CapabilityStatement on the
        first call that books, searches or cancels, and kept; while the server cannot be reached those calls
        raise SchedulerUnavailable and the next one asks again. ``appointment_status``: the status an
        ``appointment`` strategy creates with (``booked``, or ``proposed`` for servers that confirm it).

        ``sites``: the practice's active sites (the location directory's ``sites``); a slot is at the site whose
        ``fhir_location`` its Schedule names (``fhir_locations``). None: every slot at the default site.
        """
        if strategy not in fhir_capabilities.CHOICES or appointment_status not in fhir_capabilities.CREATE_STATUSES:
            raise ValueError(f"unknown FHIR booking strategy {strategy!r} or appointment status {appointment_status!r}")
        self._client = FhirClient(http)
        self._site = FhirSite(self._client, terminology, identity, SiteMap(self._client, sites))
        self._strategy_setting = strategy
        self._appointment_status = appointment_status
        self._strategy: BookingStrategy | None = None
        self._capabilities: ServerCapabilities | None = None

    # ------------------------------------------------------------------ Scheduler protocol

    def book_earliest(self, session: Session, plan: BookingPlan, request: BookingRequest) -> BookingOutcome:
        """Search the window and book the first slot still free (FHIR has no "claim the earliest" call)."""
        return book_earliest_by_search(self, session, plan, request)

    def find_booking(self, session: Session, booking_key: str) -> Booking | None:
        """The appointment made under this booking key and not cancelled (by its identifier), if any."""
        appointment = self._site.live_appointment(booking_key)
        return self._booking(appointment, fallback_slot_type="") if appointment is not None else None

    def breaker_state(self) -> str:
        """The HTTP client's circuit breaker: "closed", "half-open" or "open"."""
        return self._client.breaker_state

    def close(self) -> None:
        """Close the HTTP client's connections (tests and tools that build a scheduler of their own)."""
        self._client.close()

    def booking_strategy(self) -> str:
        """The booking strategy in use (``slot-update``, ``appointment``, ``operations``); see ``__init__``."""
        return self._booking_strategy().name

    def find_free_slots(
        self,
        session: Session,
        slot_type: str,
        start: datetime,
        end: datetime,
        limit: int = 10,
        locations: tuple[str, ...] | None = None,
    ) -> list[SlotTime]:
        """Free slots of ``slot_type`` starting after ``start`` and at or before ``end``, earliest first.

        ``start`` and ``end`` must be timezone-aware: FHIR reads a time without offset as the server's
        local time. The window maps to ``start=gt<start>&start=le<end>`` to match the embedded scheduler.

        Each slot's ``location`` is its Schedule's site. With ``locations``, the search asks for those sites'
        Schedules only (``schedule=``) when it can, and keeps the slots at those sites, page after page
        (``fhir_locations.collect``).
        """
        if limit < 1:
            return []
        strategy = self._booking_strategy()
        if strategy.finds_slots:
            return strategy.find_free_slots(slot_type, start, end, limit, locations)
        if locations is None or self._site.sites.everywhere(locations):
            # Never more than asked for, whatever the server sends.
            return self._search_slots(slot_type, (f"gt{instant(start)}", f"le{instant(end)}"), limit)[:limit]
        wanted = frozenset(locations)
        schedules = self._site.sites.schedules_at(wanted)
        if schedules == ():
            return []  # no Schedule at those sites: no slot there

        def page(after: datetime, inclusive: bool, count: int) -> list[SlotTime]:
            window = (f"{'ge' if inclusive else 'gt'}{instant(after)}", f"le{instant(end)}")
            return self._search_slots(slot_type, window, count, schedules)

        return collect(page, start, limit, lambda slot: slot.location in wanted)

    def _search_slots(
        self, slot_type: str, window: tuple[str, str], count: int, schedules: tuple[str, ...] | None = None
    ) -> list[SlotTime]:
        """One page of ``Slot?status=free&service-type=..&start=<window>`` (of ``schedules`` only, when given)."""
        system, code = self._site.service_type(slot_type)
        params = [
            ("status", "free"),
            ("service-type", f"{system}|{code}"),
            *(("start", bound) for bound in window),
            ("_sort", "start"),
            ("_count", str(count)),
        ]
        if schedules is not None:
            params.append(("schedule", ",".join(schedules)))
        sites = self._site.sites
        return [
            _slot_time(slot, slot_type, sites.site_of_schedule((slot.get("schedule") or {}).get("reference")))
            for slot in self._client.search("Slot", params)
        ]

    def book(self, session: Session, slot: SlotTime, request: BookingRequest) -> Booking:
        """Book ``slot`` for the request, idempotently per ``request.booking_key`` (see module doc).

        Raises SlotTaken when the slot is gone or someone else holds it, PatientNotIdentified when the
        server's patient records leave doubt, SchedulingRejected on any other refusal, SchedulerUnavailable
        when the server cannot be reached.
        """
        existing = self._site.live_appointment(request.booking_key)
        if existing is not None:
            return self._booking(existing, fallback_slot_type=slot.slot_type)
        strategy = self._booking_strategy()
        strategy.check_slot(slot)
        patient = self._patient_reference(request)  # before anything is held: in doubt, nothing is booked
        referral = request.referral

        def order() -> str | None:
            return self._order(request, referral, patient) if referral is not None else None

        appointment = strategy.reserve_and_create(slot, request, patient, order)
        return self._booking(appointment, fallback_slot_type=slot.slot_type)

    def hold(self, session: Session, slot: SlotTime, hold_key: str) -> SlotHold:
        """Keep ``slot`` for a waitlist offer, the strategy's way (see ``fhir_strategies``).

        Raises SlotTaken when it is not free, SchedulingRejected, SchedulerUnavailable. Holding again under
        ``hold_key`` returns the same hold, except with ``operations``, whose ``$hold`` carries no key of
        ours: there the slot counts as taken, and the server's expiry ends the first hold.
        """
        strategy = self._booking_strategy()
        strategy.check_slot(slot)
        return strategy.hold(slot, hold_key)

    def release(self, session: Session, hold: SlotHold) -> None:
        """Free the held slot if the hold still keeps it; a hold released, expired or booked is left alone."""
        self._booking_strategy().release(hold)

    def book_held(self, session: Session, hold: SlotHold, request: BookingRequest) -> Booking:
        """Book the held slot for the request, idempotently per ``request.booking_key`` (as ``book``).

        Raises SlotTaken when the hold was lost (released, expired, taken by staff), PatientNotIdentified,
        SchedulingRejected, SchedulerUnavailable. A refused booking leaves the hold as it was: it is the
        caller's to release.
        """
        existing = self._site.live_appointment(request.booking_key)
        if existing is not None:
            return self._booking(existing, fallback_slot_type=hold.slot.slot_type)
        strategy = self._booking_strategy()
        patient = self._patient_reference(request)
        referral = request.referral

        def order() -> str | None:
            return self._order(request, referral, patient) if referral is not None else None

        appointment = strategy.book_held(hold, request, patient, order)
        return self._booking(appointment, fallback_slot_type=hold.slot.slot_type)

    def cancel(self, session: Session, external_id: str, reason: str) -> None:
        """Cancel the appointment and free its slot; cancelling a cancelled appointment only re-frees the slot.

        The appointment is cancelled first: freeing the slot first and failing before the cancel would let
        someone book the slot while our appointment still holds it. A retry after such a failure finds the
        appointment cancelled and frees the slot then. Its order is revoked unless another live appointment
        is based on it.
        """
        appointment = self._read_appointment(external_id)
        strategy = self._booking_strategy()
        if appointment.get("status") not in DEAD_APPOINTMENT:
            appointment = strategy.cancel_appointment(appointment, reason)
        strategy.free_slots(appointment)
        order_ref = _referral_reference(appointment)
        if order_ref is not None and not self._order_still_used(order_ref):
            self._revoke_order(order_ref)

    def read(self, session: Session, external_id: str) -> Booking:
        """The appointment as the scheduling system has it now (status booked, cancelled, noshow, ...)."""
        return self._booking(self._read_appointment(external_id), fallback_slot_type="")

    # ------------------------------------------------------------------ booking steps

    def _booking_strategy(self) -> BookingStrategy:
        """The strategy set, or (``auto``) the one the server's CapabilityStatement allows, read once."""
        if self._strategy is None:
            if self._strategy_setting == "auto":
                capabilities = self._server_capabilities()
                try:
                    self._strategy = fhir_strategies.resolve(self._site, capabilities, self._appointment_status)
                except SchedulingRejected:
                    self._capabilities = None  # fits no strategy: read again next time (it may be reconfigured)
                    raise
            else:
                self._strategy = fhir_strategies.build(
                    self._strategy_setting, self._site, None, self._appointment_status
                )
        return self._strategy

    def _server_capabilities(self) -> ServerCapabilities:
        """What the server's CapabilityStatement declares, read once (SchedulerUnavailable: asked again later)."""
        if self._capabilities is None:
            self._capabilities = fhir_strategies.read_capabilities(self._client)
        return self._capabilities

    def _offers_patient_match(self) -> bool:
        """Whether the server declares ``Patient/$match``; a server without a readable CapabilityStatement
        is searched instead, as every server allows (an explicit FHIR_BOOKING_STRATEGY needs no metadata)."""
        try:
            return self._server_capabilities().allows("Patient", "$match")
        except SchedulingRejected:
            self._capabilities = ServerCapabilities()  # declares nothing: not asked again
            return False

    def _patient_reference(self, request: BookingRequest) -> dict[str, str]:
        """The patient's record on the server, found or made (see ``fhir_patients``), as a reference.

        The server's own ``Patient/$match`` decides where it offers one; otherwise its records are searched
        and compared here. Raises PatientNotIdentified when the server's records leave doubt. A request
        without the names to look anyone up by books with a display-only participant.
        """
        details = request.patient
        if details is None:
            return fhir_resources.display_only(request)
        if self._offers_patient_match():
            record = fhir_patients.choose_matched(
                self._client.expect_ok(
                    self._client.request("POST", "Patient/$match", json=fhir_patients.match_parameters(details)),
                    "Patient $match",
                )
            )
        else:
            record = fhir_patients.choose(details, self._patient_candidates(details))
        if record is None:
            system, value = self._site.ids.patient_system, str(request.inquiry_id)
            resource = fhir_patients.new_patient(details, system, value)
            record = self._client.conditional_create(resource, f"identifier={system}|{value}")
        return fhir_patients.reference(record, details)

    def _patient_candidates(self, details: PatientDetails) -> list[dict[str, Any]]:
        """Every Patient the search finds, page by page; too many to compare raises PatientNotIdentified."""
        response = self._client.request("GET", "Patient", params=fhir_patients.search_params(details))
        candidates: list[dict[str, Any]] = []
        for _ in range(fhir_patients.MAX_PAGES):
            bundle = self._client.expect_ok(response, "search Patient")
            candidates += resources_of(bundle, "Patient")
            following = next_link(bundle)
            if following is None:
                return candidates
            response = self._client.request("GET", following)
        raise PatientNotIdentified(f"more than {len(candidates)} patient records share this family name")

    def _order(self, request: BookingRequest, referral: ReferralRequest, patient: dict[str, str]) -> str:
        """The inquiry's active order for the procedure, made once and reused by a rebook; ``ServiceRequest/<id>``."""
        resource = fhir_resources.service_request(
            request, referral, codes=self._site.codes, ids=self._site.ids, subject=patient, authored_on=now()
        )
        criteria = (
            f"identifier={self._site.ids.inquiry_system}|{request.inquiry_id}"
            f"&code={referral.code_system}|{referral.code}&status=active"
        )
        created = self._client.conditional_create(resource, criteria)
        return f"ServiceRequest/{created['id']}"

    def _order_still_used(self, order_ref: str) -> bool:
        """Whether a live appointment is still based on the order (a rebook or an override reused it)."""
        appointments = self._client.search("Appointment", {"based-on": order_ref})
        return any(appointment.get("status") not in DEAD_APPOINTMENT for appointment in appointments)

    def _revoke_order(self, order_ref: str) -> None:
        """Withdraw an order nothing is based on any more; one already completed or revoked is left alone."""
        order_id = reference_id("ServiceRequest", order_ref)
        order = self._client.read(f"ServiceRequest/{order_id}") if order_id is not None else None
        if order is not None and order.get("status") in _OPEN_ORDER:
            self._client.update_with_retry(order, fhir_resources.revoked)

    def _read_appointment(self, external_id: str) -> dict[str, Any]:
        appointment_id = reference_id("Appointment", external_id)
        if appointment_id is None:
            raise UnknownAppointment("not a FHIR Appointment reference")
        appointment = self._client.read(f"Appointment/{appointment_id}")
        if appointment is None:
            raise UnknownAppointment(f"Appointment/{appointment_id} not found")
        return appointment

    def _booking(self, appointment: dict[str, Any], *, fallback_slot_type: str) -> Booking:
        """Our view of an Appointment: reference, slot and times, status, and the order it is based on."""
        slot = SlotTime(
            id=next(iter(slot_references(appointment)), ""),
            slot_type=self._site.slot_type_of(appointment) or fallback_slot_type,
            start=parse_instant(appointment.get("start")),
            end=parse_instant(appointment.get("end")),
            # Where it is: the Location taking part (ours name the site's: FhirSite.schedule_actors).
            location=self._site.sites.site_of_actors(participant_actors(appointment)),
        )
        return Booking(
            external_id=f"Appointment/{appointment['id']}",
            slot=slot,
            status=appointment.get("status", "unknown"),
            referral_external_id=_referral_reference(appointment),
        )

    # ------------------------------------------------------------------ reconciliation

    #: The reconciliation poll's search: appointments per page, and pages per poll.
    _CHANGE_PAGE = 100
    _CHANGE_PAGES = 20

    def changed_appointments(self, session: Session, since: datetime) -> list[AppointmentChange]:
        """Appointments with our booking identifier changed after ``since`` (the server's ``_lastUpdated``).

        ``Appointment?identifier=<booking system>|&_lastUpdated=gt<since>&_sort=_lastUpdated``, oldest change
        first, at most ``_CHANGE_PAGES`` pages: a poll reads a bounded amount, and the next poll goes on from
        the newest change this one saw. Pages follow the Bundle's ``next`` link; a server that gives none
        for a full page is asked again from the newest change on that page (``ge``), the repeats dropped.
        """
        changes: dict[tuple[str, str], AppointmentChange] = {}
        lower = f"gt{instant(since)}"
        response = self._client.request("GET", "Appointment", params=self._changes_query(lower))
        for _ in range(self._CHANGE_PAGES):
            bundle = self._client.expect_ok(response, "search Appointment")
            page = [_change(r) for r in resources_of(bundle, "Appointment") if r.get("id")]
            newest = max((change.updated_at for change in page), default=None)
            known = len(changes)
            changes.update({(c.external_id, c.version or c.updated_at.isoformat()): c for c in page})
            next_url = next_link(bundle)
            if next_url is not None:
                try:
                    response = self._client.request("GET", next_url)
                except ValueError:  # a next link off our server: not followed (our token goes nowhere else)
                    break
            elif len(page) >= self._CHANGE_PAGE and len(changes) > known and newest is not None:
                lower = f"ge{instant(newest)}"
                response = self._client.request("GET", "Appointment", params=self._changes_query(lower))
            else:
                break
        # Sorted here too: a server that ignores _sort must not make the poll's checkpoint skip a change.
        return sorted(changes.values(), key=lambda change: change.updated_at)

    def _changes_query(self, last_updated: str) -> list[tuple[str, str]]:
        return [
            ("identifier", f"{self._site.ids.booking_system}|"),
            ("_lastUpdated", last_updated),
            ("_sort", "_lastUpdated"),
            ("_count", str(self._CHANGE_PAGE)),
        ]


# ---------------------------------------------------------------------- small helpers


def _referral_reference(appointment: dict[str, Any]) -> str | None:
    """The ServiceRequest the appointment is based on, if any."""
    references = (ref.get("reference") or "" for ref in appointment.get("basedOn", []))
    return next((ref for ref in references if ref.startswith("ServiceRequest/")), None)


def _slot_time(slot: dict[str, Any], slot_type: str, location: str) -> SlotTime:
    return SlotTime(
        id=f"Slot/{slot['id']}",
        slot_type=slot_type,
        start=parse_instant(slot.get("start")),
        end=parse_instant(slot.get("end")),
        location=location,
    )


def _change(appointment: dict[str, Any]) -> AppointmentChange:
    """An Appointment from the reconciliation search as an :class:`AppointmentChange`."""
    meta = appointment.get("meta") or {}
    updated = meta.get("lastUpdated")
    return AppointmentChange(
        external_id=f"Appointment/{appointment['id']}",
        status=appointment.get("status", "unknown"),
        # Every server stamps lastUpdated; without it the change counts as old (the checkpoint does not move).
        updated_at=parse_instant(updated) if isinstance(updated, str) else datetime.min.replace(tzinfo=UTC),
        version=meta.get("versionId"),
    )
