"""Who a booking is for on a FHIR server: find the patient's record, or make one, never guess.

Pure functions; the FHIR calls are the scheduler's (``fhir.py``). A record is taken only when the server's
candidates leave no doubt:

* with a birth date, the candidates are the records with the patient's names and birth date; one of them
  whose email or phone is the patient's is taken. Candidates without a matching contact, or several with
  one, are in doubt: staff choose (an old phone number, twins, a parent and child of one name);
* without a birth date, a record needs the names and a matching email or phone; several are in doubt;
* no candidate at all: a new record is made (conditional create on our own identifier, so a retry finds
  the one the first attempt made).

Names compare without case or accents ("José" is "jose"); phones by their last ten digits; emails
without case.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from routing.adapters.scheduling.interface import PatientDetails, PatientNotIdentified

#: Phone numbers compare on their last digits, so "+1 (555) 010-0142" and "555 010 0142" are one number.
_PHONE_DIGITS = 10


#: Candidate records read per search page, and pages at most: past that, too many to compare (staff choose).
PAGE_SIZE = 50
MAX_PAGES = 4


def search_params(patient: PatientDetails) -> list[tuple[str, str]]:
    """The Patient search that finds every candidate record: the family name, and the birth date when known.

    The given name is compared here rather than searched: servers differ on accents and case in ``given``
    ("Lucía" against "LUCIA"), and a missed candidate would make a second record for one patient.
    """
    params = [("family", patient.last_name), ("_count", str(PAGE_SIZE))]
    if patient.birth_date is not None:
        params.append(("birthdate", patient.birth_date.isoformat()))
    return params


def choose(patient: PatientDetails, candidates: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The one record that is this patient, None when there is none (make one), or PatientNotIdentified."""
    named = [record for record in candidates if _same_person_named(patient, record)]
    with_contact = [record for record in named if _shares_contact(patient, record)]
    if len(with_contact) == 1:
        return with_contact[0]
    if len(with_contact) > 1:
        raise PatientNotIdentified(f"{len(with_contact)} patient records share this name, birth date and contact")
    if patient.birth_date is not None and named:
        raise PatientNotIdentified(
            f"{len(named)} patient record(s) with this name and birth date, none with the contact details given"
        )
    return None


def new_patient(patient: PatientDetails, identifier_system: str | None, identifier_value: str | None) -> dict[str, Any]:
    """A Patient resource for someone the server has no record of, under our own identifier (if given)."""
    resource: dict[str, Any] = {"resourceType": "Patient"}
    if identifier_system is not None and identifier_value is not None:
        resource["identifier"] = [{"system": identifier_system, "value": identifier_value}]
    resource |= {
        "active": True,
        "name": [{"use": "official", "family": patient.last_name, "given": [patient.first_name]}],
    }
    telecom = []
    if patient.phone:
        telecom.append({"system": "phone", "value": patient.phone})
    if patient.email:
        telecom.append({"system": "email", "value": patient.email})
    if telecom:
        resource["telecom"] = telecom
    if patient.birth_date is not None:
        resource["birthDate"] = patient.birth_date.isoformat()
    return resource


#: The extension a ``Patient/$match`` answer grades each candidate with (FHIR R4 match-grade).
MATCH_GRADE = "http://hl7.org/fhir/StructureDefinition/match-grade"
#: How many candidates ``$match`` is asked for: enough to see that there is more than one.
MATCH_COUNT = 5


def match_parameters(patient: PatientDetails) -> dict[str, Any]:
    """The Parameters of ``Patient/$match`` (FHIR R4): the patient as given, every grade asked for."""
    return {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "resource", "resource": new_patient(patient, None, None)},
            {"name": "onlyCertainMatches", "valueBoolean": False},
            {"name": "count", "valueInteger": MATCH_COUNT},
        ],
    }


def choose_matched(bundle: dict[str, Any]) -> dict[str, Any] | None:
    """The record the server's ``$match`` is certain of, None for no plausible one, or PatientNotIdentified.

    One ``certain`` candidate is taken. Several ``certain`` ones, or only ``probable`` ones (the server
    thinks it may be them), are in doubt: staff choose. ``possible`` and ``certainly-not`` candidates are
    not this patient as far as the server can tell: a record is made.
    """
    graded: dict[str, list[dict[str, Any]]] = {}
    for entry in bundle.get("entry", []):
        record = entry.get("resource") or {}
        if record.get("resourceType") == "Patient":
            graded.setdefault(_match_grade(entry), []).append(record)
    certain, probable = graded.get("certain", []), graded.get("probable", [])
    if len(certain) == 1:
        return certain[0]
    if certain:
        raise PatientNotIdentified(f"{len(certain)} patient records are certain matches")
    if probable:
        raise PatientNotIdentified(f"{len(probable)} patient record(s) are probable matches, none certain")
    return None


def reference(record: dict[str, Any], patient: PatientDetails) -> dict[str, str]:
    """The reference an Appointment or ServiceRequest gives to the record, with the name for people."""
    return {"reference": f"Patient/{record['id']}", "display": patient.display}


def _match_grade(entry: dict[str, Any]) -> str:
    extensions = (entry.get("search") or {}).get("extension", [])
    return next((e.get("valueCode", "") for e in extensions if e.get("url") == MATCH_GRADE), "")


def _same_person_named(patient: PatientDetails, record: dict[str, Any]) -> bool:
    """The record carries the patient's family and given name (and birth date, when both are known).

    Servers match ``family``/``given`` as prefixes ("Ann" finds "Anna"), so the search is checked again here.
    """
    if patient.birth_date is not None and record.get("birthDate") not in (None, patient.birth_date.isoformat()):
        return False
    family, given = _folded(patient.last_name), _folded(patient.first_name)
    for name in record.get("name", []):
        if _folded(name.get("family", "")) == family and given in {_folded(g) for g in name.get("given", [])}:
            return True
    return False


def _shares_contact(patient: PatientDetails, record: dict[str, Any]) -> bool:
    email = (patient.email or "").casefold()
    phone = _digits(patient.phone or "")
    for point in record.get("telecom", []):
        value = str(point.get("value", ""))
        if email and point.get("system") == "email" and value.casefold() == email:
            return True
        if phone and point.get("system") in ("phone", "sms") and _digits(value) == phone:
            return True
    return False


def _folded(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _digits(phone: str) -> str:
    return "".join(char for char in phone if char.isdigit())[-_PHONE_DIGITS:]
