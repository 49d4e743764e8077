"""The intake as a FHIR R4 Questionnaire, and QuestionnaireResponses to it posted to POST /v1/inquiries."""

from __future__ import annotations

import json
import uuid

import pytest
from fhir.resources.questionnaire import Questionnaire
from fhir.resources.questionnaireresponse import QuestionnaireResponse

from routing import create_app
from routing.adapters.db.models import Inquiry
from routing.domain.triage.facts import RED_FLAGS
from tests.conftest import settings_for
from tests.http.admin_helpers import bearer, make_token
from tests.http.intake_helpers import add_slots, busy_slots, count
from tests.http.questionnaire_helpers import FHIR_JSON, QUESTIONNAIRE_PATH, respond

PROBLEM = "application/problem+json"
TRANSLATION = "http://hl7.org/fhir/StructureDefinition/translation"

#: Who is asking, as a patient fills the "About you" items.
ABOUT_ANA = {
    "patient.first_name": "Ana",
    "patient.last_name": "Diaz",
    "patient.email": "ana@example.org",
    "patient.date_of_birth": "1975-02-03",
}


@pytest.fixture
def slots(app):
    """Consults tomorrow and the day after."""
    add_slots(app, "consult", [26, 27])
    return app


@pytest.fixture
def questionnaire(client) -> dict:
    return client.get(QUESTIONNAIRE_PATH).get_json(force=True)


def _post(client, resource: dict):
    return client.post("/v1/inquiries", data=json.dumps(resource), content_type=FHIR_JSON)


def _stored(app, inquiry_id: str) -> Inquiry:
    with app.extensions["routing"].db.session() as session:
        return session.get(Inquiry, uuid.UUID(inquiry_id))


def _link_ids(items: list[dict]) -> list[str]:
    return [link for item in items for link in [item["linkId"], *_link_ids(item.get("item", []))]]


def _translation(element: dict) -> dict[str, str]:
    return {
        ext["extension"][0]["valueCode"]: ext["extension"][1]["valueString"]
        for ext in element["extension"]
        if ext["url"] == TRANSLATION
    }


# --- the Questionnaire ----------------------------------------------------------------------------------------


def test_the_questionnaire_is_fhir_r4_with_an_item_for_every_intake_field_by_its_path(client):
    response = client.get(QUESTIONNAIRE_PATH)

    assert response.status_code == 200
    assert response.mimetype == FHIR_JSON
    resource = response.get_json(force=True)
    assert json.loads(Questionnaire.parse_obj(resource).json()) == resource  # R4 (4.0.1), nothing dropped
    assert (resource["id"], resource["status"], resource["language"]) == ("back-pain-intake", "active", "en")
    assert _link_ids(resource["item"]) == [
        "patient",
        "patient.first_name",
        "patient.last_name",
        "patient.email",
        "patient.phone",
        "patient.date_of_birth",
        "symptoms",
        "symptoms.onset",
        "symptoms.duration_days",
        "symptoms.episodes",
        "symptoms.trigger",
        "symptoms.location",
        "symptoms.pain_score",
        "symptoms.muscle_relaxants",
        "symptoms.radiating_leg_pain",
        "symptoms.diagnosed_conditions",
        "symptoms.prior_imaging",
        "symptoms.red_flags",
        "message",
        "preferred_times",
        "unavailable_times",
        "preferred_location",
        "postal_code",
        "consent",
        "language",
        "contact_preference",
    ]


def test_the_red_flag_item_offers_every_red_flag_coded_in_the_patient_s_words_in_english_and_spanish(questionnaire):
    symptoms = next(item for item in questionnaire["item"] if item["linkId"] == "symptoms")
    red_flags = next(item for item in symptoms["item"] if item["linkId"] == "symptoms.red_flags")

    assert (red_flags["type"], red_flags["repeats"]) == ("choice", True)
    codings = [option["valueCoding"] for option in red_flags["answerOption"]]
    assert [coding["code"] for coding in codings] == list(RED_FLAGS)
    assert {coding["system"] for coding in codings} == {"https://clinic.example.org/fhir/CodeSystem/red_flags"}
    saddle = codings[1]
    assert saddle["display"] == "Numbness around your bottom, genitals or inner thighs (where you sit or wipe)"
    assert _translation(saddle["_display"]) == {
        "es": "Adormecimiento alrededor de las nalgas, los genitales o la parte interna de los muslos "
        "(donde se sienta o se limpia)"
    }
    assert red_flags["text"] == "Do any of these apply to you now?"
    assert _translation(red_flags["_text"]) == {"es": "¿Le pasa ahora alguna de estas cosas?"}


