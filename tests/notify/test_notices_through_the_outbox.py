"""The patient's email goes out through the outbox like every other channel: recorded with the change, delivered
by the worker to a real SMTP server, one notice per change (a staff override is one "moved" email, not a
cancellation and a booking besides), logged and retried like a webhook."""

from __future__ import annotations

import pytest

from routing import create_app
from tests.conftest import settings_for
from tests.http.admin_helpers import bearer, etag_of, make_token
from tests.http.intake_helpers import add_slots
from tests.notify.test_patient_channels import SECRET_KEY, SENDER, submit
from tests.outbox.helpers import attempts, worker


@pytest.fixture
def mailed(migrated_url, smtp_server):
    """The app with patient email on (a real SMTP server on loopback), and the server."""
    server = smtp_server()
    application = create_app(
        settings_for(
            migrated_url,
            ROUTING_PUBLIC_URL="http://localhost",
            ROUTING_SECRET_KEY=SECRET_KEY,
            ROUTING_SMTP_HOST="127.0.0.1",
            ROUTING_SMTP_PORT=str(server.port),
            ROUTING_SMTP_SECURITY="none",
            ROUTING_SMTP_FROM=SENDER,
        )
    )
    add_slots(application, "consult", [30, 31])
    add_slots(application, "imaging", [72], minutes=60)
    yield application, server
    application.extensions["routing"].db.dispose()


def subjects(server) -> list[str]:
    return [received.message["Subject"] for received in server.received]


def test_a_booking_is_emailed_by_the_worker_once_and_logged(mailed):
    app, server = mailed
    submit(app.test_client())

    sent = worker(app).drain()
    again = worker(app).drain()

    assert (sent, again) == (1, 0)
    assert subjects(server) == ["Your appointment at Riverside Spine & Pain Clinic (demo) is booked"]
    assert [(a.result, a.detail) for a in attempts(app)] == [("delivered", "smtp 250 accepted")]


def test_a_staff_override_that_moves_the_appointment_is_one_email(mailed):
    app, server = mailed
    client = app.test_client()
    inquiry_id = submit(client)
    worker(app).drain()
    token = make_token(app, "Sam Staff", "staff")

    response = client.post(
        f"/v1/admin/inquiries/{inquiry_id}/override",
        json={"route": "imaging", "reason": "MRI first, per Dr Lee"},
        headers={**bearer(token), "If-Match": etag_of(client, token, str(inquiry_id))},
    )
    worker(app).drain()

    assert response.status_code == 200, response.get_json()
    assert subjects(server) == [
        "Your appointment at Riverside Spine & Pain Clinic (demo) is booked",
        "Your appointment at Riverside Spine & Pain Clinic (demo) has changed",
    ]
