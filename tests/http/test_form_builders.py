"""POST /v1/forms/<name>: Typeform, Jotform and other builders' webhooks, from their recorded payloads.

The payloads in tests/data/form_builders are the builders' documented samples (and our own back-pain forms in
the same shape; sources in the README there); the mappings are the documentation's (docs/form-mappings) and
the tests' own. Every delivery goes through the same intake service as POST /v1/inquiries.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator

import pytest
import requests
from werkzeug.serving import make_server

from routing import create_app
from routing.adapters.db.models import Inquiry
from tests.conftest import settings_for
from tests.http.form_builder_helpers import (
    GENERIC_TOKEN,
    JOTFORM_TOKEN,
    OTHER_TYPEFORM_SECRET,
    SECRETS,
    TYPEFORM_SECRET,
    WORDPRESS_TOKEN,
    jotform_fields,
    mappings_folder,
    multipart,
    sample,
    typeform_headers,
    typeform_signature,
    urlencoded,
)
from tests.http.intake_helpers import add_slots, busy_slots, count

PROBLEM = "application/problem+json"
TYPEFORM_URL = "/v1/forms/typeform-intake"
JOTFORM_URL = f"/v1/forms/jotform-intake?token={JOTFORM_TOKEN}"
DESCRIBE = "message: Describe the pain in 'message' or answer at least one 'symptoms' question."


def _app(migrated_url, tmp_path, **overrides):
    folder = mappings_folder(tmp_path)
    return create_app(settings_for(migrated_url, ROUTING_FORM_MAPPINGS=str(folder), **{**SECRETS, **overrides}))


@pytest.fixture
def forms_app(migrated_url, tmp_path):
    """The application taking every documented and test form's webhook, with consults tomorrow."""
    app = _app(migrated_url, tmp_path)
    add_slots(app, "consult", [26, 27])
    yield app
    app.extensions["routing"].db.dispose()


@pytest.fixture
def client(forms_app):
    return forms_app.test_client()


def _stored(app, inquiry_id: str) -> Inquiry:
    with app.extensions["routing"].db.session() as session:
        return session.get(Inquiry, uuid.UUID(inquiry_id))


def _post_typeform(client, body: bytes, secret: str = TYPEFORM_SECRET, url: str = TYPEFORM_URL):
    return client.post(url, data=body, headers=typeform_headers(body, secret))


def _post_jotform(client, fields: dict, url: str = JOTFORM_URL, boundary: str = "------------------------jot0001"):
    body, content_type = multipart(fields, boundary)
    return client.post(url, data=body, content_type=content_type)


# --- Typeform ---------------------------------------------------------------------------------------------------


def test_typeform_s_documented_example_is_verified_read_by_refs_and_its_missing_answer_named(client, forms_app):
    body = sample("typeform_example_payload.json")

    response = _post_typeform(client, body, url="/v1/forms/typeform-example")

    # Signed and read: its name, email and text are taken (their refs found in the definition), the other
    # questions ignored; the form has no last-name question, which is what stops it.
    assert response.status_code == 422
    assert response.content_type == PROBLEM
    assert response.get_json()["errors"] == {
        "readable_ref_last_name": ["patient.last_name: Missing data for required field."]
    }
    assert count(forms_app, Inquiry) == 0


