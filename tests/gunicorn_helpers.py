"""Start the service as production serves it (gunicorn with gunicorn.conf.py) for tests over real HTTP."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(env: dict[str, str], workers: int = 2) -> tuple[subprocess.Popen, str]:
    """gunicorn serving wsgi:app with ``env``, once ``/healthz`` answers: the process and its base URL.

    The caller stops it (``terminate()``, then ``wait()``).
    """
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}"]
    server = subprocess.Popen(
        [*command, "-w", str(workers), "wsgi:app"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(f"{base}/healthz", timeout=1)
            return server, base
        except (requests.ConnectionError, requests.Timeout):  # workers still starting
            if time.monotonic() > deadline or server.poll() is not None:
                server.terminate()
                server.wait(timeout=30)
                raise
            time.sleep(0.2)
