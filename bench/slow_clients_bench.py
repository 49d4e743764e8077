"""Slow clients: how fast ``/healthz`` answers while many connections dribble their request headers.

Usage: ``python bench/slow_clients_bench.py [--connections 100] [--seconds 10] [--worker-class sync]``.

Starts ``gunicorn -c gunicorn.conf.py -w 2`` on a throwaway SQLite database (``/healthz`` needs none),
opens ``--connections`` connections that each send a request line and then one header byte every
half second, never finishing (a connection the server closes is opened again, as an attacker would),
and meanwhile asks ``/healthz`` every quarter second. Prints the median and worst ``/healthz`` latency,
how many probes took over a second or got no answer within ``--probe-timeout``, and how many dribbling
connections the server closed. ``--worker-class sync`` measures gunicorn's default worker for comparison.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]


class Dribblers:
    """``count`` connections to ``host:port`` that send a request head one byte at a time, forever.

    Use as a context manager; ``closed_by_server`` counts connections the server dropped (each is reopened).
    """

    def __init__(self, host: str, port: int, count: int, interval: float = 0.5) -> None:
        self.address = (host, port)
        self.count = count
        self.interval = interval
        self.closed_by_server = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dribblers", daemon=True)
        self._sockets: list[socket.socket] = []
        self._sent: list[int] = []

    def __enter__(self) -> Dribblers:
        self._sockets = [self._open() for _ in range(self.count)]
        self._sent = [0] * self.count
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        for sock in self._sockets:
            sock.close()

    def _open(self) -> socket.socket:
        sock = socket.create_connection(self.address, timeout=5)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: bench\r\n")
        return sock

    def _run(self) -> None:
        # Header lines that never end the head ("X-Slow: 1\r\n" over and over), one byte per round.
        line = b"X-Slow: 1\r\n"
        while not self._stop.wait(self.interval):
            for index, sock in enumerate(self._sockets):
                at = self._sent[index] % len(line)
                self._sent[index] += 1
                try:
                    sock.sendall(line[at : at + 1])
                except OSError:
                    self.closed_by_server += 1
                    sock.close()
                    self._sent[index] = 0
                    try:
                        self._sockets[index] = self._open()
                    except OSError:
                        self._sockets[index] = socket.socket()  # listen backlog full; retried next round


def serve(env: dict, worker_class: str | None = None, workers: int = 2) -> tuple[subprocess.Popen, int]:
    """Start gunicorn with the repo's config on a free loopback port; returns the process and port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "-w", str(workers)]
    command += ["--bind", f"127.0.0.1:{port}"]
    if worker_class:
        command += ["--worker-class", worker_class]
    server = subprocess.Popen(
        [*command, "wsgi:app"], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return server, port
        except (requests.ConnectionError, requests.Timeout):  # workers still starting
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise SystemExit("gunicorn did not start") from None
            time.sleep(0.2)


def probe(url: str, seconds: float, timeout: float) -> list[float | None]:
    """``/healthz`` latencies in seconds over ``seconds``, one probe every 0.25 s; None for no answer."""
    latencies: list[float | None] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        started = time.monotonic()
        try:
            requests.get(url, timeout=timeout).raise_for_status()
            latencies.append(time.monotonic() - started)
        except requests.RequestException:
            latencies.append(None)
        time.sleep(max(0.0, 0.25 - (time.monotonic() - started)))
    return latencies


def main() -> None:
    """Run the bench and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--probe-timeout", type=float, default=10)
    parser.add_argument("--worker-class", default=None, help="override gunicorn.conf.py's (e.g. sync)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3", "LOG_LEVEL": "WARNING"}
        server, port = serve(env, args.worker_class)
        try:
            with Dribblers("127.0.0.1", port, args.connections) as dribblers:
                time.sleep(1)  # let every connection reach a worker
                latencies = probe(f"http://127.0.0.1:{port}/healthz", args.seconds, args.probe_timeout)
        finally:
            server.terminate()
            server.wait(timeout=30)

    answered = [latency for latency in latencies if latency is not None]
    worker_class = args.worker_class or "gunicorn.conf.py's"
    print(f"{worker_class} workers x 2, {args.connections} dribbling connections, {args.seconds:g}s of probes")
    if answered:
        print(
            f"/healthz: {len(latencies)} probes, median {statistics.median(answered) * 1000:.1f} ms, "
            f"worst {max(answered) * 1000:.1f} ms, over 1 s: {sum(latency > 1 for latency in answered)}, "
            f"no answer within {args.probe_timeout:g} s: {len(latencies) - len(answered)}"
        )
    else:
        print(f"/healthz: {len(latencies)} probes, none answered within {args.probe_timeout:g} s")
    print(f"dribbling connections closed by the server (and reopened): {dribblers.closed_by_server}")


if __name__ == "__main__":
    main()
