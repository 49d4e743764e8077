"""gunicorn settings, the one place for them: scripts/serve.sh, docker/entrypoint.sh and the benches use it.

Run ``gunicorn -c gunicorn.conf.py --bind HOST:PORT wsgi:app``; flags given on the command line win.

**Serving model: gevent workers.** A sync worker reads a request's headers as slowly as the client sends
them, so a few connections that dribble their headers (or a slow mobile network) hold every worker and
nothing else is answered, ``/healthz`` included. A gevent worker serves each connection in a greenlet:
a slow client costs a few kilobytes, not a worker, and the head of every request must arrive within
``keepalive`` seconds (gunicorn wraps the read in a ``gevent.Timeout``) or the connection is closed.
The database driver (psycopg 3) and ``requests`` cooperate with gevent, so a request waiting on
PostgreSQL or the scheduling system lets the others run. In production, a buffering reverse proxy
(nginx, a cloud load balancer) in front is still recommended: see docs/operations.md.

Environment (read here, before the workers start):

* ``GUNICORN_WORKERS``: worker processes (default 2 x CPUs + 1).
* ``PROMETHEUS_MULTIPROC_DIR``: where every process of the service writes its metrics so ``/metrics``
  adds them up. When it is not set, a fresh directory is made for this run and removed at exit;
  scripts/serve.sh and the container set one themselves, shared with the booking worker.
"""

from __future__ import annotations

import gc
import os
import shutil
import tempfile

_cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)

worker_class = "gevent"
workers = int(os.environ.get("GUNICORN_WORKERS") or 2 * _cores + 1)
# Connections one worker serves at once (greenlets); slow clients beyond this wait in the listen backlog.
worker_connections = 1000
# Seconds to wait for the next request on a kept-alive connection, and, under gevent, the most a client
# may take to send a request's line and headers.
keepalive = 5
# A worker that stops answering its heartbeat this long (a stuck C call, not a slow client) is replaced.
timeout = 60
# gunicorn >= 25 would otherwise put a control socket in ~/.gunicorn, shared by every instance of the
# same user (and the container's user has no writable home).
control_socket_disable = True
# Heartbeat files on tmpfs where there is one, not a possibly slow overlay filesystem (gunicorn makes
# them with mkstemp, so a shared directory is safe).
_SHM = "/dev/shm"  # noqa: S108
worker_tmp_dir = _SHM if os.path.isdir(_SHM) and os.access(_SHM, os.W_OK) else None
# No access log: gunicorn's line carries the raw query string and referer (patient data can ride in
# them); the app logs one JSON line per request instead (routing/http/observability.py).
accesslog = None

_MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_own_metrics_dir: str | None = None
if not os.environ.get(_MULTIPROC_ENV):
    # Set before the workers are forked (prometheus-client chooses its storage at import), so every
    # worker writes to files here and a scrape adds them up instead of showing one worker's counts.
    _own_metrics_dir = tempfile.mkdtemp(prefix="routing-metrics-")
    os.environ[_MULTIPROC_ENV] = _own_metrics_dir


def post_worker_init(worker) -> None:
    """Move everything the worker built at start (the app, its modules, the rulebook, the lexicons) out of the
    garbage collector's sight.

    Those objects live as long as the worker, yet each full collection walked all of them (about 230,000): a
    pause of some 90 ms that stalled every request on the worker. In the scale bench (bench/scale_year.py) it
    was the staff queue's whole tail, p99 ~125 ms against a p95 of ~50 ms; frozen, a full collection takes
    under 2 ms. Objects made later, per request, are collected as before. The price: a start-up object that
    later becomes garbage inside a reference cycle is never freed (a rulebook replaced by a newer version, say,
    if its objects refer to each other). That is rare (once per rulebook activation), and gone when the worker
    is replaced.
    """
    gc.freeze()


def child_exit(server, worker) -> None:
    """Drop a dead worker's live gauges (breaker state, queue depth) from the multiprocess files."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    """Remove the metrics directory this run made for itself (never one it was given)."""
    if _own_metrics_dir:
        shutil.rmtree(_own_metrics_dir, ignore_errors=True)