def test_a_typeform_response_with_a_red_flag_goes_to_urgent_review_with_exactly_its_mapped_facts(client, forms_app):
    response = _post_typeform(client, sample("typeform_back_pain.json"))

    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    assert answer == {"id": answer["id"], "status": "urgent_review"}  # nothing more: builders log answers
    assert response.headers["Location"] == f"/v1/inquiries/{answer['id']}"
    stored = _stored(forms_app, answer["id"])
    assert stored.idempotency_key == "form:typeform-intake:8f2c1e9a7b6d4c3e2f1a0b9c8d7e6f5a"
    assert stored.payload == {
        "patient": {
            "first_name": "Ana",
            "last_name": "Diaz",
            "email": "ana@example.org",
            "phone": "+15550100",
            "date_of_birth": "1975-02-03",
        },
        "symptoms": {
            "onset": "sudden",
            "pain_score": 7,
            "radiating_leg_pain": True,
            "red_flags": ["saddle_numbness"],
            "muscle_relaxants": "not_tried",
        },
        "consent": True,
        "language": "en",
        "message": "Bent down to pick up my son two days ago and felt a sharp pain in my lower back.",
    }
    assert stored.facts["values"]["red_flags"] == ["saddle_numbness"]
    assert (stored.facts["values"]["onset"], stored.facts["values"]["pain_score"]) == ("sudden", 7)
    assert stored.raw_body == sample("typeform_back_pain.json")
    assert busy_slots(forms_app) == 0


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Typeform-Signature": typeform_signature(sample("typeform_back_pain.json"), OTHER_TYPEFORM_SECRET)},
        {"Typeform-Signature": typeform_signature(sample("typeform_back_pain.json")).replace("sha256=", "sha1=")},
        {"Typeform-Signature": "sha256=" + "ab" * 32},
    ],
    ids=["unsigned", "another-secret", "another-scheme", "hex-not-base64"],
)
def test_a_typeform_delivery_not_signed_with_the_secret_is_a_401_and_not_stored(client, forms_app, headers):
    response = client.post(
        TYPEFORM_URL, data=sample("typeform_back_pain.json"), headers={"Content-Type": "application/json", **headers}
    )

    assert response.status_code == 401
    assert response.get_json()["type"] == "urn:routing:problem:invalid-signature"
    assert count(forms_app, Inquiry) == 0


def test_typeform_s_documented_example_signed_with_another_secret_is_a_401(client, forms_app):
    body = sample("typeform_example_payload.json")

    response = _post_typeform(client, body, OTHER_TYPEFORM_SECRET, url="/v1/forms/typeform-example")

    assert response.status_code == 401


def test_a_typeform_body_changed_after_signing_is_a_401(client, forms_app):
    body = sample("typeform_back_pain.json")
    headers = typeform_headers(body)

    response = client.post(TYPEFORM_URL, data=body.replace(b'"number": 7', b'"number": 2'), headers=headers)

    assert response.status_code == 401
    assert count(forms_app, Inquiry) == 0


def test_while_a_typeform_secret_is_rotated_both_sign(migrated_url, tmp_path):
    app = _app(migrated_url, tmp_path, TYPEFORM_INTAKE_SECRET=f"{OTHER_TYPEFORM_SECRET} {TYPEFORM_SECRET}")
    body = sample("typeform_back_pain.json")
    again = json.dumps(json.loads(body)).encode()
    try:
        client = app.test_client()
        assert _post_typeform(client, body, TYPEFORM_SECRET).status_code == 201
        assert _post_typeform(client, again, OTHER_TYPEFORM_SECRET).status_code == 200
    finally:
        app.extensions["routing"].db.dispose()


def test_typeform_resending_a_response_gets_the_stored_inquiry_whatever_its_spacing(client, forms_app):
    body = sample("typeform_back_pain.json")
    rewritten = json.dumps(json.loads(body), separators=(",", ":")).encode()

    first = _post_typeform(client, body)
    again = _post_typeform(client, body)
    rewritten_again = _post_typeform(client, rewritten)

    assert (first.status_code, again.status_code, rewritten_again.status_code) == (201, 200, 200)
    assert first.get_json()["id"] == again.get_json()["id"] == rewritten_again.get_json()["id"]
    assert count(forms_app, Inquiry) == 1


def test_the_same_typeform_token_with_other_answers_is_a_409_and_the_first_stands(client, forms_app):
    body = sample("typeform_back_pain.json")
    other = body.replace(b'"number": 7', b'"number": 3')

    first = _post_typeform(client, body)
    conflicting = _post_typeform(client, other)

    assert (first.status_code, conflicting.status_code) == (201, 409)
    assert count(forms_app, Inquiry) == 1


