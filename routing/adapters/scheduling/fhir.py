"""The FHIR R4 scheduler: slots and appointments kept by a real scheduling system, over HTTP.

Resources used: ``Slot`` (free/busy time of one service type), ``Appointment`` (our booking, pointing at
its slot), ``ServiceRequest`` (the imaging or injection order an appointment is based on). Every call
goes through :class:`~routing.adapters.scheduling.fhir_http.FhirHttp`, which turns unreachable servers,
timeouts and 429/5xx into SchedulerUnavailable; this module maps the remaining answers (2xx, 4xx).

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

Error messages name resource types, ids and HTTP statuses only, never patient data.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import requests
from sqlalchemy.orm import Session

from routing.adapters.scheduling import fhir_capabilities, fhir_patients, fhir_resources
from routing.adapters.scheduling.fhir_resources import FhirIdentity
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
    SlotTaken,
    SlotTime,
    UnknownAppointment,
)
from routing.adapters.scheduling.search import book_earliest_by_search
from routing.domain.booking_plan import BookingPlan
from routing.domain.terminology import Terminology

if TYPE_CHECKING:
    from routing.adapters.scheduling.fhir_http import FhirHttp
    from routing.adapters.scheduling.fhir_strategies import BookingStrategy


# Appointments in these states hold nothing: a booking key whose appointment ended so may book again.
_DEAD_APPOINTMENT = frozenset({"cancelled", "entered-in-error"})
# Orders in these states may still be acted on, so cancelling their last appointment revokes them.
_OPEN_ORDER = frozenset({"draft", "active", "on-hold"})
# Who in a Schedule's actors may take part in an Appointment (R4 Appointment.participant.actor types).
_PARTICIPANT_TYPES = ("Practitioner/", "PractitionerRole/", "Location/", "HealthcareService/", "Device/")
# FHIR R4 id: 1-64 of [A-Za-z0-9-.]. Checked before an id goes into a URL path.
_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
# Versioned writes retried after a 412 caused by someone else's concurrent edit (cancel only).
_UPDATE_ATTEMPTS = 3
# Ask for the resource back on create/update (the default on common servers, but not required by FHIR).
_RETURN_RESOURCE = {"Prefer": "return=representation"}


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
    ):
        """``terminology``: the codes to write (its service types are also how free Slots are searched).

        ``strategy``: how slots are reserved (``fhir_strategies``): ``slot-update`` (the default here),
        ``appointment``, ``operations``, or ``auto``: chosen from the server's CapabilityStatement on the
        first call that books, searches or cancels, and kept; while the server cannot be reached those calls
        raise SchedulerUnavailable and the next one asks again. ``appointment_status``: the status an
        ``appointment`` strategy creates with (``booked``, or ``proposed`` for servers that confirm it).
        """
        self._http = http
        self._codes = terminology
        self._ids = identity
        self._service_types = {slot_type: (c.system, c.code) for slot_type, c in terminology.service_type.items()}
        if strategy not in fhir_capabilities.CHOICES or appointment_status not in fhir_capabilities.CREATE_STATUSES:
            raise ValueError(f"unknown FHIR booking strategy {strategy!r} or appointment status {appointment_status!r}")
        self._strategy_setting = strategy
        self._appointment_status = appointment_status
        self._strategy: BookingStrategy | None = None

    # ------------------------------------------------------------------ Scheduler protocol

    def book_earliest(self, session: Session, plan: BookingPlan, request: BookingRequest) -> BookingOutcome:
        """Search the window and book the first slot still free (FHIR has no "claim the earliest" call)."""
        return book_earliest_by_search(self, session, plan, request)

    def find_booking(self, session: Session, booking_key: str) -> Booking | None:
        """The appointment made under this booking key and not cancelled (by its identifier), if any."""
        appointment = self._live_appointment(booking_key)
        return self._booking(appointment, fallback_slot_type="") if appointment is not None else None

    def breaker_state(self) -> str:
        """The HTTP client's circuit breaker: "closed", "half-open" or "open"."""
        return self._http.breaker_state

    def booking_strategy(self) -> str:
        """The booking strategy in use (``slot-update``, ``appointment``, ``operations``); see ``__init__``."""
        return self._booking_strategy().name

    def find_free_slots(
        self, session: Session, slot_type: str, start: datetime, end: datetime, limit: int = 10
    ) -> list[SlotTime]:
        """Free slots of ``slot_type`` starting after ``start`` and at or before ``end``, earliest first.

        ``start`` and ``end`` must be timezone-aware: FHIR reads a time without offset as the server's
        local time. The window maps to ``start=gt<start>&start=le<end>`` to match the embedded scheduler.
        """
        if limit < 1:
            return []
        strategy = self._booking_strategy()
        if strategy.finds_slots:
            return strategy.find_free_slots(slot_type, start, end, limit)
        system, code = self._service_type(slot_type)
        params = [
            ("status", "free"),
            ("service-type", f"{system}|{code}"),
            ("start", f"gt{_instant(start)}"),
            ("start", f"le{_instant(end)}"),
            ("_sort", "start"),
            ("_count", str(limit)),
        ]
        bundle = self._expect_ok(self._http.request("GET", "Slot", params=params), "search Slot")
        slots = [entry["resource"] for entry in bundle.get("entry", []) if "resource" in entry]
        # Bundles may carry included/outcome entries; keep the Slots, and never more than asked for.
        return [_slot_time(slot, slot_type) for slot in slots if slot.get("resourceType") == "Slot"][:limit]

    def book(self, session: Session, slot: SlotTime, request: BookingRequest) -> Booking:
        """Book ``slot`` for the request, idempotently per ``request.booking_key`` (see module doc).

        Raises SlotTaken when the slot is gone or someone else holds it, SchedulingRejected on any other
        refusal, SchedulerUnavailable when the server cannot be reached.
        """
        existing = self._live_appointment(request.booking_key)
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

    def cancel(self, session: Session, external_id: str, reason: str) -> None:
        """Cancel the appointment and free its slot; cancelling a cancelled appointment only re-frees the slot.

        The appointment is cancelled first: freeing the slot first and failing before the cancel would let
        someone book the slot while our appointment still holds it. A retry after such a failure finds the
        appointment cancelled and frees the slot then.
        """
        appointment = self._read_appointment(external_id)
        strategy = self._booking_strategy()
        if appointment.get("status") not in _DEAD_APPOINTMENT:
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
            # Imported here: the strategies build on this module's helpers.
            from routing.adapters.scheduling import fhir_strategies

            if self._strategy_setting == "auto":
                self._strategy = fhir_strategies.resolve(self, self._appointment_status)
            else:
                self._strategy = fhir_strategies.build(self._strategy_setting, self, None, self._appointment_status)
        return self._strategy

    def _live_appointment(self, key: str) -> dict[str, Any] | None:
        """The appointment already made for this booking key and not cancelled, if any."""
        params = {"identifier": f"{self._ids.booking_system}|{key}"}
        bundle = self._expect_ok(self._http.request("GET", "Appointment", params=params), "search Appointment")
        for entry in bundle.get("entry", []):
            resource = entry.get("resource") or {}
            if resource.get("resourceType") == "Appointment" and resource.get("status") not in _DEAD_APPOINTMENT:
                return resource
        return None

    def _slot_held_by(self, key: str) -> dict[str, Any] | None:
        """The slot an earlier attempt with this booking key claimed, if any."""
        params = {"identifier": f"{self._ids.booking_system}|{key}", "status": "busy"}
        bundle = self._expect_ok(self._http.request("GET", "Slot", params=params), "search Slot")
        slots = [entry.get("resource") or {} for entry in bundle.get("entry", [])]
        return next((slot for slot in slots if slot.get("resourceType") == "Slot"), None)

    def _claim_slot(self, slot_id: str, key: str) -> dict[str, Any]:
        """Mark the slot busy for ``key`` with a versioned update; the slot as now stored.

        Our own earlier attempt may already have claimed it (tag = key): that counts as claimed. A 412
        means someone changed the slot since we read it; one re-read tells whether that was us (a
        concurrent retry of the same booking) or another booker (SlotTaken).
        """
        for _ in range(2):
            current = self._read_slot(slot_id)
            if current.get("status") == "busy" and _identifier(current, self._ids.booking_system) == key:
                return current
            if current.get("status") != "free":
                raise SlotTaken(f"Slot/{slot_id} is {current.get('status')}")
            response = self._put_versioned(fhir_resources.busy(current, self._ids.booking_system, key))
            if response.status_code in (409, 412):
                continue
            return self._expect_ok(response, "update Slot")
        raise SlotTaken(f"Slot/{slot_id} was taken by another booking")

    def _patient_reference(self, request: BookingRequest) -> dict[str, str]:
        """The patient's record on the server, found or made (see ``fhir_patients``), as a reference.

        Raises PatientNotIdentified when the server's records leave doubt. A request without the names to
        look anyone up by books with a display-only participant.
        """
        details = request.patient
        if details is None:
            return fhir_resources.display_only(request)
        record = fhir_patients.choose(details, self._patient_candidates(details))
        if record is None:
            system, value = self._ids.patient_system, str(request.inquiry_id)
            resource = fhir_patients.new_patient(details, system, value)
            record = self._conditional_create(resource, f"identifier={system}|{value}")
        return fhir_patients.reference(record, details)

    def _patient_candidates(self, details: PatientDetails) -> list[dict[str, Any]]:
        """Every Patient the search finds, page by page; too many to compare raises PatientNotIdentified."""
        response = self._http.request("GET", "Patient", params=fhir_patients.search_params(details))
        candidates: list[dict[str, Any]] = []
        for _ in range(fhir_patients.MAX_PAGES):
            bundle = self._expect_ok(response, "search Patient")
            resources = (entry.get("resource") or {} for entry in bundle.get("entry", []))
            candidates += [resource for resource in resources if resource.get("resourceType") == "Patient"]
            following = _next_link(bundle)
            if following is None:
                return candidates
            response = self._http.request("GET", following)
        raise PatientNotIdentified(f"more than {len(candidates)} patient records share this family name")

    def _order(self, request: BookingRequest, referral: ReferralRequest, patient: dict[str, str]) -> str:
        """The inquiry's active order for the procedure, made once and reused by a rebook; ``ServiceRequest/<id>``."""
        resource = fhir_resources.service_request(
            request, referral, codes=self._codes, ids=self._ids, subject=patient, authored_on=_now()
        )
        criteria = (
            f"identifier={self._ids.inquiry_system}|{request.inquiry_id}"
            f"&code={referral.code_system}|{referral.code}&status=active"
        )
        created = self._conditional_create(resource, criteria)
        return f"ServiceRequest/{created['id']}"

    def _create_appointment(
        self,
        slot: dict[str, Any],
        slot_type: str,
        request: BookingRequest,
        patient: dict[str, str],
        order_ref: str | None,
    ) -> dict[str, Any]:
        """The Appointment for this booking key (made once), on the claimed slot."""
        self._service_type(slot_type)  # an unknown slot type is refused before anything is written
        resource = fhir_resources.appointment(
            slot,
            slot_type,
            request,
            codes=self._codes,
            ids=self._ids,
            patient=patient,
            actors=self._schedule_actors(slot),
            order_ref=order_ref,
            created=_now(),
        )
        # Dead appointments excluded, as in step 1, so a key whose appointment was cancelled can book again.
        dead = "".join(f"&status:not={status}" for status in sorted(_DEAD_APPOINTMENT))
        criteria = f"identifier={self._ids.booking_system}|{request.booking_key}{dead}"
        return self._conditional_create(resource, criteria)

    def _schedule_actors(self, slot: dict[str, Any]) -> list[str]:
        """Who the slot's Schedule is for (practitioner, location...): they take part in the appointment."""
        schedule_id = _reference_id("Schedule", (slot.get("schedule") or {}).get("reference", ""))
        if schedule_id is None:
            return []
        response = self._http.request("GET", f"Schedule/{schedule_id}")
        if response.status_code in (404, 410):
            return []  # the appointment stands without them; the slot is what was booked
        schedule = self._expect_ok(response, "read Schedule")
        references = (actor.get("reference") or "" for actor in schedule.get("actor", []))
        return [reference for reference in references if reference.startswith(_PARTICIPANT_TYPES)]

    def _order_still_used(self, order_ref: str) -> bool:
        """Whether a live appointment is still based on the order (a rebook or an override reused it)."""
        params = {"based-on": order_ref}
        bundle = self._expect_ok(self._http.request("GET", "Appointment", params=params), "search Appointment")
        appointments = [entry.get("resource") or {} for entry in bundle.get("entry", [])]
        return any(
            a.get("status") not in _DEAD_APPOINTMENT for a in appointments if a.get("resourceType") == "Appointment"
        )

    def _revoke_order(self, order_ref: str) -> None:
        """Withdraw an order nothing is based on any more; one already completed or revoked is left alone."""
        order_id = _reference_id("ServiceRequest", order_ref)
        if order_id is None:
            return
        response = self._http.request("GET", f"ServiceRequest/{order_id}")
        if response.status_code in (404, 410):
            return
        order = self._expect_ok(response, "read ServiceRequest")
        if order.get("status") in _OPEN_ORDER:
            self._update_with_retry(order, fhir_resources.revoked)

    def _free_slot(self, slot_id: str, key: str | None) -> None:
        """Set the slot free again unless another booking holds it now; a missing slot is left alone."""
        for _ in range(_UPDATE_ATTEMPTS):
            response = self._http.request("GET", f"Slot/{slot_id}")
            if response.status_code in (404, 410):
                return
            current = self._expect_ok(response, "read Slot")
            holder = _identifier(current, self._ids.booking_system)
            if current.get("status") != "busy" or (holder is not None and holder != key):
                return
            response = self._put_versioned(fhir_resources.freed(current, self._ids.booking_system))
            if response.status_code not in (409, 412):
                self._expect_ok(response, "update Slot")
                return
        raise SchedulingRejected(f"Slot/{slot_id} kept changing while being freed")

    # ------------------------------------------------------------------ FHIR calls

    def _service_type(self, slot_type: str) -> tuple[str, str]:
        try:
            return self._service_types[slot_type]
        except KeyError:
            raise SchedulingRejected(f"no FHIR service type configured for slot type {slot_type!r}") from None

    def _slot_type_of(self, resource: dict[str, Any]) -> str | None:
        """Our slot type for a resource's serviceType codings; else the first code, so staff see something."""
        by_coding = {coding: slot_type for slot_type, coding in self._service_types.items()}
        codings = [coding for concept in resource.get("serviceType", []) for coding in concept.get("coding", [])]
        for coding in codings:
            slot_type = by_coding.get((coding.get("system"), coding.get("code")))
            if slot_type is not None:
                return slot_type
        return next((coding["code"] for coding in codings if coding.get("code")), None)

    def _read_slot(self, slot_id: str) -> dict[str, Any]:
        response = self._http.request("GET", f"Slot/{slot_id}")
        if response.status_code in (404, 410):
            raise SlotTaken(f"Slot/{slot_id} no longer exists")
        return self._expect_ok(response, "read Slot")

    def _read_appointment(self, external_id: str) -> dict[str, Any]:
        appointment_id = _reference_id("Appointment", external_id)
        if appointment_id is None:
            raise UnknownAppointment("not a FHIR Appointment reference")
        response = self._http.request("GET", f"Appointment/{appointment_id}")
        if response.status_code in (404, 410):
            raise UnknownAppointment(f"Appointment/{appointment_id} not found")
        return self._expect_ok(response, "read Appointment")

    def _put_versioned(self, resource: dict[str, Any]) -> requests.Response:
        """PUT the resource only if the server still has the version we read (409/412 otherwise)."""
        headers = {**_RETURN_RESOURCE, "If-Match": f'W/"{resource["meta"]["versionId"]}"'}
        path = f"{resource['resourceType']}/{resource['id']}"
        return self._http.request("PUT", path, json=resource, headers=headers)

    def _update_with_retry(
        self, resource: dict[str, Any], change: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> dict[str, Any]:
        """Apply ``change`` with a versioned update, re-reading and re-applying after a concurrent edit."""
        path = f"{resource['resourceType']}/{resource['id']}"
        for _ in range(_UPDATE_ATTEMPTS):
            response = self._put_versioned(change(resource))
            if response.status_code not in (409, 412):
                return self._expect_ok(response, f"update {resource['resourceType']}")
            resource = self._expect_ok(self._http.request("GET", path), f"read {resource['resourceType']}")
        raise SchedulingRejected(f"{path} kept changing while being updated")

    def _conditional_create(self, resource: dict[str, Any], criteria: str) -> dict[str, Any]:
        """POST with If-None-Exist: 201 made it, 200 found the one an earlier attempt made."""
        headers = {**_RETURN_RESOURCE, "If-None-Exist": criteria}
        kind = resource["resourceType"]
        return self._expect_ok(self._http.request("POST", kind, json=resource, headers=headers), f"create {kind}")

    def _expect_ok(self, response: requests.Response, what: str) -> dict[str, Any]:
        """The JSON body of a 2xx answer; any other answer is a refusal retrying will not fix."""
        if 200 <= response.status_code < 300:
            try:
                return response.json()
            except ValueError:
                raise SchedulingRejected(f"FHIR {what}: HTTP {response.status_code} without a JSON body") from None
        raise SchedulingRejected(f"FHIR {what} refused: HTTP {response.status_code}{_issue_codes(response)}")

    def _booking(self, appointment: dict[str, Any], *, fallback_slot_type: str) -> Booking:
        """Our view of an Appointment: reference, slot and times, status, and the order it is based on."""
        slot = SlotTime(
            id=next(iter(_slot_references(appointment)), ""),
            slot_type=self._slot_type_of(appointment) or fallback_slot_type,
            start=_parse_instant(appointment.get("start")),
            end=_parse_instant(appointment.get("end")),
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
        lower = f"gt{_instant(since)}"
        response = self._http.request("GET", "Appointment", params=self._changes_query(lower))
        for _ in range(self._CHANGE_PAGES):
            bundle = self._expect_ok(response, "search Appointment")
            resources = [entry.get("resource") or {} for entry in bundle.get("entry", [])]
            page = [_change(r) for r in resources if r.get("resourceType") == "Appointment" and r.get("id")]
            newest = max((change.updated_at for change in page), default=None)
            known = len(changes)
            changes.update({(c.external_id, c.version or c.updated_at.isoformat()): c for c in page})
            next_url = _next_link(bundle)
            if next_url is not None:
                try:
                    response = self._http.request("GET", next_url)
                except ValueError:  # a next link off our server: not followed (our token goes nowhere else)
                    break
            elif len(page) >= self._CHANGE_PAGE and len(changes) > known and newest is not None:
                lower = f"ge{_instant(newest)}"
                response = self._http.request("GET", "Appointment", params=self._changes_query(lower))
            else:
                break
        # Sorted here too: a server that ignores _sort must not make the poll's checkpoint skip a change.
        return sorted(changes.values(), key=lambda change: change.updated_at)

    def _changes_query(self, last_updated: str) -> list[tuple[str, str]]:
        return [
            ("identifier", f"{self._ids.booking_system}|"),
            ("_lastUpdated", last_updated),
            ("_sort", "_lastUpdated"),
            ("_count", str(self._CHANGE_PAGE)),
        ]


# ---------------------------------------------------------------------- small helpers


def _identifier(resource: dict[str, Any], system: str) -> str | None:
    return next((i.get("value") for i in resource.get("identifier", []) if i.get("system") == system), None)


def _slot_references(appointment: dict[str, Any]) -> list[str]:
    return [ref["reference"] for ref in appointment.get("slot", []) if ref.get("reference")]


def _referral_reference(appointment: dict[str, Any]) -> str | None:
    """The ServiceRequest the appointment is based on, if any."""
    references = (ref.get("reference") or "" for ref in appointment.get("basedOn", []))
    return next((ref for ref in references if ref.startswith("ServiceRequest/")), None)


def _reference_id(resource_type: str, reference: str) -> str | None:
    """The id in ``<Type>/<id>`` (or a bare id); None for another type or a malformed id."""
    kind, _, rest = reference.rpartition("/")
    if kind and kind != resource_type:
        return None
    return rest if _FHIR_ID.fullmatch(rest) else None


def _slot_time(slot: dict[str, Any], slot_type: str) -> SlotTime:
    return SlotTime(
        id=f"Slot/{slot['id']}",
        slot_type=slot_type,
        start=_parse_instant(slot.get("start")),
        end=_parse_instant(slot.get("end")),
    )


def _instant(moment: datetime) -> str:
    """A FHIR instant in UTC; naive datetimes are refused (the server would read them as its local time)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("FHIR search times must be timezone-aware")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse_instant(value: Any) -> datetime:
    """A FHIR instant as an aware datetime (FHIR requires the offset on Slot and Appointment times)."""
    if not isinstance(value, str):
        raise SchedulingRejected("FHIR resource without start/end time")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise SchedulingRejected("FHIR time without a timezone offset")
    return moment


def _issue_codes(response: requests.Response) -> str:
    """OperationOutcome issue codes (coded, so free of patient data; diagnostics text may not be)."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict) or body.get("resourceType") != "OperationOutcome":
        return ""
    codes = sorted({str(issue.get("code")) for issue in body.get("issue", []) if issue.get("code")})
    return f" ({', '.join(codes)})" if codes else ""


def _now() -> str:
    """Now as a FHIR dateTime (for ``authoredOn`` and ``created``)."""
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _change(appointment: dict[str, Any]) -> AppointmentChange:
    """An Appointment from the reconciliation search as an :class:`AppointmentChange`."""
    meta = appointment.get("meta") or {}
    updated = meta.get("lastUpdated")
    return AppointmentChange(
        external_id=f"Appointment/{appointment['id']}",
        status=appointment.get("status", "unknown"),
        # Every server stamps lastUpdated; without it the change counts as old (the checkpoint does not move).
        updated_at=_parse_instant(updated) if isinstance(updated, str) else datetime.min.replace(tzinfo=UTC),
        version=meta.get("versionId"),
    )


def _next_link(bundle: dict[str, Any]) -> str | None:
    """The URL of a search Bundle's next page, if it has one."""
    return next((link.get("url") for link in bundle.get("link", []) if link.get("relation") == "next"), None)
