"""The console's webhook pages (admins only): list, add (the secret shown once), disable, the PHI opt-in,
rotate, delete; deliveries with their attempt log; replay of a dead letter."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from routing import create_app
from routing.adapters.db.models import AuditEvent, WebhookSubscription
from tests.conftest import settings_for
from tests.http.admin_helpers import make_token, new_inquiry
from tests.http.intake_helpers import add_slots
from tests.outbox.helpers import deliveries, worker
from tests.outbox.receiver import Receiver

URL = "https://hooks.example.org/services/T1"


@pytest.fixture
def app(migrated_url):
    application = create_app(settings_for(migrated_url, ROUTING_SECRET_KEY="k" * 40, ROUTING_COOKIE_SECURE="off"))
    add_slots(application, "consult", [26, 27])
    yield application
    application.extensions["routing"].db.dispose()


def csrf_of(page) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)


def signed_in(app, role: str):
    client = app.test_client()
    page = client.get("/console/login")
    client.post("/console/login", data={"token": make_token(app, f"A {role}", role), "csrf_token": csrf_of(page)})
    return client


def post(client, path: str, data: dict | None = None, page: str = "/console/webhooks"):
    return client.post(path, data={**(data or {}), "csrf_token": csrf_of(client.get(page))})


def add(client, url: str = URL, **extra):
    data = {"description": "EHR inbox", "url": url, "event_types": ["inquiry.received", "inquiry.held"], **extra}
    return post(client, "/console/webhooks", data)


def subscription(app) -> WebhookSubscription:
    with app.extensions["routing"].db.session() as session:
        return session.scalars(select(WebhookSubscription)).one()


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_the_webhook_pages_are_for_admins_only(app):
    staff, admin = signed_in(app, "staff"), signed_in(app, "admin")

    refused = [staff.get(path) for path in ("/console/webhooks", "/console/deliveries")]
    queue_for_staff, queue_for_admin = staff.get("/console/"), admin.get("/console/")

    assert [r.status_code for r in refused] == [403, 403]
    assert "Webhooks and deliveries are managed by admins; your token's role is staff." in text(refused[0])
    assert 'href="/console/webhooks"' not in text(queue_for_staff)
    assert 'href="/console/webhooks"' in text(queue_for_admin)


def test_signed_out_the_webhook_pages_go_to_sign_in(client):
    response = client.get("/console/webhooks")

    assert response.status_code == 303
    assert response.headers["Location"].endswith("/console/login")


def test_adding_a_subscription_shows_its_secret_once_and_uncached(app):
    admin = signed_in(app, "admin")

    added = add(admin)
    listed = admin.get("/console/webhooks")

    row = subscription(app)
    assert added.status_code == 201
    assert added.headers["Cache-Control"] == "no-store"
    assert f'<code id="secret-value">{row.secret}</code>' in text(added)
    assert "it is <strong>not shown again</strong>" in text(added)
    assert row.secret not in text(listed)
    assert row.event_types == ["inquiry.received", "inquiry.held"]
    assert (row.url, row.enabled, row.include_phi) == (URL, True, False)
    assert "EHR inbox" in text(listed)


def test_a_bad_subscription_form_names_each_bad_field_and_keeps_what_was_typed(app):
    admin = signed_in(app, "admin")

    response = post(admin, "/console/webhooks", {"description": "CRM", "url": "http://crm.example.org/in"})

    page = text(response)
    assert response.status_code == 422
    assert (
        "Plain http:// is allowed only to this machine (localhost, 127.0.0.1, [::1]); use https:// elsewhere." in page
    )
    assert "Choose at least one event type." in page
    assert 'value="http://crm.example.org/in"' in page
    with app.extensions["routing"].db.session() as session:
        assert session.scalars(select(WebhookSubscription)).all() == []


def test_a_form_without_its_csrf_token_changes_nothing(app):
    admin = signed_in(app, "admin")

    response = admin.post("/console/webhooks", data={"description": "x", "url": URL, "event_types": ["inquiry.held"]})

    assert response.status_code == 400
    with app.extensions["routing"].db.session() as session:
        assert session.scalars(select(WebhookSubscription)).all() == []


def test_disable_the_phi_opt_in_rotate_and_delete_from_the_subscription_s_page(app):
    admin = signed_in(app, "admin")
    add(admin)
    row = subscription(app)
    page = f"/console/webhooks/{row.id}"

    disabled = post(admin, f"{page}/enabled", {}, page)
    phi_on = post(admin, f"{page}/phi", {"include_phi": "on"}, page)
    rotated = post(admin, f"{page}/rotate", {}, page)
    after = subscription(app)
    deleted = post(admin, f"{page}/delete", {}, page)

    assert (disabled.status_code, phi_on.status_code, rotated.status_code, deleted.status_code) == (303, 303, 200, 303)
    assert (after.enabled, after.include_phi, after.previous_secret) == (False, True, row.secret)
    assert f'<code id="secret-value">{after.secret}</code>' in text(rotated)
    assert rotated.headers["Cache-Control"] == "no-store"
    with app.extensions["routing"].db.session() as session:
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert session.scalars(select(WebhookSubscription)).all() == []
    assert [a for a in actions if a.startswith("webhook.")] == [
        "webhook.create",
        "webhook.update",
        "webhook.update",
        "webhook.include_phi",
        "webhook.rotate_secret",
        "webhook.delete",
    ]


def test_a_dead_letter_is_listed_with_its_attempts_and_sent_again_from_its_page(app):
    admin = signed_in(app, "admin")
    with Receiver(answers=[410]) as receiver:
        add(admin, url=receiver.url)
        receiver.secret = subscription(app).secret
        new_inquiry(app.test_client())
        worker(app).drain()
        dead = deliveries(app)[0]

        listed = admin.get("/console/deliveries?status=dead")
        page = admin.get(f"/console/deliveries/{dead.id}")
        replayed = post(admin, f"/console/deliveries/{dead.id}/replay", {}, f"/console/deliveries/{dead.id}")
        worker(app).drain()
        after = admin.get(f"/console/deliveries/{dead.id}")

    assert f'href="/console/deliveries/{dead.id}">inquiry.received</a>' in text(listed)
    assert "<td>refused</td><td>http 410</td>" in text(page)
    assert f"<code>{dead.event_id}</code>" in text(page)
    assert replayed.status_code == 303
    assert "Replay queued: the worker sends it again within seconds." in text(after)
    assert "<td>delivered</td><td>http 200</td>" in text(after)
    assert [r.answered for r in receiver.received] == [410, 200]


def test_an_unknown_subscription_or_delivery_page_is_404(app):
    admin = signed_in(app, "admin")

    answers = [
        admin.get(f"/console/{kind}/00000000-0000-0000-0000-000000000000") for kind in ("webhooks", "deliveries")
    ]

    assert [a.status_code for a in answers] == [404, 404]
    assert "There is no webhook subscription or delivery with this id." in text(answers[0])