def test_a_partial_typeform_response_is_refused_naming_its_event_type(client, forms_app):
    body = sample("typeform_back_pain.json").replace(b'"form_response",', b'"form_response_partial",', 1)

    response = _post_typeform(client, body)

    assert response.status_code == 422
    assert response.get_json()["errors"] == {
        "event_type": ["Is 'form_response_partial'; only completed responses (form_response) become inquiries."]
    }


def test_typeform_answers_the_mapping_cannot_carry_are_a_422_naming_each_typeform_field(client, forms_app):
    payload = json.loads(sample("typeform_back_pain.json"))
    answers = payload["form_response"]["answers"]
    answers[8]["choices"]["labels"] = ["Headache"]  # warning_signs: a label the mapping has no value for
    answers[6]["number"] = "seven"  # pain_level: not a number
    answers.append({"type": "text", "text": "Blue", "field": {"id": "Xx1", "type": "short_text", "ref": "colour"}})
    body = json.dumps(payload).encode()

    response = _post_typeform(client, body)

    assert response.status_code == 422
    assert response.get_json()["type"] == "urn:routing:problem:unmapped-answers"
    assert response.get_json()["errors"] == {
        "pain_level": ["symptoms.pain_score: Must be a whole number."],
        "warning_signs": [
            "symptoms.red_flags: The answer is not one the mapping knows (known: 'Trouble controlling my "
            "bladder or bowels', 'Numbness where I sit (groin or buttocks)', 'My legs are getting weaker', "
            "'Fever or chills', 'None of these')."
        ],
        "colour": [
            "Not in the mapping typeform-intake.toml: map it to an intake field under [fields], or list it in ignore."
        ],
    }
    # The builder keeps the answer in its delivery log: no answer is quoted back.
    assert (b"Headache" in response.data, b"seven" in response.data) == (False, False)
    assert count(forms_app, Inquiry) == 0


def test_answers_the_intake_refuses_are_named_by_the_typeform_field_that_gave_them(client, forms_app):
    payload = json.loads(sample("typeform_back_pain.json"))
    payload["form_response"]["answers"][2]["email"] = "ana-at-example"
    payload["form_response"]["answers"][6]["number"] = 12

    response = _post_typeform(client, json.dumps(payload).encode())

    assert response.status_code == 422
    assert response.get_json()["errors"] == {
        "email": ["patient.email: Not a valid email address."],
        "pain_level": ["symptoms.pain_score: Must be greater than or equal to 0 and less than or equal to 10."],
    }


