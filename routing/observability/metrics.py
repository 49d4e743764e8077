"""Prometheus metrics of the service, exposed at ``GET /metrics`` (text exposition format).

Metrics:

* ``routing_http_requests_total{method,route,status}`` and ``routing_http_request_duration_seconds{method,route}``:
  ``route`` is the URL rule template (``/v1/admin/inquiries/<uuid:inquiry_id>``), never the raw path,
  so ids and query strings neither leak nor explode the label set; unmatched URLs are ``<unmatched>``.
  ``method`` is one of :data:`HTTP_METHODS` or ``other``: a client can send any token as a method, and
  each new one would otherwise add a label set (and a histogram's worth of series) for good.
* ``routing_inquiries_total{status,route,urgency}``: an inquiry routed to its outcome (booked,
  needs_review, urgent_review; ``route``/``urgency`` are ``unknown`` when the booking queue gave up).
* ``routing_booking_attempts_total{scheduler,result}``: result ``booked``, ``no_slot``,
  ``unavailable`` (scheduling system unreachable) or ``error`` (anything else failed).
* ``routing_fhir_notifications_total{type}``: FHIR subscription notifications received, by notification
  type (handshake, heartbeat, event-notification, query-status, query-event).
* ``routing_reconciliation_polls_total{result}``: polls of the scheduling system for changed appointments,
  ``ok``, ``unavailable`` (it could not be reached) or ``error``.
* ``routing_circuit_breaker_state{scheduler}``: 0 closed, 1 half-open, 2 open; the FHIR client's breaker.
* ``routing_booking_queue_depth``: inquiries in ``pending_booking`` (one ``COUNT`` per scrape).
* ``routing_outbox_deliveries_total{channel,result}``: outbox delivery attempts by channel (webhook, alert,
  email, sms) and result: ``delivered``, ``failed`` (retried later) or ``dead`` (dead-lettered: refused for
  good, or retried for the whole horizon).
* ``routing_outbox_send_duration_seconds{channel}``: how long each attempt's send took.
* ``routing_alert_latency_seconds``: from the change that raised an alert (its outbox event) to the alert's
  delivery to an on-call receiver.
* ``routing_outbox_backlog{status}``: deliveries ``pending`` (the backlog) and ``dead`` (dead letters
  waiting for a replay), read at scrape time.
* ``routing_waitlist_offers_total{slot_type,urgency,result}``: waitlist offers by what became of them: ``open``
  (made), ``accepted`` (booked: a slot refilled), ``declined``, ``expired``, ``withdrawn``.
* ``routing_waitlist_time_on_list_seconds{slot_type,urgency,outcome}``: how long entries waited, observed when
  each leaves the list (``booked``, ``removed``, ``window_passed``).
* ``routing_waitlist_length{slot_type,urgency}``: entries waiting or with an offer open, read at scrape time.

The gauges are read when ``/metrics`` is scraped.

**Several processes (gunicorn workers, booking workers).** Each process has its own registry, so by
default a scrape sees only the worker that answered it. For one view of all of them,
``PROMETHEUS_MULTIPROC_DIR`` points at an empty directory writable by every process of the service on
that host, **set before the processes start** (prometheus-client picks its storage at import): each
process then writes its metrics to files there and ``/metrics`` adds them all up, booking workers'
attempts included. scripts/serve.sh and docker/entrypoint.sh make a fresh one per run; gunicorn.conf.py
makes its own when none is set, and its ``child_exit`` hook marks dead workers so their gauges drop out.
In that mode the breaker gauge is the worst state among live workers (each worker has its own breaker,
read after each of its requests and at scrape time), and the queue depth is the latest one read.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)

if TYPE_CHECKING:  # only for the annotation: metrics must not import the scheduling adapters at run time
    from routing.adapters.scheduling.interface import Scheduler

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: The classic text format every Prometheus version reads (our names need none of 1.0.0's UTF-8 escaping).
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
UNMATCHED_ROUTE = "<unmatched>"
#: The methods counted under their own name; any other (WebDAV, invented, misspelt) is ``other``.
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "other"
BREAKER_VALUES = {"closed": 0, "half-open": 1, "open": 2}
BOOKING_RESULTS = ("booked", "no_slot", "unavailable", "error")
DELIVERY_RESULTS = ("delivered", "failed", "dead")

# The *_created series (one creation timestamp per label set) double what Prometheus stores for nothing
# our dashboards use; rate() works without them.
disable_created_metrics()

HTTP_REQUESTS = Counter("routing_http_requests_total", "HTTP requests answered.", ["method", "route", "status"])
HTTP_DURATION = Histogram(
    "routing_http_request_duration_seconds",
    "Time to answer an HTTP request.",
    ["method", "route"],
    # Up to a minute: an intake request waits for FHIR calls with retries (about 45 s worst case).
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)
INQUIRIES = Counter("routing_inquiries_total", "Inquiries routed to an outcome.", ["status", "route", "urgency"])
BOOKING_ATTEMPTS = Counter(
    "routing_booking_attempts_total", "Attempts to book with the scheduling system.", ["scheduler", "result"]
)
FHIR_NOTIFICATIONS = Counter("routing_fhir_notifications_total", "FHIR subscription notifications received.", ["type"])
RECONCILIATION_POLLS = Counter(
    "routing_reconciliation_polls_total", "Polls of the scheduling system for changed appointments.", ["result"]
)
BREAKER_STATE = Gauge(
    "routing_circuit_breaker_state",
    "Circuit breaker of the scheduling system's client: 0 closed, 1 half-open, 2 open.",
    ["scheduler"],
    multiprocess_mode="livemax",
)
QUEUE_DEPTH = Gauge(
    "routing_booking_queue_depth",
    "Inquiries waiting in the booking queue (pending_booking).",
    multiprocess_mode="livemostrecent",
)
OUTBOX_DELIVERIES = Counter(
    "routing_outbox_deliveries_total", "Outbox delivery attempts by channel and result.", ["channel", "result"]
)
OUTBOX_SEND_SECONDS = Histogram(
    "routing_outbox_send_duration_seconds",
    "Time one outbox delivery attempt took to send.",
    ["channel"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
ALERT_LATENCY = Histogram(
    "routing_alert_latency_seconds",
    "From the change that raised an alert to its delivery to an on-call receiver.",
    buckets=(0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0),
)
OUTBOX_BACKLOG = Gauge(
    "routing_outbox_backlog",
    "Outbox deliveries pending (backlog) and dead (dead letters), by status.",
    ["status"],
    multiprocess_mode="livemostrecent",
)

WAITLIST_OFFERS = Counter(
    "routing_waitlist_offers_total", "Waitlist offers by what became of them.", ["slot_type", "urgency", "result"]
)
WAITLIST_TIME_ON_LIST = Histogram(
    "routing_waitlist_time_on_list_seconds",
    "How long waitlist entries waited, observed when each leaves the list.",
    ["slot_type", "urgency", "outcome"],
    buckets=(600, 3600, 4 * 3600, 12 * 3600, 86400, 3 * 86400, 7 * 86400, 14 * 86400, 28 * 86400),
)
WAITLIST_LENGTH = Gauge(
    "routing_waitlist_length",
    "Waitlist entries waiting or with an offer open, by slot type and urgency.",
    ["slot_type", "urgency"],
    multiprocess_mode="livemostrecent",
)


def method_label(method: str) -> str:
    """``method`` if it is one of :data:`HTTP_METHODS`, else ``other``: labels come from a closed set."""
    return method if method in HTTP_METHODS else OTHER_METHOD


def observe_request(method: str, route: str | None, status: int, seconds: float) -> None:
    """Count one answered HTTP request and its duration.

    ``route`` must be a URL rule template or None (unmatched); ``method`` may be anything the client sent.
    """
    method, route = method_label(method), route or UNMATCHED_ROUTE
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    HTTP_DURATION.labels(method, route).observe(seconds)


def count_inquiry(status: str, route: str | None, urgency: str | None) -> None:
    """Count an inquiry that reached an outcome."""
    INQUIRIES.labels(str(status), str(route or "unknown"), str(urgency or "unknown")).inc()


def count_booking_attempt(scheduler: str, result: str) -> None:
    """Count one booking attempt; ``result`` is one of :data:`BOOKING_RESULTS`."""
    BOOKING_ATTEMPTS.labels(scheduler, result if result in BOOKING_RESULTS else "error").inc()


def count_fhir_notification(notification_type: str) -> None:
    """Count one FHIR subscription notification (its type was validated: a closed set of codes)."""
    FHIR_NOTIFICATIONS.labels(notification_type).inc()


def count_reconciliation_poll(result: str) -> None:
    """Count one reconciliation poll by its result: ok, unavailable or error."""
    RECONCILIATION_POLLS.labels(result).inc()


def set_breaker_state(scheduler: Scheduler) -> None:
    """Copy the scheduler's circuit breaker state into the gauge (no-op for schedulers without one)."""
    state = scheduler.breaker_state()
    if state is not None:
        BREAKER_STATE.labels(scheduler.name).set(BREAKER_VALUES.get(state, 2))


