"""Form mappings: checked at start with messages naming the file and entry; applied to builders' submissions."""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path

import pytest

from routing.adapters.forms import jotform, typeform
from routing.adapters.forms.mapping import (
    Answer,
    MappingError,
    Submission,
    UnmappedAnswers,
    intake_errors_by_builder_field,
    load_mapping,
    load_mappings,
    to_intake_body,
)
from routing.config import ConfigError, load_settings
from routing.domain.labels import LABELS
from tests.http.form_builder_helpers import MAPPING_DIRS, SECRETS

TOKEN = "Tk7vXw2LrT5nYb7kMz3pHc6sFd9gAe4u"
SECRET = "3f1d9a8e6c2b47f0a5d4e3c2b1a09f8e"
ENV = {"FORM_TOKEN": TOKEN, "FORM_SECRET": SECRET}
#: The least a form must fill: who, how to reach them, what hurts.
NEEDED = """
[fields]
first = "patient.first_name"
last = "patient.last_name"
mail = "patient.email"
story = "message"
"""


def _write(tmp_path: Path, text: str, name: str = "clinic-form") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _mapping(tmp_path: Path, text: str, name: str = "clinic-form"):
    return load_mapping(_write(tmp_path, text, name), ENV)


def _form(tmp_path: Path, extra_fields: str = "", head: str = 'builder = "json"\nsecret_env = "FORM_TOKEN"\n'):
    return _mapping(tmp_path, head + NEEDED + extra_fields)


def _answers(**values) -> Submission:
    return Submission("s-1", tuple(Answer((name,), value) for name, value in values.items()))


# --- checked at start -------------------------------------------------------------------------------------------


def test_the_documented_mappings_load():
    for directory in MAPPING_DIRS:
        assert load_mappings(directory, SECRETS)