def test_items_carry_the_intake_s_own_types_and_limits(questionnaire):
    items = {item["linkId"]: item for group in questionnaire["item"] for item in [group, *group.get("item", [])]}

    assert items["symptoms.pain_score"]["type"] == "integer"
    assert items["symptoms.pain_score"]["extension"] == [
        {"url": "http://hl7.org/fhir/StructureDefinition/minValue", "valueInteger": 0},
        {"url": "http://hl7.org/fhir/StructureDefinition/maxValue", "valueInteger": 10},
    ]
    assert (items["patient.first_name"]["required"], items["patient.first_name"]["maxLength"]) == (True, 100)
    assert items["patient.date_of_birth"]["type"] == "date"
    assert items["message"]["type"] == "text"
    assert items["symptoms.prior_imaging"]["type"] == "boolean"
    language = [option["valueCoding"] for option in items["language"]["answerOption"]]
    assert [(coding["system"], coding["code"], coding["display"]) for coding in language] == [
        ("urn:ietf:bcp:47", "en", "English"),
        ("urn:ietf:bcp:47", "es", "Español"),
    ]
    assert [_translation(coding["_display"]) for coding in language] == [{"es": "English"}, {"es": "Español"}]


def test_the_questionnaire_and_its_code_systems_are_named_under_the_clinic_s_website(migrated_url):
    clinic = {
        "ROUTING_CLINIC_NAME": "Lakeside Back Care",
        "ROUTING_CLINIC_PHONE": "+1 212 555 0100",
        "ROUTING_CLINIC_ADDRESS": "1 Lake St, Springfield",
        "ROUTING_CLINIC_WEBSITE": "https://www.lakeside-back.example/",
    }
    app = create_app(settings_for(migrated_url, **clinic))
    try:
        resource = app.test_client().get(QUESTIONNAIRE_PATH).get_json(force=True)
    finally:
        app.extensions["routing"].db.dispose()

    assert resource["url"] == "https://www.lakeside-back.example/fhir/Questionnaire/back-pain-intake"
    onset = resource["item"][1]["item"][0]
    assert (
        onset["answerOption"][0]["valueCoding"]["system"] == "https://www.lakeside-back.example/fhir/CodeSystem/onset"
    )


# --- QuestionnaireResponses at the intake ---------------------------------------------------------------------


def test_a_response_with_a_red_flag_ticked_goes_to_urgent_review_with_exactly_the_answered_facts(
    client, slots, questionnaire
):
    answers = {
        **ABOUT_ANA,
        "symptoms.onset": "sudden",
        "symptoms.duration_days": 2,
        "symptoms.episodes": "first",
        "symptoms.trigger": "lifting",
        "symptoms.location": "lower_back",
        "symptoms.pain_score": 8,
        "symptoms.muscle_relaxants": "not_tried",
        "symptoms.radiating_leg_pain": True,
        "symptoms.diagnosed_conditions": ["disc_herniation"],
        "symptoms.prior_imaging": False,
        "symptoms.red_flags": ["saddle_numbness"],
        "consent": True,
    }
    resource = respond(questionnaire, answers)
    assert QuestionnaireResponse.parse_obj(resource)  # what we send is R4 itself

    response = _post(client, resource)

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["status"], body["triage"]["urgency"], body["appointment"]) == ("urgent_review", "emergency", None)
    assert busy_slots(slots) == 0
    stored = _stored(slots, body["id"])
    assert stored.facts["values"] == {
        "onset": "sudden",
        "duration_days": 2,
        "episodes": "first",
        "trigger": "lifting",
        "location": "lower_back",
        "pain_score": 8,
        "muscle_relaxants": "not_tried",
        "radiating_leg_pain": True,
        "diagnosed_conditions": ["disc_herniation"],
        "prior_imaging": False,
        "red_flags": ["saddle_numbness"],
    }
    # Kept as received; stored for staff and the booking worker as the intake body its answers make.
    assert (stored.raw_body, stored.content_type) == (json.dumps(resource).encode(), FHIR_JSON)
    assert stored.payload == {
        "patient": {
            "first_name": "Ana",
            "last_name": "Diaz",
            "email": "ana@example.org",
            "date_of_birth": "1975-02-03",
        },
        "symptoms": {
            key.removeprefix("symptoms."): value for key, value in answers.items() if key.startswith("symptoms.")
        },
        "consent": True,
    }


