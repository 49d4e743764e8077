"""Signed deliveries (Standard Webhooks) when ROUTING_WEBHOOK_SECRET is set."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests
from werkzeug.serving import make_server

from routing import MAX_CONTENT_LENGTH, create_app
from routing.adapters.db.models import Inquiry
from tests.conftest import settings_for
from tests.http.intake_helpers import OTHER_SECRET, SECRET, add_slots, as_json, count, inquiry, signed_headers


@pytest.fixture
def signed_app(migrated_url):
    app = create_app(settings_for(migrated_url, ROUTING_WEBHOOK_SECRET=SECRET))
    add_slots(app, "consult", [26, 27])
    yield app
    app.extensions["routing"].db.dispose()


@pytest.fixture
def signed_server(signed_app) -> Iterator[str]:
    """``signed_app`` served over HTTP on loopback (werkzeug's server reads chunked bodies)."""
    server = make_server("127.0.0.1", 0, signed_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def rotating_app(migrated_url):
    # During rotation both the old and the new secret are configured, space-separated.
    app = create_app(settings_for(migrated_url, ROUTING_WEBHOOK_SECRET=f"{SECRET} {OTHER_SECRET}"))
    yield app
    app.extensions["routing"].db.dispose()


def _post(app, body: bytes, headers: dict):
    return app.test_client().post("/v1/inquiries", data=body, headers=headers)


def test_a_validly_signed_delivery_is_accepted(signed_app):
    body = as_json(inquiry())

    response = _post(signed_app, body, signed_headers(body))

    assert response.status_code == 201


def test_a_tampered_body_is_refused_and_not_stored(signed_app):
    body = as_json(inquiry())
    headers = signed_headers(body)

    response = _post(signed_app, body.replace(b"couch", b"piano"), headers)

    assert response.status_code == 401
    assert response.content_type == "application/problem+json"
    assert "does not match" in response.get_json()["detail"]
    assert count(signed_app, Inquiry) == 0


def test_a_delivery_signed_with_another_secret_is_refused(signed_app):
    body = as_json(inquiry())

    assert _post(signed_app, body, signed_headers(body, secret=OTHER_SECRET)).status_code == 401


def test_an_old_timestamp_is_refused_even_with_a_valid_signature(signed_app):
    body = as_json(inquiry())

    response = _post(signed_app, body, signed_headers(body, at=datetime.now(UTC) - timedelta(minutes=6)))

    assert response.status_code == 401
    assert response.get_json()["detail"] == (
        "The webhook-timestamp is older than 5 minutes; sign each delivery with the current time."
    )


def test_a_timestamp_from_the_future_is_refused_as_such(signed_app):
    body = as_json(inquiry())

    response = _post(signed_app, body, signed_headers(body, at=datetime.now(UTC) + timedelta(minutes=6)))

    assert response.status_code == 401
    assert response.get_json()["detail"] == (
        "The webhook-timestamp is ahead of our clock by more than 5 minutes; sign each delivery with the current time."
    )


@pytest.mark.parametrize("timestamp", ["soon", "1e3", "1700000000.5", "-5", "nan", "inf", "1" * 30, " "])
def test_a_timestamp_that_is_not_unix_seconds_is_named_as_not_a_valid_timestamp(signed_app, timestamp):
    body = as_json(inquiry())

    response = _post(signed_app, body, {**signed_headers(body), "webhook-timestamp": timestamp})

    assert response.status_code == 401
    assert response.get_json()["detail"] == (
        "The webhook-timestamp header is not a valid timestamp; send the Unix time in whole seconds."
    )
    assert count(signed_app, Inquiry) == 0


def test_missing_signature_headers_are_named(signed_app):
    response = signed_app.test_client().post("/v1/inquiries", json=inquiry())

    assert response.status_code == 401
    assert "webhook-signature" in response.get_json()["detail"]
    assert count(signed_app, Inquiry) == 0


def test_a_signed_chunked_body_over_64_kib_is_a_413_not_a_bad_signature(signed_server):
    # Over a real HTTP connection: a chunked body has no Content-Length for werkzeug to refuse up front.
    body = as_json(inquiry(extra="x" * (70 * 1024)))

    response = requests.post(
        f"{signed_server}/v1/inquiries", data=_chunks(body), headers=signed_headers(body), timeout=10
    )

    assert response.status_code == 413
    assert response.headers["Content-Type"] == "application/problem+json"


def test_a_signed_chunked_body_of_exactly_64_kib_is_read_whole(signed_server):
    body = as_json(inquiry(extra=""))
    body = as_json(inquiry(extra="x" * (MAX_CONTENT_LENGTH - len(body))))
    assert len(body) == MAX_CONTENT_LENGTH

    response = requests.post(
        f"{signed_server}/v1/inquiries", data=_chunks(body), headers=signed_headers(body), timeout=10
    )

    assert response.status_code == 201, response.text


def _chunks(body: bytes) -> Iterator[bytes]:
    # A generator body: requests sends it with Transfer-Encoding: chunked.
    for start in range(0, len(body), 4096):
        yield body[start : start + 4096]


def test_a_garbled_signature_header_is_a_401_not_a_500(signed_app):
    body = as_json(inquiry())
    headers = {**signed_headers(body), "webhook-signature": "v1,***not-base64*** nonsense"}

    assert _post(signed_app, body, headers).status_code == 401


@pytest.mark.parametrize("secret", [SECRET, OTHER_SECRET])
def test_either_secret_is_accepted_during_rotation(rotating_app, secret):
    body = as_json(inquiry(symptoms={"red_flags": ["fever"]}))

    assert _post(rotating_app, body, signed_headers(body, secret=secret)).status_code == 201


def test_the_webhook_id_makes_a_signed_redelivery_idempotent(signed_app):
    body = as_json(inquiry())

    first = _post(signed_app, body, signed_headers(body, msg_id="msg_abc"))
    again = _post(signed_app, body, signed_headers(body, msg_id="msg_abc"))

    assert (first.status_code, again.status_code) == (201, 200)
    assert count(signed_app, Inquiry) == 1