def set_queue_depth(depth: float) -> None:
    """Record the booking queue depth read at scrape time."""
    QUEUE_DEPTH.set(depth)


def count_outbox_delivery(channel: str, result: str, seconds: float) -> None:
    """Count one delivery attempt (``result`` one of :data:`DELIVERY_RESULTS`) and how long its send took."""
    OUTBOX_DELIVERIES.labels(channel, result if result in DELIVERY_RESULTS else "failed").inc()
    OUTBOX_SEND_SECONDS.labels(channel).observe(seconds)


def observe_alert_latency(seconds: float) -> None:
    """Record how long an alert took from its change to an on-call receiver."""
    ALERT_LATENCY.observe(max(seconds, 0.0))


def set_outbox_backlog(pending: float, dead: float) -> None:
    """Record the pending and dead deliveries read at scrape time."""
    OUTBOX_BACKLOG.labels("pending").set(pending)
    OUTBOX_BACKLOG.labels("dead").set(dead)


def count_waitlist_offer(slot_type: str, urgency: str, result: str) -> None:
    """A waitlist offer was made (``open``) or ended (accepted, declined, expired, withdrawn)."""
    WAITLIST_OFFERS.labels(slot_type, urgency, result).inc()


def observe_time_on_list(slot_type: str, urgency: str, outcome: str, seconds: float) -> None:
    """A waitlist entry left the list after ``seconds``."""
    WAITLIST_TIME_ON_LIST.labels(slot_type, urgency, outcome).observe(seconds)


def set_waitlist_length(lengths: dict[tuple[str, str], int]) -> None:
    """The live entries per (slot type, urgency); label sets no longer present are dropped."""
    WAITLIST_LENGTH.clear()
    for (slot_type, urgency), count in lengths.items():
        WAITLIST_LENGTH.labels(slot_type, urgency).set(count)


def exposition(refresh: Callable[[], None] | None = None) -> tuple[bytes, str]:
    """The metrics in Prometheus text format and their content type; ``refresh`` updates gauges first."""
    if refresh is not None:
        refresh()
    if os.environ.get(MULTIPROC_ENV):
        # A fresh registry per scrape that reads every process's files (prometheus-client's recipe).
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE
    return generate_latest(REGISTRY), CONTENT_TYPE
