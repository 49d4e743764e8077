"""The intake Questionnaire built from data, and QuestionnaireResponses read back into the intake's body."""

from __future__ import annotations

import pytest

from routing.domain.labels import LABELS
from routing.domain.triage.facts import FACT_KINDS
from schemas.intake_fields import GROUPS, INTAKE_FIELDS
from schemas.questionnaire import DEFAULT_BASE, build_questionnaire, canonical_base, questionnaire_url
from schemas.questionnaire_response import ResponseErrors, read_response

BASE = DEFAULT_BASE
URL = questionnaire_url(BASE)


def _response(*items: dict) -> dict:
    return {"resourceType": "QuestionnaireResponse", "status": "completed", "questionnaire": URL, "item": list(items)}


def _answer(link_id: str, *answers: dict) -> dict:
    return {"linkId": link_id, "answer": list(answers)}


@pytest.mark.parametrize("language", LABELS.languages)
def test_every_intake_field_and_group_has_its_question_in_each_patient_language(language):
    questions = LABELS.patient[language]["question"]

    assert sorted(questions) == sorted({"intake", *GROUPS, *(field.name for field in INTAKE_FIELDS)})


def test_every_symptom_question_is_a_fact_of_the_rulebook_with_the_fact_s_own_codes():
    symptoms = {field.name: field for field in INTAKE_FIELDS if field.group == "symptoms"}

    assert list(symptoms) == list(FACT_KINDS)
    for name, (kind, allowed) in FACT_KINDS.items():
        assert symptoms[name].choices == allowed, name
        assert symptoms[name].repeats == (kind == "set"), name


def test_a_clinic_s_https_website_names_the_questionnaire_and_anything_else_gets_the_example_base():
    assert canonical_base("https://www.lakeside.example/") == "https://www.lakeside.example/fhir"
    assert canonical_base("http://www.lakeside.example") == DEFAULT_BASE
    assert canonical_base(None) == DEFAULT_BASE


def test_the_questionnaire_is_the_same_however_often_it_is_built():
    assert build_questionnaire(BASE, "1") == build_questionnaire(BASE, "1")


def test_items_may_come_grouped_or_flat_and_build_the_nested_body():
    flat = _response(
        _answer("patient.first_name", {"valueString": "Ana"}),
        _answer("symptoms.red_flags", {"valueCoding": {"code": "fever"}}, {"valueCoding": {"code": "leg_weakness"}}),
        _answer("symptoms.radiating_leg_pain", {"valueBoolean": False}),
        _answer("patient.date_of_birth", {"valueDate": "1975-02-03"}),
    )

    assert read_response(flat, BASE) == {
        "patient": {"first_name": "Ana", "date_of_birth": "1975-02-03"},
        "symptoms": {"red_flags": ["fever", "leg_weakness"], "radiating_leg_pain": False},
    }


def test_an_item_without_answers_is_unanswered():
    assert read_response(_response({"linkId": "symptoms.onset"}, _answer("message", {"valueString": "x"})), BASE) == {
        "message": "x"
    }


def test_the_response_language_chooses_the_patient_s_language_by_its_primary_tag_when_no_item_does():
    resource = {**_response(_answer("message", {"valueString": "Me duele"})), "language": "es-MX"}

    assert read_response(resource, BASE)["language"] == "es"
    assert "language" not in read_response({**resource, "language": "fr"}, BASE)


def test_an_item_answered_twice_or_a_group_with_answers_is_named():
    resource = _response(
        _answer("message", {"valueString": "a"}),
        _answer("message", {"valueString": "b"}),
        {"linkId": "patient", "answer": [{"valueString": "me"}]},
    )

    with pytest.raises(ResponseErrors) as raised:
        read_response(resource, BASE)

    assert raised.value.errors == {
        "message": ["Answered twice; give each item once."],
        "patient": ["Is a group: its items hold the answers, not the group."],
    }


def test_a_date_answer_to_a_date_question_must_be_a_date():
    with pytest.raises(ResponseErrors) as raised:
        read_response(_response(_answer("patient.date_of_birth", {"valueDateTime": "1975-02-03T10:00:00Z"})), BASE)

    assert raised.value.errors == {
        "patient.date_of_birth": ["answer[0]: Must be a valueDate (the item is of type date), not valueDateTime."]
    }


def test_a_body_that_is_no_resource_is_named_by_resource_type():
    for body in ([], {"resourceType": "Bundle"}, {}):
        with pytest.raises(ResponseErrors) as raised:
            read_response(body, BASE)
        assert raised.value.errors == {"resourceType": ["Must be QuestionnaireResponse."]}
