"""What a CapabilityStatement says about booking, and the strategy ``auto`` takes from it (pure functions)."""

from __future__ import annotations

import pytest

from routing.adapters.scheduling.fhir_capabilities import (
    NotACapabilityStatement,
    ServerCapabilities,
    choose,
    missing,
    parse,
)

IHE = "https://profiles.ihe.net/ITI/Scheduling/OperationDefinition/appointment-"
READS = ("read", "search-type")


def statement(*resources: dict, operations: tuple[dict, ...] = (), mode: str = "server") -> dict:
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "kind": "instance",
        "fhirVersion": "4.0.1",
        "rest": [{"mode": mode, "resource": list(resources), "operation": list(operations)}],
    }


def resource(kind: str, *interactions: str, conditional: bool = False, operations: tuple[dict, ...] = ()) -> dict:
    return {
        "type": kind,
        "interaction": [{"code": code} for code in interactions],
        "conditionalCreate": conditional,
        "operation": list(operations),
    }


def ihe(name: str) -> dict:
    return {"name": name, "definition": f"{IHE}{name}"}


# The capability sets the three kinds of server declare.
IHE_SCHEDULER = statement(
    resource("Appointment", *READS, operations=(ihe("find"), ihe("hold"), ihe("book"))), resource("Slot", *READS)
)
GENERAL_SERVER = statement(  # Medplum, HAPI: clients may write anything
    resource("Appointment", *READS, "create", "update", conditional=True),
    resource("Slot", *READS, "create", "update"),
)
EHR_KEEPING_ITS_SLOTS = statement(  # Oracle Health-style: Slots read-only
    resource("Appointment", *READS, "create", "update"), resource("Slot", *READS)
)


@pytest.mark.parametrize(
    ("capabilities", "strategy"),
    [
        (IHE_SCHEDULER, "operations"),
        (GENERAL_SERVER, "slot-update"),
        (EHR_KEEPING_ITS_SLOTS, "appointment"),
        (
            statement(
                resource("Appointment", *READS, "create", "update", operations=(ihe("find"), ihe("hold"), ihe("book"))),
                resource("Slot", *READS, "update"),
            ),
            "operations",
        ),
        (statement(resource("Appointment", *READS), resource("Slot", *READS)), None),
        (statement(resource("Appointment", *READS, operations=(ihe("find"), ihe("hold")))), None),
    ],
    ids=["ihe", "general", "ehr", "everything", "read-only", "no-book"],
)
def test_auto_takes_the_first_strategy_the_server_allows(capabilities, strategy):
    assert choose(parse(capabilities)) == strategy


def test_operations_are_known_by_name_with_or_without_dollar_or_by_their_definition():
    named = parse(statement(resource("Appointment", *READS, operations=({"name": "$find"}, {"name": "hold"}))))
    defined = parse(
        statement(resource("Appointment", *READS, operations=({"name": "x", "definition": f"{IHE}book|1.0.0"},)))
    )
    server_level = parse(statement(resource("Appointment", *READS), operations=(ihe("find"), {"name": "find-other"})))

    assert named.operations["Appointment"] == {"find", "hold"}
    assert defined.operations["Appointment"] == {"book"}
    assert server_level.operations["Appointment"] == {"find"}


def test_only_server_mode_counts_and_conditional_create_is_per_resource():
    client_only = parse(statement(resource("Slot", "update"), mode="client"))
    general = parse(GENERAL_SERVER)

    assert client_only == ServerCapabilities()
    assert (general.creates_conditionally("Appointment"), general.creates_conditionally("Slot")) == (True, False)


def test_what_a_strategy_lacks_is_named_by_resource_and_interaction():
    assert missing(parse(EHR_KEEPING_ITS_SLOTS), "slot-update") == ["Slot update"]
    assert missing(parse(GENERAL_SERVER), "operations") == [
        "Appointment $find",
        "Appointment $hold",
        "Appointment $book",
    ]


@pytest.mark.parametrize("metadata", [{"resourceType": "Bundle", "type": "searchset"}, [], None])
def test_anything_but_a_capability_statement_is_refused(metadata):
    with pytest.raises(NotACapabilityStatement, match="not a CapabilityStatement"):
        parse(metadata)
