"""Benchmark scripts keep working (they are run here briefly; their figures are not asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_triage_benchmark_prints_both_throughput_figures():
    result = subprocess.run(
        [sys.executable, "bench/triage_bench.py", "--seconds", "0.05"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )

    assert "structured-only" in result.stdout
    assert "free text" in result.stdout
    assert "decisions/s" in result.stdout
