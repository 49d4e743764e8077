"""FhirHttp against a real, misbehaving HTTP server on loopback: retries, timeouts, Retry-After, breaker.

No patching: every call goes over a socket to ``FaultServer``, which records each attempt. Timeouts and
backoffs are tiny so the whole file runs in a few seconds.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from routing.adapters.scheduling.fhir_http import FhirHttp
from routing.adapters.scheduling.interface import SchedulerUnavailable
from tests.scheduling.fault_server import FaultServer, Reply, bundle, refused_url

SLOT = {"resourceType": "Slot", "id": "s1", "status": "free"}


@pytest.fixture
def server() -> Iterator[FaultServer]:
    """A fresh misbehaving server per test."""
    with FaultServer() as fault_server:
        yield fault_server


@pytest.fixture
def make_client(server: FaultServer) -> Iterator[Callable[..., FhirHttp]]:
    """Build clients on ``server`` with fast test settings; any keyword overrides them."""
    clients: list[FhirHttp] = []

    def make(base_url: str | None = None, **overrides: object) -> FhirHttp:
        settings: dict[str, object] = {
            "connect_timeout": 0.5,
            "read_timeout": 0.3,
            "retries": 2,
            "backoff_factor": 0.01,
            "breaker_fail_max": 100,  # out of the way unless the test is about the breaker
            "breaker_reset_timeout": 30.0,
        }
        settings.update(overrides)
        client = FhirHttp(base_url or server.base_url, **settings)  # type: ignore[arg-type]
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def assert_nothing_leaks(exc: BaseException, caplog: pytest.LogCaptureFixture) -> None:
    """Neither the error (nor a chained one) nor any log line, ours or urllib3's, shows the query string."""
    assert "secret" not in str(exc)
    assert exc.__cause__ is None
    assert exc.__context__ is None or exc.__suppress_context__  # requests' messages carry the full URL
    assert caplog.records
    assert not [record.getMessage() for record in caplog.records if "secret" in record.getMessage()]


def timed(call: Callable[[], object]) -> tuple[object, float]:
    """Run ``call``; return what it returned or raised, and how long it took."""
    started = time.monotonic()
    try:
        outcome: object = call()
    except Exception as exc:
        outcome = exc
    return outcome, time.monotonic() - started


# --- retries -------------------------------------------------------------------------------------------


def test_500s_then_recovery_is_retried_and_returns_the_200(server, make_client):
    server.script(Reply(500), Reply(500), Reply(200, body=bundle(SLOT)))
    client = make_client(retries=3)

    response = client.request("GET", "Slot", params={"status": "free"})

    assert response.status_code == 200
    assert response.json()["entry"][0]["resource"]["id"] == "s1"
    assert [r.route for r in server.received] == ["/fhir/Slot"] * 3
    assert client.breaker_state == "closed"


def test_persistent_503_raises_after_retries_plus_one_attempts_without_leaking_the_query(server, make_client, caplog):
    server.default = Reply(503, body=b'{"resourceType": "OperationOutcome"}')
    client = make_client(retries=2)

    with caplog.at_level(logging.DEBUG), pytest.raises(SchedulerUnavailable, match="503") as raised:
        client.request("GET", "Appointment", params={"patient": "Patient/secret-123"})

    assert len(server.received) == 3
    assert_nothing_leaks(raised.value, caplog)


def test_dropped_connection_is_retried(server, make_client):
    server.script(Reply(drop=True), Reply(200, body=bundle()))

    response = make_client().request("GET", "Slot")

    assert response.status_code == 200
    assert len(server.received) == 2


def test_read_timeout_raises_scheduler_unavailable_quickly(server, make_client, caplog):
    server.default = Reply(200, body=bundle(), delay=5)
    client = make_client(read_timeout=0.2, retries=1)

    with caplog.at_level(logging.DEBUG):
        outcome, elapsed = timed(lambda: client.request("GET", "Slot", params={"patient": "Patient/secret-1"}))

    assert isinstance(outcome, SchedulerUnavailable)
    assert "ReadTimeoutError" in str(outcome)
    assert_nothing_leaks(outcome, caplog)
    assert len(server.received) == 2  # the timed-out GET was retried once
    assert elapsed < 1.5


