"""Triage throughput on one core: structured-only decisions, the free-text reader, whole decisions.

Usage: ``.venv/bin/python bench/triage_bench.py [--seconds 3]`` (``bench/run_triage_bench.sh`` runs it beside
medspaCy's ConText on the same messages).

Goals (issue 15): structured-only at least 50,000 decisions/s; the reader at least 2,000 messages/s for a
500-character message, and 5 times medspaCy's rate. Also printed: a whole decision with the form's language,
and with the language detected from the message. Prints the figures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from routing.domain.triage import load_rulebook, read_message, triage

RECEIVED_ON = date(2026, 11, 25)

STRUCTURED = [
    {"onset": "sudden", "duration_days": 2, "trigger": "twisting", "pain_score": 9, "muscle_relaxants": "not_tried"},
    {"onset": "gradual", "duration_days": 120, "muscle_relaxants": "helped", "episodes": "recurrent"},
    {"muscle_relaxants": "no_relief", "prior_imaging": True, "diagnosed_conditions": ["disc_herniation"]},
    {"onset": "sudden", "duration_days": 1, "trigger": "lifting", "pain_score": 7},
    {"onset": "gradual", "duration_days": 60, "muscle_relaxants": "no_relief", "prior_imaging": False},
    {"red_flags": ["fever"], "duration_days": 3},
]

# About 500 characters each, the way patients write: history, trigger, medication, negations.
# Kept in triage_messages.json so that bench/medspacy_baseline.py reads the same messages.
MESSAGES = json.loads(Path(__file__).with_name("triage_messages.json").read_text(encoding="utf-8"))


def _rate(call, seconds: float) -> float:
    for _ in range(200):  # warm caches and regex engines
        call()
    count, start = 0, time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for _ in range(100):
            call()
        count += 100
    return count / (time.perf_counter() - start)


def main() -> None:
    """Print decisions per second for both kinds of inquiry."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="measuring time per scenario")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core, as the goal says

    rulebook = load_rulebook()
    forms = itertools.cycle(STRUCTURED)
    messages = itertools.cycle(MESSAGES)
    structured = _rate(lambda: triage(next(forms), None, RECEIVED_ON, rulebook), args.seconds)
    reader = _rate(lambda: read_message(next(messages), RECEIVED_ON), args.seconds)
    given = _rate(lambda: triage({}, next(messages), RECEIVED_ON, rulebook, language="en"), args.seconds)
    detected = _rate(lambda: triage({}, next(messages), RECEIVED_ON, rulebook), args.seconds)

    length = sum(map(len, MESSAGES)) // len(MESSAGES)
    print(f"python {sys.version.split()[0]}, rulebook {rulebook.version}, {args.seconds:g}s per scenario, one core")
    print(f"structured-only        : {structured:10,.0f} decisions/s  ({structured / 50_000:.2f}x the 50,000/s goal)")
    print(f"reader ({length} ch)       : {reader:10,.0f} messages/s   ({reader / 2_000:.2f}x the 2,000/s goal)")
    print(f"decision, form language: {given:10,.0f} decisions/s")
    print(f"decision, detected     : {detected:10,.0f} decisions/s  (language detected from the message)")


if __name__ == "__main__":
    main()
