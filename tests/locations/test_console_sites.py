"""The practice's sites in the staff console: the sites pages, the queue's site filter, the inquiry page's sites
and an override choosing a site (through the test client; the browser suite checks the same in a browser)."""

from __future__ import annotations

import html
import re
import uuid

import pytest
from sqlalchemy import select

from routing import create_app
from routing.adapters.db.models import AuditEvent, Location
from tests.conftest import settings_for
from tests.http.admin_helpers import make_token
from tests.http.intake_helpers import inquiry
from tests.locations.helpers import appointment_sites, open_sites, slots_at, wiring


@pytest.fixture
def app(migrated_url):
    application = create_app(settings_for(migrated_url, ROUTING_SECRET_KEY="k" * 40, ROUTING_COOKIE_SECURE="off"))
    yield application
    application.extensions["routing"].db.dispose()


def csrf_of(page) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)


def signed_in(app, role: str = "admin"):
    client = app.test_client()
    page = client.get("/console/login")
    token = make_token(app, f"Console {role}", role)
    assert client.post("/console/login", data={"token": token, "csrf_token": csrf_of(page)}).status_code == 303
    return client


def post_inquiry(client, **extra) -> str:
    response = client.post("/v1/inquiries", json=inquiry(**extra), headers={"Idempotency-Key": str(uuid.uuid4())})
    assert response.status_code in (201, 202), response.get_json()
    return response.get_json()["id"]


def rows(page, pattern: str) -> list[str]:
    return re.findall(pattern, page.get_data(as_text=True))


def test_the_queue_filters_by_site(app):
    open_sites(app)
    slots_at(app, "north", "consult", [26])
    slots_at(app, "downtown", "consult", [27])
    north = post_inquiry(app.test_client(), preferred_location="north")
    post_inquiry(app.test_client(), preferred_location="downtown")
    console = signed_in(app, "staff")

    everything = console.get("/console/")
    filtered = console.get("/console/?location=north")

    assert len(rows(everything, r'data-inquiry-id="([^"]+)"')) == 2
    assert rows(filtered, r'data-inquiry-id="([^"]+)"') == [north]
    assert '<option value="north" selected>North side</option>' in filtered.get_data(as_text=True)


def test_the_queue_has_no_site_filter_with_one_site(app):
    page = signed_in(app, "staff").get("/console/").get_data(as_text=True)

    assert 'name="location"' not in page


def test_the_inquiry_page_names_the_inquiry_s_site_and_its_appointment_s(app):
    open_sites(app)
    slots_at(app, "holyoke", "consult", [26])
    inquiry_id = post_inquiry(app.test_client(), preferred_location="holyoke")

    page = signed_in(app, "staff").get(f"/console/inquiries/{inquiry_id}").get_data(as_text=True)

    assert '<strong id="inquiry-site">Holyoke</strong>' in page
    assert '<td class="site">Holyoke</td>' in page
    assert '<option value="worcester">Worcester</option>' in page  # the override's site choice


def test_an_override_in_the_console_books_at_the_chosen_site(app):
    open_sites(app)
    slots_at(app, "downtown", "consult", [26, 27])
    slots_at(app, "north", "consult", [40])
    inquiry_id = post_inquiry(app.test_client())
    console = signed_in(app, "staff")
    page = console.get(f"/console/inquiries/{inquiry_id}")
    etag = re.search(r'name="etag" value="([^"]+)"', page.get_data(as_text=True)).group(1)

    response = console.post(
        f"/console/inquiries/{inquiry_id}/override",
        data={
            "csrf_token": csrf_of(page),
            "etag": html.unescape(etag),
            "route": "consult",
            "location": "north",
            "slot_id": "",
            "reason": "nearer her home",
        },
    )

    assert response.status_code == 303
    assert appointment_sites(app) == ["downtown", "north"]
    after = console.get(f"/console/inquiries/{inquiry_id}").get_data(as_text=True)
    assert '<strong id="inquiry-site">North side</strong>' in after


def test_an_admin_adds_a_site_in_the_console(app):
    console = signed_in(app, "admin")
    page = console.get("/console/locations")

    response = console.post(
        "/console/locations",
        data={
            "csrf_token": csrf_of(page),
            "id": "east",
            "name": "East side",
            "phone": "(555) 010-0105",
            "latitude": "42.118",
            "longitude": "-72.52",
            "slot_types": ["consult", "injection"],
        },
    )

    assert response.status_code == 303
    assert response.headers["Location"].endswith("/console/locations/east")
    with wiring(app).db.session() as session:
        row = session.get(Location, "east")
        assert (row.name, row.phone, row.latitude, row.longitude, row.slot_types, row.address) == (
            "East side",
            "(555) 010-0105",
            42.118,
            -72.52,
            ["consult", "injection"],
            None,
        )
    listed = console.get("/console/locations").get_data(as_text=True)
    assert rows(console.get("/console/locations"), r'data-location-id="([^"]+)"') == ["east", "main"]
    assert "East side" in listed


def test_a_bad_site_form_names_each_field_and_keeps_what_was_typed(app):
    console = signed_in(app, "admin")
    page = console.get("/console/locations")

    response = console.post(
        "/console/locations",
        data={"csrf_token": csrf_of(page), "id": "East Side", "name": "East", "time_zone": "Mars/Olympus_Mons"},
    )

    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert sorted(rows(response, r' id="(loc-[a-z_-]+)-error"')) == ["loc-id", "loc-time_zone", "loc-types"]
    assert 'value="Mars/Olympus_Mons"' in body
    with wiring(app).db.session() as session:
        assert session.scalars(select(Location.id)).all() == ["main"]


def test_an_admin_changes_and_deactivates_a_site_in_the_console(app):
    open_sites(app)
    console = signed_in(app, "admin")
    page = console.get("/console/locations/north")
    form = {
        "csrf_token": csrf_of(page),
        "name": "North side clinic",
        "address": "",
        "phone": "(555) 010-0102",
        "time_zone": "",
        "postal_code": "01104",
        "latitude": "42.1288",
        "longitude": "-72.5775",
        "fhir_location": "",
        "slot_types": ["consult"],
    }

    changed = console.post("/console/locations/north", data=form)
    deactivated = console.post("/console/locations/north/active", data={"csrf_token": csrf_of(page)})

    assert (changed.status_code, deactivated.status_code) == (303, 303)
    with wiring(app).db.session() as session:
        row = session.get(Location, "north")
        assert (row.name, row.address, row.postal_code, row.active) == ("North side clinic", None, "01104", False)
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.action.startswith("location.")).order_by(AuditEvent.id)
        ).all()
    assert actions == ["location.update", "location.deactivate"]
    assert wiring(app).locations.site("north") is None


def test_staff_read_the_sites_but_may_not_change_them(app):
    open_sites(app)
    console = signed_in(app, "staff")
    page = console.get("/console/locations")

    refused = console.post("/console/locations/north/active", data={"csrf_token": csrf_of(page)})

    assert page.status_code == 200
    assert 'id="new-site-form"' not in page.get_data(as_text=True)
    assert refused.status_code == 403
    assert wiring(app).locations.site("north") is not None