JSON_FORM = 'builder = "json"\nsecret_env = "FORM_TOKEN"\n'
ONSET = 'q9 = { to = "symptoms.onset", values = '


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'builder = "wufoo"\nsecret_env = "FORM_TOKEN"',
            "builder = 'wufoo'; use one of: typeform, jotform, json, form",
        ),
        (JSON_FORM + 'webhook = "x"', "unknown entry 'webhook' (known: builder, secret_env, submission_id, language,"),
        ('builder = "json"', "secret_env must name the environment variable holding the form's URL token"),
        ('builder = "json"\nsecret_env = "NO_TOKEN"', "NO_TOKEN is not set; it must hold the form's URL token"),
        ('builder = "typeform"\nsecret_env = "FORM_SHORT"', "FORM_SHORT must be at least 16 characters of random"),
        ('builder = "jotform"\nsecret_env = "FORM_B64"', "FORM_B64 must be 32 or more URL-safe characters"),
        ('builder = "typeform"\nsecret_env = "FORM_SECRET"\nsubmission_id = "id"', "submission_id names where a json"),
        (JSON_FORM + 'language = "fr"', "language = 'fr'; use one of: en, es"),
        (JSON_FORM + 'ignore = "meta"', "ignore must be a list of builder field names"),
    ],
    ids=lambda value: value[:40] if isinstance(value, str) else value,
)
def test_a_bad_file_is_refused_naming_the_file_and_what_is_wrong(tmp_path, text, message):
    env = {**ENV, "FORM_SHORT": "too-short", "FORM_B64": "q83v+2Lr/5nYb7kMz3pHc6sFd9gAe4u=="}

    with pytest.raises(MappingError) as raised:
        load_mapping(_write(tmp_path, text + "\n" + NEEDED), env)

    assert str(raised.value).startswith("clinic-form.toml: ")
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (JSON_FORM, "clinic-form.toml: [fields] is missing"),
        (JSON_FORM + "fields = [", "clinic-form.toml: cannot be read"),
    ],
)
def test_a_file_without_fields_or_not_toml_is_refused(tmp_path, text, message):
    with pytest.raises(MappingError) as raised:
        _mapping(tmp_path, text)

    assert str(raised.value).startswith(message)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ('q9 = "symptoms.mood"', "[fields] 'q9': to = 'symptoms.mood' is not an intake field; use one of: patient."),
        (ONSET + '{}, colour = "red" }', "[fields] 'q9': unknown entry 'colour' (known: to, values)"),
        ("q9 = 7", "[fields] 'q9' must name an intake field"),
        (
            ONSET + '{ "Fast" = "quick" } }',
            "'Fast' = 'quick': must be one of the symptoms.onset codes: sudden, gradual,",
        ),
        (ONSET + '{ "Fast" = ["sudden"] } }', "must be one of the symptoms.onset codes: sudden"),
        (ONSET + "{} }", "values must be a table of the builder's answers"),
        (
            'q9 = { to = "symptoms.red_flags", values = { "Hot" = ["fever", "chills"] } }',
            "'Hot' = ['fever', 'chills']: must be one of the symptoms.red_flags codes (or a list of them, [] for none)",
        ),
        ('q9 = { to = "symptoms.prior_imaging", values = { "Yes" = "yes" } }', "'Yes' = 'yes': must be true or false"),
        ('q9 = { to = "symptoms.pain_score", values = { "Worst" = 11 } }', "must be a whole number from 0 to 10"),
        (
            'first_again = "patient.first_name"',
            "'first' and 'first_again' both fill patient.first_name, which takes one",
        ),
    ],
    ids=lambda value: value[:30] if isinstance(value, str) else value,
)
def test_a_bad_field_entry_is_refused_naming_it(tmp_path, fields, message):
    with pytest.raises(MappingError) as raised:
        _form(tmp_path, fields)

    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("removed", "message"),
    [
        ("first", "no field fills patient.first_name, which every inquiry needs"),
        ("last", "no field fills patient.last_name, which every inquiry needs"),
        ("mail", "no field fills patient.email or patient.phone, which every inquiry needs"),
        ("story", "no field fills message or symptoms.onset (or a symptoms.* question), which every inquiry needs"),
    ],
)
def test_a_mapping_that_cannot_make_an_inquiry_is_refused(tmp_path, removed, message):
    text = 'builder = "json"\nsecret_env = "FORM_TOKEN"\n' + "\n".join(
        line for line in NEEDED.splitlines() if not line.startswith(f"{removed} ")
    )

    with pytest.raises(MappingError) as raised:
        _mapping(tmp_path, text)

    assert str(raised.value) == f"clinic-form.toml: {message}"


def test_a_file_name_that_cannot_be_a_url_is_refused(tmp_path):
    with pytest.raises(MappingError) as raised:
        _mapping(tmp_path, 'builder = "json"', name="Clinic Form")

    assert str(raised.value).startswith("Clinic Form.toml: the name must be lowercase letters, digits and dashes")


def test_a_folder_without_mappings_or_no_folder_is_refused(tmp_path):
    with pytest.raises(MappingError, match=r"holds no <form-name>\.toml"):
        load_mappings(tmp_path, ENV)
    with pytest.raises(MappingError, match="is not a folder"):
        load_mappings(tmp_path / "missing", ENV)


def test_the_service_refuses_to_start_with_a_bad_mapping_naming_the_setting_and_the_file(tmp_path):
    _write(tmp_path, 'builder = "json"\nsecret_env = "FORM_TOKEN"\n[fields]\nq1 = "patient.age"\n')

    with pytest.raises(ConfigError) as raised:
        load_settings({"ROUTING_FORM_MAPPINGS": str(tmp_path), **ENV}, environ={})

    assert str(raised.value).startswith("ROUTING_FORM_MAPPINGS: clinic-form.toml: [fields] 'q1': to = 'patient.age'")


def test_secrets_come_from_the_environment_several_while_rotating(tmp_path):
    _form(tmp_path)
    path = tmp_path / "clinic-form.toml"

    mapping = load_mapping(path, {"FORM_TOKEN": f"{TOKEN} {TOKEN[::-1]}"})

    assert mapping.secrets == (TOKEN, TOKEN[::-1])
    assert TOKEN not in repr(mapping)


