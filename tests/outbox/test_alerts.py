"""Emergency and urgent-review alerts to on-call receivers (real HTTP receivers checking the signature),
repeated every N minutes until a staff member acknowledges the inquiry."""

from __future__ import annotations

import base64
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from routing import create_app
from routing.services import alerts
from routing.services.outbox import record_event_once
from tests.conftest import settings_for
from tests.http.admin_helpers import RED_FLAG, bearer, etag_of, make_token, new_inquiry
from tests.outbox.helpers import deliveries, types_of, worker
from tests.outbox.receiver import Receiver

SECRET = "whsec_" + base64.b64encode(b"on-call alert secret, 32 bytes!!").decode()
CANCER = "I had breast cancer five years ago and now my mid back hurts all the time."  # R2, urgent
CONSOLE = "https://routing.example-clinic.org/console"
EVERY = timedelta(minutes=5)


@pytest.fixture
def receivers():
    with Receiver(secret=SECRET) as pager, Receiver(secret=SECRET, path="/chat") as chat:
        yield pager, chat


@pytest.fixture
def app(migrated_url, receivers):
    settings = {
        "ROUTING_ALERT_WEBHOOK_URLS": " ".join(receiver.url for receiver in receivers),
        "ROUTING_ALERT_WEBHOOK_SECRET": SECRET,
        "ROUTING_ALERT_REPEAT_MINUTES": "5",
        "ROUTING_ALERT_CONSOLE_URL": CONSOLE,
    }
    application = create_app(settings_for(migrated_url, **settings))
    yield application
    application.extensions["routing"].db.dispose()


@pytest.fixture
def staff(app):
    return make_token(app, "Nina Nurse", "staff")


def repeats_due(app, now: datetime) -> int:
    with app.extensions["routing"].db.session() as session:
        return alerts.schedule_repeats(session, now, EVERY)


def acknowledge(client, token: str, inquiry_id: str) -> None:
    headers = {**bearer(token), "If-Match": etag_of(client, token, inquiry_id)}
    response = client.post(f"/v1/admin/inquiries/{inquiry_id}/acknowledge", json={"note": "called"}, headers=headers)
    assert response.status_code == 200, response.get_json()


def test_an_emergency_is_alerted_to_every_on_call_receiver_signed_and_without_patient_data(app, client, receivers):
    inquiry_id = new_inquiry(client, RED_FLAG)

    worker(app).drain()

    pager, chat = receivers
    assert [len(pager.received), len(chat.received)] == [1, 1]
    alert = pager.received[0]
    assert alert.verified
    assert alert.webhook_id == chat.received[0].webhook_id
    assert {key: alert.body[key] for key in ("type", "data", "text")} == {
        "type": "inquiry.urgent_review",
        "data": {
            "inquiry_id": inquiry_id,
            "urgency": "emergency",
            "rule": "R1",
            "reasons": ["R1", "NR", "TEXT"],
            "alert_number": 1,
            "link": f"{CONSOLE}/inquiries/{inquiry_id}",
        },
        "text": (
            f"EMERGENCY: inquiry {inquiry_id[:8]} (rule R1) needs a clinician's call now. "
            f"Open {CONSOLE}/inquiries/{inquiry_id} and acknowledge it there to stop these alerts."
        ),
    }


def test_an_urgent_review_is_alerted_and_a_routine_inquiry_is_not(app, client, receivers):
    new_inquiry(client)  # a routine strain: booked, no alert
    urgent = new_inquiry(client, CANCER)

    worker(app).drain()

    pager, _ = receivers
    assert [
        (r.body["data"]["inquiry_id"], r.body["data"]["urgency"], r.body["data"]["rule"]) for r in pager.received
    ] == [(urgent, "urgent", "R2")]
    assert pager.received[0].body["text"].startswith(f"Urgent review: inquiry {urgent[:8]} (rule R2)")


