"""A small FHIR R4 scheduling server on loopback, for the booking strategies Medplum does not have.

Medplum (tests/fhir_server) lets clients write Slots, which the ``slot-update`` strategy needs, but it does
not mark a slot busy when an Appointment references it, and it has no ``$find``/``$hold``/``$book``
(checked against its router, 4.5.2). This server plays an EHR that keeps its own schedule, in one of two
modes:

* ``appointment`` (Oracle Health-style): clients may read and search Slots but not write them. A created
  Appointment must reference free Slots; the server marks them busy in the same step, or answers 409
  (OperationOutcome ``conflict``) when one is taken. Cancelling the Appointment (an update to status
  ``cancelled``) frees its slots. ``create_status`` says which status a create may carry: ``booked``, or
  ``proposed`` for a server that confirms bookings itself (it books at once when the slot is free).
  An Appointment created ``pending`` holds its slots instead (``busy-tentative``: never free to anyone
  else) until it is updated to ``booked`` (slots ``busy``) or cancelled (slots free).
* ``operations`` (IHE ITI Scheduling): Appointments are made only through the operations, written from
  the IHE texts (https://profiles.ihe.net/ITI/Scheduling/: ITI-115/116/117 and the appointment-find,
  -hold and -book OperationDefinitions):

  - ``$find`` (ITI-115): Parameters ``start``/``end`` (required), ``visit-type`` (``system|code``) and any
    ``location`` (References: only slots whose Schedule names one of them); ``_count`` honoured; answers a
    searchset Bundle of newly made *proposed* Appointments, one per free slot starting in [start, end], with
    ``total``. Held slots are never proposed.
  - ``$hold`` (ITI-116): ``appointment-reference`` to a proposal. Its slots become ``busy-tentative`` for
    ``hold_seconds`` of the server's clock and the Appointment ``pending``; a proposal no longer available
    gets 409 with an OperationOutcome ``fatal``/``not-found`` (ITI-116's "not available" answer). A hold
    not booked in time expires: its slots are free again and its Appointment ``cancelled``.
  - ``$book`` (ITI-117): ``appointment-resource`` with the held Appointment's id and status ``pending``
    (the 1.0.1 build's rule) books it with the client's content (slots ``busy``, status ``booked``);
    the same with status ``cancelled`` cancels a held or booked one and frees its slots;
    ``appointment-reference`` books a held one as it is. A hold that expired answers the Appointment
    ``cancelled`` with an OperationOutcome ``not-found``. A ``$book`` repeated for an appointment already
    booked with the same identifiers answers it again (a retried call).

Both modes also serve what the scheduler needs around booking: Patient, ServiceRequest and Schedule
(read, search, conditional create, versioned update; Schedules searched by ``actor``, Slots by ``schedule``,
both with comma-separated alternatives), ``GET metadata`` (a CapabilityStatement saying
exactly the above, or ``statement`` when a test sets one), and Appointment read/search.

Test controls: ``seed_slots`` (as FhirTestServer's), ``get``/``search`` in-process, ``clock.advance``
(hold expiry without sleeping), ``refuse(route, *statuses)`` to answer the next calls of a route with
those statuses, ``interfere(route, action)`` to let another booker act just before the next call,
``received`` (every request), and ``invalid`` (every resource sent that fhir.resources'
R4 models refuse; such a request gets 400). One lock serialises requests, as a database would.
"""

from __future__ import annotations

import copy
import itertools
import json
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from fhir.resources import get_fhir_model_class
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

BASE = "/fhir/R4/"
FHIR_JSON = "application/fhir+json"
MODES = ("appointment", "operations")
IHE = "https://profiles.ihe.net/ITI/Scheduling/OperationDefinition/appointment-"
PATIENT_MATCH = "http://hl7.org/fhir/OperationDefinition/Patient-match"
MATCH_GRADE = "http://hl7.org/fhir/StructureDefinition/match-grade"
#: The identifier base the tests' scheduler uses (tests/scheduling/conftest.py TEST_IDENTITY).
TEST_IDENTIFIER_BASE = "https://clinic.example.org/fhir/identifier"
# What a search may ask per resource type (anything else is 400, so a client asking more is caught).
_SEARCHABLE = {
    "Slot": {"status", "service-type", "start", "identifier", "schedule"},
    "Appointment": {"identifier", "status", "slot", "based-on"},
    "Patient": {"identifier", "family", "birthdate"},
    "ServiceRequest": {"identifier", "code", "status"},
    "Schedule": {"identifier", "actor"},
}
_DEAD = {"cancelled", "entered-in-error"}
_SORTS = {"start": lambda r: _parse(r["start"]), "_lastUpdated": lambda r: _parse(r["meta"]["lastUpdated"])}


