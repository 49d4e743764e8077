"""POST a signed Standard Webhooks message to a receiver and say how it went (status or error kind, latency).

Used by the webhook subscriptions and the on-call alert alike. The body is signed with every secret given
(during a rotation the old and the new: a receiver that knows either accepts it), over the attempt's own
timestamp. Redirects are not followed (a receiver moved elsewhere is told by its admin, not by a 3xx), the
response body is never read, and nothing about the body reaches a log or the result.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import requests
from standardwebhooks.webhooks import Webhook

from routing import __version__

#: A receiver answering this has gone for good (Standard Webhooks' advice): the delivery is dead at once.
GONE = 410
USER_AGENT = f"routing-webhooks/{__version__}"


@dataclass(frozen=True)
class PostResult:
    """How one POST went (the outbox's ``DeliveryResult`` has the same fields)."""

    ok: bool
    retry: bool  # False: refused for good (410 Gone)
    detail: str  # "http 200", "read timeout", ...: never a body
    latency_ms: float


@dataclass(frozen=True)
class SignedMessage:
    """What one attempt sends: the message id (the event's), the exact body, and the secrets that sign it."""

    msg_id: str
    body: bytes
    secrets: Sequence[str]


class WebhookSender:
    """Posts signed messages with bounded timeouts; one HTTP session per thread (keep-alive, thread-safe)."""

    def __init__(self, connect_timeout: float = 3.05, read_timeout: float = 10.0) -> None:
        self.timeout = (connect_timeout, read_timeout)
        self._local = threading.local()

    def post(self, url: str, message: SignedMessage, now: datetime | None = None) -> PostResult:
        """Send ``message`` to ``url`` once; a 2xx is delivered, 410 refused for good, anything else retried."""
        headers = signed_headers(message, now or datetime.now(UTC))
        started = time.perf_counter()
        try:
            response = self._session().post(
                url, data=message.body, headers=headers, timeout=self.timeout, allow_redirects=False, stream=True
            )
        except requests.RequestException as error:
            return PostResult(False, True, _error_kind(error), _since(started))
        response.close()  # the body is not read: a receiver's answer is its status
        latency = _since(started)
        status = response.status_code
        if 200 <= status < 300:
            return PostResult(True, False, f"http {status}", latency)
        if 300 <= status < 400:
            return PostResult(False, True, f"http {status} (redirects are not followed)", latency)
        return PostResult(False, status != GONE, f"http {status}", latency)

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.headers["User-Agent"] = USER_AGENT
        return session


def signed_headers(message: SignedMessage, at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers for ``message`` sent at ``at``: one v1 signature per secret."""
    at = at.astimezone(UTC)  # the library reads the time as UTC whatever its zone says
    signatures = [Webhook(secret).sign(message.msg_id, at, message.body.decode()) for secret in message.secrets]
    return {
        "webhook-id": message.msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": " ".join(signatures),
        "Content-Type": "application/json",
    }


def _error_kind(error: requests.RequestException) -> str:
    """What went wrong, in a word or two (never the URL, which may hold a token, or a message from the far end)."""
    if isinstance(error, requests.ConnectTimeout):
        return "connect timeout"
    if isinstance(error, requests.Timeout):
        return "read timeout"
    if isinstance(error, requests.exceptions.SSLError):
        return "tls error"
    if isinstance(error, requests.ConnectionError):
        return "connection failed"
    return f"error {type(error).__name__}"


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
