"""What a FHIR server says it can do, from its CapabilityStatement, and the booking strategy that fits it.

Pure functions; the ``GET [base]/metadata`` call is the scheduler's (``fhir_strategies.resolve``).

A CapabilityStatement (R4: https://hl7.org/fhir/R4/capabilitystatement.html) lists, in its ``rest``
entries of mode ``server``, the resource types served (``rest.resource.type``), the ``interaction``
codes allowed on each (``read``, ``search-type``, ``create``, ``update``...), whether ``conditionalCreate``
(``If-None-Exist``) is honoured, and the ``operation``s defined on it (a ``name`` and a canonical
``definition``); servers also list operations at ``rest.operation``.

The strategies, in the order ``auto`` prefers them (``choose``):

1. ``operations``: Appointment has ``$find``, ``$hold`` and ``$book`` (IHE ITI Scheduling, transactions
   ITI-115, ITI-116, ITI-117). The server finds, holds and books; we write nothing of its schedule.
2. ``slot-update``: Slot allows ``update`` and Appointment ``create``. The server lets clients keep its
   slots (general FHIR servers such as Medplum or HAPI), so we mark the slot busy ourselves.
3. ``appointment``: Appointment allows ``create`` and Slot does not allow ``update``. The server keeps its
   slots itself and marks one busy when an Appointment references it (Oracle Health-style EHRs).

Why ``slot-update`` comes before ``appointment``: R4 has no way to declare "creating an Appointment marks
its slot busy". A server that lets clients write Slots leaves their upkeep to the clients (Medplum does not
touch a slot when an Appointment references it), while one that refuses Slot writes must keep them itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

OPERATIONS = "operations"
APPOINTMENT = "appointment"
SLOT_UPDATE = "slot-update"
AUTO = "auto"
#: The strategies, in the order ``auto`` prefers them.
STRATEGIES = (OPERATIONS, SLOT_UPDATE, APPOINTMENT)
#: What FHIR_BOOKING_STRATEGY may say.
CHOICES = (AUTO, *STRATEGIES)
#: The Appointment.status an ``appointment`` strategy creates with (FHIR_APPOINTMENT_STATUS): booked, or
#: proposed for servers that take a request and confirm the booking themselves.
CREATE_STATUSES = ("booked", "proposed")

#: The IHE ITI Scheduling operations on Appointment, by operation name (the canonical definitions end in
#: ``OperationDefinition/appointment-<name>``, e.g. https://profiles.ihe.net/ITI/Scheduling/OperationDefinition/appointment-find).
SCHEDULING_OPERATIONS = ("find", "hold", "book")

# What each strategy needs the server to declare: (resource type, interaction or "$operation").
# Every strategy reads and searches Appointments (a retry finds what an earlier attempt made, by our
# booking key) and reads them back; cancelling is an update, except with the operations ($book cancels).
_APPOINTMENT_READS = (("Appointment", "read"), ("Appointment", "search-type"))
_NEEDS: dict[str, tuple[tuple[str, str], ...]] = {
    OPERATIONS: (*_APPOINTMENT_READS, *(("Appointment", f"${name}") for name in SCHEDULING_OPERATIONS)),
    SLOT_UPDATE: (
        *_APPOINTMENT_READS,
        ("Appointment", "create"),
        ("Appointment", "update"),
        ("Slot", "search-type"),
        ("Slot", "read"),
        ("Slot", "update"),
    ),
    APPOINTMENT: (
        *_APPOINTMENT_READS,
        ("Appointment", "create"),
        ("Appointment", "update"),
        ("Slot", "search-type"),
        ("Slot", "read"),
    ),
}


class NotACapabilityStatement(ValueError):
    """``GET [base]/metadata`` answered with something else than a CapabilityStatement."""


@dataclass(frozen=True)
class ServerCapabilities:
    """The parts of a server's CapabilityStatement that booking depends on."""

    #: Resource type -> the interaction codes allowed on it.
    interactions: dict[str, frozenset[str]] = field(default_factory=dict)
    #: Resource type -> operation names (without ``$``) defined on it.
    operations: dict[str, frozenset[str]] = field(default_factory=dict)
    #: Resource types whose ``conditionalCreate`` is true.
    conditional_create: frozenset[str] = frozenset()

    def allows(self, resource_type: str, interaction: str) -> bool:
        """Whether the server declares ``interaction`` (or ``$operation``) on ``resource_type``."""
        if interaction.startswith("$"):
            return interaction[1:] in self.operations.get(resource_type, frozenset())
        return interaction in self.interactions.get(resource_type, frozenset())

    def creates_conditionally(self, resource_type: str) -> bool:
        """Whether a create with ``If-None-Exist`` is honoured for ``resource_type``."""
        return resource_type in self.conditional_create