@pytest.fixture
def forms_server(forms_app) -> Iterator[str]:
    """``forms_app`` served over HTTP on loopback, as a builder reaches it."""
    server = make_server("127.0.0.1", 0, forms_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


def test_a_typeform_delivery_over_http_is_verified_on_the_bytes_as_sent(forms_server):
    body = sample("typeform_back_pain.json")

    response = requests.post(f"{forms_server}{TYPEFORM_URL}", data=body, headers=typeform_headers(body), timeout=10)

    assert response.status_code == 201
    assert response.json()["status"] == "urgent_review"


# --- Jotform ----------------------------------------------------------------------------------------------------


def test_jotform_s_documented_submission_is_read_from_raw_request_and_its_missing_answer_named(client, forms_app):
    response = _post_jotform(
        client, jotform_fields("jotform_example_fields.json"), url=f"/v1/forms/jotform-example?token={JOTFORM_TOKEN}"
    )

    assert response.status_code == 422
    assert response.get_json()["errors"] == {"q5_message": [DESCRIBE]}
    assert count(forms_app, Inquiry) == 0


def test_a_jotform_submission_in_spanish_is_booked_with_its_mapped_facts_and_the_patient_s_own_words(client, forms_app):
    response = _post_jotform(client, jotform_fields("jotform_back_pain_fields.json"))

    assert response.status_code == 201, response.get_json()
    stored = _stored(forms_app, response.get_json()["id"])
    assert response.get_json()["status"] == "booked"
    assert (stored.language, stored.idempotency_key) == ("es", "form:jotform-intake:6012345678901234567")
    assert stored.payload == {
        "patient": {
            "first_name": "Luis",
            "last_name": "Ortega",
            "email": "luis@example.org",
            "phone": "(555) 010-0199",
            "date_of_birth": "1968-07-21",
        },
        "symptoms": {"onset": "gradual", "pain_score": 4, "red_flags": [], "trigger": "lifting"},
        "consent": True,
        # Jotform's HTML escapes (&quot;) undone: the reader reads what the patient wrote.
        "message": 'Me duele la parte baja de la espalda desde hace dos semanas; no puedo agacharme y a veces "se '
        'traba".',
        "language": "es",
    }
    assert busy_slots(forms_app) == 1


def test_jotform_s_documented_submission_with_a_wrong_token_is_a_401(client, forms_app):
    url = f"/v1/forms/jotform-example?token={GENERIC_TOKEN}"

    response = _post_jotform(client, jotform_fields("jotform_example_fields.json"), url=url)

    assert response.status_code == 401


@pytest.mark.parametrize(
    "url",
    [
        "/v1/forms/jotform-intake",
        "/v1/forms/jotform-intake?token=",
        f"/v1/forms/jotform-intake?token={GENERIC_TOKEN}",
        f"/v1/forms/jotform-intake?token={JOTFORM_TOKEN[:-1]}",
    ],
    ids=["no-token", "empty", "another-form-s", "one-character-short"],
)
def test_a_jotform_delivery_without_the_form_s_token_is_a_401_and_not_stored(client, forms_app, url):
    response = _post_jotform(client, jotform_fields("jotform_back_pain_fields.json"), url=url)

    assert response.status_code == 401
    assert response.get_json()["type"] == "urn:routing:problem:invalid-token"
    assert count(forms_app, Inquiry) == 0


def test_jotform_resending_a_submission_with_a_new_multipart_boundary_gets_the_stored_inquiry(client, forms_app):
    fields = jotform_fields("jotform_back_pain_fields.json")

    first = _post_jotform(client, fields, boundary="----a1")
    again = _post_jotform(client, fields, boundary="----b2")

    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json()["id"] == again.get_json()["id"]
    assert (count(forms_app, Inquiry), busy_slots(forms_app)) == (1, 1)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"rawRequest": "not json"}, "rawRequest", "Missing or not a JSON object: Jotform sends the answers in it."),
        ({"submissionID": ""}, "submissionID", "Missing: Jotform's id of the submission."),
    ],
)
def test_a_jotform_delivery_missing_its_parts_is_a_422_naming_them(client, forms_app, change, field, message):
    response = _post_jotform(client, {**jotform_fields("jotform_back_pain_fields.json"), **change})

    assert response.status_code == 422
    assert response.get_json()["errors"] == {field: [message]}


def test_a_jotform_form_sent_as_json_is_a_415(client, forms_app):
    response = client.post(JOTFORM_URL, json=jotform_fields("jotform_back_pain_fields.json"))

    assert response.status_code == 415
    assert response.content_type == PROBLEM


# --- any other builder --------------------------------------------------------------------------------------------


def test_formstack_s_documented_json_is_mapped_by_paths_with_each_refusal_named_by_its_field(client, forms_app):
    # The documented example as published (its email address hidden by the page: not an address at all).
    response = client.post(
        f"/v1/forms/generic-json?token={GENERIC_TOKEN}",
        data=sample("formstack_example.json"),
        content_type="application/json",
    )

    assert response.status_code == 422
    assert response.get_json()["errors"] == {
        "Email": ["patient.email: Not a valid email address."],
        "Comments": [DESCRIBE],
    }


