"""The patient form asks where to be seen when the practice has several sites, in English and Spanish, and the
answer routes the inquiry like the API's ``preferred_location`` / ``postal_code``."""

from __future__ import annotations

import pytest

from routing import create_app
from tests.conftest import settings_for
from tests.http.form_helpers import BROWSER, read_page, served_token, strain_form
from tests.locations.helpers import appointment_sites, open_sites, slots_at


@pytest.fixture
def app(migrated_url):
    application = create_app(settings_for(migrated_url, ROUTING_SECRET_KEY="k" * 40))
    yield application
    application.extensions["routing"].db.dispose()


def test_with_one_site_the_form_asks_nothing_about_where(client):
    page = read_page(client.get("/form"))

    assert "f-preferred_location-0" not in page.controls
    assert "f-postal_code" not in page.controls


def test_with_several_sites_the_form_offers_each_active_one_and_any_site_first(app, client):
    open_sites(app)

    page = read_page(client.get("/form"))

    offered = [
        (attributes["value"], page.labels[key])
        for key, attributes in page.controls.items()
        if key.startswith("f-preferred_location-")
    ]
    assert offered == [
        ("", "Any site: the earliest appointment"),
        ("downtown", "Downtown"),
        ("holyoke", "Holyoke"),
        ("north", "North side"),
        ("worcester", "Worcester"),
    ]
    assert page.values["preferred_location"] == [""]
    assert page.labels["f-postal_code"] == "Your postal code (optional)"
    assert page.controls["f-postal_code"]["autocomplete"] == "postal-code"
    assert page.controls["f-postal_code"]["aria-describedby"] == "hint-postal_code_hint"


def test_the_spanish_form_asks_where_in_spanish(app, client):
    open_sites(app)

    page = read_page(client.get("/form?lang=es"))

    assert page.labels["f-preferred_location-0"] == "Cualquier centro: la primera cita libre"
    assert page.labels["f-postal_code"] == "Su código postal (opcional)"
    assert "¿Dónde prefiere que le atendamos?" in page.text


def test_a_site_chosen_on_the_form_is_booked(app, client):
    open_sites(app)
    slots_at(app, "downtown", "consult", [26])
    slots_at(app, "north", "consult", [30])

    response = client.post(
        "/v1/inquiries", data=strain_form(served_token(app), preferred_location="north"), headers=BROWSER
    )

    assert response.status_code in (200, 201, 303), response.get_data(as_text=True)
    assert appointment_sites(app) == ["north"]


def test_a_postal_code_on_the_form_books_near_it_first(app, client):
    open_sites(app)
    slots_at(app, "downtown", "consult", [26])
    slots_at(app, "worcester", "consult", [40])

    client.post("/v1/inquiries", data=strain_form(served_token(app), postal_code="01601"), headers=BROWSER)

    assert appointment_sites(app) == ["worcester"]


def test_any_site_on_the_form_sends_no_preference(app, client):
    open_sites(app)
    slots_at(app, "worcester", "consult", [26])
    slots_at(app, "downtown", "consult", [40])

    client.post("/v1/inquiries", data=strain_form(served_token(app), preferred_location=""), headers=BROWSER)

    assert appointment_sites(app) == ["worcester"]