def parse(statement: Any) -> ServerCapabilities:
    """The booking-relevant capabilities of a CapabilityStatement (its ``rest`` entries in server mode)."""
    if not isinstance(statement, dict) or statement.get("resourceType") != "CapabilityStatement":
        kind = statement.get("resourceType") if isinstance(statement, dict) else type(statement).__name__
        raise NotACapabilityStatement(f"the server's metadata is a {kind}, not a CapabilityStatement")
    interactions: dict[str, set[str]] = {}
    operations: dict[str, set[str]] = {}
    conditional: set[str] = set()
    for rest in statement.get("rest", []):
        if rest.get("mode", "server") != "server":
            continue
        for resource in rest.get("resource", []):
            kind = resource.get("type")
            if not kind:
                continue
            codes = {i.get("code") for i in resource.get("interaction", []) if i.get("code")}
            interactions.setdefault(kind, set()).update(codes)
            operations.setdefault(kind, set()).update(filter(None, map(_operation_name, resource.get("operation", []))))
            if resource.get("conditionalCreate") is True:
                conditional.add(kind)
        # Operations listed for the whole server: the scheduling ones act on Appointment whatever the level.
        for operation in rest.get("operation", []):
            name = _operation_name(operation)
            if name in SCHEDULING_OPERATIONS and _definition_tail(operation).startswith("appointment-"):
                operations.setdefault("Appointment", set()).add(name)
    return ServerCapabilities(
        interactions={kind: frozenset(codes) for kind, codes in interactions.items()},
        operations={kind: frozenset(names) for kind, names in operations.items()},
        conditional_create=frozenset(conditional),
    )


def missing(capabilities: ServerCapabilities, strategy: str) -> list[str]:
    """What ``strategy`` needs that the server does not declare, e.g. ``["Slot update"]``; [] when nothing."""
    return [f"{kind} {what}" for kind, what in _NEEDS[strategy] if not capabilities.allows(kind, what)]


def choose(capabilities: ServerCapabilities) -> str | None:
    """The strategy ``auto`` takes for this server (see module doc), or None when none fits."""
    return next((strategy for strategy in STRATEGIES if not missing(capabilities, strategy)), None)


def explain_none(capabilities: ServerCapabilities) -> str:
    """Why no strategy fits: what each one lacks (resource types and interactions only)."""
    return "; ".join(f"{strategy} needs {', '.join(missing(capabilities, strategy))}" for strategy in STRATEGIES)


def _operation_name(operation: dict[str, Any]) -> str | None:
    """The operation's name without ``$``; an IHE/Argonaut scheduling operation is also known by its definition."""
    tail = _definition_tail(operation)
    if tail.startswith("appointment-") and tail.removeprefix("appointment-") in SCHEDULING_OPERATIONS:
        return tail.removeprefix("appointment-")
    name = str(operation.get("name") or "").lstrip("$")
    return name or None


def _definition_tail(operation: dict[str, Any]) -> str:
    """The last path segment of the operation's canonical definition, without a ``|version``."""
    definition = str(operation.get("definition") or "")
    return definition.split("|", 1)[0].rstrip("/").rsplit("/", 1)[-1]
