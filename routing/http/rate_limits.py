"""Rate limits on the public write endpoints (flask-limiter), per client address.

Storage is in memory by default, which is per process: with several gunicorn workers or instances,
set ``ROUTING_RATE_LIMIT_STORAGE`` to a shared store (e.g. ``redis://redis:6379/0``, which needs the
``redis`` package) so every process counts the same requests. A limited request answers 429
problem+json with ``Retry-After``.
"""

from __future__ import annotations

import math
import time
from urllib.parse import urlsplit

from flask import Flask, Response
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from limits.storage import MemoryStorage

from routing.config import Settings
from routing.http.problems import Problem, problem_response

#: Endpoint -> the setting holding its limit.
LIMITED_ENDPOINTS = {"intake.receive": "rate_limit_intake", "dry_run.dry_run": "rate_limit_dry_run"}


#: How often the in-process counters drop keys that expired and were never read again.
SWEEP_SECONDS = 60.0


class _AlwaysRunning:
    """Stands in for MemoryStorage's expiry timer, so the storage never starts another one."""

    def is_alive(self) -> bool:
        return True

    def cancel(self) -> None:
        pass


class InProcessStorage(MemoryStorage):
    """limits' in-memory storage, sweeping expired keys inline instead of on a timer thread.

    ``MemoryStorage`` restarts a 10 ms ``threading.Timer`` after nearly every hit: under load that is a
    new thread every few requests, which cost the intake webhook about 15 % of its throughput. Counters
    are already dropped when read after they expire (``get``); the sweep only frees the keys of clients
    that never come back, so sweeping during a hit at most once a minute is enough.
    """

    STORAGE_SCHEME = ["routing-memory"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: str) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.timer.cancel()
        self.timer = _AlwaysRunning()
        self._next_sweep = time.time() + SWEEP_SECONDS

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        """Count a hit (fixed windows), sweeping expired keys first when a sweep is due."""
        now = time.time()
        if now >= self._next_sweep:
            self._next_sweep = now + SWEEP_SECONDS
            self.sweep(now)
        return super().incr(key, expiry, amount)

    def sweep(self, now: float) -> None:
        """Forget every counter whose window ended before ``now``."""
        for key, expires in list(self.expirations.items()):
            if expires <= now:
                self.storage.pop(key, None)
                self.expirations.pop(key, None)
                self.locks.pop(key, None)


def _storage_uri(configured: str) -> str:
    # "memory://" is the documented setting; it selects the thread-free variant above.
    return f"{InProcessStorage.STORAGE_SCHEME[0]}://" if urlsplit(configured).scheme == "memory" else configured


def _too_many() -> str:
    return (
        "Too many requests from this address. Wait for the seconds in Retry-After, then send again; "
        "resending with the same Idempotency-Key or webhook-id is safe."
    )


def init_app(app: Flask, settings: Settings) -> Limiter:
    """Limit the intake webhook and the dry run per client address; other routes are not limited."""
    limiter = Limiter(
        get_remote_address,
        app=app,
        storage_uri=_storage_uri(settings.rate_limit_storage),
        # Its headers would also rewrite the Retry-After of a 503; a 429 gets its own below.
        headers_enabled=False,
        # A storage outage must not take intake down: count in memory until it is back.
        in_memory_fallback_enabled=True,
        enabled=settings.rate_limits_enabled,
    )
    # Flask-Limiter also checks every request in a before_request hook, for app-wide and default limits.
    # We have none (each limited view checks its own limit in its decorator), and that hook costs about
    # 0.1 ms of CPU on every request, the health checks included: take it out.
    hooks = app.before_request_funcs.get(None, [])
    if limiter._check_request_limit in hooks:  # not there when limiting is switched off
        hooks.remove(limiter._check_request_limit)
    for endpoint, setting in LIMITED_ENDPOINTS.items():
        # The decorator's wrapper does the check, so it must be the view Flask calls.
        limit = limiter.limit(getattr(settings, setting), error_message=_too_many)
        app.view_functions[endpoint] = limit(app.view_functions[endpoint])

    def too_many_requests(error: RateLimitExceeded) -> Response:
        current = limiter.current_limit
        wait = max(1, math.ceil(current.reset_at - time.time())) if current else 60
        return problem_response(
            Problem(429, error.description, slug="rate-limited", headers={"Retry-After": str(wait)})
        )

    app.register_error_handler(RateLimitExceeded, too_many_requests)
    return limiter
