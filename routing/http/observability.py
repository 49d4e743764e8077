"""Request ids, one JSON log line per request, and the Prometheus ``/metrics`` endpoint.

Every request gets an id (a sane ``X-Request-ID`` from the caller, else a new one) kept on ``flask.g``,
stamped on every log line emitted while it runs and returned in the ``X-Request-ID`` response header,
errors included. Each answered request logs one line (method, URL rule template, status, duration,
request id, client address) and is counted in the request metrics; the raw path and query string
never appear, as they can carry patient data.

``/metrics`` is a plain Flask route, so it stays out of the public API's OpenAPI document. It needs no
token: expose it only to the monitoring network (see :mod:`routing.observability.metrics` for running
several processes). This line replaces an access log: gunicorn's own (``--access-logfile``) prints the
raw request line, query string included, so leave it off.
"""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, current_app, g, request
from flask.logging import default_handler

from routing.observability import metrics
from routing.observability.request_id import HEADER, accept_or_generate
from routing.services.booking_queue import queue_depth
from routing.services.outbox_log import backlog
from routing.services.waitlist_reading import lengths as waitlist_lengths

log = logging.getLogger("routing.http.requests")


def init_app(app: Flask) -> None:
    """Attach request ids, JSON request logs and the /metrics endpoint to ``app``."""
    # First of the app's before_request hooks, so a request refused by another hook (rate limit,
    # authentication) still has its id and timing.
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request(_finish)
    app.add_url_rule("/metrics", "metrics", metrics_view, methods=["GET"])
    # app.logger is the "routing" logger; Flask's default handler would print exception text.
    app.logger.removeHandler(default_handler)


def request_id() -> str:
    """The current request's id (assigned on first use if no hook ran yet)."""
    if "request_id" not in g:
        g.request_id = accept_or_generate(request.headers.get(HEADER))
    return g.request_id


def metrics_view() -> Response:
    """Prometheus text exposition of this service's metrics (gauges read now)."""
    body, content_type = metrics.exposition(_refresh_gauges)
    return Response(body, mimetype=None, content_type=content_type)


def _start() -> None:
    request_id()
    g.request_started = time.perf_counter()


def _finish(response: Response) -> Response:
    rid = request_id()
    response.headers[HEADER] = rid
    elapsed = time.perf_counter() - g.get("request_started", time.perf_counter())
    route = request.url_rule.rule if request.url_rule is not None else None
    metrics.observe_request(request.method, route, response.status_code, elapsed)
    # After each request: the breaker may have changed during it (multiprocess mode keeps the worst).
    metrics.set_breaker_state(current_app.extensions["routing"].scheduler)
    if not log.isEnabledFor(logging.INFO):  # LOG_LEVEL above INFO: skip building the line
        return response
    # The same closed set as the metrics: the method token is the client's to invent.
    method = metrics.method_label(request.method)
    log.info(
        "%s %s %s",
        method,
        route or metrics.UNMATCHED_ROUTE,
        response.status_code,
        extra={
            "event": "http.request",
            "method": method,
            "route": route or metrics.UNMATCHED_ROUTE,
            "status": response.status_code,
            "duration_ms": round(elapsed * 1000, 2),
            "remote_addr": request.remote_addr,
        },
    )
    return response


def _refresh_gauges() -> None:
    wiring = current_app.extensions["routing"]
    metrics.set_breaker_state(wiring.scheduler)
    try:
        with wiring.db.session() as session:
            metrics.set_queue_depth(queue_depth(session))
            metrics.set_outbox_backlog(*backlog(session))
            metrics.set_waitlist_length(waitlist_lengths(session))
    except Exception as error:
        # A scrape must answer even when the database does not: the gauges say "unknown" (the waitlist's,
        # labelled, by having no series).
        log.warning("booking queue depth unavailable: %s", type(error).__name__)
        metrics.set_queue_depth(float("nan"))
        metrics.set_outbox_backlog(float("nan"), float("nan"))
        metrics.set_waitlist_length({})