def test_connection_refused_raises_scheduler_unavailable(make_client, caplog):
    client = make_client(base_url=refused_url(), retries=1)

    with caplog.at_level(logging.DEBUG):
        outcome, elapsed = timed(lambda: client.request("GET", "Slot", params={"patient": "Patient/secret-1"}))

    assert isinstance(outcome, SchedulerUnavailable)
    assert "NewConnectionError" in str(outcome)
    assert_nothing_leaks(outcome, caplog)
    assert elapsed < 1.0


# --- Retry-After -----------------------------------------------------------------------------------------


def test_429_retry_after_is_honoured(server, make_client):
    server.script(Reply(429, headers={"Retry-After": "1"}), Reply(200, body=bundle()))

    response = make_client().request("GET", "Slot")

    assert response.status_code == 200
    first, second = server.received
    assert second.at - first.at >= 0.95  # backoff alone would be ~0 s: the header set the wait


def test_a_huge_retry_after_is_capped(server, make_client):
    server.script(Reply(503, headers={"Retry-After": "3600"}), Reply(200, body=bundle()))

    response = make_client(retry_after_max=1).request("GET", "Slot")

    assert response.status_code == 200
    first, second = server.received
    assert 0.9 <= second.at - first.at < 2.0


# --- answers the caller maps -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "method"),
    [(409, "PUT"), (412, "PUT"), (404, "GET"), (400, "POST")],
)
def test_client_errors_are_returned_after_exactly_one_attempt(server, make_client, status, method):
    outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "conflict"}]}
    server.default = Reply(status, body=outcome)
    client = make_client(breaker_fail_max=1)

    response = client.request(method, "Appointment/a1", json={"resourceType": "Appointment"})

    assert response.status_code == status
    assert response.json()["resourceType"] == "OperationOutcome"
    assert len(server.received) == 1
    assert client.breaker_state == "closed"  # a 4xx is an answer, not an outage


def test_post_is_retried_on_503_as_one_logical_call(server, make_client):
    created = {"resourceType": "Appointment", "id": "a1", "status": "booked"}
    server.script(Reply(503), Reply(503), Reply(201, body=created, headers={"Location": "Appointment/a1/_history/1"}))
    body = {"resourceType": "Appointment", "status": "booked"}
    conditional = {"If-None-Exist": "identifier=urn:booking|k-1"}

    response = make_client(retries=3).request("POST", "Appointment", json=body, headers=conditional)

    assert response.status_code == 201
    attempts = server.received
    assert [a.method for a in attempts] == ["POST"] * 3
    assert all(json.loads(a.body) == body for a in attempts)
    assert all(a.headers["If-None-Exist"] == conditional["If-None-Exist"] for a in attempts)


def test_bearer_token_and_fhir_headers_are_sent(server, make_client):
    client = make_client(token="t0ken")

    client.request("GET", "Slot", params={"status": "free"})
    client.request("PUT", "Appointment/a1", json={"resourceType": "Appointment"}, headers={"If-Match": 'W/"1"'})

    read, write = server.received
    assert read.path == "/fhir/Slot?status=free"
    assert read.headers["Accept"] == "application/fhir+json"
    assert read.headers["Authorization"] == "Bearer t0ken"
    assert "Content-Type" not in read.headers
    assert write.headers["Content-Type"] == "application/fhir+json"
    assert write.headers["Authorization"] == "Bearer t0ken"
    assert write.headers["If-Match"] == 'W/"1"'


def test_no_authorization_header_without_a_token(server, make_client):
    make_client().request("GET", "Slot")

    assert "Authorization" not in server.received[0].headers


def test_absolute_next_link_must_stay_under_the_base_url(server, make_client):
    client = make_client(token="t0ken")

    response = client.request("GET", f"{server.base_url}/Slot?_page=2")

    assert response.status_code == 200
    assert server.received[0].path == "/fhir/Slot?_page=2"
    with pytest.raises(ValueError, match="outside base_url"):
        client.request("GET", "http://elsewhere.invalid/fhir/Slot")