# --- applied to answers -----------------------------------------------------------------------------------------


def test_answers_fill_the_intake_body_and_unanswered_ones_are_left_out(tmp_path):
    form = _form(
        tmp_path, 'pain = "symptoms.pain_score"\nleg = "symptoms.radiating_leg_pain"\nq_empty = "symptoms.onset"'
    )

    body = to_intake_body(
        form, _answers(first="Ana", last="Diaz", mail="a@example.org", pain="7", leg="Sí", q_empty="")
    )

    assert body == {
        "patient": {"first_name": "Ana", "last_name": "Diaz", "email": "a@example.org"},
        "symptoms": {"pain_score": 7, "radiating_leg_pain": True},
    }


def test_an_object_answer_is_mapped_by_its_parts_or_whole(tmp_path):
    text = 'builder = "jotform"\nsecret_env = "FORM_TOKEN"\n[fields]\n"q3_name.first" = "patient.first_name"\n'
    text += '"q3_name.last" = "patient.last_name"\nq4_email = "patient.email"\nq5_born = "patient.date_of_birth"\n'
    text += 'q6_story = "message"\n'
    form = _mapping(tmp_path, text)
    submission = _answers(
        q3_name={"first": "Kin", "last": "Lane"},
        q4_email="kin@example.com",
        q5_born={"month": "02", "day": "03", "year": "1975"},
        q6_story="Sore back",
        q7_unused={"month": "", "day": "", "year": ""},
    )

    assert to_intake_body(form, submission) == {
        "patient": {
            "first_name": "Kin",
            "last_name": "Lane",
            "email": "kin@example.com",
            "date_of_birth": "1975-02-03",
        },
        "message": "Sore back",
    }


def test_answers_in_the_patient_s_words_of_a_code_need_no_values_in_either_language(tmp_path):
    form = _form(tmp_path, 'onset = "symptoms.onset"\nflags = "symptoms.red_flags"\nlang = "language"')

    gradually = LABELS.patient_words("onset", "gradual", "es")
    flags = [LABELS.patient_words("red_flags", "fever", "en"), LABELS.patient_words("red_flags", "iv_drug_use", "es")]

    body = to_intake_body(form, _answers(onset=gradually.lower(), flags=flags, lang="Español"))

    assert body == {"symptoms": {"onset": "gradual", "red_flags": ["fever", "iv_drug_use"]}, "language": "es"}


def test_several_fields_of_a_list_gather_and_several_for_the_message_join(tmp_path):
    form = _form(
        tmp_path,
        'more = "message"\nflags_a = "symptoms.red_flags"\n'
        'flags_b = { to = "symptoms.red_flags", values = { "Yes" = ["fever"], "No" = [] } }',
    )

    body = to_intake_body(form, _answers(story="Back pain.", more="Worse at night.", flags_a=["fever"], flags_b="Yes"))

    assert body == {"symptoms": {"red_flags": ["fever"]}, "message": "Back pain.\n\nWorse at night."}


def test_every_answer_that_cannot_be_mapped_is_named_by_its_builder_field(tmp_path):
    form = _form(
        tmp_path, 'pain = "symptoms.pain_score"\nborn = "patient.date_of_birth"\nleg = "symptoms.prior_imaging"'
    )
    head = 'builder = "json"\nsecret_env = "FORM_TOKEN"\nignore = ["meta.*"]\n'
    ignoring = _mapping(tmp_path, head + NEEDED, name="ignoring")

    with pytest.raises(UnmappedAnswers) as raised:
        to_intake_body(form, _answers(pain=7.5, born="03/02/1975", leg="maybe", colour="blue", meta={"ip": "x"}))

    assert raised.value.errors == {
        "pain": ["symptoms.pain_score: Must be a whole number."],
        "born": ["patient.date_of_birth: Must be a date (YYYY-MM-DD, or year, month and day)."],
        "leg": ["symptoms.prior_imaging: Must be yes or no; give values = { ... = true/false } for other words."],
        "colour": [
            "Not in the mapping clinic-form.toml: map it to an intake field under [fields], or list it in ignore."
        ],
        "meta.ip": [
            "Not in the mapping clinic-form.toml: map it to an intake field under [fields], or list it in ignore."
        ],
    }
    assert to_intake_body(ignoring, _answers(first="A", meta={"ip": "x", "agent": "y"})) == {
        "patient": {"first_name": "A"}
    }


