"""The codes routing writes: service types, specialties, appointment types, procedures, order categories.

Data, not code: ``default.toml`` holds real HL7 / SNOMED CT / CPT codes, and a practice replaces it with
its own file (``ROUTING_TERMINOLOGY_FILE``). :func:`load_terminology` checks every entry at start, so a
missing or malformed code stops the service with a message naming it, never a booking later.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from routing.domain.vocabulary import Route, SlotType, Urgency

DEFAULT_TERMINOLOGY_PATH = Path(__file__).resolve().parent / "default.toml"
SLOT_TYPES = tuple(slot_type.value for slot_type in SlotType)
#: The routes that order something before booking (a ServiceRequest on FHIR, a referral row of ours).
ORDERING_ROUTES = (Route.IMAGING.value, Route.INJECTION.value)
URGENCIES = tuple(urgency.value for urgency in Urgency)

#: FHIR request-priority (routine < urgent < asap < stat) for our urgencies: ServiceRequest.priority, and the
#: priority our referral records keep. Order-preserving: "soon" is FHIR's "urgent" (promptly, above
#: routine), our "urgent" is FHIR's "asap".
REQUEST_PRIORITY = {
    Urgency.EMERGENCY: "stat",
    Urgency.URGENT: "asap",
    Urgency.SOON: "urgent",
    Urgency.ROUTINE: "routine",
}

# Each table of the file, and the keys every one of its entries must have.
_TABLES = {
    "service_type": SLOT_TYPES,
    "specialty": SLOT_TYPES,
    "appointment_type": URGENCIES,
    "procedure": ORDERING_ROUTES,
    "category": ORDERING_ROUTES,
}


class TerminologyError(ValueError):
    """The terminology file is missing an entry or has a malformed one; the message names it."""


@dataclass(frozen=True)
class Coding:
    """One code from one code system, as FHIR's Coding has it."""

    system: str
    code: str
    display: str = ""

    def as_fhir(self) -> dict[str, str]:
        """The FHIR Coding (display left out when empty)."""
        coding = {"system": self.system, "code": self.code}
        if self.display:
            coding["display"] = self.display
        return coding

    def as_concept(self) -> dict[str, Any]:
        """A FHIR CodeableConcept holding this one coding."""
        return {"coding": [self.as_fhir()]}


@dataclass(frozen=True)
class Terminology:
    """Every code routing writes, by what it describes."""

    service_type: dict[str, Coding]
    specialty: dict[str, Coding]
    appointment_type: dict[str, Coding]
    procedure: dict[str, Coding]
    category: dict[str, Coding]

    def with_service_types(self, codes: dict[str, tuple[str, str]]) -> Terminology:
        """A copy whose service types are ``codes`` (slot type -> (system, code)), e.g. from FHIR_SERVICE_TYPES."""
        changed = {slot_type: Coding(system, code) for slot_type, (system, code) in codes.items()}
        return replace(self, service_type={**self.service_type, **changed})


@functools.cache
def default_terminology() -> Terminology:
    """The shipped terminology (``default.toml``), read once."""
    return load_terminology(DEFAULT_TERMINOLOGY_PATH)


def load_terminology(path: Path = DEFAULT_TERMINOLOGY_PATH) -> Terminology:
    """Read and check a terminology file; raises TerminologyError naming the first bad entry."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise TerminologyError(f"terminology file {path} cannot be read: {error}") from None
    unknown = sorted(set(data) - set(_TABLES))
    if unknown:
        raise TerminologyError(f"terminology file {path}: unknown table(s) {', '.join(unknown)}")
    tables = {name: _table(path, name, data.get(name), keys) for name, keys in _TABLES.items()}
    return Terminology(**tables)


def _table(path: Path, name: str, entries: Any, keys: tuple[str, ...]) -> dict[str, Coding]:
    if not isinstance(entries, dict):
        raise TerminologyError(f"terminology file {path}: table [{name}] is missing")
    missing = [key for key in keys if key not in entries]
    extra = sorted(set(entries) - set(keys))
    if missing or extra:
        problems = [f"missing {', '.join(missing)}"] if missing else []
        problems += [f"unknown {', '.join(extra)}"] if extra else []
        raise TerminologyError(
            f"terminology file {path}: [{name}] needs exactly {', '.join(keys)} ({'; '.join(problems)})"
        )
    return {key: _coding(path, f"{name}.{key}", entries[key]) for key in keys}


def _coding(path: Path, where: str, entry: Any) -> Coding:
    if not isinstance(entry, dict) or set(entry) - {"system", "code", "display"}:
        raise TerminologyError(f"terminology file {path}: [{where}] takes only system, code and display")
    system, code, display = entry.get("system"), entry.get("code"), entry.get("display", "")
    if not isinstance(system, str) or not system.startswith(("http://", "https://", "urn:")):
        raise TerminologyError(
            f"terminology file {path}: [{where}] system must be an absolute URI (http(s):// or urn:)"
        )
    if not isinstance(code, str) or not code.strip() or code != code.strip():
        raise TerminologyError(
            f"terminology file {path}: [{where}] code must be a non-empty string without spaces around it"
        )
    if not isinstance(display, str):
        raise TerminologyError(f"terminology file {path}: [{where}] display must be text")
    return Coding(system, code, display)
