"""Reading the queue and an inquiry's whole story; the dry run, the rulebook, the audit log, tokens."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
from sqlalchemy import event

from routing import create_app
from tests.conftest import settings_for
from tests.http.admin_helpers import RED_FLAG, bearer, make_token, new_inquiry
from tests.http.intake_helpers import add_slots, inquiry

CAUDA_EQUINA = "Severe back pain and I can't control my bladder, numb when I wipe."
INFECTION = "Back pain with a fever of 39 for three days."


@pytest.fixture
def app(migrated_url):
    application = create_app(settings_for(migrated_url))
    add_slots(application, "consult", [26, 27, 28])
    yield application
    application.extensions["routing"].db.dispose()


@pytest.fixture
def staff(app):
    return bearer(make_token(app, "Sam Staff", "staff"))


@pytest.fixture
def admin(app):
    return bearer(make_token(app, "Ada Admin", "admin"))


def test_the_queue_puts_emergencies_first_then_urgent_review_then_by_urgency_oldest_first(client, staff):
    routine = new_inquiry(client)
    infection = new_inquiry(client, INFECTION)
    emergency = new_inquiry(client, CAUDA_EQUINA)

    body = client.get("/v1/admin/inquiries", headers=staff).get_json()

    order = [item["id"] for item in body["items"]]
    assert order == [emergency, infection, routine]
    first = body["items"][0]
    assert (first["urgency"], first["status"], first["route"]) == ("emergency", "urgent_review", "urgent_review")
    assert first["patient_name"] == "Ana Diaz"
    assert body["total"] == 3
    assert body["items"][2]["appointment"]["slot_type"] == "consult"


def test_a_handled_emergency_sorts_below_the_open_ones_and_says_who_handled_it(client, staff):
    handled = new_inquiry(client, CAUDA_EQUINA)
    routine = new_inquiry(client)
    infection = new_inquiry(client, INFECTION)
    still_open = new_inquiry(client, CAUDA_EQUINA)
    etag = client.get(f"/v1/admin/inquiries/{handled}", headers=staff).headers["ETag"]
    response = client.post(f"/v1/admin/inquiries/{handled}/acknowledge", json={}, headers={**staff, "If-Match": etag})
    assert response.status_code == 200

    body = client.get("/v1/admin/inquiries", headers=staff).get_json()

    assert [item["id"] for item in body["items"]] == [still_open, infection, handled, routine]
    assert [item["handled"] and item["handled"]["by"] for item in body["items"]] == [None, None, "Sam Staff", None]


def test_a_queue_page_with_nothing_acknowledged_or_closed_asks_the_audit_log_nothing(app, client, staff):
    new_inquiry(client, CAUDA_EQUINA)
    new_inquiry(client, INFECTION)
    new_inquiry(client)
    read: list[str] = []
    engine = app.extensions["routing"].db.engine
    record = lambda *args: read.append(args[2])  # noqa: E731 - (conn, cursor, statement, ...)
    event.listen(engine, "before_cursor_execute", record)
    try:
        body = client.get("/v1/admin/inquiries", headers=staff).get_json()
    finally:
        event.remove(engine, "before_cursor_execute", record)

    assert [item["handled"] for item in body["items"]] == [None, None, None]
    assert [statement for statement in read if "audit_events" in statement] == []


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("bea", ["Bea Lopez"]),
        ("LOPEZ", ["Bea Lopez"]),
        ("bea lo", ["Bea Lopez"]),
        ("diaz", ["Ana Diaz"]),
        ("555-0199", ["Bea Lopez"]),
        ("(555) 01", ["Ana Diaz", "Bea Lopez"]),
        ("nobody", []),
        ("%", []),
    ],
)
def test_the_queue_searches_by_patient_name_or_phone(client, staff, search, expected):
    new_inquiry(client)
    bea = {"first_name": "Bea", "last_name": "Lopez", "email": "bea@example.org", "phone": "+1 (555) 0199"}
    response = client.post("/v1/inquiries", json=inquiry(patient=bea), headers={"Idempotency-Key": "bea-lopez-1"})
    assert response.status_code in (201, 202)

    body = client.get(f"/v1/admin/inquiries?search={quote(search)}", headers=staff).get_json()

    assert sorted(item["patient_name"] for item in body["items"]) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=urgent_review", 2),
        ("status=booked", 1),
        ("urgency=emergency", 1),
        ("route=consult", 1),
        ("needs_review=false", 1),
        ("needs_review=true", 2),
    ],
)
def test_the_queue_filters(client, staff, query, expected):
    for message in (None, INFECTION, CAUDA_EQUINA):
        new_inquiry(client, message)

    body = client.get(f"/v1/admin/inquiries?{query}", headers=staff).get_json()

    assert body["total"] == expected
    assert len(body["items"]) == expected


def test_the_queue_filters_by_time_received_and_pages(client, staff):
    ids = [new_inquiry(client, f"Lifted boxes, day {n}, back spasm.") for n in range(5)]
    soon = quote((datetime.now(UTC) + timedelta(minutes=1)).isoformat())

    assert client.get(f"/v1/admin/inquiries?received_after={soon}", headers=staff).get_json()["total"] == 0
    page = client.get("/v1/admin/inquiries?per_page=2&page=2", headers=staff).get_json()

    assert (page["total"], page["page"], page["per_page"]) == (5, 2, 2)
    assert [item["id"] for item in page["items"]] == ids[2:4]


def test_bad_filters_are_422_naming_the_field(client, staff):
    response = client.get("/v1/admin/inquiries?urgency=whenever&per_page=500", headers=staff)

    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"urgency", "per_page"}


def test_the_detail_shows_the_inquiry_its_facts_with_sources_the_decision_and_an_etag(client, staff):
    inquiry_id = new_inquiry(client, "Lifted a couch yesterday, back spasm, pain 7/10.", symptoms={"onset": "sudden"})

    response = client.get(f"/v1/admin/inquiries/{inquiry_id}", headers=staff)

    assert response.status_code == 200
    body = response.get_json()
    assert response.headers["ETag"] == body["etag"]
    assert body["patient"]["email"] == "ana@example.org"
    assert body["message"].startswith("Lifted a couch")
    sources = {e["fact"]: e["source"] for e in body["evidence"]}
    assert sources["onset"] == "form"
    assert sources["trigger"] == "text"
    assert body["facts"]["pain_score"] == 7
    assert body["decision"]["rule"] == "R10"
    assert body["decision"]["rulebook_version"] == "2026-12-06.4+2"
    assert body["decision"]["reasons"][0]["rule"] == "R10"
    assert [a["status"] for a in body["appointments"]] == ["booked"]
    assert body["audit"] == []


def test_an_unknown_inquiry_is_404(client, staff):
    response = client.get("/v1/admin/inquiries/00000000-0000-0000-0000-000000000000", headers=staff)

    assert response.status_code == 404
    assert response.content_type == "application/problem+json"


def test_the_dry_run_decides_without_storing_or_booking(app, client, staff):
    response = client.post("/v1/triage", json=inquiry(RED_FLAG), headers=staff)

    assert response.status_code == 200
    body = response.get_json()
    assert body["triage"]["route"] == "urgent_review"
    assert body["triage"]["urgency"] == "emergency"
    assert any(e["source"] == "text" for e in body["evidence"])
    assert client.get("/v1/admin/inquiries", headers=staff).get_json()["total"] == 0


def test_the_dry_run_takes_form_bodies_and_explains_bad_ones(client, staff):
    form = {"first_name": "Ana", "last_name": "Diaz", "email": "ana@example.org", "pain_score": "14"}
    response = client.post("/v1/triage", data=form, headers=staff)

    assert response.status_code == 422
    assert "symptoms.pain_score" in response.get_json()["errors"]


def test_the_rulebook_in_force_is_shown_in_order(client, staff):
    body = client.get("/v1/admin/rulebook", headers=staff).get_json()

    assert body["version"] == "2026-12-06.4+2"
    assert [rule["id"] for rule in body["rules"]][:2] == ["R1", "R2"]
    assert body["urgency_windows_days"]["urgent"] == 2


def test_admins_create_list_and_revoke_tokens_and_each_change_is_audited(client, admin):
    created = client.post("/v1/admin/tokens", json={"name": "Nina Nurse", "role": "staff"}, headers=admin)
    assert created.status_code == 201
    token, token_id = created.get_json()["token"], created.get_json()["id"]
    assert client.get("/v1/admin/rulebook", headers=bearer(token)).status_code == 200

    listed = client.get("/v1/admin/tokens", headers=admin).get_json()
    assert all("token" not in row for row in listed)
    assert client.delete(f"/v1/admin/tokens/{token_id}", headers=admin).status_code == 200
    assert client.get("/v1/admin/rulebook", headers=bearer(token)).status_code == 401

    log = client.get("/v1/admin/audit", headers=admin).get_json()
    assert [(e["action"], e["actor"]) for e in log["items"]] == [
        ("token.revoke", "Ada Admin"),
        ("token.create", "Ada Admin"),
    ]
    assert token not in str(log)


def test_an_admin_token_can_be_made_to_expire_and_the_list_shows_expiry_and_last_use(client, admin):
    created = client.post(
        "/v1/admin/tokens", json={"name": "Temp Locum", "role": "staff", "expires_in_days": 30}, headers=admin
    ).get_json()
    client.get("/v1/admin/rulebook", headers=bearer(created["token"]))

    listed = {row["name"]: row for row in client.get("/v1/admin/tokens", headers=admin).get_json()}

    expires = datetime.fromisoformat(listed["Temp Locum"]["expires_at"])
    assert timedelta(days=29, hours=23) < expires - datetime.now(UTC) <= timedelta(days=30)
    assert listed["Temp Locum"]["last_used_at"] is not None
    assert listed["Ada Admin"]["expires_at"] is None
    refused = client.post("/v1/admin/tokens", json={"name": "X", "role": "staff", "expires_in_days": 0}, headers=admin)
    assert list(refused.get_json()["errors"]) == ["expires_in_days"]


def test_the_audit_log_has_no_way_to_edit_or_delete(app):
    for rule in app.url_map.iter_rules():
        if "audit" in rule.rule:
            assert rule.methods - {"HEAD", "OPTIONS"} == {"GET"}


def test_the_staff_command_creates_lists_and_revokes_tokens(app, client):
    runner = app.test_cli_runner()

    created = runner.invoke(args=["staff", "create", "Lee Doctor", "--role", "admin"])
    token = created.output.strip().splitlines()[-1]
    runner.invoke(args=["staff", "create", "Temp Locum", "--expires-in", "30d"])
    client.get("/v1/admin/rulebook", headers=bearer(token))
    listed = runner.invoke(args=["staff", "list"])
    revoked = runner.invoke(args=["staff", "revoke", "Lee Doctor"])

    assert created.exit_code == 0
    assert token.startswith("rt_")
    lines = {line.split()[1] + " " + line.split()[2]: line for line in listed.output.splitlines()}
    assert "admin" in lines["Lee Doctor"]
    assert re.search(r"live, no expiry  last used \d{4}-\d\d-\d\d \d\d:\d\d$", lines["Lee Doctor"])
    assert re.search(r"expires \d{4}-\d\d-\d\d \d\d:\d\d  never used$", lines["Temp Locum"])
    assert token not in listed.output
    assert revoked.exit_code == 0
    assert client.get("/v1/admin/rulebook", headers=bearer(token)).status_code == 401
    assert runner.invoke(args=["staff", "revoke", "Nobody"]).exit_code != 0
    with app.extensions["routing"].db.session() as session:
        from routing.adapters.db.models import StaffToken

        stored = session.query(StaffToken).filter_by(name="Lee Doctor").one()
        assert token not in (stored.token_hash, stored.name)  # only the hash is kept