def test_an_unacknowledged_alert_repeats_every_5_minutes_until_acknowledged(app, client, receivers, staff):
    inquiry_id = new_inquiry(client, RED_FLAG)
    start = datetime.now(UTC)
    worker(app, lambda: start).drain()

    made = []
    for minutes in (4, 5, 9, 10):
        made.append(repeats_due(app, start + timedelta(minutes=minutes)))
        worker(app, lambda m=minutes: start + timedelta(minutes=m)).drain()
    acknowledge(client, staff, inquiry_id)
    after_acknowledgement = [repeats_due(app, start + timedelta(minutes=m)) for m in (15, 60)]

    pager, chat = receivers
    assert made == [0, 1, 0, 1]
    assert after_acknowledgement == [0, 0]
    assert [r.body["data"].get("repeat") for r in pager.received] == [None, 2, 3]
    assert [r.body["data"]["alert_number"] for r in chat.received] == [1, 2, 3]
    assert len({r.webhook_id for r in pager.received}) == 3  # each repeat is a message of its own
    assert pager.received[1].body["type"] == "inquiry.urgent_review.repeat"
    assert (
        pager.received[1]
        .body["text"]
        .startswith(f"EMERGENCY (reminder 1: not acknowledged yet): inquiry {inquiry_id[:8]} (rule R1)")
    )
    assert types_of(app, inquiry_id).count("inquiry.urgent_review.repeat") == 2


def test_an_alert_for_an_inquiry_acknowledged_before_it_went_out_is_not_sent(app, client, receivers, staff):
    inquiry_id = new_inquiry(client, RED_FLAG)
    acknowledge(client, staff, inquiry_id)

    worker(app).drain()

    pager, chat = receivers
    assert (pager.received, chat.received) == ([], [])
    assert [(row.status, row.last_result) for row in deliveries(app)] == [
        ("delivered", "not sent: already acknowledged or handled")
    ] * 2


def test_a_call_back_that_closes_the_inquiry_stops_the_repeats(app, client, receivers, staff):
    inquiry_id = new_inquiry(client, RED_FLAG)
    start = datetime.now(UTC)
    worker(app, lambda: start).drain()
    headers = {**bearer(staff), "If-Match": etag_of(client, staff, inquiry_id)}
    client.post(f"/v1/admin/inquiries/{inquiry_id}/callback", json={"outcome": "referred_to_er"}, headers=headers)

    assert repeats_due(app, start + timedelta(minutes=30)) == 0


def test_no_repeats_pile_up_while_an_on_call_receiver_is_down(app, client, receivers):
    pager, _ = receivers
    pager.otherwise = 503
    new_inquiry(client, RED_FLAG)
    start = datetime.now(UTC)
    worker(app, lambda: start).drain()

    waiting = repeats_due(app, start + timedelta(minutes=30))
    pager.otherwise = 200
    worker(app, lambda: start + timedelta(minutes=31)).drain()  # the first alert gets through at last
    then = repeats_due(app, start + timedelta(minutes=31))

    assert (waiting, then) == (0, 1)


def test_a_repeat_decided_by_two_workers_at_once_is_recorded_once(app, client):
    inquiry_id = uuid.UUID(new_inquiry(client, RED_FLAG))
    now = datetime.now(UTC)
    db = app.extensions["routing"].db
    recorded = []

    for _ in range(2):
        with db.session() as session, session.begin():
            key = f"alert-repeat:{inquiry_id}:2"
            data = {"inquiry_id": inquiry_id, "repeat": 2}
            recorded.append(
                record_event_once(session.connection(), key, "inquiry.urgent_review.repeat", inquiry_id, data, now)
            )

    assert recorded == [True, False]


def test_the_worker_s_loop_sends_the_alert_and_then_its_repeat(app, client, receivers):
    # The loop flask worker runs (threads, lanes, the repeats' timer), on a clock the test moves.
    now = [datetime.now(UTC)]
    deliverer = worker(app, lambda: now[0])
    stop = threading.Event()
    loop = threading.Thread(target=deliverer.run, args=(stop,))
    loop.start()
    try:
        new_inquiry(client, RED_FLAG)
        first = receivers[0].wait_for(1)
        receivers[1].wait_for(1)
        # A repeat waits until every alert before it was delivered (and recorded so): let both be.
        deadline = time.monotonic() + 10
        while {row.status for row in deliveries(app)} != {"delivered"} and time.monotonic() < deadline:
            time.sleep(0.05)
        now[0] += timedelta(minutes=6)
        second = receivers[0].wait_for(2)
    finally:
        stop.set()
        loop.join(timeout=30)

    assert [r.body["type"] for r in first] == ["inquiry.urgent_review"]
    assert [r.body["type"] for r in second] == ["inquiry.urgent_review", "inquiry.urgent_review.repeat"]
    assert not loop.is_alive()
