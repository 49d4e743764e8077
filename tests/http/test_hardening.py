"""Rate limits, security headers and CORS: the front door's own protections."""

from __future__ import annotations

import threading
import time

import pytest

from routing import create_app
from routing.config import ConfigError, load_settings
from routing.http.rate_limits import InProcessStorage
from tests.conftest import settings_for
from tests.http.admin_helpers import bearer, make_token
from tests.http.intake_helpers import inquiry

PROBLEM = "application/problem+json"
FORM_SITE = "https://www.example-clinic.org"


@pytest.fixture
def limited(migrated_url):
    app = create_app(
        settings_for(
            migrated_url,
            ROUTING_RATE_LIMIT_INTAKE="2/minute",
            ROUTING_RATE_LIMIT_DRY_RUN="1/minute",
            ROUTING_CORS_ORIGINS=FORM_SITE,
        )
    )
    yield app
    app.extensions["routing"].db.dispose()


def post(client, key: str, address: str = "203.0.113.7", **headers):
    return client.post(
        "/v1/inquiries",
        json=inquiry(),
        headers={"Idempotency-Key": key, **headers},
        environ_base={"REMOTE_ADDR": address},
    )


def test_intake_over_its_limit_is_a_429_problem_with_retry_after(limited):
    client = limited.test_client()
    assert [post(client, f"k{n}").status_code for n in range(2)] == [201, 201]

    response = post(client, "k2")

    assert response.status_code == 429
    assert response.content_type == PROBLEM
    assert 1 <= int(response.headers["Retry-After"]) <= 61
    assert "Retry-After" in response.get_json()["detail"]


def test_the_limit_is_per_client_address(limited):
    client = limited.test_client()
    for n in range(2):
        post(client, f"a{n}")

    assert post(client, "b0", address="198.51.100.9").status_code == 201


def test_other_routes_are_not_limited(limited):
    client = limited.test_client()
    for n in range(2):
        post(client, f"c{n}")

    assert all(client.get("/healthz").status_code == 200 for _ in range(5))


def test_the_dry_run_has_its_own_limit(limited):
    client = limited.test_client()
    token = bearer(make_token(limited, "Sam", "staff"))

    first = client.post("/v1/triage", json=inquiry(), headers=token)
    second = client.post("/v1/triage", json=inquiry(), headers=token)

    assert (first.status_code, second.status_code) == (200, 429)


def test_behind_a_trusted_proxy_the_forwarded_client_address_is_limited(migrated_url):
    app = create_app(settings_for(migrated_url, ROUTING_RATE_LIMIT_INTAKE="1/minute", ROUTING_TRUSTED_PROXIES="1"))
    client = app.test_client()

    first = post(client, "p0", address="10.0.0.2", **{"X-Forwarded-For": "203.0.113.7"})
    other_patient = post(client, "p1", address="10.0.0.2", **{"X-Forwarded-For": "203.0.113.8"})
    same_patient = post(client, "p2", address="10.0.0.2", **{"X-Forwarded-For": "203.0.113.7"})

    assert (first.status_code, other_patient.status_code, same_patient.status_code) == (201, 201, 429)
    app.extensions["routing"].db.dispose()


def test_counting_limited_requests_starts_no_threads(limited, monkeypatch):
    # limits' plain MemoryStorage starts a timer thread after nearly every hit: a real cost under load.
    started = []
    monkeypatch.setattr(threading.Thread, "start", lambda thread: started.append(thread))
    client = limited.test_client()

    codes = [post(client, f"t{n}", address=f"198.51.100.{n}").status_code for n in range(5)]

    assert codes == [201] * 5
    assert started == []


def test_in_process_limit_counters_are_forgotten_once_their_window_ends():
    storage = InProcessStorage()
    storage.incr("client-a", expiry=60)
    storage.incr("client-b", expiry=1)

    storage.sweep(time.time() + 2)

    assert set(storage.storage) == {"client-a"}
    assert storage.get("client-a") == 1


