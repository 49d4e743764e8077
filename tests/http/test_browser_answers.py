"""POST /v1/inquiries answers a browser with pages in the patient's language; API clients still get JSON.

A browser is a client whose ``Accept`` ranks text/html above JSON, as Chromium's form submissions do.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from routing import create_app
from routing.adapters.db.models import Appointment, Inquiry
from routing.adapters.db.types import utcnow
from routing.domain import patient_messages
from routing.domain.patient_form import reference
from routing.services import patient_link
from tests.conftest import settings_for
from tests.http.form_helpers import BROWSER, read_page, served_token, strain_form
from tests.http.intake_helpers import SECRET, add_slots, count

THANKS = "https://www.example-clinic.org/{lang}/thanks?from=form"
EMBEDDER = "https://www.example-clinic.org"


@pytest.fixture
def slots(app):
    add_slots(app, "consult", [26, 27, 28])
    return app


@pytest.fixture
def thanks_app(migrated_url):
    """The clinic sends patients to its own thanks page, and frames the form on its site."""
    application = create_app(
        settings_for(migrated_url, ROUTING_FORM_THANKS_URL=THANKS, ROUTING_FORM_EMBED_ORIGINS=EMBEDDER)
    )
    add_slots(application, "consult", [26, 27])
    yield application
    application.extensions["routing"].db.dispose()


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        (None, "application/json"),
        ("*/*", "application/json"),
        ("application/json", "application/json"),
        ("application/json, text/html", "application/json"),  # a tie goes to JSON
        ("text/html;q=0.5, application/json", "application/json"),
        (BROWSER["Accept"], "text/html"),
        ("text/html", "text/html"),
    ],
)
def test_html_only_when_the_client_ranks_it_above_json(slots, client, accept, media_type):
    headers = {"Accept": accept} if accept else {}

    response = client.post("/v1/inquiries", data=strain_form(served_token(slots)), headers=headers)

    assert (response.status_code, response.mimetype) == (201, media_type)


def test_a_browser_submitting_a_plain_html_form_gets_a_confirmation_page_not_json(slots, client):
    # A clinic's own form on its own site: no token, no consent box; urlencoded as browsers send it.
    answers = strain_form()
    del answers["consent"]

    response = client.post("/v1/inquiries", data=answers, headers=BROWSER)

    page = read_page(response)
    inquiry_id = response.headers["Location"].rsplit("/", 1)[1]
    assert response.status_code == 201
    assert response.mimetype == "text/html"
    assert page.lang == "en"
    assert page.by_id["answer-title"] == "Your appointment is booked"
    assert page.by_id["reference"] == f"Your reference: {reference(inquiry_id)} Quote it if you call us."
    assert ("tel:5550100142", "Call us on (555) 010-0142") in page.links
    assert "emergency" not in response.get_data(as_text=True)


def test_the_confirmation_shows_the_appointment_in_the_clinic_s_time_with_a_calendar_file(slots, client):
    response = client.post("/v1/inquiries", data=strain_form(served_token(slots)), headers=BROWSER)

    page = read_page(response)
    inquiry_id = uuid.UUID(response.headers["Location"].rsplit("/", 1)[1])
    (own_link,) = [href for href, text in page.links if text.startswith("Your own page")]
    with slots.extensions["routing"].db.session() as session:
        booked = session.scalar(select(Appointment).where(Appointment.inquiry_id == inquiry_id))
    when = patient_messages.local_time(booked.start, slots.extensions["routing"].settings.timezone, "en")
    assert page.by_id["appointment-when"] == when
    assert when.endswith(("EST", "EDT"))
    assert page.by_id["appointment"] == (
        "Your appointment What pain-management consultation When " + when + " Where Riverside Spine & Pain "
        "Clinic (demo), 100 Example Avenue, Suite 200, Springfield Add it to your calendar (.ics file)"
    )
    # The calendar file and the patient's own page are on the signed link, never on the inquiry's id.
    assert patient_link.read(slots.secret_key, own_link.removeprefix("/my/"), utcnow(), timedelta(days=1)) == inquiry_id
    assert [(href, text) for href, text in page.links if href.startswith("/my/")] == [
        (f"{own_link}/appointment.ics", "Add it to your calendar (.ics file)"),
        (own_link, "Your own page: check on your request, cancel or ask for another time"),
    ]
    assert str(inquiry_id) not in "".join(href for href, _ in page.links)
    assert page.by_id["own-link-hint"] == "Keep this link to come back later. It is only for you: do not share it."


def test_a_multipart_post_gets_the_same_page(slots, client):
    response = client.post(
        "/v1/inquiries", data=strain_form(served_token(slots)), content_type="multipart/form-data", headers=BROWSER
    )

    assert response.status_code == 201
    assert read_page(response).by_id["answer-title"] == "Your appointment is booked"


def test_the_confirmation_is_in_the_inquiry_s_language(slots, client):
    response = client.post(
        "/v1/inquiries", data=strain_form(served_token(slots, "es"), language="es", message=""), headers=BROWSER
    )

    page = read_page(response)
    assert page.lang == "es"
    assert page.by_id["answer-title"] == "Su cita está reservada"
    assert page.by_id["patient-message"].startswith("Su consulta de manejo del dolor en Riverside")
    assert ("tel:5550100142", "Llámenos al (555) 010-0142") in page.links


@pytest.mark.parametrize("flag", ["bladder_bowel_dysfunction", "saddle_numbness", "leg_weakness"])
def test_an_emergency_box_ticked_puts_the_emergency_advice_first(slots, client, flag):
    response = client.post("/v1/inquiries", data=strain_form(served_token(slots), red_flags=flag), headers=BROWSER)

    html = response.get_data(as_text=True)
    main = html[html.index('<main id="main"') :]
    page = read_page(response)
    assert response.status_code == 201
    assert main.index('<section class="emergency"') < main.index("<h2")
    assert page.by_id["answer-title"] == "Get medical help now"
    assert "Go to the nearest emergency department or call 911 now." in page.text
    assert ("tel:911", "911") in page.links
    assert count(slots, Inquiry) == 1


def test_the_emergency_advice_is_in_spanish_for_a_spanish_patient(slots, client):
    answers = strain_form(served_token(slots, "es"), language="es", red_flags=["saddle_numbness", "fever"])

    page = read_page(client.post("/v1/inquiries", data=answers, headers=BROWSER))

    assert page.by_id["answer-title"] == "Busque ayuda médica ahora"
    assert "Vaya ahora mismo a la sala de emergencias más cercana o llame al 911." in page.text


def test_an_emergency_told_in_the_message_alone_gets_the_advice_too(slots, client):
    answers = strain_form(served_token(slots), message="Since yesterday I can't control my bladder.")

    page = read_page(client.post("/v1/inquiries", data=answers, headers=BROWSER))

    assert page.by_id["answer-title"] == "Get medical help now"


def test_an_urgent_red_flag_gets_the_urgent_advice_not_the_emergency(slots, client):
    page = read_page(
        client.post("/v1/inquiries", data=strain_form(served_token(slots), red_flags="fever"), headers=BROWSER)
    )

    assert page.by_id["answer-title"] == "A clinician will call you"
    assert "If you feel much worse before we call, go to an emergency department or call 911." in page.text
    assert ("tel:911", "911") not in page.links


def test_a_thanks_url_gets_a_303_with_only_a_reference(thanks_app):
    client = thanks_app.test_client()

    english = client.post("/v1/inquiries", data=strain_form(served_token(thanks_app)), headers=BROWSER)
    spanish = client.post(
        "/v1/inquiries",
        data=strain_form(served_token(thanks_app, "es", seconds_ago=30), language="es"),
        headers=BROWSER,
    )

    assert (english.status_code, spanish.status_code) == (303, 303)
    target = urlsplit(english.headers["Location"])
    assert (target.scheme, target.netloc, target.path) == ("https", "www.example-clinic.org", "/en/thanks")
    query = parse_qs(target.query)
    assert sorted(query) == ["from", "ref"]
    assert query["from"] == ["form"]
    assert len(query["ref"][0]) == 9  # XXXX-XXXX, the start of the inquiry id
    assert urlsplit(spanish.headers["Location"]).path == "/es/thanks"
    assert count(thanks_app, Inquiry) == 2


def test_an_urgent_or_emergency_outcome_is_never_sent_to_the_thanks_page(thanks_app):
    client = thanks_app.test_client()

    emergency = client.post(
        "/v1/inquiries", data=strain_form(served_token(thanks_app), red_flags="leg_weakness"), headers=BROWSER
    )
    urgent = client.post(
        "/v1/inquiries", data=strain_form(served_token(thanks_app, seconds_ago=30), red_flags="fever"), headers=BROWSER
    )

    assert (emergency.status_code, urgent.status_code) == (201, 201)
    assert read_page(emergency).by_id["answer-title"] == "Get medical help now"
    assert read_page(urgent).by_id["answer-title"] == "A clinician will call you"


def test_the_form_may_post_to_the_thanks_page_s_origin(thanks_app):
    # Browsers check form-action on the redirect after the post too.
    policy = thanks_app.test_client().get("/form").headers["Content-Security-Policy"]

    assert "form-action 'self' https://www.example-clinic.org;" in policy


def test_answer_pages_may_be_framed_by_the_embed_origins_only(thanks_app):
    client = thanks_app.test_client()

    answer = client.post(
        "/v1/inquiries", data=strain_form(served_token(thanks_app), red_flags="fever"), headers=BROWSER
    )
    invalid = client.post("/v1/inquiries", data=strain_form(served_token(thanks_app), last_name=""), headers=BROWSER)
    as_json = client.post("/v1/inquiries", data=strain_form(served_token(thanks_app), last_name=""))

    for page in (answer, invalid):
        assert f"frame-ancestors {EMBEDDER};" in page.headers["Content-Security-Policy"]
        assert "X-Frame-Options" not in page.headers
    assert "frame-ancestors 'none'" in as_json.headers["Content-Security-Policy"]
    assert as_json.headers["X-Frame-Options"] == "DENY"


# --- invalid answers: the form again -----------------------------------------------------------------------


def test_invalid_answers_show_the_form_again_with_each_message_beside_its_field(slots, client):
    answers = strain_form(
        served_token(slots),
        last_name="",
        email="ana@",
        date_of_birth="2999-01-01",
        red_flags=["fever", "major_trauma"],
        diagnosed_conditions="spinal_stenosis",
        message="It hurts <b>a lot</b> & more",
    )
    del answers["consent"]

    response = client.post("/v1/inquiries", data=answers, headers=BROWSER)

    page = read_page(response)
    assert response.status_code == 422
    assert response.mimetype == "text/html"
    assert page.title == "Error: Tell us about your back pain · Riverside Spine & Pain Clinic (demo)"
    assert page.by_id["error-last_name"] == "Error: Enter your last name."
    assert page.by_id["error-email"] == "Error: Enter an email address like name@example.com."
    assert page.by_id["error-date_of_birth"] == "Error: Enter a real date of birth, in the past."
    assert page.by_id["error-consent"] == "Error: Tick the box to agree, so the clinic can use your answers."
    summary = [(href, text) for href, text in page.links if href.startswith("#")]
    assert summary == [
        ("#main", "Skip to the main content"),
        ("#f-last_name", "Enter your last name."),
        ("#f-email", "Enter an email address like name@example.com."),
        ("#f-date_of_birth", "Enter a real date of birth, in the past."),
        ("#f-consent-0", "Tick the box to agree, so the clinic can use your answers."),
    ]
    assert page.controls["f-email"]["aria-invalid"] == "true"
    assert page.controls["f-email"]["aria-describedby"] == "hint-contact_hint error-email"
    assert page.controls["f-last_name"]["aria-describedby"] == "error-last_name"
    assert "aria-invalid" not in page.controls["f-first_name"]
    # Every answer is kept, the wrong ones too, so the patient corrects rather than starts again.
    assert page.values["first_name"] == ["Ana"]
    assert page.values["email"] == ["ana@"]
    assert page.values["onset"] == ["sudden"]
    assert page.values["pain_score"] == ["6"]
    assert page.values["radiating_leg_pain"] == ["false"]
    assert page.values["red_flags"] == ["fever", "major_trauma"]
    assert page.values["diagnosed_conditions"] == ["spinal_stenosis"]
    assert page.values["message"] == ["It hurts <b>a lot</b> & more"]
    assert "<b>a lot</b>" not in response.get_data(as_text=True)  # kept as text, never as markup
    assert count(slots, Inquiry) == 0


def test_the_form_again_is_in_the_form_s_language(slots, client):
    answers = strain_form(served_token(slots, "es"), language="es", first_name="")

    page = read_page(client.post("/v1/inquiries", data=answers, headers=BROWSER))

    assert page.lang == "es"
    assert page.by_id["error-summary-title"] == "Hay un problema"
    assert page.by_id["error-first_name"] == "Error: Escriba su nombre."


def test_no_way_to_reach_the_patient_and_nothing_said_have_their_own_messages(slots, client):
    answers = {
        "form_token": served_token(slots),
        "first_name": "Ana",
        "last_name": "Diaz",
        "consent": "true",
        "homepage": "",
    }

    page = read_page(client.post("/v1/inquiries", data=answers, headers=BROWSER))

    assert page.by_id["error-email"] == "Error: Enter an email address or a phone number so we can reach you."
    assert page.by_id["error-message"] == (
        "Error: Tell us about your pain: answer at least one question above or write a few words here."
    )


def test_the_form_again_keeps_the_first_served_time_so_a_quick_fix_is_not_taken_for_a_bot(slots, client):
    first = client.post(
        "/v1/inquiries", data=strain_form(served_token(slots, seconds_ago=60), last_name=""), headers=BROWSER
    )
    token = read_page(first).values["form_token"][0]

    fixed = client.post("/v1/inquiries", data=strain_form(token), headers=BROWSER)  # sent at once

    assert (first.status_code, fixed.status_code) == (422, 201)


def test_a_clinic_s_own_form_with_invalid_answers_gets_our_form_with_the_answers_and_a_token(slots, client):
    answers = strain_form(language="es", phone="call me", email="")

    response = client.post("/v1/inquiries", data=answers, headers=BROWSER)

    page = read_page(response)
    assert response.status_code == 422
    assert page.lang == "es"
    assert page.by_id["error-phone"] == "Error: Escriba un número de teléfono con cifras, por ejemplo 212 555 0100."
    assert page.values["phone"] == ["call me"]
    assert page.values["form_token"][0]


# --- other problems: a page that says what to do ---------------------------------------------------------------


def test_too_many_posts_gets_a_page_with_the_wait_and_the_phone(migrated_url):
    app = create_app(settings_for(migrated_url, ROUTING_RATE_LIMIT_INTAKE="1/hour"))
    client = app.test_client()
    client.post("/v1/inquiries", data=strain_form(served_token(app, seconds_ago=61)), headers=BROWSER)

    response = client.post("/v1/inquiries", data=strain_form(served_token(app)), headers=BROWSER)

    page = read_page(response)
    assert response.status_code == 429
    assert response.mimetype == "text/html"
    minutes = -(-int(response.headers["Retry-After"]) // 60)
    assert page.by_id["problem-message"] == (
        f"Too many forms were sent from your connection. Wait {minutes} minutes, then try again."
    )
    assert ("tel:5550100142", "Call us on (555) 010-0142") in page.links
    app.extensions["routing"].db.dispose()


def test_a_body_too_large_gets_a_page(slots, client):
    answers = strain_form(served_token(slots), message="x" * 70_000)

    response = client.post("/v1/inquiries", data=answers, headers=BROWSER)

    assert response.status_code == 413
    assert read_page(response).by_id["problem-message"] == (
        "Your answers are too long to send. Shorten your message and try again."
    )


def test_an_unsigned_clinic_form_where_signatures_are_required_gets_a_page(migrated_url):
    app = create_app(settings_for(migrated_url, ROUTING_WEBHOOK_SECRET=SECRET))

    response = app.test_client().post(
        "/v1/inquiries?lang=es", data=strain_form(), headers={**BROWSER, "Accept-Language": "en"}
    )

    page = read_page(response)
    assert response.status_code == 401
    assert page.lang == "es"
    assert page.by_id["problem-message"] == "Este formulario no se pudo enviar a la clínica."
    assert ("/form?lang=es", "Volver al formulario") in page.links
    app.extensions["routing"].db.dispose()


def test_reading_an_inquiry_stays_json_for_a_browser(slots, client):
    created = client.post("/v1/inquiries", data=strain_form(served_token(slots))).get_json()

    response = client.get(f"/v1/inquiries/{created['id']}", headers=BROWSER)

    assert (response.status_code, response.mimetype) == (401, "application/problem+json")


def test_answers_sent_under_their_group_names_are_kept_too(slots, client):
    answers = {
        "patient.first_name": "Ana",
        "patient.last_name": "",
        "patient.phone": "+1 555 0100",
        "symptoms.onset": "sudden",
        "red_flags[]": ["fever", "major_trauma"],
    }

    page = read_page(client.post("/v1/inquiries", data=answers, headers=BROWSER))

    assert page.by_id["error-last_name"] == "Error: Enter your last name."
    assert (page.values["first_name"], page.values["onset"]) == (["Ana"], ["sudden"])
    assert page.values["red_flags"] == ["fever", "major_trauma"]