def test_a_response_without_red_flags_is_booked(client, slots, questionnaire):
    answers = {**ABOUT_ANA, "symptoms.onset": "sudden", "symptoms.trigger": "lifting", "symptoms.pain_score": 6}

    response = _post(client, respond(questionnaire, answers))

    assert response.status_code == 201, response.get_json()
    assert (response.get_json()["status"], response.get_json()["triage"]["route"]) == ("booked", "consult")
    assert busy_slots(slots) == 1


def test_staff_find_a_response_s_inquiry_by_the_patient_s_name_and_read_its_answers(client, slots, questionnaire):
    answers = {**ABOUT_ANA, "symptoms.pain_score": 6, "message": "Lifted a box."}
    inquiry_id = _post(client, respond(questionnaire, answers)).get_json()["id"]
    staff = bearer(make_token(slots, "Desk", "staff"))

    found = client.get("/v1/admin/inquiries?search=diaz", headers=staff).get_json()
    detail = client.get(f"/v1/admin/inquiries/{inquiry_id}", headers=staff).get_json()

    assert [item["id"] for item in found["items"]] == [inquiry_id]
    assert (detail["patient"]["last_name"], detail["message"], detail["symptoms"]) == (
        "Diaz",
        "Lifted a box.",
        {"pain_score": 6},
    )


def test_a_response_in_spanish_gets_the_patient_s_message_in_spanish(client, slots, questionnaire):
    answers = {**ABOUT_ANA, "symptoms.red_flags": ["fever"], "message": "Me duele la espalda desde ayer."}

    body = _post(client, respond(questionnaire, answers, language="es")).get_json()

    assert body["language"] == "es"
    assert body["patient_message"].startswith("Algo de lo que describe necesita la revisión de un profesional")


def test_a_response_naming_its_language_item_wins_over_the_resource_language(client, slots, questionnaire):
    answers = {**ABOUT_ANA, "symptoms.pain_score": 4, "language": "es"}

    body = _post(client, respond(questionnaire, answers, language="en")).get_json()

    assert body["language"] == "es"


def test_a_bad_response_is_a_422_naming_each_bad_item_by_link_id_and_nothing_is_stored(client, slots, questionnaire):
    resource = respond(questionnaire, ABOUT_ANA, status="in-progress")
    two_onsets = [{"valueCoding": {"code": "sudden"}}, {"valueCoding": {"code": "gradual"}}]
    snomed_neck = {"valueCoding": {"system": "http://snomed.info/sct", "code": "neck"}}
    symptoms = {"linkId": "symptoms", "item": [
        {"linkId": "symptoms.pain_score", "answer": [{"valueString": "8"}]},
        {"linkId": "symptoms.onset", "answer": two_onsets},
        {"linkId": "symptoms.trigger", "answer": [{"valueCoding": {"code": "sneezing"}}]},
        {"linkId": "symptoms.location", "answer": [snomed_neck]},
        {"linkId": "symptoms.mood", "answer": [{"valueBoolean": True}]},
    ]}  # fmt: skip
    resource["item"].append(symptoms)

    response = _post(client, resource)

    assert response.status_code == 422
    assert response.content_type == PROBLEM
    assert response.get_json()["errors"] == {
        "status": ["Is 'in-progress'; send the response once it is completed."],
        "symptoms.pain_score": ["answer[0]: Must be a valueInteger (the item is of type integer), not valueString."],
        "symptoms.onset": ["Has 2 answers; this question takes one."],
        "symptoms.trigger": [
            "answer[0]: The code must be one of: lifting, twisting, exercise, other_exertion, none, unknown; "
            "not 'sneezing'."
        ],
        "symptoms.location": [
            "answer[0]: The coding's system must be https://clinic.example.org/fhir/CodeSystem/location, "
            "not http://snomed.info/sct."
        ],
        "symptoms.mood": ["Is not an item of the Questionnaire."],
    }
    assert count(slots, Inquiry) == 0


