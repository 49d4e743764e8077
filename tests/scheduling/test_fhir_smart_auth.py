"""SMART Backend Services authorization of the FHIR client, against real servers on loopback (no patched HTTP).

The token endpoint checks every client assertion as an EHR's authorization server must (signature against
the registered JWK Set, iss/sub/aud/exp, no reused jti); the FHIR server honours only the tokens it issued
(tests/scheduling/smart_servers.py). Time is the one thing faked: the token's life runs on a clock the test
moves, so expiry is proven without waiting.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import jwt
import pytest
import requests

from routing.adapters.scheduling.fhir import FhirScheduler
from routing.adapters.scheduling.fhir_auth import ASSERTION_TYPE, SmartBackendAuth, load_signing_key
from routing.adapters.scheduling.fhir_http import FhirHttp
from routing.adapters.scheduling.interface import BookingRequest, SchedulerUnavailable, SchedulingRejected, SlotTime
from routing.config import DEFAULT_SMART_SCOPES, load_settings
from routing.domain.locations import DEFAULT_LOCATION
from routing.domain.terminology import default_terminology
from routing.wiring import build_scheduler
from tests.http.intake_helpers import SECRET
from tests.scheduling.conftest import TEST_IDENTITY
from tests.scheduling.fault_server import refused_url
from tests.scheduling.smart_servers import ProtectedFhir, TokenServer, key_pair

CLIENT_ID = "routing-backend"
KID = "routing-1"
SCOPES = "system/Slot.rus system/Appointment.cruds"
SERVICE_TYPES = {slot_type: ("urn:test:smart", slot_type) for slot_type in ("consult", "imaging", "injection")}


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def tokens() -> Iterator[TokenServer]:
    """The EHR's token endpoint, with this client's RS384 public key registered."""
    _, jwks = key_pair("RS384", KID)
    with TokenServer(CLIENT_ID, jwks) as server:
        yield server


@pytest.fixture
def fhir(tokens) -> Iterator[ProtectedFhir]:
    """A FHIR server that honours only the token endpoint's tokens."""
    with ProtectedFhir(tokens) as server:
        yield server


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_client(fhir, tokens, clock) -> Iterator[Callable[..., FhirHttp]]:
    """FhirHttp clients with SMART auth on ``fhir``; keywords override the auth's settings."""
    clients: list[FhirHttp] = []

    def make(*, base_url: str | None = None, breaker_fail_max: int = 100, **auth_options) -> FhirHttp:
        base_url = base_url or fhir.base_url
        pem, _ = key_pair(auth_options.get("algorithm", "RS384"), KID)
        options = {
            "client_id": CLIENT_ID,
            "private_key": load_signing_key(pem, auth_options.get("algorithm", "RS384")),
            "key_id": KID,
            "scopes": SCOPES,
            "token_url": tokens.url,
            "connect_timeout": 0.5,
            "read_timeout": 2.0,
            "clock": clock,
            **auth_options,
        }
        auth = SmartBackendAuth(base_url, **options)
        client = FhirHttp(base_url, auth=auth, retries=0, read_timeout=2.0, breaker_fail_max=breaker_fail_max)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def bearers(fhir: ProtectedFhir) -> list[str | None]:
    return [request.authorization for request in fhir.requests]


# --- the client assertion ------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["RS384", "ES384"])
def test_the_client_assertion_carries_exactly_the_header_and_claims_smart_asks_for(algorithm):
    pem, jwks = key_pair(algorithm, KID)
    auth = SmartBackendAuth(
        "https://ehr.example.org/fhir",
        client_id=CLIENT_ID,
        private_key=load_signing_key(pem, algorithm),
        key_id=KID,
        scopes=SCOPES,
        algorithm=algorithm,
        wall_clock=lambda: 1_800_000_000.7,
    )
    token_url = "https://ehr.example.org/auth/token"

    first, second = auth.client_assertion(token_url), auth.client_assertion(token_url)

    public_key = jwt.PyJWK(jwks["keys"][0]).key
    claims, second_claims = (
        jwt.decode(assertion, public_key, algorithms=[algorithm], audience=token_url, options={"verify_exp": False})
        for assertion in (first, second)
    )
    assert jwt.get_unverified_header(first) == {"alg": algorithm, "kid": KID, "typ": "JWT"}
    assert claims == {
        "iss": CLIENT_ID,
        "sub": CLIENT_ID,
        "aud": token_url,
        "exp": 1_800_000_240,  # four minutes: inside SMART's five, with room for clock skew
        "jti": claims["jti"],
    }
    assert len(claims["jti"]) == 43  # 32 random bytes, base64url
    assert second_claims["jti"] != claims["jti"]


