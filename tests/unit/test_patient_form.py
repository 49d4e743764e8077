"""The patient form's questions: each fills an intake field with values the intake accepts, in every language."""

from __future__ import annotations

import json
import uuid

import pytest
from werkzeug.datastructures import MultiDict

from routing.domain.labels import LABELS
from routing.domain.patient_form import EMERGENCY_RED_FLAGS, QUESTIONS, FieldError, field_errors, reference
from routing.domain.triage.rulebook import DEFAULT_RULEBOOK_PATH
from routing.http.webhook_delivery import form_to_nested
from schemas.inquiry import InquiryRequestSchema

CONTACT = {"first_name": "Ana", "last_name": "Diaz", "phone": "+1 555 0100"}


@pytest.mark.parametrize("name", sorted(name for name, question in QUESTIONS.items() if question.options))
def test_every_answer_of_every_question_is_accepted_by_the_intake(name):
    for option in QUESTIONS[name].options:
        form = MultiDict({**CONTACT, "message": "Sore back.", name: option.value})

        data = InquiryRequestSchema().load(form_to_nested(form))

        sent = data.get(name, data["symptoms"].get(name, data["patient"].get(name)))
        assert option.value == "" or sent is not None, (name, option.value)


@pytest.mark.parametrize("language", LABELS.languages)
def test_every_answer_has_words_in_every_language(language):
    for question in QUESTIONS.values():
        for option in question.options:
            source, first, second = option.words
            if source == "patient":
                assert LABELS.patient[language][first][second]
            elif source == "page":
                assert LABELS.pages[language][first][second]
            else:
                assert first.isdigit()


def test_the_emergency_boxes_are_the_rulebook_s_emergency_red_flags():
    rules = json.loads(DEFAULT_RULEBOOK_PATH.read_text())["rules"]
    (cauda_equina,) = [rule for rule in rules if rule["id"] == "R1"]

    assert cauda_equina["urgency"] == "emergency"
    assert sorted(EMERGENCY_RED_FLAGS) == sorted(cauda_equina["when"]["any_of"])


def test_the_durations_straddle_the_rulebook_s_edges():
    rulebook = json.loads(DEFAULT_RULEBOOK_PATH.read_text())
    persistent = rulebook["terms"]["persistent"]["at_least"]
    values = [int(option.value) for option in QUESTIONS["duration_days"].options]

    assert persistent in values  # "6 weeks to 3 months" starts exactly where persistent pain does
    assert [value for value in values if value <= 3] == [0, 1]


def test_intake_errors_become_the_questions_errors_in_the_patient_s_terms():
    errors = {
        "patient.email": ["Give an email address or a phone number so the clinic can reach you."],
        "patient.last_name": ["Missing data for required field."],
        "symptoms.red_flags.0": ["Must be one of: ..."],
        "symptoms.pain_score": ["Not a valid integer."],
        "message": ["Describe the pain in 'message' or answer at least one 'symptoms' question."],
        "webhook-id": ["Must be 1 to 200 characters."],
    }

    found = field_errors(errors, {"email": "", "phone": "  ", "message": ""})

    assert found == {
        "email": FieldError("email", "contact"),
        "last_name": FieldError("last_name", "last_name"),
        "red_flags": FieldError("red_flags", "choice"),
        "pain_score": FieldError("pain_score", "choice"),
        "message": FieldError("message", "message_missing"),
        "": FieldError(None, "other"),
    }


def test_a_given_but_wrong_email_or_message_is_called_wrong_not_missing():
    found = field_errors(
        {"patient.email": ["Not a valid email address."], "message": ["Longer than maximum length 10000."]},
        {"email": "ana@", "message": "x" * 10_001},
    )

    assert found == {"email": FieldError("email", "email"), "message": FieldError("message", "message")}


def test_the_reference_is_the_start_of_the_inquiry_id_in_two_groups():
    assert reference(uuid.UUID("7f3a91c2-0000-4000-8000-000000000000")) == "7F3A-91C2"
    assert reference("7f3a91c2-0000-4000-8000-000000000000") == "7F3A-91C2"