# --- circuit breaker -------------------------------------------------------------------------------------


def test_breaker_opens_after_fail_max_failures_then_fails_fast(server, make_client):
    server.default = Reply(200, body=bundle(), delay=5)  # every call times out
    client = make_client(read_timeout=0.2, retries=0, breaker_fail_max=2)

    for _ in range(2):
        with pytest.raises(SchedulerUnavailable):
            client.request("GET", "Slot")
    assert client.breaker_state == "open"
    assert len(server.received) == 2

    outcome, elapsed = timed(lambda: client.request("GET", "Slot"))

    assert isinstance(outcome, SchedulerUnavailable)
    assert "circuit breaker is open" in str(outcome)
    assert elapsed < 0.05  # well under the 0.2 s read timeout: no network at all
    assert len(server.received) == 2


def test_4xx_answers_do_not_count_towards_opening(server, make_client):
    server.script(Reply(503), Reply(404), Reply(503))
    client = make_client(retries=0, breaker_fail_max=2)

    for _ in range(3):
        with contextlib.suppress(SchedulerUnavailable):
            client.request("GET", "Appointment/a1")
    assert client.breaker_state == "closed"  # 503, 404, 503: never two failures in a row

    server.default = Reply(503)
    with pytest.raises(SchedulerUnavailable):
        client.request("GET", "Appointment/a1")
    assert client.breaker_state == "open"


def test_breaker_half_open_after_reset_timeout_lets_one_call_through_and_closes_on_success(server, make_client):
    server.script(Reply(503))
    client = make_client(retries=0, breaker_fail_max=1, breaker_reset_timeout=0.2)
    with pytest.raises(SchedulerUnavailable):
        client.request("GET", "Slot")
    assert client.breaker_state == "open"

    time.sleep(0.25)
    assert client.breaker_state == "half-open"
    response = client.request("GET", "Slot")

    assert response.status_code == 200
    assert client.breaker_state == "closed"
    assert len(server.received) == 2


def test_a_failed_trial_call_opens_the_breaker_again(server, make_client):
    server.default = Reply(503)
    client = make_client(retries=0, breaker_fail_max=3, breaker_reset_timeout=0.2)
    for _ in range(3):
        with pytest.raises(SchedulerUnavailable):
            client.request("GET", "Slot")

    time.sleep(0.25)
    with pytest.raises(SchedulerUnavailable, match="503"):  # the trial reaches the server and fails
        client.request("GET", "Slot")

    assert client.breaker_state == "open"  # one failed trial is enough, not fail_max more
    with pytest.raises(SchedulerUnavailable, match="circuit breaker is open"):
        client.request("GET", "Slot")
    assert len(server.received) == 4


def test_half_open_admits_a_single_trial_call_at_a_time(server, make_client):
    server.script(Reply(503))
    client = make_client(read_timeout=2.0, retries=0, breaker_fail_max=1, breaker_reset_timeout=0.1)
    with pytest.raises(SchedulerUnavailable):
        client.request("GET", "Slot")
    time.sleep(0.15)
    server.default = Reply(200, body=bundle(), delay=0.5)  # a slow but successful trial
    trial = threading.Thread(target=client.request, args=("GET", "Slot"))
    trial.start()
    time.sleep(0.1)  # the trial is now waiting on the server

    outcome, elapsed = timed(lambda: client.request("GET", "Slot"))
    trial.join()

    assert isinstance(outcome, SchedulerUnavailable)
    assert elapsed < 0.05
    assert len(server.received) == 2  # the failure and the trial; the concurrent call never went out
    assert client.breaker_state == "closed"


def test_the_breaker_does_not_serialise_concurrent_calls(server, make_client):
    server.default = Reply(200, body=bundle(), delay=0.4)
    client = make_client(read_timeout=2.0)
    calls = [threading.Thread(target=client.request, args=("GET", "Slot")) for _ in range(4)]

    started = time.monotonic()
    for call in calls:
        call.start()
    for call in calls:
        call.join()

    assert time.monotonic() - started < 1.0  # four 0.4 s calls side by side, not one after another
    assert len(server.received) == 4