def test_the_token_is_never_added_to_a_request_outside_the_fhir_base_url(tokens, fhir):
    pem, _ = key_pair("RS384", KID)
    auth = SmartBackendAuth(
        fhir.base_url.replace("http://", "HTTP://"),  # compared as requests writes URLs
        client_id=CLIENT_ID,
        private_key=load_signing_key(pem, "RS384"),
        key_id=KID,
        scopes=SCOPES,
        token_url=tokens.url,
    )
    inside = requests.Request("GET", f"{fhir.base_url}/Slot").prepare()
    elsewhere = requests.Request("GET", "http://127.0.0.1:9/other/Slot").prepare()
    sibling = requests.Request("GET", f"{fhir.base_url}-admin/Slot").prepare()  # shares a prefix, not the base

    assert auth(inside).headers["Authorization"] == f"Bearer {tokens.issued[0]}"
    assert "Authorization" not in auth(elsewhere).headers
    assert "Authorization" not in auth(sibling).headers
    auth.close()


def test_a_401_after_a_redirect_to_another_server_is_not_retried_with_the_token(make_client, tokens, fhir):
    with ProtectedFhir(tokens) as elsewhere:
        elsewhere.refuse_all = True
        fhir.redirect_to = elsewhere.origin

        response = make_client().request("GET", "Slot")

        assert response.status_code == 401
        assert [(request.path, request.authorization) for request in elsewhere.requests] == [("/fhir/Slot", None)]
    assert len(tokens.requests) == 1


# --- getting, reusing and replacing the token ------------------------------------------------------------


def test_the_token_from_the_token_endpoint_is_the_bearer_the_fhir_server_gets(make_client, tokens, fhir):
    response = make_client().request("GET", "Slot", params={"status": "free"})

    assert response.status_code == 200
    (token_request,) = tokens.requests
    assert (token_request.status, token_request.error) == (200, None)
    assert {name: value for name, value in token_request.form.items() if name != "client_assertion"} == {
        "grant_type": "client_credentials",
        "scope": SCOPES,
        "client_assertion_type": ASSERTION_TYPE,
    }
    assert "Authorization" not in token_request.headers  # nothing but the assertion authenticates the client
    assert bearers(fhir) == [f"Bearer {tokens.issued[0]}"]
    assert [request.status for request in fhir.requests] == [200]


def test_the_token_is_reused_across_calls(make_client, tokens, fhir):
    client = make_client()

    statuses = [client.request("GET", "Slot").status_code for _ in range(3)]

    assert statuses == [200, 200, 200]
    assert len(tokens.requests) == 1
    assert bearers(fhir) == [f"Bearer {tokens.issued[0]}"] * 3


def test_the_token_is_replaced_shortly_before_it_expires(make_client, tokens, fhir, clock):
    tokens.expires_in = 120  # replaced 30 s before its end
    client = make_client()

    client.request("GET", "Slot")
    clock.now += 89
    client.request("GET", "Slot")
    clock.now += 1
    client.request("GET", "Slot")

    first, second = tokens.issued
    assert bearers(fhir) == [f"Bearer {first}", f"Bearer {first}", f"Bearer {second}"]
    assert [request.status for request in fhir.requests] == [200, 200, 200]


def test_a_short_lived_token_is_replaced_at_half_its_life(make_client, tokens, fhir, clock):
    tokens.expires_in = 20
    client = make_client()

    client.request("GET", "Slot")
    clock.now += 9.9
    client.request("GET", "Slot")
    clock.now += 0.1
    client.request("GET", "Slot")

    first, second = tokens.issued
    assert bearers(fhir) == [f"Bearer {first}", f"Bearer {first}", f"Bearer {second}"]


def test_a_401_gets_one_new_token_and_the_call_is_sent_once_more(make_client, tokens, fhir, caplog):
    client = make_client()
    client.request("GET", "Slot")
    tokens.revoke_all()  # the EHR dropped the token before its time

    with caplog.at_level(logging.INFO, logger="routing"):
        response = client.request("PUT", "Slot/s1", json={"resourceType": "Slot"}, headers={"If-Match": 'W/"1"'})

    assert response.status_code == 200
    first, second = tokens.issued
    assert bearers(fhir) == [f"Bearer {first}", f"Bearer {first}", f"Bearer {second}"]
    assert [(r.method, r.status) for r in fhir.requests] == [("GET", 200), ("PUT", 401), ("PUT", 200)]
    assert [r.getMessage() for r in caplog.records if r.name.endswith("fhir_auth") and "401" in r.getMessage()] == [
        "FHIR PUT /fhir/Slot/s1 answered 401: retried once with a new access token"
    ]