def test_a_json_builder_s_submission_is_triaged_and_known_again_by_its_own_id(client, forms_app):
    payload = {
        **json.loads(sample("formstack_example.json")),
        "Email": "john@example.org",
        "Pain level": "6",
        "Comments": "Lower back pain since I moved house last week.",
    }
    url = f"/v1/forms/generic-json?token={GENERIC_TOKEN}"

    first = client.post(url, json=payload)
    again = client.post(url, json=payload)

    assert (first.status_code, again.status_code) == (201, 200)
    stored = _stored(forms_app, first.get_json()["id"])
    assert stored.idempotency_key == "form:generic-json:12345678"
    assert stored.payload == {
        "patient": {"first_name": "John", "last_name": "Smith", "email": "john@example.org", "phone": "234-555-6789"},
        "symptoms": {"pain_score": 6},
        "message": "Lower back pain since I moved house last week.",
    }


def test_form_fields_from_any_builder_are_mapped_with_repeated_fields_as_lists(client, forms_app):
    body = urlencoded(
        [
            ("entry_id", "wp-2041"),
            ("_wpnonce", "8a7b6c5d4e"),
            ("your-first-name", "Maya"),
            ("your-last-name", "Chen"),
            ("your-phone", "555-010-0123"),
            ("your-message", "My back hurts a lot since a fall last month."),
            ("warning-signs", "Fever"),
            ("warning-signs", "Cancer"),
            ("leg-pain", "Yes, down my leg"),
            ("when-free", "weekday mornings"),
        ]
    )

    response = client.post(
        f"/v1/forms/wordpress-form?token={WORDPRESS_TOKEN}", data=body, content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 201, response.get_json()
    stored = _stored(forms_app, response.get_json()["id"])
    assert stored.payload["symptoms"] == {"red_flags": ["fever", "cancer_history"], "radiating_leg_pain": True}
    assert stored.payload["preferred_times"] == ["weekday mornings"]
    assert stored.idempotency_key == "form:wordpress-form:wp-2041"
    assert response.get_json()["status"] == "urgent_review"


def test_form_webhooks_are_held_to_the_intake_s_rate_limit(migrated_url, tmp_path):
    app = _app(migrated_url, tmp_path, ROUTING_RATE_LIMIT_INTAKE="2/minute")
    try:
        client = app.test_client()
        statuses = [
            _post_jotform(client, jotform_fields("jotform_back_pain_fields.json")).status_code for _ in range(3)
        ]
    finally:
        app.extensions["routing"].db.dispose()

    assert statuses == [201, 200, 429]


def test_the_form_webhook_is_documented_with_every_answer_it_gives(client):
    post = client.get("/openapi.json").get_json()["paths"]["/v1/forms/{name}"]["post"]

    assert set(post["requestBody"]["content"]) == {
        "application/json",
        "multipart/form-data",
        "application/x-www-form-urlencoded",
    }
    assert {"200", "201", "202", "400", "401", "404", "409", "413", "415", "422", "429"} <= set(post["responses"])
    assert [parameter["name"] for parameter in post["parameters"] if parameter["in"] != "path"] == [
        "token",
        "Typeform-Signature",
    ]


def test_a_form_no_mapping_names_is_a_404(client):
    response = client.post("/v1/forms/google-forms?token=x", json={})

    assert response.status_code == 404
    assert response.get_json()["detail"] == (
        "There is no form named 'google-forms': add google-forms.toml to ROUTING_FORM_MAPPINGS."
    )


def test_without_form_mappings_every_form_is_a_404(migrated_url):
    app = create_app(settings_for(migrated_url))
    try:
        response = app.test_client().post(TYPEFORM_URL, data=sample("typeform_back_pain.json"))
    finally:
        app.extensions["routing"].db.dispose()

    assert response.status_code == 404
