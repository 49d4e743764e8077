"""A webhook receiver for tests: a real HTTP server on loopback that checks each delivery's Standard Webhooks
signature with the secret it was given, as a clinic's receiver would, and keeps what it received.

It answers 401 to a delivery whose signature does not verify, else the next status queued in ``answers``
(``otherwise``, 200 by default, when none is left). ``hold_arrival=n`` keeps the n-th delivery waiting (no
answer) until ``release`` is set: a receiver that is slow, for a worker to be killed in the middle of a send.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook


@dataclass(frozen=True)
class Received:
    """One delivery as the receiver saw it."""

    webhook_id: str
    timestamp: str
    signatures: str
    body: dict[str, Any]
    verified: bool
    answered: int
    #: time.monotonic() when it arrived.
    at: float


class Receiver:
    """Start with ``with Receiver() as receiver:``; ``receiver.url`` is where to send."""

    def __init__(
        self, secret: str | None = None, answers: list[int] | None = None, otherwise: int = 200, path: str = "/hooks"
    ) -> None:
        self.secret = secret
        self.answers: deque[int] = deque(answers or [])
        self.otherwise = otherwise
        self.path = path
        self.received: list[Received] = []
        self.hold_arrival: int | None = None
        self.release = threading.Event()
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {key.lower(): value for key, value in self.headers.items()}
                verified = receiver._verifies(raw, headers)
                status = (
                    401 if not verified else (receiver.answers.popleft() if receiver.answers else receiver.otherwise)
                )
                record = Received(
                    headers.get("webhook-id", ""),
                    headers.get("webhook-timestamp", ""),
                    headers.get("webhook-signature", ""),
                    json.loads(raw or b"null"),
                    verified,
                    status,
                    time.monotonic(),
                )
                with receiver.arrived:
                    receiver.received.append(record)
                    number = len(receiver.received)
                    receiver.arrived.notify_all()
                if number == receiver.hold_arrival:
                    receiver.release.wait(30)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the sender is gone (killed while it waited): nobody to answer

            def log_message(self, *_: object) -> None:
                pass  # quiet: the test reads self.received

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{path}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def _verifies(self, raw: bytes, headers: dict[str, str]) -> bool:
        if self.secret is None:
            return False
        try:
            Webhook(self.secret).verify(raw, headers, json_parse=False)
        except Exception:  # the library raises several types for a bad signature
            return False
        return True

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Block until ``count`` deliveries arrived (or the timeout); what arrived."""
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.received) >= count, timeout)
            return list(self.received)
