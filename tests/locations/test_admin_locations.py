"""Staff and the practice's sites through the API: the admin site list, the public one, the queue's site filter,
and an override that chooses the site. Each on SQLite and PostgreSQL (the ``app`` fixture's database)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from routing.adapters.db.models import AuditEvent
from routing.domain.clinic import DEMO_CLINIC
from tests.http.admin_helpers import bearer, etag_of, make_token
from tests.http.intake_helpers import inquiry
from tests.locations.helpers import SITES, appointment_sites, open_sites, site_of_inquiry, slots_at, wiring

SPRINGFIELD_EAST = {
    "id": "east",
    "name": "East side",
    "address": "5 Boston Road, Springfield",
    "phone": "(555) 010-0105",
    "time_zone": "America/New_York",
    "latitude": 42.1180,
    "longitude": -72.5200,
    "slot_types": ["injection", "consult"],
}


@pytest.fixture
def admin(app):
    return bearer(make_token(app, "Ada Admin", "admin"))


@pytest.fixture
def staff(app):
    return bearer(make_token(app, "Sam Staff", "staff"))


def post_inquiry(client, **extra) -> dict:
    response = client.post("/v1/inquiries", json=inquiry(**extra), headers={"Idempotency-Key": str(uuid.uuid4())})
    assert response.status_code in (201, 202), response.get_json()
    return response.get_json()


def audit_events(app, action: str) -> list[AuditEvent]:
    with wiring(app).db.session() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


# --- the admin API ------------------------------------------------------------------------------------------


def test_an_admin_adds_a_site_and_intake_books_there_at_once(app, client, admin):
    open_sites(app)
    slots_at(app, "downtown", "consult", [26])

    created = client.post("/v1/admin/locations", json=SPRINGFIELD_EAST, headers=admin)
    slots_at(app, "east", "consult", [30])
    booked = post_inquiry(client, preferred_location="east")

    assert created.status_code == 201
    body = created.get_json()
    assert {key: body[key] for key in SPRINGFIELD_EAST} == {
        **SPRINGFIELD_EAST,
        "slot_types": ["consult", "injection"],
    }
    assert (body["active"], body["postal_code"], body["fhir_location"]) == (True, None, None)
    assert (booked["status"], booked["appointment"]["location"]) == ("booked", "east")
    assert site_of_inquiry(app, booked["id"]) == "east"
    [event] = audit_events(app, "location.create")
    assert (event.actor_name, event.details["location"]["id"]) == ("Ada Admin", "east")


def test_staff_may_read_the_sites_but_only_admins_change_them(app, client, staff):
    open_sites(app)

    listed = client.get("/v1/admin/locations", headers=staff)
    one = client.get("/v1/admin/locations/north", headers=staff)
    refused = client.post("/v1/admin/locations", json=SPRINGFIELD_EAST, headers=staff)

    assert listed.status_code == 200
    assert [(s["id"], s["active"]) for s in listed.get_json()] == [
        ("downtown", True),
        ("holyoke", True),
        ("north", True),
        ("worcester", True),
        ("main", False),
    ]
    assert (one.status_code, one.get_json()["name"]) == (200, "North side")
    assert refused.status_code == 403


def test_every_bad_field_of_a_new_site_is_named(client, admin):
    body = {
        "id": "North Side!",
        "name": "",
        "phone": "call the desk",
        "time_zone": "Mars/Olympus_Mons",
        "latitude": 91,
        "slot_types": ["consult", "massage"],
        "fhir_location": "Practitioner/7",
    }

    response = client.post("/v1/admin/locations", json=body, headers=admin)

    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    assert sorted(response.get_json()["errors"]) == [
        "fhir_location",
        "id",
        "latitude",
        "longitude",
        "name",
        "phone",
        "slot_types.1",
        "time_zone",
    ]


def test_a_taken_id_is_refused_naming_the_id(client, admin):
    response = client.post("/v1/admin/locations", json={**SPRINGFIELD_EAST, "id": "main"}, headers=admin)

    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["id"]


def test_a_fhir_location_mapped_to_another_site_is_refused_naming_it(client, admin):
    first = client.post("/v1/admin/locations", json={**SPRINGFIELD_EAST, "fhir_location": "Location/12"}, headers=admin)
    second = client.patch("/v1/admin/locations/main", json={"fhir_location": "Location/12"}, headers=admin)

    assert first.status_code == 201
    assert second.status_code == 422
    assert second.get_json()["errors"] == {
        "fhir_location": ["The site 'east' is mapped to this FHIR Location already."]
    }


def test_a_change_is_audited_with_exactly_what_changed(app, client, admin):
    open_sites(app)

    response = client.patch(
        "/v1/admin/locations/north",
        json={"name": "North side clinic", "phone": "(555) 010-0102", "slot_types": ["injection", "consult"]},
        headers=admin,
    )

    assert response.status_code == 200
    assert (response.get_json()["name"], response.get_json()["slot_types"]) == (
        "North side clinic",
        ["consult", "injection"],
    )
    [event] = audit_events(app, "location.update")
    assert event.details == {
        "location_id": "north",
        "changed": {"name": "North side clinic", "slot_types": ["consult", "injection"]},
    }
    assert wiring(app).locations.site("north").name == "North side clinic"


def test_a_change_with_nothing_to_change_is_refused_naming_the_body(client, admin):
    response = client.patch("/v1/admin/locations/main", json={"colour": "blue"}, headers=admin)

    assert response.status_code == 422
    assert response.get_json()["errors"] == {"_schema": ["Give at least one field to change."]}


def test_an_unknown_site_is_404(client, admin):
    assert client.patch("/v1/admin/locations/nowhere", json={"name": "X"}, headers=admin).status_code == 404
    assert client.delete("/v1/admin/locations/nowhere", headers=admin).status_code == 404


def test_a_deactivated_site_takes_no_booking_and_leaves_the_public_list(app, client, admin):
    open_sites(app)
    slots_at(app, "north", "consult", [26])
    slots_at(app, "downtown", "consult", [40])

    response = client.delete("/v1/admin/locations/north", headers=admin)
    booked = post_inquiry(client, postal_code="01104")
    chosen = client.post(
        "/v1/inquiries", json=inquiry(preferred_location="north"), headers={"Idempotency-Key": str(uuid.uuid4())}
    )

    assert (response.status_code, response.get_json()["active"]) == (200, False)
    assert booked["appointment"]["location"] == "downtown"
    assert chosen.status_code == 422
    assert list(chosen.get_json()["errors"]) == ["preferred_location"]
    assert [site["id"] for site in client.get("/v1/locations").get_json()] == ["downtown", "holyoke", "worcester"]
    [event] = audit_events(app, "location.deactivate")
    assert event.details == {"location_id": "north", "changed": {"active": False}}


def test_the_only_active_site_cannot_be_deactivated(app, client, admin):
    response = client.delete("/v1/admin/locations/main", headers=admin)

    assert response.status_code == 409
    assert response.get_json()["detail"] == (
        "This is the practice's only active site; add or reactivate another one first."
    )
    assert [site["id"] for site in client.get("/v1/locations").get_json()] == ["main"]
    assert audit_events(app, "location.deactivate") == []


def test_a_deactivated_site_can_be_brought_back(app, client, admin):
    open_sites(app)

    response = client.patch("/v1/admin/locations/main", json={"active": True}, headers=admin)

    assert (response.status_code, response.get_json()["active"]) == (200, True)
    assert [s["id"] for s in client.get("/v1/locations").get_json()] == [
        "downtown",
        "holyoke",
        "main",
        "north",
        "worcester",
    ]


# --- the public list --------------------------------------------------------------------------------------


def test_the_public_list_gives_the_default_site_with_the_clinic_s_details(client):
    response = client.get("/v1/locations")

    assert response.status_code == 200
    assert response.get_json() == [
        {
            "id": "main",
            "name": "Main site",
            "address": DEMO_CLINIC.address,
            "phone": DEMO_CLINIC.phone,
            "time_zone": "America/New_York",
            "slot_types": ["consult", "imaging", "injection"],
        }
    ]


def test_the_public_list_gives_each_active_site_without_signing_in(app, client):
    open_sites(app)

    listed = client.get("/v1/locations").get_json()

    assert listed[0] == {
        "id": "downtown",
        "name": "Downtown",
        "address": "1 Court Square, Springfield",
        "phone": "(555) 010-0101",
        "time_zone": "America/New_York",
        "slot_types": ["consult", "imaging", "injection"],
    }
    assert [(site["id"], site["slot_types"]) for site in listed] == [
        (site["id"], sorted(site["slot_types"])) for site in sorted(SITES, key=lambda site: site["id"])
    ]


# --- the queue's site filter ------------------------------------------------------------------------------


def test_the_queue_filters_by_the_site_an_inquiry_is_routed_to(app, client, staff):
    open_sites(app)
    slots_at(app, "north", "consult", [26])
    slots_at(app, "downtown", "consult", [27, 28])
    north = post_inquiry(client, preferred_location="north")["id"]
    downtown = [post_inquiry(client, preferred_location="downtown")["id"] for _ in range(2)]

    at_north = client.get("/v1/admin/inquiries?location=north", headers=staff).get_json()
    at_downtown = client.get("/v1/admin/inquiries?location=downtown", headers=staff).get_json()
    nowhere = client.get("/v1/admin/inquiries?location=worcester", headers=staff).get_json()

    assert ([item["id"] for item in at_north["items"]], at_north["total"]) == ([north], 1)
    assert at_north["items"][0]["location"] == "north"
    assert at_north["items"][0]["appointment"]["location"] == "north"
    assert sorted(item["id"] for item in at_downtown["items"]) == sorted(downtown)
    assert (nowhere["items"], nowhere["total"]) == ([], 0)


def test_the_inquiry_detail_names_its_site_and_its_appointment_s(app, client, staff):
    open_sites(app)
    slots_at(app, "holyoke", "consult", [26])
    inquiry_id = post_inquiry(client, preferred_location="holyoke")["id"]

    detail = client.get(f"/v1/admin/inquiries/{inquiry_id}", headers=staff).get_json()

    assert detail["location"] == "holyoke"
    assert [a["location"] for a in detail["appointments"]] == ["holyoke"]


# --- overrides choosing a site ----------------------------------------------------------------------------


def override(client, headers, inquiry_id: str, **body):
    tagged = {**headers, "If-Match": etag_of(client, headers["Authorization"].removeprefix("Bearer "), inquiry_id)}
    return client.post(f"/v1/admin/inquiries/{inquiry_id}/override", json=body, headers=tagged)


def test_an_override_books_at_the_site_staff_choose(app, client, staff):
    open_sites(app)
    slots_at(app, "downtown", "consult", [26, 27])
    slots_at(app, "north", "consult", [50])
    inquiry_id = post_inquiry(client, preferred_location="downtown")["id"]

    response = override(client, staff, inquiry_id, route="consult", reason="closer to her work", location="north")

    assert response.status_code == 200, response.get_json()
    detail = response.get_json()
    assert [(a["location"], a["status"]) for a in detail["appointments"]] == [
        ("downtown", "cancelled"),
        ("north", "booked"),
    ]
    assert detail["location"] == "north"
    assert "North side, 200 Liberty Street, Springfield" in detail["patient_message"]
    assert appointment_sites(app) == ["downtown", "north"]
    [event] = audit_events(app, "override")
    assert (event.details["to"]["appointment"]["location"], event.reason) == ("north", "closer to her work")
    queue = client.get("/v1/admin/inquiries?location=north", headers=staff).get_json()
    assert [item["id"] for item in queue["items"]] == [inquiry_id]


def test_an_override_to_a_site_the_practice_does_not_have_is_422_naming_the_field(app, client, staff):
    open_sites(app)
    slots_at(app, "downtown", "consult", [26, 27])
    inquiry_id = post_inquiry(client)["id"]

    response = override(client, staff, inquiry_id, route="consult", reason="moved", location="springfield-west")

    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["location"]
    assert appointment_sites(app) == ["downtown"]
    assert audit_events(app, "override") == []


def test_an_override_to_a_site_without_that_kind_of_appointment_is_refused(app, client, staff):
    open_sites(app)
    slots_at(app, "downtown", "consult", [26])
    inquiry_id = post_inquiry(client)["id"]

    response = override(client, staff, inquiry_id, route="imaging", reason="MRI first", location="north")

    assert response.status_code == 409
    assert response.get_json()["detail"].startswith("North side holds no ")
    assert appointment_sites(app) == ["downtown"]


def test_an_override_s_chosen_slot_must_be_at_the_chosen_site(app, client, staff):
    open_sites(app)
    slots_at(app, "downtown", "consult", [26, 27])
    slots_at(app, "north", "consult", [30])
    inquiry_id = post_inquiry(client)["id"]
    downtown_slot = next(
        slot["id"]
        for slot in client.get("/v1/admin/slots?slot_type=consult&location=downtown", headers=staff).get_json()
    )

    response = override(
        client, staff, inquiry_id, route="consult", reason="wants north", location="north", slot_id=downtown_slot
    )

    assert response.status_code == 409
    assert appointment_sites(app) == ["downtown"]


def test_free_slots_can_be_listed_at_one_site(app, client, staff):
    open_sites(app)
    slots_at(app, "downtown", "consult", [26])
    slots_at(app, "north", "consult", [27, 28])

    listed = client.get("/v1/admin/slots?slot_type=consult&location=north", headers=staff).get_json()

    assert [slot["location"] for slot in listed] == ["north", "north"]
