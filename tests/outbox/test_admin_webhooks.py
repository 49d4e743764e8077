"""/v1/admin/webhooks and /v1/admin/deliveries: subscriptions with a secret shown once, every bad field named,
every change audited (the PHI opt-in on its own), deliveries listed with their attempts."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from routing.adapters.db.models import AuditEvent
from tests.http.admin_helpers import bearer, make_token, new_inquiry
from tests.http.intake_helpers import add_slots
from tests.outbox.helpers import subscribe, worker
from tests.outbox.receiver import Receiver

PROBLEM = "application/problem+json"
URL = "https://hooks.example.org/services/T1/B2/secret-token"


@pytest.fixture
def admin(app):
    return make_token(app, "Ada Admin", "admin")


def audit_trail(app) -> list[tuple[str, dict]]:
    with app.extensions["routing"].db.session() as session:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.action.like("webhook.%")).order_by(AuditEvent.id))
        return [(row.action, row.details) for row in rows]


def test_a_subscription_s_secret_is_shown_on_creation_only(client, admin):
    created = subscribe(client, admin, URL, ["inquiry.routed", "appointment.booked"])

    shown = client.get(f"/v1/admin/webhooks/{created['id']}", headers=bearer(admin)).get_json()
    listed = client.get("/v1/admin/webhooks", headers=bearer(admin)).get_json()

    assert created["secret"].startswith("whsec_")
    assert len(created["secret"]) == len("whsec_") + 44  # 32 random bytes in base64
    assert shown == {key: value for key, value in created.items() if key != "secret"}
    assert listed == [shown]
    assert shown == {
        "id": created["id"],
        "description": "Test receiver",
        "url": URL,
        "event_types": ["inquiry.routed", "appointment.booked"],
        "enabled": True,
        "include_phi": False,
        "created_at": created["created_at"],
        "updated_at": created["created_at"],
        "previous_secret_until": None,
    }


def test_a_bad_subscription_is_a_422_naming_every_bad_field(app, client, admin):
    body = {
        "url": "http://ehr.example.org/hooks",
        "event_types": ["inquiry.routed", "inquiry.exploded"],
        "enabled": "maybe",
    }

    response = client.post("/v1/admin/webhooks", json=body, headers=bearer(admin))

    assert response.status_code == 422
    assert response.content_type == PROBLEM
    assert response.get_json()["errors"] == {
        "description": ["Missing data for required field."],
        "url": ["Plain http:// is allowed only to this machine (localhost, 127.0.0.1, [::1]); use https:// elsewhere."],
        "event_types.1": [
            "Must be one of: inquiry.received, inquiry.routed, inquiry.urgent_review, inquiry.urgent_review.repeat, "
            "inquiry.held, appointment.booked, appointment.cancelled, appointment.rebooked, appointment.noshow, "
            "appointment.reminder_due, waitlist.offered."
        ],
        "enabled": ["Not a valid boolean."],
    }
    assert audit_trail(app) == []


def test_no_event_type_or_one_named_twice_is_refused(client, admin):
    none = client.post(
        "/v1/admin/webhooks", json={"description": "x", "url": URL, "event_types": []}, headers=bearer(admin)
    )
    twice = client.post(
        "/v1/admin/webhooks",
        json={"description": "x", "url": URL, "event_types": ["inquiry.held", "inquiry.held"]},
        headers=bearer(admin),
    )

    assert none.get_json()["errors"] == {"event_types": ["Choose at least one event type."]}
    assert twice.get_json()["errors"] == {"event_types": ["Name each event type once."]}


def test_each_change_is_audited_naming_the_receiver_by_origin_and_the_phi_opt_in_on_its_own(app, client, admin):
    created = subscribe(client, admin, URL, ["inquiry.routed"], include_phi=True)
    sid = created["id"]

    client.patch(f"/v1/admin/webhooks/{sid}", json={"include_phi": False, "description": "CRM"}, headers=bearer(admin))
    client.patch(
        f"/v1/admin/webhooks/{sid}", json={"url": "https://crm.example.org/in/other-token"}, headers=bearer(admin)
    )
    client.post(f"/v1/admin/webhooks/{sid}/rotate-secret", headers=bearer(admin))
    deleted = client.delete(f"/v1/admin/webhooks/{sid}", headers=bearer(admin))

    trail = audit_trail(app)
    assert deleted.status_code == 204
    assert [action for action, _ in trail] == [
        "webhook.create",
        "webhook.include_phi",
        "webhook.update",
        "webhook.include_phi",
        "webhook.update",
        "webhook.rotate_secret",
        "webhook.delete",
    ]
    assert trail[0][1] == {
        "subscription_id": sid,
        "description": "Test receiver",
        "receiver": "https://hooks.example.org",
        "event_types": ["inquiry.routed"],
        "enabled": True,
        "include_phi": True,
    }
    assert trail[1][1] == {"subscription_id": sid, "receiver": "https://hooks.example.org", "include_phi": True}
    assert trail[2][1] == {"subscription_id": sid, "changed": {"include_phi": False, "description": "CRM"}}
    assert trail[3][1]["include_phi"] is False
    assert trail[4][1] == {"subscription_id": sid, "changed": {"url": "https://crm.example.org"}}
    text = json.dumps(trail)
    assert [word for word in ("secret-token", "other-token", "whsec_") if word in text] == []
    assert client.get(f"/v1/admin/webhooks/{sid}", headers=bearer(admin)).status_code == 404


def test_an_unknown_subscription_is_a_404_problem(client, admin):
    missing = "00000000-0000-0000-0000-000000000000"

    answers = [
        client.get(f"/v1/admin/webhooks/{missing}", headers=bearer(admin)),
        client.patch(f"/v1/admin/webhooks/{missing}", json={"enabled": False}, headers=bearer(admin)),
        client.post(f"/v1/admin/webhooks/{missing}/rotate-secret", headers=bearer(admin)),
        client.delete(f"/v1/admin/webhooks/{missing}", headers=bearer(admin)),
        client.get(f"/v1/admin/deliveries/{missing}", headers=bearer(admin)),
        client.post(f"/v1/admin/deliveries/{missing}/replay", headers=bearer(admin)),
    ]

    assert [(a.status_code, a.content_type) for a in answers] == [(404, PROBLEM)] * 6


def test_deliveries_are_listed_by_subscription_and_status_with_their_attempt_log(app, client, admin):
    add_slots(app, "consult", [26])
    with Receiver(answers=[500]) as receiver:
        receiver.secret = subscribe(client, admin, receiver.url, ["inquiry.received"])["secret"]
        other = subscribe(client, admin, URL, ["inquiry.held"])
        inquiry_id = new_inquiry(client)
        worker(app).drain()
    headers = bearer(admin)

    pending = client.get("/v1/admin/deliveries?status=pending", headers=headers).get_json()
    none_for_other = client.get(f"/v1/admin/deliveries?subscription_id={other['id']}", headers=headers).get_json()
    detail = client.get(f"/v1/admin/deliveries/{pending['items'][0]['id']}", headers=headers).get_json()
    bad = client.get("/v1/admin/deliveries?status=lost&channel=pigeon", headers=headers)

    assert (pending["total"], none_for_other["total"]) == (1, 0)
    item = pending["items"][0]
    assert (item["channel"], item["event_type"], item["inquiry_id"], item["attempts"]) == (
        "webhook",
        "inquiry.received",
        inquiry_id,
        1,
    )
    assert item["last_result"] == "http 500"
    assert detail["event_data"] == {"inquiry_id": inquiry_id, "language": "en"}
    assert [(a["result"], a["detail"]) for a in detail["attempt_log"]] == [("failed", "http 500")]
    assert set(detail["attempt_log"][0]) == {"started_at", "latency_ms", "result", "detail"}  # no body kept
    assert bad.status_code == 422
    assert set(bad.get_json()["errors"]) == {"status", "channel"}
