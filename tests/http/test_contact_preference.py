"""The intake's contact_preference: how the patient wants to hear about their appointment; checked, documented,
stored with the inquiry, and asked on the served form in the patient's language."""

from __future__ import annotations

import uuid

import pytest

from routing.adapters.db.models import Inquiry
from tests.http.intake_helpers import inquiry

PROBLEM = "application/problem+json"


@pytest.mark.parametrize("preference", ["email", "sms", "phone"])
def test_each_preference_is_accepted_and_kept_with_the_inquiry(app, client, preference):
    response = client.post("/v1/inquiries", json=inquiry(consent=True, contact_preference=preference))

    assert response.status_code in (200, 201)
    with app.extensions["routing"].db.session() as session:
        stored = session.get(Inquiry, uuid.UUID(response.get_json()["id"]))
        assert stored.payload["contact_preference"] == preference


def test_an_unknown_preference_is_a_422_naming_the_field_and_its_choices(client):
    response = client.post("/v1/inquiries", json=inquiry(contact_preference="fax"))

    assert (response.status_code, response.content_type) == (422, PROBLEM)
    assert response.get_json()["errors"] == {"contact_preference": ["Must be one of: email, sms, phone."]}


def test_the_openapi_document_describes_the_preference_and_what_it_means(client):
    spec = client.get("/openapi.json").get_json()
    field = spec["components"]["schemas"]["InquiryRequest"]["properties"]["contact_preference"]

    assert field["enum"] == ["email", "sms", "phone"]
    assert field["description"] == (
        "How the patient wants to hear about their appointment (with `consent`): `email`, `sms` (text messages, to "
        "`patient.phone`) or `phone` (calls only: no email or text). Without it, email when an address is given, "
        "and no text messages."
    )


@pytest.mark.parametrize(
    ("language", "question", "answers"),
    [
        (
            "en",
            "How should we tell you about your appointment?",
            ["By email", "By text message (SMS)", "Only by phone call"],
        ),
        (
            "es",
            "¿Cómo prefiere que le avisemos de su cita?",
            ["Por correo electrónico", "Por mensaje de texto (SMS)", "Solo por teléfono"],
        ),
    ],
)
def test_the_served_form_asks_it_in_the_patients_language(client, language, question, answers):
    page = client.get(f"/form?lang={language}").get_data(as_text=True)

    assert question in page
    for value, words in zip(("email", "sms", "phone"), answers, strict=True):
        assert f'name="contact_preference" value="{value}"' in page
        assert words in page