def test_a_response_that_is_not_fhir_r4_is_a_422_naming_the_item_that_breaks_it(client, slots, questionnaire):
    resource = respond(questionnaire, ABOUT_ANA)
    resource["item"][0]["item"][0]["answer"] = [{"valueInteger": "Ana"}]
    resource["item"].append({"answer": [{"valueBoolean": True}]})
    resource["mood"] = "fine"

    response = _post(client, resource)

    assert response.status_code == 422
    assert response.get_json()["errors"] == {
        "patient.first_name": ["answer[0].valueInteger: value is not a valid integer"],
        "item[1].linkId": ["field required"],
        "mood": ["extra fields not permitted"],
    }


def test_answers_the_intake_refuses_are_named_by_link_id(client, slots, questionnaire):
    answers = {"patient.first_name": "Ana", "patient.email": "not-an-email", "symptoms.pain_score": 11}

    response = _post(client, respond(questionnaire, answers))

    assert response.status_code == 422
    assert response.get_json()["errors"] == {
        "patient.last_name": ["Missing data for required field."],
        "patient.email": ["Not a valid email address."],
        "symptoms.pain_score": ["Must be greater than or equal to 0 and less than or equal to 10."],
    }


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"resourceType": "Patient"}, "resourceType", "Must be QuestionnaireResponse."),
        (
            {"questionnaire": "https://other.example/Questionnaire/phq-9"},
            "questionnaire",
            "Must be https://clinic.example.org/fhir/Questionnaire/back-pain-intake, the Questionnaire at "
            "GET /fhir/Questionnaire/back-pain-intake.",
        ),
    ],
)
def test_a_response_to_anything_but_our_questionnaire_is_refused(client, slots, questionnaire, change, field, message):
    resource = {**respond(questionnaire, {**ABOUT_ANA, "symptoms.pain_score": 5}), **change}

    response = _post(client, resource)

    assert response.status_code == 422
    assert response.get_json()["errors"] == {field: [message]}


def test_a_response_naming_a_version_of_our_questionnaire_is_taken(client, slots, questionnaire):
    resource = respond(questionnaire, {**ABOUT_ANA, "symptoms.pain_score": 5})
    resource["questionnaire"] += f"|{questionnaire['version']}"

    assert _post(client, resource).status_code == 201


def test_the_same_response_again_is_the_same_inquiry_by_its_identifier(client, slots, questionnaire):
    identifier = {"system": "urn:ietf:rfc:3986", "value": "urn:uuid:6a7e7c40-2a0c-4a53-9a3c-3c4a1f0e9b11"}
    first = respond(questionnaire, {**ABOUT_ANA, "symptoms.pain_score": 5}, identifier=identifier)
    changed = respond(questionnaire, {**ABOUT_ANA, "symptoms.pain_score": 9}, identifier=identifier)

    created = _post(client, first)
    # Resent by the form filler, written anew: other spacing and key order, the same resource.
    redelivered = client.post("/v1/inquiries", data=json.dumps(first, indent=2, sort_keys=True), content_type=FHIR_JSON)
    conflicting = _post(client, changed)

    assert (created.status_code, redelivered.status_code) == (201, 200)
    assert redelivered.get_json()["id"] == created.get_json()["id"]
    assert conflicting.status_code == 409
    assert count(slots, Inquiry) == 1
    assert _stored(slots, created.get_json()["id"]).idempotency_key == (
        "QuestionnaireResponse:urn:ietf:rfc:3986|urn:uuid:6a7e7c40-2a0c-4a53-9a3c-3c4a1f0e9b11"
    )