def test_a_builder_s_extra_values_are_used_when_mapped_and_never_an_error(tmp_path):
    form = _form(tmp_path, '"hidden.lang" = "language"')
    submission = Submission(
        "t", (Answer(("hidden.lang",), "es", optional=True), Answer(("hidden.utm",), "ad", optional=True))
    )

    assert to_intake_body(form, submission) == {"language": "es"}


def test_the_intake_s_errors_are_named_by_the_builder_field_filling_each_path(tmp_path):
    form = _form(tmp_path, 'pain = "symptoms.pain_score"')

    named = intake_errors_by_builder_field(
        form,
        {
            "patient.email": ["Not a valid email address."],
            "symptoms.pain_score": ["Too high."],
            "_schema": ["x"],
            "patient": ["Missing data for required field."],
        },
    )

    assert named == {
        "mail": ["patient.email: Not a valid email address."],
        "pain": ["symptoms.pain_score: Too high."],
        "_schema": ["x"],
        "first": ["patient: Missing data for required field."],
    }


# --- the builders' own payloads ----------------------------------------------------------------------------------


def test_typeform_s_signature_is_the_base64_hmac_sha256_of_the_body_with_sha256_before_it():
    body = b'{"event_type":"form_response","text":"Dolor de espalda"}'
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).digest()

    assert typeform.signature_matches(body, "sha256=" + base64.b64encode(digest).decode(), [SECRET])
    assert typeform.signature_matches(body, "sha256=" + base64.b64encode(digest).decode(), ["other" * 4, SECRET])
    assert not typeform.signature_matches(body, "sha256=" + digest.hex(), [SECRET])
    assert not typeform.signature_matches(body + b" ", "sha256=" + base64.b64encode(digest).decode(), [SECRET])
    assert not typeform.signature_matches(body, None, [SECRET])


def test_typeform_answers_are_named_by_ref_and_id_with_each_type_s_value():
    payload = {
        "event_type": "form_response",
        "form_response": {
            "token": "tok",
            "definition": {"fields": [{"id": "A1", "ref": "story"}]},
            "answers": [
                {"type": "text", "text": "Back pain", "field": {"id": "A1", "type": "long_text"}},
                {"type": "choice", "choice": {"other": "Gardening"}, "field": {"id": "B2", "ref": "trigger"}},
                {"type": "choices", "choices": {"labels": ["Fever"], "other": "Rash"}, "field": {"id": "C3"}},
                {"type": "phone_number", "phone_number": "+15550100", "field": {"id": "D4", "ref": "D4"}},
            ],
            "hidden": {"lang": "es"},
        },
    }

    submission = typeform.read(payload)

    assert submission == Submission(
        "tok",
        (
            Answer(("story", "A1"), "Back pain"),
            Answer(("trigger", "B2"), "Gardening"),
            Answer(("C3",), ["Fever", "Rash"]),
            Answer(("D4",), "+15550100"),
            Answer(("hidden.lang",), "es", optional=True),
        ),
    )


def test_jotform_answers_are_its_question_keys_unescaped_and_the_rest_is_not_an_answer():
    fields = {
        "submissionID": "99",
        "formID": "1",
        "rawRequest": '{"slug":"submit\\/1\\/","q3_story":"I can&#039;t bend","q4_list":["A &amp; B"],"event_id":"e"}',
    }

    payload, submission = jotform.read(fields)

    assert submission == Submission("99", (Answer(("q3_story",), "I can't bend"), Answer(("q4_list",), ["A & B"])))
    assert payload["rawRequest"]["slug"] == "submit/1/"
