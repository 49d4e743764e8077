"""Prometheus /metrics: request counters by route template, inquiries, booking attempts, queue depth, breaker."""

from __future__ import annotations

import os
import random
import string
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from routing import create_app
from routing.adapters.db.models import WaitlistEntry
from routing.adapters.scheduling.embedded import EmbeddedScheduler
from tests.conftest import settings_for
from tests.http.admin_helpers import bearer, make_token
from tests.http.intake_helpers import SECRET, add_slots, inquiry
from tests.http.test_booking_queue import down_scheduler
from tests.scheduling.fault_server import refused_url
from tests.waitlist.helpers import ROUTINE_IMAGING, URGENT_IMAGING, one_slot, submit

SLOT_TYPES = ("consult", "imaging", "injection")

REPO = Path(__file__).resolve().parents[2]
DETAIL_ROUTE = "/v1/admin/inquiries/<uuid:inquiry_id>"


def scrape(client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics, keyed by (sample name, sorted labels)."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name: str, **labels: str) -> float:
    """A sample's value, 0 when absent (counters start at nothing)."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_requests_inquiries_and_bookings_are_counted_by_route_template(app, client):
    add_slots(app, "consult", [26, 27])
    token = make_token(app, "Sam Staff", "staff")
    before = scrape(client)

    intake = client.post("/v1/inquiries?utm_source=mail", json=inquiry())
    assert intake.status_code == 201, intake.get_json()
    inquiry_id, triage = intake.get_json()["id"], intake.get_json()["triage"]
    detail = client.get(f"/v1/admin/inquiries/{inquiry_id}", headers=bearer(token))
    assert detail.status_code == 200
    after = scrape(client)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("routing_http_requests_total", method="POST", route="/v1/inquiries", status="201") == 1
    assert delta("routing_http_requests_total", method="GET", route=DETAIL_ROUTE, status="200") == 1
    assert delta("routing_http_request_duration_seconds_count", method="GET", route=DETAIL_ROUTE) == 1
    assert delta("routing_http_request_duration_seconds_bucket", method="GET", route=DETAIL_ROUTE, le="+Inf") == 1
    assert delta("routing_http_request_duration_seconds_sum", method="GET", route=DETAIL_ROUTE) > 0
    labels = {"status": "booked", "route": triage["route"], "urgency": triage["urgency"]}
    assert delta("routing_inquiries_total", **labels) == 1
    assert delta("routing_booking_attempts_total", scheduler="embedded", result="booked") == 1
    # Labels name route templates only: no ids, no query strings.
    text = client.get("/metrics").get_data(as_text=True)
    assert inquiry_id not in text
    assert "utm_source" not in text


def test_a_pending_inquiry_shows_in_the_queue_depth_and_as_an_unavailable_attempt(app, client):
    before = scrape(client)
    assert value(before, "routing_booking_queue_depth") == 0

    app.extensions["routing"].scheduler = down_scheduler()
    try:
        response = client.post("/v1/inquiries", json=inquiry())
    finally:
        app.extensions["routing"].scheduler = EmbeddedScheduler()
    assert response.status_code == 202
    after = scrape(client)

    assert value(after, "routing_booking_queue_depth") == 1
    unavailable = {"scheduler": "fhir", "result": "unavailable"}
    attempts = value(after, "routing_booking_attempts_total", **unavailable)
    assert attempts - value(before, "routing_booking_attempts_total", **unavailable) == 1


def test_unmatched_urls_share_one_route_label(client):
    before = scrape(client)
    assert client.get("/v1/no-such-thing/12345").status_code == 404
    after = scrape(client)

    labels = {"method": "GET", "route": "<unmatched>", "status": "404"}
    counted = value(after, "routing_http_requests_total", **labels)
    assert counted - value(before, "routing_http_requests_total", **labels) == 1


def test_invented_methods_and_paths_add_no_series_to_metrics(client):
    # One request of each kind first, so the "other" and "<unmatched>" series exist before the flood.
    client.open("/v1/warm-up", method="WARMUP")
    client.get("/metrics")
    before = scrape(client)
    size_before = len(client.get("/metrics").data)
    rng = random.Random(16)

    for _ in range(3000):
        method = "".join(rng.choices(string.ascii_uppercase, k=rng.randint(3, 12)))
        path = "/" + "".join(rng.choices(string.ascii_lowercase + string.digits, k=rng.randint(1, 20)))
        client.open(path, method=method)
    after = scrape(client)

    # The same series before and after; only counts and sums moved (a few more digits at most).
    assert sorted(after) == sorted(before)
    assert abs(len(client.get("/metrics").data) - size_before) < 200
    other_404 = {"method": "other", "route": "<unmatched>", "status": "404"}
    counted = value(after, "routing_http_requests_total", **other_404)
    assert counted - value(before, "routing_http_requests_total", **other_404) == 3000
    scraped = {"method": "GET", "route": "/metrics", "status": "200"}
    assert (
        value(after, "routing_http_requests_total", **scraped) - value(before, "routing_http_requests_total", **scraped)
        == 2
    )


def test_a_known_method_keeps_its_name_and_an_unknown_one_on_a_real_route_is_other(client):
    before = scrape(client)

    assert client.open("/healthz", method="BREW").status_code == 405
    assert client.open("/healthz", method="OPTIONS").status_code == 200
    after = scrape(client)

    def delta(**labels):
        return value(after, "routing_http_requests_total", **labels) - value(
            before, "routing_http_requests_total", **labels
        )

    # A 405 matched no rule: its route is the one unmatched label too.
    assert delta(method="other", route="<unmatched>", status="405") == 1
    assert delta(method="OPTIONS", route="/healthz", status="200") == 1


def test_metrics_is_plain_text_and_not_in_the_public_api_document(client):
    response = client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert "/metrics" not in client.get("/openapi.json").get_json()["paths"]


@pytest.fixture
def fhir_app(migrated_url):
    # Nothing listens there: every call is refused at once; one failure opens the breaker.
    settings = settings_for(
        migrated_url,
        ROUTING_SCHEDULER="fhir",
        ROUTING_SCHEDULER_EVENTS_SECRET=SECRET,
        FHIR_BASE_URL=refused_url(),
        FHIR_RETRIES=0,
        FHIR_CONNECT_TIMEOUT=0.5,
        FHIR_BREAKER_FAILURES=1,
        FHIR_BREAKER_RESET_SECONDS=300,
    )
    application = create_app(settings)
    yield application
    application.extensions["routing"].db.dispose()


def test_the_breaker_gauge_follows_the_fhir_client(fhir_app):
    client = fhir_app.test_client()
    assert value(scrape(client), "routing_circuit_breaker_state", scheduler="fhir") == 0

    assert client.post("/v1/inquiries", json=inquiry()).status_code == 202

    samples = scrape(client)
    assert value(samples, "routing_circuit_breaker_state", scheduler="fhir") == 2
    assert value(samples, "routing_booking_queue_depth") == 1


def test_multiprocess_mode_adds_up_every_process(tmp_path):
    # prometheus-client picks its storage at import, so each "worker" is a fresh interpreter.
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PYTHONPATH": str(REPO)}
    worker = textwrap.dedent(
        """
        from routing.observability import metrics
        metrics.observe_request("GET", "/healthz", 200, 0.01)
        metrics.count_booking_attempt("embedded", "booked")
        """
    )
    scraper = "from routing.observability import metrics; print(metrics.exposition()[0].decode())"
    for _ in range(2):
        subprocess.run([sys.executable, "-c", worker], env=env, check=True, timeout=60)
    result = subprocess.run(
        [sys.executable, "-c", scraper], env=env, check=True, timeout=60, capture_output=True, text=True
    )

    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(result.stdout)
        for sample in family.samples
    }
    assert value(samples, "routing_http_requests_total", method="GET", route="/healthz", status="200") == 2
    assert value(samples, "routing_booking_attempts_total", scheduler="embedded", result="booked") == 2


def _waitlist_lengths(samples) -> dict[tuple[str, str], float]:
    return {
        (dict(labels)["slot_type"], dict(labels)["urgency"]): count
        for (name, labels), count in samples.items()
        if name == "routing_waitlist_length"
    }


def test_the_waitlist_length_is_read_per_slot_type_and_urgency_at_scrape_time(app, client):
    one_slot(app, 30)
    submit(client, ROUTINE_IMAGING)  # books the one slot
    routine = submit(client, ROUTINE_IMAGING)
    submit(client, URGENT_IMAGING)
    nothing = {(slot_type, urgency): 0.0 for slot_type in SLOT_TYPES for urgency in ("urgent", "soon", "routine")}

    waiting = _waitlist_lengths(scrape(client))
    token = make_token(app, "Sam Staff", "staff")
    with app.extensions["routing"].db.session() as session:
        entry_id = session.scalar(select(WaitlistEntry.id).where(WaitlistEntry.inquiry_id == routine))
    removed = client.delete(f"/v1/admin/waitlist/{entry_id}", json={"reason": "moved away"}, headers=bearer(token))
    assert removed.status_code == 200, removed.get_json()
    after = _waitlist_lengths(scrape(client))

    assert waiting == {**nothing, ("imaging", "routine"): 1.0, ("imaging", "urgent"): 1.0}
    assert after == {**nothing, ("imaging", "urgent"): 1.0}
