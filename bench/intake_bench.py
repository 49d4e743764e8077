"""Intake throughput: the real webhook versus two baselines, under gunicorn, in one run.

Usage: ``bash bench/run_intake_bench.sh [--seconds 20]`` (starts a throwaway PostgreSQL), or with
``BENCH_DATABASE_URL`` pointing at an empty PostgreSQL/SQLite database: ``python bench/intake_bench.py``.

Three targets, each served by ``gunicorn -c gunicorn.conf.py -w 2`` (the service's serving model;
``--worker-class sync`` for gunicorn's default worker instead) and loaded by ``wrk`` (2 threads, 8 connections):
  1. ``GET /healthz`` of the app (no database): the framework's ceiling;
  2. ``POST /store`` of ``bench/minimal_commit_app.py``: commit the raw body, the floor of "stored first";
  3. ``POST /v1/inquiries``: verify, validate, store, triage, book, with a new key per request.
Prints requests/s, p50, p95 and p99 for each and the ratio of intake to the minimal commit (goal >= 50 %,
p99 <= 50 ms on PostgreSQL), then checks that every acknowledged inquiry is stored exactly once.
With ``--rounds N`` the three targets run N times in turn and the median of each figure is printed:
steadier on a machine that is doing other work. On Linux it also prints the CPU time each request
cost the web workers and the database server, which other load on the machine disturbs far less
than requests per second.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import requests
from sqlalchemy import Column, Integer, LargeBinary, MetaData, Table, create_engine, func, select, text

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from routing.adapters.db import migrations  # noqa: E402
from routing.adapters.db.models import Inquiry  # noqa: E402

raw_bodies_metadata = MetaData()
# The minimal-commit baseline's table (bench/minimal_commit_app.py declares the same).
Table("bench_raw_bodies", raw_bodies_metadata, Column("id", Integer, primary_key=True), Column("body", LargeBinary))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve(app: str, env: dict, worker_class: str | None) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "-w", "2", "--bind", f"127.0.0.1:{port}"]
    if worker_class:
        command += ["--worker-class", worker_class]
    server = subprocess.Popen(
        [*command, app],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(base + "/", timeout=1)
            return server, base
        except (requests.ConnectionError, requests.Timeout):  # still starting
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise SystemExit(f"{app} did not start") from None
            time.sleep(0.2)


def _wrk(url: str, seconds: int, script: str | None = None) -> dict:
    command = ["wrk", "-t2", "-c8", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    if script:
        command += ["-s", script]
    finished = subprocess.run([*command, url], capture_output=True, text=True)
    if finished.returncode != 0:  # seen once right after start-up: give the server a moment, then retry
        time.sleep(2)
        finished = subprocess.run([*command, url], capture_output=True, text=True)
    if finished.returncode != 0:
        raise SystemExit(f"wrk failed on {url}: {finished.stderr.strip() or finished.stdout.strip()}")
    output = finished.stdout
    requests_total = int(re.search(r"(\d+) requests in", output).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: (.*)", output)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50": _ms(re.search(r"50%\s+([\d.]+\w+)", output).group(1)),
        "p95": int(re.search(r"p95_us (\d+)", output).group(1)) / 1000,
        "p99": _ms(re.search(r"99%\s+([\d.]+\w+)", output).group(1)),
        "requests": requests_total,
        "failed": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": errors.group(1) if errors else "none",
    }


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def _cpu_seconds(pids: list[int]) -> float | None:
    """User plus system CPU time of the processes (Linux /proc); None elsewhere."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # not Linux, or the process is gone
            return None
        total += int(fields[11]) + int(fields[12])  # utime, stime in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    try:
        tasks = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        return []
    return [int(task) for task in tasks]


