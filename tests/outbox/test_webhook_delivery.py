"""Webhook subscriptions receive their events signed (Standard Webhooks), at least once with one webhook-id,
retried with backoff for 24 hours, then dead-lettered; every attempt logged; dead letters replayed.

Each test runs a real receiver on loopback that checks the signature with the subscription's secret."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from routing.adapters.db.models import AuditEvent, OutboxDelivery, OutboxEvent, WebhookSubscription
from routing.services import outbox_dispatch
from tests.http.admin_helpers import bearer, make_token, new_inquiry
from tests.http.intake_helpers import PATIENT, add_slots
from tests.outbox.helpers import attempts, deliveries, recorded, subscribe, worker
from tests.outbox.receiver import Receiver
from tests.scheduling.fault_server import refused_url


@pytest.fixture
def slots(app):
    add_slots(app, "consult", [26, 27, 28])
    return app


@pytest.fixture
def admin(app):
    return make_token(app, "Ada Admin", "admin")


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def subscribed(client, admin, receiver: Receiver, types: list[str], **extra) -> dict:
    """A subscription for ``receiver``, whose secret it then checks signatures with."""
    created = subscribe(client, admin, receiver.url, types, **extra)
    receiver.secret = created["secret"]
    return created


def test_a_subscribed_event_arrives_signed_with_the_event_id_as_webhook_id(app, client, slots, admin):
    with Receiver() as receiver:
        subscribed(client, admin, receiver, ["inquiry.routed", "appointment.booked"])
        inquiry_id = new_inquiry(client)

        sent = worker(app).drain()

    events = dict(recorded(app))
    # One instant's events go out in no particular order: read them by type.
    got = {r.body["type"]: r for r in receiver.received}
    assert sent == 2
    assert sorted((kind, r.verified, r.answered) for kind, r in got.items()) == [
        ("appointment.booked", True, 200),
        ("inquiry.routed", True, 200),
    ]
    assert {kind: r.body["data"] for kind, r in got.items()} == {
        "inquiry.routed": events["inquiry.routed"],
        "appointment.booked": events["appointment.booked"],
    }
    assert got["inquiry.routed"].body["data"]["inquiry_id"] == inquiry_id
    assert set(got["inquiry.routed"].body) == {"type", "timestamp", "data"}
    assert got["inquiry.routed"].body["timestamp"].endswith("Z")
    with app.extensions["routing"].db.session() as session:
        rows = session.scalars(select(OutboxDelivery)).all()
        kinds = {row.event_id: kind for row in rows for kind in [session.get(OutboxEvent, row.event_id).type]}
    assert {kind: r.webhook_id for kind, r in got.items()} == {kind: str(eid) for eid, kind in kinds.items()}
    assert [(row.status, row.attempts, row.last_result) for row in rows] == [("delivered", 1, "http 200")] * 2
    log = attempts(app)
    assert [(a.result, a.detail) for a in log] == [("delivered", "http 200")] * 2
    assert all(a.latency_ms >= 0 for a in log)


def test_only_enabled_subscriptions_to_the_event_s_type_get_it(app, client, slots, admin):
    with Receiver() as wants, Receiver() as other_types, Receiver() as disabled:
        subscribed(client, admin, wants, ["inquiry.received"])
        subscribed(client, admin, other_types, ["inquiry.urgent_review"])
        subscribed(client, admin, disabled, ["inquiry.received"], enabled=False)
        new_inquiry(client)

        worker(app).drain()

    assert [r.body["type"] for r in wants.received] == ["inquiry.received"]
    assert (other_types.received, disabled.received) == ([], [])


def test_a_failed_delivery_is_retried_with_backoff_and_the_same_webhook_id(app, client, slots, admin):
    clock = Clock()
    with Receiver(answers=[500, 503]) as receiver:
        subscribed(client, admin, receiver, ["inquiry.received"])
        new_inquiry(client)
        deliverer = worker(app, clock)

        first = deliverer.drain()
        due_after_first = deliveries(app)[0].next_attempt_at - clock.now
        too_soon = deliverer.drain()
        clock.advance(seconds=10)
        second = deliverer.drain()
        due_after_second = deliveries(app)[0].next_attempt_at - clock.now
        clock.advance(seconds=20)
        third = deliverer.drain()

    assert (first, too_soon, second, third) == (1, 0, 1, 1)
    # Ten seconds, then twenty, each with jitter of up to half of it.
    assert timedelta(seconds=5) <= due_after_first <= timedelta(seconds=10)
    assert timedelta(seconds=10) <= due_after_second <= timedelta(seconds=20)
    assert [r.answered for r in receiver.received] == [500, 503, 200]
    assert len({r.webhook_id for r in receiver.received}) == 1
    assert [(a.result, a.detail) for a in attempts(app)] == [
        ("failed", "http 500"),
        ("failed", "http 503"),
        ("delivered", "http 200"),
    ]
    assert (deliveries(app)[0].status, deliveries(app)[0].attempts) == ("delivered", 3)


def test_retries_go_on_for_24_hours_then_the_delivery_is_dead_lettered(app, client, slots, admin):
    clock = Clock()
    with Receiver(otherwise=500) as receiver:
        subscribed(client, admin, receiver, ["inquiry.received"])
        new_inquiry(client)
        deliverer = worker(app, clock)
        deliverer.drain()
        made = deliveries(app)[0].created_at
        statuses = []
        for hours in (1, 6, 12, 23.9):
            clock.now = made + timedelta(hours=hours)
            deliverer.drain()
            statuses.append(deliveries(app)[0].status)
        clock.now = made + timedelta(hours=24)
        deliverer.drain()

    assert statuses == ["pending"] * 4
    row = deliveries(app)[0]
    assert row.give_up_at == row.created_at + timedelta(hours=24)
    assert (row.status, row.attempts, row.last_result) == ("dead", 6, "http 500")
    assert [a.result for a in attempts(app)] == ["failed"] * 6


def test_a_receiver_that_answers_410_gone_is_dead_lettered_at_once(app, client, slots, admin):
    with Receiver(answers=[410]) as receiver:
        subscribed(client, admin, receiver, ["inquiry.received"])
        new_inquiry(client)

        worker(app).drain()

    assert (deliveries(app)[0].status, deliveries(app)[0].attempts) == ("dead", 1)
    assert [(a.result, a.detail) for a in attempts(app)] == [("refused", "http 410")]


def test_an_unreachable_receiver_is_logged_by_the_kind_of_error_and_retried(app, client, slots, admin):
    subscribe(client, admin, refused_url() + "/hooks", ["inquiry.received"])
    new_inquiry(client)

    worker(app).drain()

    assert deliveries(app)[0].status == "pending"
    assert [(a.result, a.detail) for a in attempts(app)] == [("failed", "connection failed")]


def test_a_dead_letter_is_replayed_with_the_same_webhook_id_and_the_replay_audited(app, client, slots, admin):
    with Receiver(answers=[410]) as receiver:
        subscribed(client, admin, receiver, ["inquiry.received"])
        new_inquiry(client)
        worker(app).drain()
        dead = deliveries(app)[0]

        replayed = client.post(f"/v1/admin/deliveries/{dead.id}/replay", headers=bearer(admin))
        worker(app).drain()

    assert replayed.status_code == 200, replayed.get_json()
    assert replayed.get_json()["status"] == "pending"
    assert [r.answered for r in receiver.received] == [410, 200]
    assert receiver.received[0].webhook_id == receiver.received[1].webhook_id == str(dead.event_id)
    assert deliveries(app)[0].status == "delivered"
    with app.extensions["routing"].db.session() as session:
        audit = session.scalars(select(AuditEvent).where(AuditEvent.action == "delivery.replay")).one()
    assert (audit.actor_name, audit.details["delivery_id"]) == ("Ada Admin", str(dead.id))


def test_a_pending_delivery_is_not_replayed(app, client, slots, admin):
    subscribe(client, admin, refused_url(), ["inquiry.received"])
    new_inquiry(client)
    worker(app).drain()

    response = client.post(f"/v1/admin/deliveries/{deliveries(app)[0].id}/replay", headers=bearer(admin))

    assert response.status_code == 409
    assert response.get_json()["detail"] == "This delivery is still pending: it is retried on its own."


def test_include_phi_adds_the_patient_s_name_and_contact_and_nothing_else(app, client, slots, admin):
    with Receiver() as with_phi, Receiver() as without:
        subscribed(client, admin, with_phi, ["inquiry.received"], include_phi=True)
        subscribed(client, admin, without, ["inquiry.received"])
        new_inquiry(client)

        worker(app).drain()

    assert with_phi.received[0].body["data"]["patient"] == {
        "first_name": PATIENT["first_name"],
        "last_name": PATIENT["last_name"],
        "email": PATIENT["email"],
        "phone": PATIENT["phone"],
    }
    assert "patient" not in without.received[0].body["data"]
    assert with_phi.received[0].verified


def test_a_rotated_secret_signs_alongside_the_old_one_for_a_day(app, client, slots, admin):
    with Receiver() as old_side, Receiver() as new_side:
        created = subscribed(client, admin, old_side, ["inquiry.received"])
        rotated = client.post(f"/v1/admin/webhooks/{created['id']}/rotate-secret", headers=bearer(admin)).get_json()
        client.patch(f"/v1/admin/webhooks/{created['id']}", json={"url": new_side.url}, headers=bearer(admin))
        new_side.secret = rotated["secret"]
        new_inquiry(client)
        worker(app).drain()
        # A receiver still on the old secret: once the day's overlap is over, it no longer verifies.
        new_side.secret = created["secret"]
        with app.extensions["routing"].db.session() as session, session.begin():
            ended = datetime.now(UTC) - timedelta(minutes=1)
            session.execute(update(WebhookSubscription).values(previous_secret_until=ended))
        client.post(f"/v1/admin/deliveries/{deliveries(app)[0].id}/replay", headers=bearer(admin))
        worker(app).drain()

    assert rotated["secret"] != created["secret"]
    assert rotated["secret"].startswith("whsec_")
    first, after_the_day = new_side.received
    assert len(first.signatures.split()) == 2
    assert first.verified
    assert len(after_the_day.signatures.split()) == 1
    assert not after_the_day.verified


def test_a_delivery_for_a_subscription_disabled_since_is_dead_lettered_until_replayed(app, client, slots, admin):
    subscription = subscribe(client, admin, refused_url(), ["inquiry.received"])
    new_inquiry(client)
    wiring = app.extensions["routing"]
    with wiring.db.session() as session:
        outbox_dispatch.fan_out(session, wiring.channels, wiring.outbox_policy, datetime.now(UTC))
    client.patch(f"/v1/admin/webhooks/{subscription['id']}", json={"enabled": False}, headers=bearer(admin))

    worker(app).drain()

    assert (deliveries(app)[0].status, attempts(app)[0].detail) == ("dead", "subscription disabled")


def test_a_lease_that_runs_out_makes_the_delivery_due_again_for_another_worker(app, client, slots, admin):
    # What a worker killed mid-send leaves behind (the process test, test_outbox_worker_process.py, kills one).
    subscribe(client, admin, refused_url(), ["inquiry.received"])
    new_inquiry(client)
    wiring = app.extensions["routing"]
    policy, start = wiring.outbox_policy, datetime.now(UTC)
    with wiring.db.session() as session:
        outbox_dispatch.fan_out(session, wiring.channels, policy, start)
        taken = outbox_dispatch.take_due(session, policy, start, 10)
        during = outbox_dispatch.take_due(session, policy, start + policy.lease - timedelta(seconds=1), 10)
        after = outbox_dispatch.take_due(session, policy, start + policy.lease, 10)

    assert [item.attempts for item in taken] == [1]
    assert during == []
    assert [(item.id, item.attempts) for item in after] == [(taken[0].id, 2)]


def test_concurrent_workers_take_each_delivery_once(app, client, slots, admin):
    for _ in range(3):
        subscribe(client, admin, refused_url(), ["inquiry.received", "inquiry.routed", "appointment.booked"])
    for _ in range(4):
        new_inquiry(client)
    wiring = app.extensions["routing"]
    now = datetime.now(UTC)
    with wiring.db.session() as session:
        outbox_dispatch.fan_out(session, wiring.channels, wiring.outbox_policy, now)
    taken: list[list[uuid.UUID]] = []
    barrier = threading.Barrier(4)

    def take() -> None:
        barrier.wait()
        with wiring.db.session() as session:
            taken.append([item.id for item in outbox_dispatch.take_due(session, wiring.outbox_policy, now, 12)])

    threads = [threading.Thread(target=take) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    every = [delivery_id for batch in taken for delivery_id in batch]
    made = {row.id for row in deliveries(app)}
    assert len(made) == 33  # 3 subscriptions x (4 received, 4 routed, 3 booked: the fourth found no slot)
    assert sorted(every) == sorted(made)
