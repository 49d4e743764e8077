"""Benchmark scripts keep working (they are run here briefly; their figures are not asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: A few simulated days of the waitlist bench, loaded so that a list forms and cancellations free slots within them.
WAITLIST_FAST = ["--days", "3", "--warmup-days", "5", "--cooldown-days", "4", "--load", "2", "--cancel", "0.3"]
WAITLIST_FAST += ["--refill-minutes", "10"]


def test_triage_benchmark_prints_structured_reader_and_decision_figures():
    result = subprocess.run(
        [sys.executable, "bench/triage_bench.py", "--seconds", "0.05"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )

    lines = result.stdout.splitlines()
    assert [line.split(":")[0].split("(")[0].strip() for line in lines[1:]] == [
        "structured-only",
        "reader",
        "decision, form language",
        "decision, detected",
    ]
    assert "messages/s" in lines[2]


def test_intake_benchmark_runs_all_three_targets_and_checks_nothing_was_lost(database_url):
    import shutil

    if database_url.get_backend_name() != "postgresql":
        pytest.skip("the intake benchmark runs on PostgreSQL, the production database")
    if not shutil.which("wrk"):
        pytest.skip("wrk is not installed (bench/run_intake_bench.sh installs it from Debian's packages)")
    env = {
        "BENCH_DATABASE_URL": database_url.render_as_string(hide_password=False),
        "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
    }
    result = subprocess.run(
        [sys.executable, "bench/intake_bench.py", "--seconds", "1"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
    )

    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    for target in ("bare /healthz", "minimal commit", "intake"):
        assert target in result.stdout
    assert "p95" in result.stdout
    assert ": OK" in result.stdout


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_waitlist_month_bench_prints_the_table_and_the_waitlist_refills_more_freed_slots(backend):
    import os

    command = [sys.executable, "bench/waitlist_month.py", *WAITLIST_FAST]
    if backend == "postgresql":
        if not os.environ.get("TEST_POSTGRES_URL"):
            pytest.skip("PostgreSQL not configured (set TEST_POSTGRES_URL, or run scripts/test.sh)")
        command += ["--postgres", os.environ["TEST_POSTGRES_URL"]]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300, check=False)

    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    rows = {line[:52].strip(): line[52:].split() for line in result.stdout.splitlines()}
    for label in ("slots refilled, in all", "left empty when their time came", "waitlist offers made in the month"):
        assert label in rows
    assert set(rows) >= {"urgent", "soon", "routine", "consult", "imaging", "injection"}
    from_list, without = (int(figure) for figure in rows["refilled from the waitlist"][:2])
    assert from_list >= without + 1
    assert "consistency over both runs" in result.stdout
    assert result.stdout.rstrip().endswith(": OK")


def test_replay_benchmark_replays_paced_and_flat_out_and_measures_intake_beside_it(database_url):
    import shutil

    import pytest

    if database_url.get_backend_name() != "postgresql":
        pytest.skip("the replay benchmark runs on PostgreSQL, the production database")
    env = {
        "BENCH_DATABASE_URL": database_url.render_as_string(hide_password=False),
        "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
    }
    result = subprocess.run(
        [sys.executable, "bench/rulebook_replay.py", "--fast", "--processes", "2"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
    )

    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[0].endswith(" cores, 2,000 stored inquiries")
    assert lines[1].startswith("generated in ")
    assert [line.split(": ")[0] for line in lines[2:6]] == [
        "replay, 1 process, duty 0.1",
        "replay, 2 processes, duty 0.1",
        "replay, 2 processes, duty 1",
        "report",
    ]
    assert [line.split(": ")[1].split(" in ")[0] for line in lines[2:5]] == ["2,000 inquiries"] * 3
    if shutil.which("wrk"):
        assert [line.split(":")[0] for line in lines[6:9]] == [
            "intake alone",
            "intake while replaying",
            "intake slowdown while replaying",
        ]


def test_scale_benchmark_prints_every_figure_on_day_one_and_on_the_year_and_the_queue_plan(database_url):
    import shutil

    if database_url.get_backend_name() != "postgresql":
        pytest.skip("the scale benchmark runs on PostgreSQL, the production database")
    if not shutil.which("wrk"):
        pytest.skip("wrk is not installed (bench/run_scale_bench.sh installs it from Debian's packages)")
    env = {
        "BENCH_DATABASE_URL": database_url.render_as_string(hide_password=False),
        "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
    }
    result = subprocess.run(
        [sys.executable, "bench/scale_year.py", "--fast", "--explain"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=env,
    )

    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[0].endswith(" cores, a year of 3,650 inquiries at 5 sites")
    assert [line.split(":")[0] for line in lines[1:3]] == ["day one", "year"]
    # A target's line ends with its verdict; the closing summary ("every goal met: OK") is not a target.
    targets = [
        line[:18].strip()
        for line in lines
        if (line.endswith(("OK", "OVER")) or "non-2xx" in line) and not line.startswith("every goal met")
    ]
    assert targets == [
        "intake",
        "queue, first page",
        "queue, one site",
        "inquiry page",
        "audit by actor",
        "audit by inquiry",
        "booking claim",
    ]
    assert "Index Scan using ix_inquiries_queue_order on inquiries" in result.stdout
    assert "EXPLAIN (ANALYZE, BUFFERS) of the queue's page query, one site:" in result.stdout
    assert lines[-1].startswith("every goal met: ")