def _database_server_pid(url: str) -> int | None:
    # A backend's parent is the server's main process; the backends serving the load are its children.
    if create_engine(url).url.get_backend_name() != "postgresql":
        return None
    with create_engine(url).connect() as connection:
        backend = connection.scalar(text("SELECT pg_backend_pid()"))
    try:
        return int(Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except FileNotFoundError:
        return None


def _measure(server: subprocess.Popen, url: str, seconds: int, script: str, database_pid: int | None) -> dict:
    """One wrk run, with the CPU the web workers and the database spent per request."""
    workers = _children(server.pid)
    app_before = _cpu_seconds(workers)
    db_before = _cpu_seconds(_children(database_pid)) if database_pid else None
    result = _wrk(url, seconds, script)
    app_after = _cpu_seconds(workers)
    # Backends of connections opened during the run count from zero, so all current ones are summed.
    db_after = _cpu_seconds(_children(database_pid)) if database_pid else None
    served = max(result["requests"], 1)
    result["app_ms"] = None if app_before is None or app_after is None else (app_after - app_before) * 1000 / served
    result["db_ms"] = None if db_before is None or db_after is None else max(db_after - db_before, 0) * 1000 / served
    return result


def _median(runs: list[dict]) -> dict:
    median = {}
    for key in runs[0]:
        values = [run[key] for run in runs]
        numeric = all(isinstance(value, int | float) for value in values)
        median[key] = statistics.median(values) if numeric else values[-1]
    median["runs"] = len(runs)
    return median


def main() -> None:
    """Run the three targets and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20, help="load duration per target")
    parser.add_argument("--rounds", type=int, default=1, help="run the three targets this many times; print medians")
    parser.add_argument("--worker-class", default=None, help="override gunicorn.conf.py's worker class (e.g. sync)")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    url = os.environ["BENCH_DATABASE_URL"]
    migrations.upgrade(create_engine(url).url)
    raw_bodies_metadata.create_all(create_engine(url))
    # One load generator is one client address: lift the per-address limit (its cost is still paid).
    env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING", "ROUTING_RATE_LIMIT_INTAKE": "100000000/minute"}
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "schedule", "seed", "--days", "60"],
        cwd=REPO,
        env=env,
        check=True,
    )

    database_pid = _database_server_pid(url)
    runs: dict[str, list[dict]] = {"bare /healthz": [], "minimal commit": [], "intake": []}
    app, app_url = _serve("wsgi:app", env, args.worker_class)
    minimal, minimal_url = _serve("bench.minimal_commit_app:app", env, args.worker_class)
    post, latency = str(REPO / "bench" / "intake_post.lua"), str(REPO / "bench" / "latency.lua")
    try:
        for _ in range(args.rounds):
            runs["bare /healthz"].append(_measure(app, app_url + "/healthz", args.seconds, latency, database_pid))
            runs["minimal commit"].append(_measure(minimal, minimal_url + "/store", args.seconds, post, database_pid))
            runs["intake"].append(_measure(app, app_url + "/v1/inquiries", args.seconds, post, database_pid))
    finally:
        for server in (app, minimal):
            server.terminate()
            server.wait(timeout=30)
    results = {name: _median(target_runs) for name, target_runs in runs.items()}

    backend = create_engine(url).url.get_backend_name()
    rounds = f", median of {args.rounds} rounds" if args.rounds > 1 else ""
    worker_class = args.worker_class or "gunicorn.conf.py's"
    print(
        f"database {backend}, gunicorn -w 2 ({worker_class} workers), wrk -t2 -c8, "
        f"{args.seconds}s per target{rounds}, {os.cpu_count()} cores"
    )
    for name, result in results.items():
        cpu = ""
        if result["app_ms"] is not None:
            cpu = f"   CPU/request: app {result['app_ms']:.2f} ms"
            cpu += f", database {result['db_ms']:.2f} ms" if result["db_ms"] is not None else ""
        print(
            f"{name:15} {result['rps']:9,.0f} req/s   p50 {result['p50']:6.1f} ms   p95 {result['p95']:6.1f} ms"
            f"   p99 {result['p99']:6.1f} ms"
            f"   non-2xx {result['failed']:.0f}   socket errors: {result['socket_errors']}{cpu}"
        )
    intake, floor = results["intake"], results["minimal commit"]
    ratio, p99 = intake["rps"] / floor["rps"], intake["p99"]
    print(f"intake / minimal commit: {ratio:.0%} (goal >= 50%), p99 {p99:.1f} ms (goal <= 50 ms)")
    print(f"intake / bare endpoint:  {intake['rps'] / results['bare /healthz']['rps']:.0%}")

    engine = create_engine(url)
    with engine.connect() as connection:
        stored = connection.scalar(select(func.count()).select_from(Inquiry))
        distinct = connection.scalar(select(func.count(func.distinct(Inquiry.idempotency_key))))
    acknowledged = sum(run["requests"] - run["failed"] for run in runs["intake"])
    refused = sum(run["failed"] for run in runs["intake"])  # any non-2xx answer to a valid inquiry is a bug
    # wrk counts only completed responses; a request cut off at the end may still have been stored.
    verdict = "OK" if stored == distinct and stored >= acknowledged and not refused else "MISMATCH"
    print(
        f"stored inquiries {stored} (distinct keys {distinct}), acknowledged {acknowledged}, "
        f"non-2xx {refused}: {verdict}"
    )


if __name__ == "__main__":
    main()