def test_every_answer_carries_the_security_headers_and_is_not_cached(client):
    for response in (client.get("/healthz"), client.post("/v1/inquiries", json={}), client.get("/nowhere")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["Cache-Control"] == "no-store"


HSTS = "max-age=63072000; includeSubDomains"


def test_hsts_is_sent_over_https_only(client):
    plain = client.get("/healthz")
    secure = client.get("/healthz", base_url="https://localhost")

    assert "Strict-Transport-Security" not in plain.headers
    assert secure.headers.getlist("Strict-Transport-Security") == [HSTS]


def test_behind_a_trusted_proxy_hsts_follows_the_forwarded_protocol(migrated_url):
    app = create_app(settings_for(migrated_url, ROUTING_TRUSTED_PROXIES="1"))
    client = app.test_client()

    https = client.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    http = client.get("/healthz", headers={"X-Forwarded-Proto": "http"})

    assert https.headers.getlist("Strict-Transport-Security") == [HSTS]
    assert "Strict-Transport-Security" not in http.headers
    app.extensions["routing"].db.dispose()


def test_without_trusted_proxies_a_forwarded_protocol_is_ignored(client):
    response = client.get("/healthz", headers={"X-Forwarded-Proto": "https"})

    assert "Strict-Transport-Security" not in response.headers


def test_the_docs_page_may_run_its_own_scripts_only(client):
    response = client.get("/docs")

    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "https:" not in policy


def test_cors_allows_the_clinics_form_origin_only(limited):
    client = limited.test_client()
    preflight = {
        "Origin": FORM_SITE,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "Content-Type, Idempotency-Key",
    }

    allowed = client.options("/v1/inquiries", headers=preflight)
    other = client.options("/v1/inquiries", headers={**preflight, "Origin": "https://evil.example"})
    admin = client.options("/v1/admin/inquiries", headers=preflight)

    assert allowed.headers["Access-Control-Allow-Origin"] == FORM_SITE
    assert "idempotency-key" in allowed.headers["Access-Control-Allow-Headers"].lower()
    assert "Access-Control-Allow-Origin" not in other.headers
    assert "Access-Control-Allow-Origin" not in admin.headers


def test_without_configured_origins_there_is_no_cors(client):
    response = client.post("/v1/inquiries", json=inquiry(), headers={"Origin": FORM_SITE})

    assert "Access-Control-Allow-Origin" not in response.headers


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ROUTING_RATE_LIMIT_INTAKE", "lots"),
        ("ROUTING_RATE_LIMIT_DRY_RUN", "5/fortnight"),
        ("ROUTING_CORS_ORIGINS", "www.example-clinic.org"),
        ("ROUTING_CORS_ORIGINS", "https://example.org/form"),
        ("ROUTING_TRUSTED_PROXIES", "-1"),
    ],
)
def test_bad_protection_settings_stop_the_start_naming_the_variable(name, value):
    with pytest.raises(ConfigError, match=name):
        load_settings({name: value}, environ={})


class _BrokenStore(InProcessStorage):
    """A shared store that is down: every count fails as a network store's would."""

    STORAGE_SCHEME = ["broken-test-store"]

    @property
    def base_exceptions(self) -> type[Exception]:
        return ConnectionError

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        raise ConnectionError("store is down")


def test_while_the_shared_store_is_down_requests_are_counted_in_the_process(migrated_url, caplog):
    app = create_app(
        settings_for(
            migrated_url, ROUTING_RATE_LIMIT_INTAKE="1/minute", ROUTING_RATE_LIMIT_STORAGE="broken-test-store://"
        )
    )
    client = app.test_client()

    first, second = post(client, "s0"), post(client, "s1")

    assert (first.status_code, second.status_code) == (201, 429)
    assert "rate-limit store unavailable" in caplog.text
    app.extensions["routing"].db.dispose()


def test_a_rate_limit_store_that_cannot_be_used_is_refused_at_start(migrated_url):
    with pytest.raises(ConfigError, match="ROUTING_RATE_LIMIT_STORAGE"):
        create_app(settings_for(migrated_url, ROUTING_RATE_LIMIT_STORAGE="nowhere://"))
