"""GET /form: the patient form in English and Spanish, its words from the labels table, and who may frame it."""

from __future__ import annotations

import pytest

from routing import create_app
from routing.domain.labels import LABELS
from routing.domain.patient_form import QUESTIONS, SITE_QUESTIONS
from routing.domain.triage.facts import RED_FLAGS
from routing.http import form_token
from tests.conftest import settings_for
from tests.http.form_helpers import read_page

EMBEDDER = "https://www.example-clinic.org"
OTHER_EMBEDDER = "https://example-clinic.org"
FORM_POLICY = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'"


@pytest.fixture
def embeddable(migrated_url):
    """The application with the form allowed in iframes on two of the clinic's sites."""
    application = create_app(
        settings_for(
            migrated_url, ROUTING_FORM_EMBED_ORIGINS=f"{EMBEDDER} {OTHER_EMBEDDER}", ROUTING_SECRET_KEY="k" * 40
        )
    )
    yield application
    application.extensions["routing"].db.dispose()


def test_the_form_is_in_english_by_default_with_every_text_from_the_labels_table(client):
    response = client.get("/form")

    page = read_page(response)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert page.lang == "en"
    assert page.title == "Tell us about your back pain · Riverside Spine & Pain Clinic (demo)"
    assert page.labels["f-red_flags-0"] == LABELS.patient_words("red_flags", "bladder_bowel_dysfunction", "en")
    assert page.labels["f-first_name"] == "First name (required)"
    assert page.labels["f-date_of_birth"] == "Date of birth (optional)"
    assert ("/form?lang=es", "Español") in page.links
    assert page.values["language"] == ["en"]  # the preferred language starts as the form's


def test_lang_es_gives_the_spanish_form(client):
    page = read_page(client.get("/form?lang=es"))

    assert page.lang == "es"
    assert page.title == "Cuéntenos sobre su dolor de espalda · Riverside Spine & Pain Clinic (demo)"
    assert page.labels["f-red_flags-1"] == LABELS.patient_words("red_flags", "saddle_numbness", "es")
    assert page.labels["f-onset-0"] == "De repente"
    assert ("/form?lang=en", "English") in page.links
    assert page.values["language"] == ["es"]


@pytest.mark.parametrize(
    ("accept_language", "expected"),
    [("es-MX,es;q=0.9,en;q=0.5", "es"), ("en-US,en;q=0.9", "en"), ("fr-FR,fr;q=0.9", "en"), ("", "en")],
)
def test_without_lang_the_browser_s_accept_language_chooses(client, accept_language, expected):
    page = read_page(client.get("/form", headers={"Accept-Language": accept_language}))

    assert page.lang == expected


def test_lang_wins_over_accept_language(client):
    page = read_page(client.get("/form?lang=en", headers={"Accept-Language": "es"}))

    assert page.lang == "en"


def test_every_question_sends_a_field_of_the_intake_and_every_red_flag_is_offered(client):
    page = read_page(client.get("/form"))

    names = {attributes.get("name") for attributes in page.controls.values()} - {None}
    # One site: nothing to choose between, so where to be seen is not asked (tests/locations asks it).
    assert names == {*QUESTIONS, "form_token", "homepage"} - set(SITE_QUESTIONS)
    red_flags = [attributes["value"] for key, attributes in page.controls.items() if key.startswith("f-red_flags-")]
    assert red_flags == list(RED_FLAGS)


def test_errors_and_hints_are_tied_to_their_fields_and_groups_have_legends(client):
    html = client.get("/form").get_data(as_text=True)
    page = read_page(client.get("/form"))

    assert page.controls["f-email"]["aria-describedby"] == "hint-contact_hint"
    assert page.controls["f-phone"]["aria-describedby"] == "hint-contact_hint"
    assert (
        page.by_id["hint-contact_hint"] == "Give us an email address or a phone number, or both, so we can reach you."
    )
    assert page.controls["f-email"]["autocomplete"] == "email"
    assert page.controls["f-first_name"]["autocomplete"] == "given-name"
    grouped = [name for name, question in QUESTIONS.items() if question.grouped and name not in SITE_QUESTIONS]
    assert html.count("<fieldset") == html.count("<legend>") == len(grouped)


def test_the_form_carries_a_signed_token_in_its_own_language(app, client):
    page = read_page(client.get("/form?lang=es"))

    token = form_token.read(app.secret_key, page.values["form_token"][0])
    assert token is not None
    assert token.language == "es"
    assert token.first_served_at == token.issued_at


def test_the_form_runs_no_script_and_cannot_be_framed_by_default(client):
    response = client.get("/form")

    assert response.headers["Content-Security-Policy"] == FORM_POLICY.replace(
        "base-uri", "frame-ancestors 'none'; base-uri"
    )
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "<script" not in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"


def test_embed_origins_may_frame_the_form_and_nothing_else_changes(embeddable):
    client = embeddable.test_client()

    form = client.get("/form")
    api = client.get("/healthz")
    docs = client.get("/docs")

    assert form.headers["Content-Security-Policy"] == FORM_POLICY.replace(
        "base-uri", f"frame-ancestors {EMBEDDER} {OTHER_EMBEDDER}; base-uri"
    )
    assert "X-Frame-Options" not in form.headers  # it cannot name origins: CSP says who may frame
    for other in (api, docs):
        assert "frame-ancestors 'none'" in other.headers["Content-Security-Policy"]
        assert other.headers["X-Frame-Options"] == "DENY"


def test_the_stylesheet_is_served(client):
    response = client.get("/static/form.css")

    assert response.status_code == 200
    assert response.mimetype == "text/css"


def test_the_form_can_be_switched_off(migrated_url):
    app = create_app(settings_for(migrated_url, ROUTING_FORM="off"))

    response = app.test_client().get("/form")

    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    app.extensions["routing"].db.dispose()