def test_a_second_401_is_the_callers_answer_after_exactly_one_retry(make_client, tokens, fhir):
    fhir.refuse_all = True
    scheduler = FhirScheduler(make_client(), default_terminology().with_service_types(SERVICE_TYPES), TEST_IDENTITY)

    with pytest.raises(SchedulingRejected) as refused:
        scheduler.find_free_slots(None, "consult", datetime(2031, 3, 10, tzinfo=UTC), datetime(2031, 3, 11, tzinfo=UTC))

    assert str(refused.value) == "FHIR search Slot refused: HTTP 401"
    assert len(tokens.requests) == 2
    assert [request.status for request in fhir.requests] == [401, 401]
    assert bearers(fhir) == [f"Bearer {token}" for token in tokens.issued]


def test_concurrent_callers_share_one_token_request(make_client, tokens, fhir):
    tokens.delay = 0.3  # long enough for every caller to arrive while the first one is asking
    client = make_client()
    callers = 8
    start = threading.Barrier(callers)
    statuses: list[int] = []

    def call() -> None:
        start.wait()
        statuses.append(client.request("GET", "Slot").status_code)

    threads = [threading.Thread(target=call) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert statuses == [200] * callers
    assert len(tokens.requests) == 1
    assert bearers(fhir) == [f"Bearer {tokens.issued[0]}"] * callers


# --- discovery -------------------------------------------------------------------------------------------


def test_without_a_token_url_the_token_endpoint_is_read_once_from_smart_configuration(make_client, tokens, fhir):
    client = make_client(token_url=None)

    client.request("GET", "Slot")
    tokens.revoke_all()
    client.request("GET", "Slot")  # 401, a new token from the endpoint already discovered, retried

    assert fhir.discoveries == 1
    assert [request.claims["aud"] for request in tokens.requests] == [tokens.url, tokens.url]
    assert [request.status for request in tokens.requests] == [200, 200]
    assert [request.status for request in fhir.requests] == [200, 401, 200]


def test_a_fhir_server_without_smart_configuration_is_a_rejection_naming_the_setting(make_client, fhir, tokens):
    fhir.smart_configuration = False

    with pytest.raises(SchedulingRejected) as refused:
        make_client(token_url=None).request("GET", "Slot")

    assert str(refused.value) == "the FHIR server has no SMART configuration (HTTP 404); set FHIR_SMART_TOKEN_URL"
    assert tokens.requests == []
    assert fhir.requests == []


# --- failures --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["refused by the server", "signed with an unregistered key"])
def test_a_refused_client_is_rejected_with_the_oauth_error_and_no_secret_anywhere(
    make_client, tokens, fhir, caplog, how
):
    if how == "refused by the server":
        tokens.refuse_with = "invalid_client"
    else:
        # The key registered under our kid is someone else's.
        tokens.jwks = {"keys": [{**key_pair("RS384", "someone-else")[1]["keys"][0], "kid": KID}]}
    scheduler = FhirScheduler(make_client(), default_terminology().with_service_types(SERVICE_TYPES), TEST_IDENTITY)

    with caplog.at_level(logging.DEBUG), pytest.raises(SchedulingRejected) as refused:
        scheduler.find_free_slots(None, "consult", datetime(2031, 3, 10, tzinfo=UTC), datetime(2031, 3, 11, tzinfo=UTC))

    assert str(refused.value) == "SMART token request refused: invalid_client (HTTP 401)"
    assert refused.value.__cause__ is None
    assert refused.value.__context__ is None or refused.value.__suppress_context__
    assert fhir.requests == []
    (token_request,) = tokens.requests
    pem, _ = key_pair("RS384", KID)
    secrets = [token_request.form["client_assertion"], *pem.splitlines()[1:-1]]
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "SMART token request refused: invalid_client (HTTP 401)" in logged
    assert [secret for secret in secrets if secret in logged or secret in str(refused.value)] == []


def test_a_token_endpoint_that_cannot_be_reached_leaves_the_scheduler_unavailable(make_client, fhir):
    client = make_client(token_url=refused_url() + "/token", breaker_fail_max=1)

    with pytest.raises(SchedulerUnavailable) as unavailable:
        client.request("GET", "Slot")

    assert str(unavailable.value) == "SMART token request failed: NewConnectionError"
    assert client.breaker_state == "open"  # counted like any unreachable scheduler
    assert fhir.requests == []


@pytest.mark.parametrize("status", [500, 503, 429])
def test_a_token_endpoint_in_trouble_leaves_the_scheduler_unavailable(make_client, tokens, fhir, status):
    tokens.outage = status

    with pytest.raises(SchedulerUnavailable) as unavailable:
        make_client().request("GET", "Slot")

    assert str(unavailable.value) == f"SMART token request answered {status}"
    assert fhir.requests == []


def test_the_token_endpoint_recovering_gives_a_token_on_the_next_call(make_client, tokens, fhir):
    client = make_client()
    tokens.outage = 503
    with pytest.raises(SchedulerUnavailable):
        client.request("GET", "Slot")

    tokens.outage = None
    response = client.request("GET", "Slot")

    assert response.status_code == 200
    assert [request.status for request in tokens.requests] == [503, 200]
    assert bearers(fhir) == [f"Bearer {tokens.issued[0]}"]


# --- configured as in production ----------------------------------------------------------------------------


def smart_environment(base_url: str, service_types: dict[str, tuple[str, str]], **extra: str) -> dict[str, str]:
    """The environment of a service on ``base_url`` with FHIR_AUTH=smart and this test's key."""
    pem, _ = key_pair("RS384", KID)
    types = ",".join(f"{slot_type}={system}|{code}" for slot_type, (system, code) in service_types.items())
    return {
        "ROUTING_SCHEDULER": "fhir",
        "FHIR_BASE_URL": base_url,
        "FHIR_SERVICE_TYPES": types,
        "FHIR_READ_TIMEOUT": "5",
        "FHIR_RETRIES": "0",
        "ROUTING_SCHEDULER_EVENTS_SECRET": SECRET,
        "FHIR_AUTH": "smart",
        "FHIR_SMART_CLIENT_ID": CLIENT_ID,
        "FHIR_SMART_PRIVATE_KEY": pem.replace("\n", "\\n"),  # as a one-line environment variable holds it
        "FHIR_SMART_KEY_ID": KID,
        **extra,
    }


def test_the_wired_scheduler_discovers_the_token_endpoint_and_sends_the_default_scopes(tokens, fhir):
    # This stand-in server answers every call with an empty Bundle, a CapabilityStatement included: the
    # booking strategy is set rather than read from it.
    environment = smart_environment(fhir.base_url, SERVICE_TYPES, FHIR_BOOKING_STRATEGY="slot-update")
    scheduler = build_scheduler(load_settings(environ=environment))
    try:
        slots = scheduler.find_free_slots(
            None, "consult", datetime(2031, 3, 10, tzinfo=UTC), datetime(2031, 3, 11, tzinfo=UTC)
        )
    finally:
        scheduler.close()

    assert slots == []
    assert fhir.discoveries == 1
    (token_request,) = tokens.requests
    assert (token_request.status, token_request.form["scope"]) == (200, DEFAULT_SMART_SCOPES)
    assert bearers(fhir) == [f"Bearer {tokens.issued[0]}"]


def test_a_booking_on_the_medplum_server_goes_through_with_smart_tokens(
    tokens, fhir_base_url, fhir_server, service_types
):
    nine = datetime(2031, 3, 10, 9, tzinfo=UTC)
    (slot_ref,) = fhir_server.seed_slots(service_types["consult"], [nine])
    with ProtectedFhir(tokens, upstream=fhir_base_url) as protected:
        environment = smart_environment(protected.base_url, service_types, FHIR_SMART_TOKEN_URL=tokens.url)
        scheduler = build_scheduler(load_settings(environ=environment))
        try:
            (slot,) = scheduler.find_free_slots(
                None, "consult", datetime(2031, 3, 10, tzinfo=UTC), datetime(2031, 3, 11, tzinfo=UTC)
            )
            inquiry_id = uuid.uuid4()
            booking = scheduler.book(
                None,
                slot,
                BookingRequest(inquiry_id, str(inquiry_id), "consult", "consult", "soon", patient_display="Patient"),
            )
        finally:
            scheduler.close()

    assert slot == SlotTime(slot_ref, "consult", nine, nine.replace(minute=30), DEFAULT_LOCATION)
    appointment = fhir_server.get(booking.external_id)
    assert (appointment["status"], appointment["slot"]) == ("booked", [{"reference": slot_ref}])
    assert fhir_server.get(slot_ref)["status"] == "busy"
    assert len(tokens.requests) == 1
    assert protected.discoveries == 0
    assert {request.authorization for request in protected.requests} == {f"Bearer {tokens.issued[0]}"}
    assert all(200 <= request.status < 300 for request in protected.requests)
