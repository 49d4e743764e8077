"""A real HTTP server on loopback that misbehaves on cue, for testing the FHIR client's failure handling.

Each test scripts the answers: ``server.script(Reply(500), Reply(500), Reply(200, body=bundle))`` answers
the next three requests in turn; once the script runs out, ``server.default`` answers (200 with an empty
searchset Bundle unless changed). A reply can wait before answering (read timeouts) or drop the
connection without answering. Every request received is recorded with its arrival time, so tests can
count attempts and measure the gaps between them.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FHIR_JSON = "application/fhir+json"


def bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    """A FHIR searchset Bundle holding ``resources``."""
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [{"resource": r} for r in resources],
    }


@dataclass(frozen=True)
class Reply:
    """One scripted answer."""

    status: int = 200
    body: dict[str, Any] | bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    #: Seconds to wait before answering (longer than the client's read timeout = a timeout).
    delay: float = 0.0
    #: Close the connection without answering (the client sees the connection reset/closed).
    drop: bool = False
    #: Answer only requests with this method / path (without query), e.g. "PUT", "/fhir/Appointment/1".
    method: str | None = None
    path: str | None = None

    def matches(self, method: str, path: str) -> bool:
        """Whether this reply is meant for a request with ``method`` and ``path``."""
        return (self.method is None or self.method == method) and (self.path is None or self.path == path)


@dataclass(frozen=True)
class Received:
    """One request as the server saw it."""

    method: str
    path: str  # with query string
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() on arrival

    @property
    def route(self) -> str:
        """The path without its query string."""
        return self.path.split("?", 1)[0]


class FaultServer:
    """A scriptable HTTP server on a free 127.0.0.1 port, run in a thread. Use as a context manager."""

    def __init__(self) -> None:
        self.default = Reply(200, body=bundle())
        self._script: deque[Reply] = deque()
        self._received: list[Received] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._serve, name="fault-server", daemon=True)

    @property
    def base_url(self) -> str:
        """The FHIR base URL the client should use."""
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/fhir"

    def script(self, *replies: Reply) -> None:
        """Queue ``replies`` to answer the next matching requests, one each, in order."""
        with self._lock:
            self._script.extend(replies)

    @property
    def received(self) -> list[Received]:
        """A copy of every request received so far, in arrival order."""
        with self._lock:
            return list(self._received)

    def start(self) -> FaultServer:
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and wake any handler still waiting out a delay."""
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _serve(self) -> None:
        self._httpd.serve_forever(poll_interval=0.02)  # a short poll so stop() returns at once

    def _answer_for(self, request: Received) -> Reply:
        """Record ``request`` and take the first scripted reply meant for it (or the default)."""
        with self._lock:
            self._received.append(request)
            for reply in self._script:
                if reply.matches(request.method, request.route):
                    self._script.remove(reply)
                    return reply
            return self.default

    def _wait(self, seconds: float) -> None:
        self._stopping.wait(seconds)


def refused_url() -> str:
    """A base URL on a loopback port with nothing listening, so connecting is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/fhir"


def _handler_for(server: FaultServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, like a real FHIR server; every answer sets Content-Length

        def do_GET(self) -> None:
            self._handle()

        def do_POST(self) -> None:
            self._handle()

        def do_PUT(self) -> None:
            self._handle()

        def do_DELETE(self) -> None:
            self._handle()

        def do_PATCH(self) -> None:
            self._handle()

        def do_HEAD(self) -> None:
            self._handle()

        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            pass

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = Received(self.command, self.path, dict(self.headers.items()), body, time.monotonic())
            reply = server._answer_for(request)
            if reply.delay:
                server._wait(reply.delay)
            if reply.drop:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            try:
                self._write(reply)
            except OSError:  # the client gave up (timed out) while we were waiting
                self.close_connection = True

        def _write(self, reply: Reply) -> None:
            payload = reply.body if isinstance(reply.body, bytes) else b""
            if isinstance(reply.body, dict):
                payload = json.dumps(reply.body).encode()
            self.send_response(reply.status)
            if payload:
                self.send_header("Content-Type", FHIR_JSON)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

    return Handler
