"""Rate limits on the public write endpoints, per client address (fixed windows of the ``limits`` library).

Storage is in memory by default, which is per process: with several gunicorn workers or instances,
set ``ROUTING_RATE_LIMIT_STORAGE`` to a shared store (e.g. ``redis://redis:6379/0``, which needs the
``redis`` package) so every process counts the same requests. A limited request answers 429
problem+json with ``Retry-After``. If the shared store fails, requests are counted in the process
until it answers again: an outage of the store must not take intake down.

The check is a few lines on ``limits`` rather than Flask-Limiter's decorator, whose general machinery
(resolving limits, exemptions, request context) cost about 70 µs per limited request, 3 % of an intake.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, request
from limits import RateLimitItem, parse_many
from limits.errors import ConfigurationError
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

from routing.config import ConfigError, Settings
from routing.http.problems import Problem

log = logging.getLogger(__name__)

#: Endpoint -> the setting holding its limit.
LIMITED_ENDPOINTS = {
    "intake.receive": "rate_limit_intake",
    "form_builders.receive": "rate_limit_intake",
    "dry_run.dry_run": "rate_limit_dry_run",
    # The unsubscribe pages, patient pages too: the token is unguessable, this keeps one client from hammering them.
    "unsubscribe.confirm": "rate_limit_patient_link",
    "unsubscribe.stop": "rate_limit_patient_link",
    # The patient's own pages: each is counted on its own (a link's pages are a handful of requests).
    **{
        f"patient_link.{view}": "rate_limit_patient_link"
        for view in ("page", "calendar", "confirm_cancel", "cancel", "another_time_form", "another_time")
    },
}


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


#: How long to count in the process after the shared store failed, before trying it again.
STORE_RETRY_SECONDS = 30.0


class RateLimits:
    """Counts requests per endpoint and client address, in the configured store or, while it fails, here."""

    def __init__(self, storage_uri: str) -> None:
        try:
            self._store: Storage = storage_from_string(_storage_uri(storage_uri))
        except ConfigurationError as error:
            raise ConfigError(
                f"ROUTING_RATE_LIMIT_STORAGE={storage_uri!r} cannot be used ({error}); use memory:// or "
                "redis://host:6379/0 (with the redis package installed)."
            ) from None
        self._limiter = FixedWindowRateLimiter(self._store)
        self._fallback = FixedWindowRateLimiter(InProcessStorage())
        self._store_down_until = 0.0

    def check(self, endpoint: str, limits: list[RateLimitItem], client: str) -> None:
        """Count one request; raise a 429 Problem with Retry-After when any of ``limits`` is exceeded."""
        limiter = self._limiter if time.time() >= self._store_down_until else self._fallback
        try:
            exceeded = [item for item in limits if not limiter.hit(item, endpoint, client)]
        except self._store.base_exceptions:
            log.warning("rate-limit store unavailable; counting in this process for %ds", STORE_RETRY_SECONDS)
            self._store_down_until = time.time() + STORE_RETRY_SECONDS
            limiter = self._fallback
            exceeded = [item for item in limits if not limiter.hit(item, endpoint, client)]
        if exceeded:
            reset = max(limiter.get_window_stats(item, endpoint, client).reset_time for item in exceeded)
            wait = max(1, math.ceil(reset - time.time()))
            raise Problem(429, _too_many(), slug="rate-limited", headers={"Retry-After": str(wait)})


def _too_many() -> str:
    return (
        "Too many requests from this address. Wait for the seconds in Retry-After, then send again; "
        "resending with the same Idempotency-Key or webhook-id is safe."
    )


def init_app(app: Flask, settings: Settings) -> RateLimits | None:
    """Limit the intake webhook, the dry run and the patient's own pages per client address; other routes are
    not limited."""
    if not settings.rate_limits_enabled:
        return None
    limits = RateLimits(settings.rate_limit_storage)
    for endpoint, setting in LIMITED_ENDPOINTS.items():
        app.view_functions[endpoint] = _limited(app.view_functions[endpoint], limits, endpoint, setting, settings)
    return limits


def _limited(view: Callable[..., Any], limits: RateLimits, endpoint: str, setting: str, settings: Settings):
    items = parse_many(getattr(settings, setting))

    @functools.wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        # remote_addr is the client's address, or the forwarded one behind trusted proxies (ProxyFix).
        limits.check(endpoint, items, request.remote_addr or "unknown")
        return view(*args, **kwargs)

    return checked
