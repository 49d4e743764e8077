"""FHIR Subscriptions notifications and the reconciliation poll, against the real test FHIR server.

The app runs as in production with ``ROUTING_SCHEDULER=fhir``; appointments live on the Medplum test
server (tests/scheduling/conftest.py). The test plays the server's subscription engine: it changes an
appointment on the server, then POSTs the notification Bundle the server would send (the in-memory
Medplum router has no subscription engine). Notifications follow the Subscriptions R5 Backport IG:
R4 ``Parameters`` status, and R4B ``SubscriptionStatus``.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from routing import create_app
from routing.adapters.db.models import Appointment, AuditEvent, Inquiry, SchedulerEvent
from routing.services import reconciliation
from routing.services.booking_queue import run_worker
from tests.http.intake_helpers import inquiry
from tests.http.test_metrics import scrape, value
from tests.scheduling.fault_server import refused_url
from tests.scheduling.test_fhir_end_to_end import fhir_settings, soon

URL = "/v1/scheduling/fhir-notifications"
TOKEN = "fhir-notify-" + "k" * 32
NEW_TOKEN = "fhir-notify-" + "n" * 32
PROBLEM = "application/problem+json"
SUBSCRIPTION = "Subscription/appointment-changes"


@pytest.fixture
def app(migrated_url, fhir_base_url, service_types):
    application = create_app(
        fhir_settings(migrated_url, fhir_base_url, service_types, ROUTING_FHIR_NOTIFICATION_TOKENS=TOKEN)
    )
    yield application
    application.extensions["routing"].db.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def slots(fhir_server, service_types) -> list[str]:
    """Two free consults on the FHIR server."""
    return fhir_server.seed_slots(service_types["consult"], soon(2))


@pytest.fixture
def booked(app, client, slots) -> Appointment:
    """An inquiry booked, over FHIR, into the first consult; our record of the appointment."""
    response = client.post("/v1/inquiries", json=inquiry())
    assert response.get_json()["status"] == "booked", response.get_json()
    return rows(app, Appointment)[0]


def rows(app, model, *where):
    with app.extensions["routing"].db.session() as session:
        return session.scalars(select(model).where(*where).order_by(model.__table__.c[0])).all()


def status_parameters(kind: str, events: list[tuple[str, str | None]], subscription: str) -> dict:
    """The R4 backport status (profile backport-subscription-status-r4); events as (number, focus)."""
    parameters = [
        {"name": "subscription", "valueReference": {"reference": subscription}},
        {"name": "status", "valueCode": "requested" if kind == "handshake" else "active"},
        {"name": "type", "valueCode": kind},
    ]
    for number, focus in events:
        parts = [
            {"name": "event-number", "valueString": number},
            {"name": "timestamp", "valueInstant": datetime.now(UTC).isoformat()},
        ]
        if focus is not None:
            parts.append({"name": "focus", "valueReference": {"reference": focus}})
        parameters.append({"name": "notification-event", "part": parts})
    return {"resourceType": "Parameters", "parameter": parameters}


def subscription_status(kind: str, events: list[tuple[str, str | None]], subscription: str) -> dict:
    """The R4B status resource, SubscriptionStatus."""
    return {
        "resourceType": "SubscriptionStatus",
        "status": "active",
        "type": kind,
        "subscription": {"reference": subscription},
        "notificationEvent": [
            {"eventNumber": number, **({"focus": {"reference": focus}} if focus else {})} for number, focus in events
        ],
    }


def notification(
    kind: str,
    events: list[tuple[str, str | None]] = (),
    *,
    resources: list[dict] = (),
    r4b: bool = False,
    subscription: str = SUBSCRIPTION,
) -> dict:
    """A notification Bundle as a FHIR server sends it; a fresh id and timestamp each time, like a redelivery."""
    status = (subscription_status if r4b else status_parameters)(kind, list(events), subscription)
    entries = [{"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": status}]
    entries += [{"fullUrl": f"{r['resourceType']}/{r['id']}", "resource": r} for r in resources]
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "history",
        "timestamp": datetime.now(UTC).isoformat(),
        "entry": entries,
    }


def notify(client, body, token: str | None = TOKEN, content_type: str = "application/fhir+json"):
    headers = {"Content-Type": content_type}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return client.post(URL, data=json.dumps(body), headers=headers)


def cancel_on_server(fhir_server, reference: str) -> dict:
    """The clinic cancels the appointment in its own system (no notification sent by this)."""
    return fhir_server.update({**fhir_server.get(reference), "status": "cancelled"})


def result(event_number: str, focus: str | None, appointment: str | None, action: str, note, inquiry_id, replayed):
    return {
        "event_number": event_number,
        "focus": focus,
        "appointment": appointment,
        "action": action,
        "note": note,
        "inquiry": str(inquiry_id) if inquiry_id else None,
        "replayed": replayed,
    }


# ---------------------------------------------------------------------- handshake, heartbeat


def test_a_handshake_and_a_heartbeat_are_accepted_and_recorded_by_subscription(client, caplog):
    caplog.set_level(logging.INFO, logger="routing.events")
    before = scrape(client)

    handshake = notify(client, notification("handshake"))
    heartbeat = notify(client, notification("heartbeat"), content_type="application/json")

    assert (handshake.status_code, handshake.get_json()) == (
        200,
        {"subscription": SUBSCRIPTION, "type": "handshake", "results": []},
    )
    assert (heartbeat.status_code, heartbeat.get_json()) == (
        200,
        {"subscription": SUBSCRIPTION, "type": "heartbeat", "results": []},
    )
    recorded = [
        (r.notification_type, r.subscription, r.event_count) for r in caplog.records if r.msg == "fhir.notification"
    ]
    assert recorded == [("handshake", SUBSCRIPTION, 0), ("heartbeat", SUBSCRIPTION, 0)]
    after = scrape(client)
    for kind in ("handshake", "heartbeat"):
        counted = value(after, "routing_fhir_notifications_total", type=kind)
        assert counted - value(before, "routing_fhir_notifications_total", type=kind) == 1


def test_query_status_is_answered_harmlessly(app, client, booked):
    response = notify(client, notification("query-status", [("3", booked.external_id)]))

    assert response.get_json() == {"subscription": SUBSCRIPTION, "type": "query-status", "results": []}
    assert rows(app, SchedulerEvent) == []


# ---------------------------------------------------------------------- events


def test_an_id_only_cancellation_is_read_back_rebooked_and_a_redelivery_acts_no_more(
    app, client, booked, slots, fhir_server, fhir_base_url
):
    cancel_on_server(fhir_server, booked.external_id)
    body = notification("event-notification", [("7", fhir_base_url + booked.external_id)])

    first = notify(client, body)
    again = notify(client, notification("event-notification", [("7", fhir_base_url + booked.external_id)]))

    assert first.status_code == 200, first.get_json()
    assert first.get_json() == {
        "subscription": SUBSCRIPTION,
        "type": "event-notification",
        "results": [result("7", booked.external_id, booked.external_id, "rebooked", None, booked.inquiry_id, False)],
    }
    assert again.get_json()["results"] == [
        result("7", booked.external_id, booked.external_id, "rebooked", None, booked.inquiry_id, True)
    ]
    appointments = sorted(rows(app, Appointment), key=lambda a: a.created_at)
    old, new = appointments
    assert (old.status, new.status, new.external_slot_id) == ("cancelled", "booked", slots[1])
    assert old.cancel_reason == f"cancelled in the scheduling system (FHIR notification, {SUBSCRIPTION} event 7)"
    assert fhir_server.get(new.external_id)["status"] == "booked"
    assert [(e.actor_name, e.action) for e in rows(app, AuditEvent)] == [
        ("scheduling system", "appointment.cancelled"),
        ("scheduling system", "scheduler.rebooked"),
    ]
    assert [e.delivery_key for e in rows(app, SchedulerEvent)] == [f"fhir:{SUBSCRIPTION}#7:{booked.external_id}"]


def test_a_full_resource_cancellation_is_rebooked_once_from_the_server_s_own_record(app, client, booked, fhir_server):
    cancelled = cancel_on_server(fhir_server, booked.external_id)
    versioned = f"{booked.external_id}/_history/{cancelled['meta']['versionId']}"

    first = notify(client, notification("event-notification", [("8", versioned)], resources=[cancelled]))
    again = notify(client, notification("event-notification", [("8", versioned)], resources=[cancelled]))

    assert [r["action"] for r in first.get_json()["results"]] == ["rebooked"]
    assert [(r["action"], r["replayed"]) for r in again.get_json()["results"]] == [("rebooked", True)]
    assert sorted(a.status for a in rows(app, Appointment)) == ["booked", "cancelled"]
    assert len(rows(app, SchedulerEvent)) == 1


def test_a_notification_whose_copy_says_cancelled_while_the_server_says_booked_changes_nothing(
    app, client, booked, fhir_server
):
    claimed = {**fhir_server.get(booked.external_id), "status": "cancelled"}  # the copy lies; the server does not

    response = notify(client, notification("event-notification", [("9", booked.external_id)], resources=[claimed]))

    assert response.get_json()["results"] == [
        result(
            "9",
            booked.external_id,
            booked.external_id,
            "none",
            "the scheduling system shows the appointment as booked: nothing to do",
            booked.inquiry_id,
            False,
        )
    ]
    assert [(a.external_id, a.status) for a in rows(app, Appointment)] == [(booked.external_id, "booked")]
    assert (rows(app, SchedulerEvent), rows(app, AuditEvent)) == ([], [])
    assert fhir_server.get(booked.external_id)["status"] == "booked"


def test_a_no_show_recorded_on_the_server_goes_to_the_staff_queue(app, client, booked, fhir_server):
    fhir_server.update({**fhir_server.get(booked.external_id), "status": "noshow"})

    response = notify(client, notification("event-notification", [("10", booked.external_id)]))

    assert [(r["action"], r["note"]) for r in response.get_json()["results"]] == [
        ("queued_for_staff", "patient did not attend")
    ]
    assert [a.status for a in rows(app, Appointment)] == ["noshow"]
    assert rows(app, Inquiry)[0].status == "needs_review"


def test_an_appointment_that_is_not_ours_is_ignored_with_200(app, client, fhir_server):
    theirs = fhir_server.create(
        {"resourceType": "Appointment", "status": "cancelled", "participant": [{"status": "accepted"}]}
    )
    focus = f"Appointment/{theirs['id']}"

    response = notify(client, notification("event-notification", [("11", focus), ("12", "Patient/123")]))

    assert response.status_code == 200
    assert response.get_json()["results"] == [
        result("11", focus, focus, "ignored", "not an appointment of ours", None, False),
        result("12", "Patient/123", None, "ignored", "a Patient is not an appointment or a slot", None, False),
    ]
    assert rows(app, SchedulerEvent) == []


def test_a_slot_focus_stands_for_our_appointment_on_that_slot(app, client, booked, slots, fhir_server):
    cancel_on_server(fhir_server, booked.external_id)

    response = notify(client, notification("event-notification", [("13", slots[0])]))

    assert [(r["focus"], r["appointment"], r["action"]) for r in response.get_json()["results"]] == [
        (slots[0], booked.external_id, "rebooked")
    ]


def test_an_empty_payload_event_is_left_to_the_reconciliation_poll(app, client, booked):
    response = notify(client, notification("event-notification", [("14", None)]))

    assert response.get_json()["results"] == [
        result(
            "14",
            None,
            None,
            "none",
            "no focus (an empty payload): the reconciliation poll picks the change up",
            None,
            False,
        )
    ]


def test_an_r4b_subscription_status_notification_is_acted_on_the_same(app, client, booked, fhir_server):
    cancel_on_server(fhir_server, booked.external_id)

    response = notify(client, notification("event-notification", [("15", booked.external_id)], r4b=True))

    assert response.get_json() == {
        "subscription": SUBSCRIPTION,
        "type": "event-notification",
        "results": [result("15", booked.external_id, booked.external_id, "rebooked", None, booked.inquiry_id, False)],
    }


def test_when_the_fhir_server_cannot_be_reached_the_answer_is_503_and_nothing_is_done(
    migrated_url, service_types, app, booked
):
    down = create_app(
        fhir_settings(
            migrated_url, refused_url(), service_types, FHIR_RETRIES="0", ROUTING_FHIR_NOTIFICATION_TOKENS=TOKEN
        )
    )
    try:
        response = notify(down.test_client(), notification("event-notification", [("16", booked.external_id)]))
    finally:
        down.extensions["routing"].db.dispose()

    assert response.status_code == 503
    assert response.content_type == PROBLEM
    assert response.headers["Retry-After"] == "30"
    assert [a.status for a in rows(app, Appointment)] == ["booked"]
    assert rows(app, SchedulerEvent) == []


# ---------------------------------------------------------------------- authentication and refusals


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token-" + "x" * 32, f"Basic {TOKEN}", "Bearer", f"Bearer {TOKEN}x", "Bearer tök€n"],
    ids=["missing", "wrong", "not-bearer", "empty", "longer", "not-ascii"],
)
def test_a_missing_or_wrong_token_is_401_and_nothing_is_read(app, client, booked, fhir_server, authorization):
    cancel_on_server(fhir_server, booked.external_id)
    headers = {"Content-Type": "application/fhir+json"}
    if authorization is not None:
        headers["Authorization"] = authorization

    body = json.dumps(notification("event-notification", [("17", booked.external_id)])).encode()
    response = client.post(URL, data=body, headers=headers)

    assert response.status_code == 401
    assert response.content_type == PROBLEM
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="fhir-notifications"'
    assert [a.status for a in rows(app, Appointment)] == ["booked"]


def test_without_configured_tokens_every_notification_is_401(migrated_url, fhir_base_url, service_types):
    closed = create_app(fhir_settings(migrated_url, fhir_base_url, service_types))
    try:
        response = notify(closed.test_client(), notification("handshake"))
    finally:
        closed.extensions["routing"].db.dispose()

    assert response.status_code == 401


def test_during_a_rotation_the_old_and_the_new_token_are_both_accepted(migrated_url, fhir_base_url, service_types):
    rotating = create_app(
        fhir_settings(
            migrated_url, fhir_base_url, service_types, ROUTING_FHIR_NOTIFICATION_TOKENS=f"{TOKEN}, {NEW_TOKEN}"
        )
    )
    client = rotating.test_client()
    try:
        answers = [notify(client, notification("heartbeat"), token=t).status_code for t in (TOKEN, NEW_TOKEN, "x")]
    finally:
        rotating.extensions["routing"].db.dispose()

    assert answers == [200, 200, 401]


def test_an_absolute_focus_outside_the_fhir_base_url_is_refused_and_nothing_is_read(app, client, booked, fhir_server):
    cancel_on_server(fhir_server, booked.external_id)
    elsewhere = f"https://evil.example.com/fhir/{booked.external_id}"

    response = notify(client, notification("event-notification", [("18", elsewhere)]))

    assert response.status_code == 422
    assert response.content_type == PROBLEM
    assert response.get_json()["errors"] == {
        "entry.0.resource.parameter.notification-event.0.focus": [
            "An absolute reference must lie under our FHIR server's base URL (FHIR_BASE_URL); references to any "
            "other server are refused."
        ]
    }
    assert [a.status for a in rows(app, Appointment)] == ["booked"]


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            {"resourceType": "Parameters"},
            {"resourceType": ["Must be Bundle: a FHIR subscription notification is a Bundle."]},
        ),
        (
            {"resourceType": "Bundle", "type": "history", "entry": []},
            {"entry": ["Must list the subscription status as its first entry."]},
        ),
        (
            notification("event-notification", [("twelve", "Appointment/1")]),
            {
                "entry.0.resource.parameter.notification-event.0.event-number": [
                    "Must be the event's number in the subscription: a decimal string such as 7."
                ]
            },
        ),
        (
            notification("heartbeat", subscription="Patient/1"),
            {
                "entry.0.resource.parameter.subscription": [
                    "Must be a reference to the Subscription that sent the notification (Subscription/<id>)."
                ]
            },
        ),
        (
            notification("event-notification", [("1", "Appointment/1\x00")], r4b=True),
            {
                "entry.0.resource.notificationEvent.0.focus": [
                    "Must be a reference such as Appointment/123 (relative, or absolute under FHIR_BASE_URL)."
                ]
            },
        ),
    ],
    ids=["not-a-bundle", "no-status", "event-number", "subscription", "nul-in-focus"],
)
def test_a_malformed_notification_is_422_naming_the_problem(client, body, errors):
    response = notify(client, body)

    assert response.status_code == 422
    assert response.content_type == PROBLEM
    assert response.get_json()["errors"] == errors


def test_a_body_that_is_not_json_is_400_and_another_media_type_415(client):
    not_json = client.post(
        URL, data=b"{not json", headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/fhir+json"}
    )
    deep = client.post(
        URL, data=b"[" * 50000, headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/fhir+json"}
    )
    xml = client.post(URL, data=b"<Bundle/>", headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "text/xml"})

    assert [(r.status_code, r.content_type) for r in (not_json, deep, xml)] == [
        (400, PROBLEM),
        (400, PROBLEM),
        (415, PROBLEM),
    ]


# ---------------------------------------------------------------------- the reconciliation poll


def worker_once(app, at: datetime) -> int:
    """One run of the booking worker, as ``flask worker --until-idle`` at ``at``, polling every 2 minutes."""
    wiring = app.extensions["routing"]
    return run_worker(
        wiring.db.session,
        wiring.routing,
        stop=threading.Event(),
        until_idle=True,
        clock=lambda: at,
        reconcile_every=timedelta(minutes=2),
    )


def checkpoint_of(app) -> datetime | None:
    with app.extensions["routing"].db.session() as session:
        return reconciliation.checkpoint(session)


def last_updated(resource: dict) -> datetime:
    return datetime.fromisoformat(resource["meta"]["lastUpdated"])


def test_the_poll_catches_a_cancellation_no_notification_reported_and_goes_on_after_a_restart(
    migrated_url, fhir_base_url, fhir_server, service_types, slots
):
    settings = fhir_settings(migrated_url, fhir_base_url, service_types)
    started = datetime.now(UTC)
    first = create_app(settings)
    first.test_client().post("/v1/inquiries", json=inquiry())
    (ours,) = rows(first, Appointment)
    worker_once(first, started)
    seen, as_booked = checkpoint_of(first), fhir_server.get(ours.external_id)
    first.extensions["routing"].db.dispose()  # the worker stops
    cancelled = cancel_on_server(fhir_server, ours.external_id)

    restarted = create_app(settings)
    try:
        worker_once(restarted, started + timedelta(minutes=3))
        appointments = sorted(rows(restarted, Appointment), key=lambda a: a.created_at)
        audit = [(e.action, e.reason) for e in rows(restarted, AuditEvent)]
        moved = checkpoint_of(restarted)
    finally:
        restarted.extensions["routing"].db.dispose()

    assert seen == last_updated(as_booked)
    assert [(a.external_id, a.status) for a in appointments] == [
        (ours.external_id, "cancelled"),
        (appointments[1].external_id, "booked"),
    ]
    assert appointments[1].external_slot_id == slots[1]
    reason = "cancelled in the scheduling system (reconciliation poll)"
    assert audit == [("appointment.cancelled", reason), ("scheduler.rebooked", reason)]
    assert moved == last_updated(cancelled)


def test_the_first_poll_starts_its_checkpoint_at_the_newest_change_it_saw(app, client, booked, fhir_server):
    worker_once(app, datetime.now(UTC))

    assert checkpoint_of(app) == last_updated(fhir_server.get(booked.external_id))


def test_a_poll_is_not_run_again_within_its_period_by_any_worker(app, booked, fhir_server):
    now = datetime.now(UTC)
    wiring = app.extensions["routing"]
    with wiring.db.session() as session:
        first = reconciliation.poll_if_due(session, wiring.routing, now, timedelta(minutes=2))
        cancel_on_server(fhir_server, booked.external_id)
        within = reconciliation.poll_if_due(session, wiring.routing, now + timedelta(seconds=90), timedelta(minutes=2))
        after = reconciliation.poll_if_due(session, wiring.routing, now + timedelta(minutes=2), timedelta(minutes=2))

    assert (first.acted, within) == ([], None)
    assert [(r["appointment"], r["action"]) for r in after.acted] == [(booked.external_id, "rebooked")]


def test_a_cancellation_both_notified_and_polled_is_acted_on_once(app, client, booked, fhir_server):
    cancel_on_server(fhir_server, booked.external_id)
    notify(client, notification("event-notification", [("19", booked.external_id)]))

    with app.extensions["routing"].db.session() as session:
        polled = reconciliation.reconcile(session, app.extensions["routing"].routing, datetime.now(UTC))

    assert polled.acted == []
    assert sorted(a.status for a in rows(app, Appointment)) == ["booked", "cancelled"]
    assert len(rows(app, SchedulerEvent)) == 1
    assert [e.action for e in rows(app, AuditEvent)] == ["appointment.cancelled", "scheduler.rebooked"]


def test_the_poll_seeing_the_same_change_twice_in_its_overlap_acts_once(app, booked, fhir_server):
    cancel_on_server(fhir_server, booked.external_id)
    routing = app.extensions["routing"].routing
    with app.extensions["routing"].db.session() as session:
        first = reconciliation.reconcile(session, routing, datetime.now(UTC))
        second = reconciliation.reconcile(session, routing, datetime.now(UTC))

    assert [r["action"] for r in first.acted] == ["rebooked"]
    assert second.acted == []
    assert sorted(a.status for a in rows(app, Appointment)) == ["booked", "cancelled"]
