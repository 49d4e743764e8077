"""The HTTP client the FHIR R4 adapter sends every call through: timeouts, retries and a circuit breaker.

Failure handling, from the inside out:

* **Timeouts** on every call: ``connect_timeout`` to open the TCP connection, ``read_timeout`` between
  bytes of the answer (requests' read timeout is per socket read, not a deadline for the whole answer).
* **Retries** (urllib3 ``Retry`` on the session's adapter) for connection errors, timeouts and
  429/500/502/503/504, at most ``retries`` times, with exponential backoff plus random jitter so that
  many clients do not retry in lock-step. The first retry is immediate (urllib3's rule), then
  ``backoff_factor * 2**n`` plus up to ``backoff_jitter`` seconds, never more than ``backoff_max``.
  A ``Retry-After`` header (429/503) is honoured but capped at ``retry_after_max`` seconds, so a server
  answering "Retry-After: 3600" cannot hold a booking request for an hour (urllib3's own cap is 6 hours).
  Other 4xx are never retried: repeating a bad or conflicting request gives the same answer.
* **A circuit breaker** around each logical call: after ``breaker_fail_max`` consecutive calls ending in
  SchedulerUnavailable it opens, and calls fail at once without touching the network until
  ``breaker_reset_timeout`` has passed; then a single trial call goes through (half-open) and closes the
  breaker on success or opens it again on failure. Answers (2xx, 4xx) count as successes: the server is up.

Worst case for one call against a server that accepts connections but never answers, with the defaults:
``(retries + 1) * read_timeout`` plus the backoffs, about 45 s. Callers on a web request may want smaller
values; the breaker stops the bleeding after ``breaker_fail_max`` such calls.

Nothing here logs or puts in an exception a request or response body, nor a query string: they can carry
patient data. Method, path, status, exception class and elapsed time are enough to diagnose.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError
from urllib3.util import Retry

from routing.adapters.scheduling.interface import SchedulerUnavailable, SchedulingError

log = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

# Safe to retry because a repeat cannot make a second resource: reads and DELETE are idempotent, and our
# FHIR writes are a conditional create (POST with If-None-Exist on the booking key: a repeat finds the
# resource the first attempt made) or a versioned update (PUT with If-Match: a repeat after the first
# attempt landed gets 412, which the adapter maps, instead of overwriting). PATCH is left out on purpose.
RETRY_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE"})

# Transport failures that mean "the scheduler could not be reached or did not answer". Other
# RequestExceptions (InvalidURL, MissingSchema...) are configuration bugs and must not open the breaker.
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (
    requests.ConnectionError,  # refused, reset, DNS, SSL, connect timeout, retries exhausted
    requests.Timeout,  # read timeout
    requests.exceptions.ChunkedEncodingError,  # connection dropped mid-answer
    requests.exceptions.ContentDecodingError,
    requests.exceptions.RetryError,
)

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"


class _RedactQueryStrings(logging.Filter):
    """Cuts query strings out of urllib3's log lines.

    urllib3 names the URL in its retry warnings ("Retrying ... after connection broken by ...: <url>") and
    debug lines, and FHIR search parameters can name a patient. Query strings only: hosts and paths stay.
    """

    _query = re.compile(r"\?[^\s'\")]*")

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self._query.sub("?<redacted>", record.getMessage())
        record.args = ()
        return True


_REDACT_QUERY_STRINGS = _RedactQueryStrings()
for _logger_name in ("urllib3.connectionpool", "urllib3.util.retry"):
    logging.getLogger(_logger_name).addFilter(_REDACT_QUERY_STRINGS)


class CircuitBreaker:
    """Consecutive-failure circuit breaker, safe to share between threads.

    Hand-written rather than ``pybreaker`` because pybreaker (1.4.1) holds one lock for the whole guarded
    call, so every FHIR request of every Flask thread and worker would queue behind the slowest one (its
    issue #3; the PRs removing the lock were never merged). Here the lock only guards the counters; the
    HTTP call runs outside it. Half-open admits exactly one trial call; others fail fast meanwhile.
    """

    def __init__(self, fail_max: int, reset_timeout: float, clock: Callable[[], float] = time.monotonic):
        if fail_max < 1:
            raise ValueError("fail_max must be at least 1")
        self.fail_max = fail_max
        self.reset_timeout = reset_timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._state = CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trial_in_flight = False

    @property
    def state(self) -> str:
        """``closed``, ``open`` or ``half-open`` (open and due for a trial call counts as half-open)."""
        with self._lock:
            if self._state == OPEN and self._reset_due():
                return HALF_OPEN
            return self._state

    def before_call(self) -> bool:
        """Whether a call may go out now; when half-open, the caller that gets True is the one trial call."""
        with self._lock:
            if self._state == OPEN and self._reset_due():
                self._state = HALF_OPEN
            if self._state == CLOSED:
                return True
            if self._state == HALF_OPEN and not self._trial_in_flight:
                self._trial_in_flight = True
                return True
            return False

    def record_success(self) -> None:
        """The call got an answer: close the breaker and forget earlier failures."""
        with self._lock:
            self._state = CLOSED
            self._failures = 0
            self._trial_in_flight = False

    def record_failure(self) -> None:
        """The call ended in SchedulerUnavailable: open after ``fail_max`` in a row, or when a trial failed."""
        with self._lock:
            self._failures += 1
            if self._state == HALF_OPEN or self._failures >= self.fail_max:
                self._state = OPEN
                self._opened_at = self._clock()
            self._trial_in_flight = False

    def record_neither(self) -> None:
        """The call failed for a reason that says nothing about the server (a bug): free the trial slot."""
        with self._lock:
            self._trial_in_flight = False

    def _reset_due(self) -> bool:
        return self._clock() - self._opened_at >= self.reset_timeout


class FhirHttp:
    """Sends FHIR R4 calls to one server with timeouts, retries and a circuit breaker (see module doc)."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        auth: requests.auth.AuthBase | None = None,
        connect_timeout: float = 3.05,
        read_timeout: float = 10.0,
        retries: int = 3,
        backoff_factor: float = 0.5,
        breaker_fail_max: int = 5,
        breaker_reset_timeout: float = 30.0,
        backoff_jitter: float | None = None,
        backoff_max: float = 10.0,
        retry_after_max: int = 10,
    ):
        self.base_url = base_url.rstrip("/") + "/"
        self._timeout = (connect_timeout, read_timeout)
        self._breaker = CircuitBreaker(breaker_fail_max, breaker_reset_timeout)
        retry = _retry_policy(
            retries,
            backoff_factor=backoff_factor,
            # Jitter of one backoff unit by default: enough to spread clients, small next to the backoff.
            backoff_jitter=backoff_factor if backoff_jitter is None else backoff_jitter,
            backoff_max=backoff_max,
            retry_after_max=retry_after_max,
        )
        self._session = _session(retry, token, auth)

    @property
    def breaker_state(self) -> str:
        """The circuit breaker's state, ``closed``, ``open`` or ``half-open``, for metrics and health."""
        return self._breaker.state

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Send one FHIR call (path relative to base_url, e.g. "Slot" or "Slot/123").

        Raises SchedulerUnavailable for connection errors, timeouts, 429/5xx after retries, or an open
        circuit breaker. Returns the Response for every other status (2xx, 4xx) for the caller to map.
        ``path`` may also be an absolute URL under ``base_url`` (a Bundle's ``next`` link).
        """
        method = method.upper()
        url = self._url(path)
        where = f"{method} {_without_query(path)}"
        if not self._breaker.before_call():
            log.warning("FHIR %s not sent: circuit breaker open", where)
            raise SchedulerUnavailable(f"FHIR scheduler circuit breaker is open; {where} not sent")
        try:
            response = self._send(method, url, where, params=params, body=json, headers=headers)
        except SchedulerUnavailable:
            self._breaker.record_failure()
            raise
        except BaseException:
            self._breaker.record_neither()
            raise
        self._breaker.record_success()
        return response

    def close(self) -> None:
        """Close pooled connections (the auth hook's too, if it keeps any)."""
        close_auth = getattr(self._session.auth, "close", None)
        if close_auth is not None:
            close_auth()
        self._session.close()

    def _send(
        self, method: str, url: str, where: str, *, params: Any, body: Any, headers: Mapping[str, str] | None
    ) -> requests.Response:
        """One logical call (urllib3 does the retries); transport failures and 429/5xx become SchedulerUnavailable."""
        headers = dict(headers or {})
        if body is not None:
            # Set explicitly, or requests would label the JSON body plain application/json.
            headers.setdefault("Content-Type", FHIR_JSON)
        started = time.monotonic()
        try:
            response = self._session.request(
                method, url, params=params, json=body, headers=headers, timeout=self._timeout
            )
        except UNAVAILABLE_ERRORS as exc:
            elapsed = time.monotonic() - started
            log.warning("FHIR %s failed after %.2fs: %s", where, elapsed, failure_kind(exc))
            # "from None": requests' own message holds the full URL with its query string (patient data).
            raise SchedulerUnavailable(f"FHIR {where} failed: {failure_kind(exc)}") from None
        except requests.RequestException as exc:
            raise SchedulingError(f"FHIR {where} could not be sent: {failure_kind(exc)}") from None
        elapsed = time.monotonic() - started
        if response.status_code in RETRY_STATUSES:
            log.warning(
                "FHIR %s answered %s after %d attempts (%.2fs)",
                where,
                response.status_code,
                _attempts(response),
                elapsed,
            )
            response.close()
            raise SchedulerUnavailable(f"FHIR {where} answered {response.status_code} after retries")
        log.debug("FHIR %s answered %s in %.2fs", where, response.status_code, elapsed)
        return response

    def _url(self, path: str) -> str:
        """``base_url`` + ``path``; an absolute URL must lie under ``base_url`` so the token goes nowhere else."""
        if path.startswith(("http://", "https://")):
            if not path.startswith(self.base_url):
                raise ValueError("absolute FHIR URL outside base_url refused")
            return path
        return self.base_url + path.lstrip("/")


def _retry_policy(
    retries: int, *, backoff_factor: float, backoff_jitter: float, backoff_max: float, retry_after_max: int
) -> Retry:
    """The urllib3 retry rules described in the module docstring."""
    return Retry(
        total=retries,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=RETRY_METHODS,
        backoff_factor=backoff_factor,
        backoff_jitter=backoff_jitter,
        backoff_max=backoff_max,
        respect_retry_after_header=True,
        retry_after_max=retry_after_max,
        # Hand back the last 429/5xx instead of raising, so _send maps it (and can log its status).
        raise_on_status=False,
    )


def _session(retry: Retry, token: str | None, auth: requests.auth.AuthBase | None) -> requests.Session:
    """A session whose adapter retries, with the FHIR headers every call carries.

    ``token`` is a static bearer token; ``auth`` a requests auth hook that adds one per call (SMART Backend
    Services, routing/adapters/scheduling/fhir_auth.py). Either way only URLs under the base URL are asked.
    """
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["Accept"] = FHIR_JSON
    if token:
        session.headers["Authorization"] = f"Bearer {token}"
    session.auth = auth
    return session


def _attempts(response: requests.Response) -> int:
    """How many times urllib3 sent the request that ended in ``response`` (1 when it was not retried)."""
    retry = getattr(response.raw, "retries", None)
    return len(retry.history) + 1 if retry is not None else 1


def failure_kind(exc: Exception) -> str:
    """The name of what went wrong, e.g. ``ReadTimeoutError``, without any URL.

    After retries requests wraps most urllib3 errors in a plain ConnectionError (even read timeouts); the
    urllib3 error that ended the last attempt says more.
    """
    wrapped = exc.args[0] if exc.args else None
    if isinstance(wrapped, MaxRetryError) and wrapped.reason is not None:
        return type(wrapped.reason).__name__
    return type(exc).__name__


def _without_query(path: str) -> str:
    return path.split("?", 1)[0]