class FhirError(Exception):
    """Answered as an OperationOutcome with this HTTP status and issue code."""

    def __init__(self, status: int, code: str, diagnostics: str):
        super().__init__(diagnostics)
        self.status, self.code, self.diagnostics = status, code, diagnostics


@dataclass
class Clock:
    """The server's clock: real time plus what a test advanced it by."""

    offset: timedelta = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class ConformanceServer:
    """The server's state and behaviour; ``running_conformance_server`` puts it on a loopback port."""

    mode: str
    conditional_create: bool = True
    create_status: str = "booked"
    hold_seconds: float = 300.0
    #: Offer ``Patient/$match`` (FHIR R4, https://hl7.org/fhir/R4/patient-operation-match.html).
    patient_match: bool = False
    #: Served at GET metadata instead of the generated CapabilityStatement when set.
    statement: dict[str, Any] | None = None
    clock: Clock = field(default_factory=Clock)
    received: list[Received] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    base_url: str = ""

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        self._store: dict[str, dict[str, dict[str, Any]]] = {}
        self._holds: dict[str, datetime] = {}  # held Appointment id -> hold expiry
        self._refusals: dict[str, list[int]] = {}
        self._interference: dict[str, list[Callable[[], None]]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ test controls

    def seed_slots(
        self,
        service_type: tuple[str, str],
        starts: Sequence[datetime],
        *,
        minutes: int = 30,
        status: str = "free",
        actors: Sequence[str] = (),
    ) -> list[str]:
        """One Schedule (for ``actors``, else a display-only clinic) with a Slot at each start; their references."""
        system, code = service_type
        service = [{"coding": [{"system": system, "code": code}]}]
        actor = [{"reference": reference} for reference in actors] or [{"display": "Clinic"}]
        with self._lock:
            schedule = self._put_new(
                {"resourceType": "Schedule", "active": True, "serviceType": service, "actor": actor}
            )
            return [
                "Slot/"
                + self._put_new(
                    {
                        "resourceType": "Slot",
                        "schedule": {"reference": f"Schedule/{schedule['id']}"},
                        "serviceType": service,
                        "status": status,
                        "start": _instant(start),
                        "end": _instant(start + timedelta(minutes=minutes)),
                    }
                )["id"]
                for start in starts
            ]

    def add(self, resource: dict[str, Any]) -> dict[str, Any]:
        """Store a resource as the clinic's own staff would have made it (e.g. a Patient); the stored copy."""
        with self._lock:
            return copy.deepcopy(self._put_new(resource))

    def get(self, reference: str) -> dict[str, Any]:
        """The stored resource ``Type/id`` (a copy)."""
        kind, _, resource_id = reference.partition("/")
        with self._lock:
            self._expire_holds()
            return copy.deepcopy(self._store[kind][resource_id])

    def search(self, kind: str, **params: str) -> list[dict[str, Any]]:
        """What a search of ``kind`` finds (copies)."""
        with self._lock:
            self._expire_holds()
            return copy.deepcopy(self._search(kind, list(params.items())))

    def refuse(self, route: str, *statuses: int) -> None:
        """Answer the next calls of ``route`` ("$book", "$hold", "$find", "create Appointment") with ``statuses``."""
        self._refusals.setdefault(route, []).extend(statuses)

    def interfere(self, route: str, action: Callable[[], None]) -> None:
        """Run ``action`` just before the next call of ``route`` is handled (someone acting in between).

        It runs under the server's lock: it may call ``book_for_someone_else`` but not ``get``/``search``.
        """
        self._interference.setdefault(route, []).append(action)

    def book_for_someone_else(self, slot: str, booking_key: str | None = None) -> dict[str, Any]:
        """Appointment mode: another client's booked Appointment on ``slot`` (under ``booking_key`` if given)."""
        taken = self._slot(slot)
        resource: dict[str, Any] = {
            "resourceType": "Appointment",
            "status": self.create_status,
            "slot": [{"reference": slot}],
            "start": taken["start"],
            "end": taken["end"],
            "participant": [{"actor": {"display": "Someone else"}, "status": "accepted"}],
        }
        if booking_key is not None:
            resource["identifier"] = [{"system": f"{TEST_IDENTIFIER_BASE}/booking", "value": booking_key}]
        return self._create_appointment(resource)

    # ------------------------------------------------------------------ HTTP

    def wsgi(self, environ, start_response):
        request = Request(environ)
        try:
            body = json.loads(request.get_data() or b"null")
        except ValueError:
            body = None
        path = request.path
        self.received.append(Received(request.method, request.full_path, dict(request.headers), body))
        try:
            if not path.startswith(BASE):
                raise FhirError(404, "not-found", f"use {BASE}")
            with self._lock:
                self._expire_holds()
                status, resource = self._route(request, path[len(BASE) :], body)
        except FhirError as error:
            status, resource = error.status, _outcome(error.code, error.diagnostics)
        headers = {"Content-Type": FHIR_JSON}
        version = (resource.get("meta") or {}).get("versionId")
        if version and resource.get("resourceType") not in ("Bundle", "OperationOutcome", "CapabilityStatement"):
            headers["ETag"] = f'W/"{version}"'
        return Response(json.dumps(resource), status=status, headers=headers)(environ, start_response)

    def _route(self, request: Request, path: str, body: Any) -> tuple[int, dict[str, Any]]:
        parts = path.strip("/").split("/")
        method = request.method
        if parts == ["metadata"] and method == "GET":
            return 200, self.statement if self.statement is not None else self.capability_statement()
        if parts == ["Patient", "$match"] and method == "POST" and self.patient_match:
            return 200, self._match(self._valid_resource(body, "Parameters"))
        if len(parts) == 2 and parts[0] == "Appointment" and parts[1].startswith("$") and method == "POST":
            if self.mode != "operations":
                raise FhirError(404, "not-supported", f"no operation {parts[1]}")
            return self._operation(parts[1], request, self._valid_resource(body, "Parameters"))
        kind = parts[0]
        if kind not in _SEARCHABLE:
            raise FhirError(404, "not-supported", f"no resource type {kind}")
        if len(parts) == 1 and method == "GET":
            return 200, _bundle(self._search(kind, list(parse_qsl(request.query_string.decode())), counted=True))
        if len(parts) == 1 and method == "POST":
            self._allowed(kind, "create")
            self._refused(f"create {kind}")
            return self._create(kind, self._valid_resource(body, kind), request.headers.get("If-None-Exist"))
        if len(parts) == 2 and method == "GET":
            return 200, self._read(kind, parts[1])
        if len(parts) == 2 and method == "PUT":
            self._allowed(kind, "update")
            return 200, self._update(kind, parts[1], self._valid_resource(body, kind), request.headers.get("If-Match"))
        raise FhirError(405, "not-supported", f"{method} {kind} is not allowed")

    # ------------------------------------------------------------------ CapabilityStatement

    def interactions(self) -> dict[str, list[str]]:
        """Per resource type, the interactions this server allows (what its CapabilityStatement says)."""
        appointment = ["read", "search-type"]
        if self.mode == "appointment":
            appointment += ["create", "update"]
        return {
            "Appointment": appointment,
            "Slot": ["read", "search-type"],
            "Schedule": ["read", "search-type"],
            "Patient": ["read", "search-type", "create"],
            "ServiceRequest": ["read", "search-type", "create", "update"],
        }

    def capability_statement(self) -> dict[str, Any]:
        resources = []
        for kind, codes in self.interactions().items():
            resource: dict[str, Any] = {
                "type": kind,
                "interaction": [{"code": code} for code in codes],
                "versioning": "versioned-update",
                "conditionalCreate": self.conditional_create or kind != "Appointment",
            }
            if kind == "Patient" and self.patient_match:
                resource["operation"] = [{"name": "match", "definition": PATIENT_MATCH}]
            if kind == "Appointment" and self.mode == "operations":
                names = ("find", "hold", "book")
                resource["operation"] = [{"name": name, "definition": f"{IHE}{name}"} for name in names]
            resources.append(resource)
        return {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": "2026-01-01",
            "kind": "instance",
            "fhirVersion": "4.0.1",
            "format": ["application/fhir+json"],
            "rest": [{"mode": "server", "resource": resources}],
        }

    def _allowed(self, kind: str, interaction: str) -> None:
        if interaction not in self.interactions().get(kind, []):
            raise FhirError(405, "not-supported", f"{interaction} is not allowed on {kind}")

    def _refused(self, route: str) -> None:
        """Cues set by the test for this call: interference first, then a refusal."""
        for action in self._interference.pop(route, []):
            action()
        statuses = self._refusals.get(route)
        if statuses:
            raise FhirError(statuses.pop(0), "processing", f"{route} refused on cue")

    # ------------------------------------------------------------------ REST

    def _read(self, kind: str, resource_id: str) -> dict[str, Any]:
        resource = self._store.get(kind, {}).get(resource_id)
        if resource is None:
            raise FhirError(404, "not-found", f"{kind}/{resource_id} not found")
        return resource

    def _create(self, kind: str, resource: dict[str, Any], if_none_exist: str | None) -> tuple[int, dict[str, Any]]:
        if if_none_exist:
            if not self.conditional_create and kind == "Appointment":
                raise FhirError(400, "not-supported", "conditional create is not supported on Appointment")
            found = self._search(kind, parse_qsl(if_none_exist))
            if len(found) > 1:
                raise FhirError(412, "duplicate", "several resources match If-None-Exist")
            if found:
                return 200, found[0]
        if kind == "Appointment":
            return 201, self._create_appointment(resource)
        return 201, self._put_new(resource)

    def _update(self, kind: str, resource_id: str, resource: dict[str, Any], if_match: str | None) -> dict[str, Any]:
        current = self._read(kind, resource_id)
        if if_match is not None and if_match != f'W/"{current["meta"]["versionId"]}"':
            raise FhirError(412, "conflict", f"{kind}/{resource_id} changed since version {if_match}")
        if kind == "Appointment":
            if _references(resource, "slot") != _references(current, "slot"):
                raise FhirError(422, "business-rule", "an appointment's slots cannot be changed by update")
            if resource.get("status") in _DEAD and current.get("status") not in _DEAD:
                self._free(current)
            elif current.get("status") == "pending" and resource.get("status") == "booked":
                for slot in (self._slot(reference) for reference in _references(current, "slot")):
                    self._put_version({**slot, "status": "busy"}, slot)  # the hold becomes the booking
        return self._put_version({**resource, "id": resource_id}, current)

    def _create_appointment(self, resource: dict[str, Any]) -> dict[str, Any]:
        """Appointment mode: the referenced slots must be free; they are marked busy with the create (held,
        ``busy-tentative``, for a ``pending`` one)."""
        holding = resource.get("status") == "pending"
        if resource.get("status") != self.create_status and not holding:
            raise FhirError(422, "business-rule", f"appointments are created {self.create_status} or pending")
        slots = [self._slot(reference, missing_status=422) for reference in _references(resource, "slot")]
        if not slots:
            raise FhirError(422, "required", "an appointment must reference its slot")
        for slot in slots:
            if slot["status"] != "free":
                raise FhirError(409, "conflict", f"Slot/{slot['id']} is {slot['status']}")
        for slot in slots:
            self._put_version({**slot, "status": "busy-tentative" if holding else "busy"}, slot)
        if holding:
            return self._put_new(resource)
        # A proposed appointment on free slots is confirmed at once, as an EHR booking it would.
        return self._put_new({**resource, "status": "booked"})

    # ------------------------------------------------------------------ IHE operations

    def _operation(self, name: str, request: Request, parameters: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        self._refused(name)
        values = {p["name"]: p for p in parameters.get("parameter", [])}
        if name == "$find":
            locations = [p["valueReference"]["reference"] for p in parameters["parameter"] if p["name"] == "location"]
            return 200, self._find(values, request.args.get("_count"), locations)
        if name == "$hold":
            return 200, self._hold(values)
        if name == "$book":
            return 200, self._book(values)
        raise FhirError(404, "not-supported", f"no operation {name}")

    def _match(self, parameters: dict[str, Any]) -> dict[str, Any]:
        """``Patient/$match``, graded as the R4 operation describes: each candidate in a searchset Bundle
        with ``search.mode`` match, a ``score`` and the ``match-grade`` extension. This server's rule: names,
        birth date and a telecom value equal: certain; names and birth date: probable; family name: possible.
        """
        values = {p["name"]: p for p in parameters.get("parameter", [])}
        wanted = values["resource"]["resource"]
        name = (wanted.get("name") or [{}])[0]
        telecom = {point.get("value") for point in wanted.get("telecom", [])}
        entries = []
        for record in self._store.get("Patient", {}).values():
            names = record.get("name") or [{}]
            same_family = any(n.get("family") == name.get("family") for n in names)
            same_names = any(
                n.get("family") == name.get("family") and n.get("given") == name.get("given") for n in names
            )
            same_birth = record.get("birthDate") == wanted.get("birthDate")
            shares_contact = bool(telecom & {point.get("value") for point in record.get("telecom", [])})
            if same_names and same_birth and shares_contact:
                grade, score = "certain", 1.0
            elif same_names and same_birth:
                grade, score = "probable", 0.8
            elif same_family:
                grade, score = "possible", 0.3
            else:
                continue
            search = {"mode": "match", "score": score, "extension": [{"url": MATCH_GRADE, "valueCode": grade}]}
            entries.append({"fullUrl": f"Patient/{record['id']}", "resource": record, "search": search})
        return {"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries}

    def _find(self, values: dict[str, dict[str, Any]], count: str | None, locations: list[str]) -> dict[str, Any]:
        if "start" not in values or "end" not in values:
            raise FhirError(400, "required", "$find needs start and end")
        start = _parse(values["start"]["valueDateTime"])
        end = _parse(values["end"]["valueDateTime"])
        visit_type = values.get("visit-type", {}).get("valueString")
        slots = [
            slot
            for slot in self._store.get("Slot", {}).values()
            if slot["status"] == "free"
            and start <= _parse(slot["start"]) <= end
            and (visit_type is None or _token_matches(visit_type, _codings(slot.get("serviceType"))))
            and (not locations or bool(set(locations) & set(self._schedule_actors(slot))))
        ]
        slots.sort(key=lambda slot: _parse(slot["start"]))
        total = len(slots)
        if count is not None:
            slots = slots[: int(count)]
        proposals = [self._put_new(self._proposal(slot)) for slot in slots]
        bundle = _bundle(proposals)
        bundle["total"] = total
        return bundle

    def _schedule_actors(self, slot: dict[str, Any]) -> list[str]:
        """The references of the actors of the slot's Schedule (its practitioner, its Location...)."""
        return _references(self._store["Schedule"][slot["schedule"]["reference"].split("/", 1)[1]], "actor")

    def _proposal(self, slot: dict[str, Any]) -> dict[str, Any]:
        schedule = self._store["Schedule"][slot["schedule"]["reference"].split("/", 1)[1]]
        return {
            "resourceType": "Appointment",
            "status": "proposed",
            "serviceType": slot.get("serviceType", []),
            "slot": [{"reference": f"Slot/{slot['id']}"}],
            "start": slot["start"],
            "end": slot["end"],
            "participant": [
                {"actor": actor, "required": "required", "status": "needs-action"} for actor in schedule["actor"]
            ],
        }

    def _hold(self, values: dict[str, dict[str, Any]]) -> dict[str, Any]:
        reference = (values.get("appointment-reference") or {}).get("valueReference", {}).get("reference", "")
        proposal = self._store.get("Appointment", {}).get(reference.removeprefix("Appointment/"))
        unavailable = FhirError(409, "not-found", f"{reference} is not available to hold")
        if proposal is None or proposal["status"] != "proposed":
            raise unavailable
        slots = [self._slot(ref) for ref in _references(proposal, "slot")]
        if any(slot["status"] != "free" for slot in slots):
            raise unavailable
        for slot in slots:
            self._put_version({**slot, "status": "busy-tentative"}, slot)
        held = self._put_version({**proposal, "status": "pending"}, proposal)
        self._holds[held["id"]] = self.clock.now() + timedelta(seconds=self.hold_seconds)
        return _bundle([held])

    def _book(self, values: dict[str, dict[str, Any]]) -> dict[str, Any]:
        resource = (values.get("appointment-resource") or {}).get("resource")
        if resource is None:
            reference = (values.get("appointment-reference") or {}).get("valueReference", {}).get("reference", "")
            current = self._store.get("Appointment", {}).get(reference.removeprefix("Appointment/"))
            if current is None:
                raise FhirError(404, "not-found", f"{reference} not found")
            resource = {**current, "status": "pending"}
        current = self._store.get("Appointment", {}).get(resource.get("id", ""))
        if current is None:
            raise FhirError(404, "not-found", "$book names no known appointment")
        if resource.get("status") == "cancelled":
            if current["status"] not in _DEAD:
                self._free(current)
                self._holds.pop(current["id"], None)
                current = self._put_version({**resource, "id": current["id"]}, current)
            return _bundle([current])
        if resource.get("status") != "pending":
            raise FhirError(422, "business-rule", "an appointment-resource to book has status pending")
        if current["status"] == "booked" and _identifiers(resource) and _identifiers(resource) <= _identifiers(current):
            return _bundle([current])  # a retried $book
        if current["status"] != "pending":
            rejected = {**current, "status": "cancelled"} if current["status"] != "booked" else current
            return _bundle([rejected, _outcome("not-found", f"Appointment/{current['id']} is not held")])
        if _references(resource, "slot") != _references(current, "slot") or resource.get("start") != current["start"]:
            raise FhirError(422, "business-rule", "the appointment booked must keep the held slots and time")
        for slot in (self._slot(ref) for ref in _references(current, "slot")):
            self._put_version({**slot, "status": "busy"}, slot)
        self._holds.pop(current["id"], None)
        return _bundle([self._put_version({**resource, "status": "booked"}, current)])

    def _expire_holds(self) -> None:
        now = self.clock.now()
        for appointment_id, until in list(self._holds.items()):
            if until <= now:
                del self._holds[appointment_id]
                held = self._store["Appointment"][appointment_id]
                self._free(held)
                self._put_version({**held, "status": "cancelled"}, held)

    # ------------------------------------------------------------------ store

    def _slot(self, reference: str, missing_status: int = 404) -> dict[str, Any]:
        slot = self._store.get("Slot", {}).get(reference.removeprefix("Slot/"))
        if slot is None:
            raise FhirError(missing_status, "not-found", f"{reference} not found")
        return slot

    def _free(self, appointment: dict[str, Any]) -> None:
        """Free the slots an appointment (booked or held) kept."""
        for reference in _references(appointment, "slot"):
            slot = self._store.get("Slot", {}).get(reference.removeprefix("Slot/"))
            if slot is not None and slot["status"] in ("busy", "busy-tentative"):
                self._put_version({**slot, "status": "free"}, slot)

    def _put_new(self, resource: dict[str, Any]) -> dict[str, Any]:
        stored = {**resource, "id": str(next(self._ids))}
        return self._put_version(stored, None)

    def _put_version(self, resource: dict[str, Any], current: dict[str, Any] | None) -> dict[str, Any]:
        version = int(current["meta"]["versionId"]) + 1 if current else 1
        meta = {"versionId": str(version), "lastUpdated": _instant(self.clock.now())}
        stored = copy.deepcopy({**resource, "meta": meta})
        self._store.setdefault(stored["resourceType"], {})[stored["id"]] = stored
        return stored

    def _search(self, kind: str, params: list[tuple[str, str]], counted: bool = False) -> list[dict[str, Any]]:
        resources = list(self._store.get(kind, {}).values())
        count = None
        for name, value in params:
            base, _, modifier = name.partition(":")
            if base == "_count":
                count = int(value)
            elif base == "_sort":
                if value not in _SORTS:
                    raise FhirError(400, "not-supported", f"_sort={value} is not supported")
                resources.sort(key=_SORTS[value])
            elif base == "_lastUpdated":
                keep = _date_matcher(value, lambda r: r["meta"]["lastUpdated"])
                resources = [r for r in resources if keep(r)]
            elif base in _SEARCHABLE[kind]:
                keep = _matcher(base, value)
                resources = [r for r in resources if keep(r) != (modifier == "not")]
            else:
                raise FhirError(400, "not-supported", f"{kind} search by {name} is not supported")
        return resources[:count] if counted and count is not None else resources

    def _valid_resource(self, body: Any, kind: str) -> dict[str, Any]:
        if not isinstance(body, dict) or body.get("resourceType") != kind:
            raise FhirError(400, "invalid", f"the body is not a {kind}")
        try:
            get_fhir_model_class(kind).parse_obj(body)
        except ValueError as error:  # pydantic's ValidationError is a ValueError
            self.invalid.append(f"{kind}: {error}")
            raise FhirError(400, "invalid", f"{kind} is not valid R4") from None
        return body


# ---------------------------------------------------------------------- search and helpers


def _matcher(name: str, value: str):
    """A predicate for one search parameter (FHIR search semantics, the parts the scheduler uses)."""
    if name == "status":
        return lambda r: r.get("status") in value.split(",")
    if name == "identifier":
        return lambda r: _token_matches(value, [(i.get("system"), i.get("value")) for i in r.get("identifier", [])])
    if name == "service-type":
        return lambda r: _token_matches(value, _codings(r.get("serviceType")))
    if name == "code":
        return lambda r: _token_matches(value, _codings([r.get("code") or {}]))
    if name in ("slot", "based-on", "actor"):
        element = {"slot": "slot", "based-on": "basedOn", "actor": "actor"}[name]
        return lambda r: bool(set(value.split(",")) & set(_references(r, element)))
    if name == "schedule":
        return lambda r: (r.get("schedule") or {}).get("reference") in value.split(",")
    if name == "family":
        return lambda r: any(n.get("family", "").casefold().startswith(value.casefold()) for n in r.get("name", []))
    if name == "birthdate":
        return lambda r: r.get("birthDate") == value
    if name == "start":
        return _date_matcher(value, lambda r: r.get("start"))
    raise FhirError(400, "not-supported", f"search by {name} is not supported")


def _date_matcher(value: str, element):
    """A date search (``gt``, ``ge``, ``lt``, ``le``, ``eq`` prefixes) on the instant ``element`` gives."""
    prefix, moment = (value[:2], value[2:]) if value[:2] in ("gt", "ge", "lt", "le", "eq") else ("eq", value)
    bound = _parse(moment)
    compare = {
        "gt": lambda at: at > bound,
        "ge": lambda at: at >= bound,
        "lt": lambda at: at < bound,
        "le": lambda at: at <= bound,
        "eq": lambda at: at == bound,
    }[prefix]
    return lambda r: element(r) is not None and compare(_parse(element(r)))


def _token_matches(token: str, pairs: list[tuple[Any, Any]]) -> bool:
    """``code``, ``system|code``, or ``system|`` (any code of the system)."""
    system, bar, code = token.rpartition("|")
    return any((not bar or s == system) and (c == code or (bar and not code)) for s, c in pairs)


def _codings(concepts: Any) -> list[tuple[Any, Any]]:
    return [(c.get("system"), c.get("code")) for concept in concepts or [] for c in concept.get("coding", [])]


def _references(resource: dict[str, Any], element: str) -> list[str]:
    return [ref.get("reference") for ref in resource.get(element, []) if ref.get("reference")]


def _identifiers(resource: dict[str, Any]) -> set[tuple[Any, Any]]:
    return {(i.get("system"), i.get("value")) for i in resource.get("identifier", [])}


def _bundle(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": sum(1 for r in resources if r.get("resourceType") != "OperationOutcome"),
        "entry": [
            {"resource": r, "search": {"mode": "outcome" if r.get("resourceType") == "OperationOutcome" else "match"}}
            for r in resources
        ],
    }


def _outcome(code: str, diagnostics: str) -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "fatal" if code == "not-found" else "error", "code": code, "diagnostics": diagnostics}],
    }


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _instant(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class _QuietHandler(WSGIRequestHandler):
    """No access log: the tests' output stays readable (``received`` records every request)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


@contextmanager
def running_conformance_server(server: ConformanceServer) -> Iterator[ConformanceServer]:
    """Serve ``server`` on a free 127.0.0.1 port in a thread (its ``base_url`` set); always stop it."""
    httpd = make_server("127.0.0.1", 0, server.wsgi, threaded=True, request_handler=_QuietHandler)
    server.base_url = f"http://127.0.0.1:{httpd.server_port}{BASE}"
    thread = threading.Thread(target=httpd.serve_forever, name=f"conformance-{uuid.uuid4().hex[:6]}", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        thread.join(timeout=10)
        httpd.server_close()
