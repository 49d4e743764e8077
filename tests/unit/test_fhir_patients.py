"""Choosing the patient's record among a FHIR server's candidates: take one only when in no doubt."""

from __future__ import annotations

from datetime import date

import pytest

from routing.adapters.scheduling import fhir_patients
from routing.adapters.scheduling.interface import PatientDetails, PatientNotIdentified

pytestmark = pytest.mark.fast

ANA = PatientDetails("Ana", "Díaz", date(1975, 2, 3), "ana@example.org", "555-010-0142")


def record(id_: str, *, family="Diaz", given="ana", birth="1975-02-03", telecom=(("email", "ANA@example.org"),)):
    return {
        "resourceType": "Patient",
        "id": id_,
        "name": [{"family": family, "given": [given]}],
        "birthDate": birth,
        "telecom": [{"system": system, "value": value} for system, value in telecom],
    }


def test_the_one_record_with_names_birth_date_and_contact_is_taken():
    chosen = fhir_patients.choose(ANA, [record("1"), record("2", given="Anabel")])

    assert chosen["id"] == "1"


def test_no_candidate_means_a_new_record():
    assert fhir_patients.choose(ANA, [record("9", family="Diaz-Lopez")]) is None


def test_a_record_of_another_birth_date_is_not_a_candidate():
    assert fhir_patients.choose(ANA, [record("3", birth="1976-02-03")]) is None


def test_a_phone_written_differently_is_the_same_phone():
    chosen = fhir_patients.choose(ANA, [record("4", telecom=(("phone", "+1 (555) 010 0142"),))])

    assert chosen["id"] == "4"


def test_without_a_birth_date_a_contact_is_needed_and_a_namesake_without_one_is_someone_else():
    ana = PatientDetails("Ana", "Díaz", None, "ana@example.org", None)

    assert fhir_patients.choose(ana, [record("5", telecom=(("email", "other@example.org"),))]) is None
    assert fhir_patients.choose(ana, [record("6")])["id"] == "6"


def test_two_records_that_fit_are_left_to_staff():
    with pytest.raises(PatientNotIdentified, match=r"^2 patient records share this name, birth date and contact$"):
        fhir_patients.choose(ANA, [record("7"), record("8")])


def test_search_asks_for_the_family_name_and_birth_date_only():
    assert fhir_patients.search_params(ANA) == [("family", "Díaz"), ("_count", "50"), ("birthdate", "1975-02-03")]


def test_patient_details_never_show_in_a_repr():
    assert repr(ANA) == "PatientDetails()"


def graded(*grades: str) -> dict:
    entries = [
        {
            "resource": {"resourceType": "Patient", "id": str(n)},
            "search": {"mode": "match", "extension": [{"url": fhir_patients.MATCH_GRADE, "valueCode": grade}]},
        }
        for n, grade in enumerate(grades)
    ]
    return {"resourceType": "Bundle", "type": "searchset", "entry": entries}


def test_a_single_certain_match_is_taken_whatever_else_is_possible():
    assert fhir_patients.choose_matched(graded("possible", "certain", "certainly-not"))["id"] == "1"


def test_possible_and_certainly_not_matches_mean_a_new_record():
    assert fhir_patients.choose_matched(graded("possible", "certainly-not")) is None
    assert fhir_patients.choose_matched(graded()) is None


@pytest.mark.parametrize(
    ("grades", "message"),
    [
        (("certain", "certain"), "2 patient records are certain matches"),
        (("probable", "possible"), r"1 patient record\(s\) are probable matches, none certain"),
    ],
)
def test_doubtful_matches_are_left_to_staff(grades, message):
    with pytest.raises(PatientNotIdentified, match=f"^{message}$"):
        fhir_patients.choose_matched(graded(*grades))
