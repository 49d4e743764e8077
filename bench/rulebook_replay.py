"""Impact preview speed: replay 100,000 stored inquiries through a draft rulebook, and intake beside it.

Usage: ``bash bench/run_rulebook_replay_bench.sh`` (starts a throwaway, durable PostgreSQL), or with
``BENCH_DATABASE_URL`` pointing at an empty PostgreSQL database: ``python bench/rulebook_replay.py``.
``--fast`` is the short run of the tests (2,000 inquiries, one second of intake per phase).

1. Stores ``--inquiries`` inquiries, each with its decision in force, received over the last 90 days: the
   corpus' messages (tests/corpus: English, Spanish, hold-out sets, other languages) with a few kinds of form
   answers, triaged by the real reader and the shipped rulebook, stored as intake stores them.
2. Adds a draft (the shipped rulebook with pain "persistent" from 28 days instead of 42) and runs its impact
   preview as the worker does (``rulebook_preview.run_next``, from a low-priority thread): on one process and on
   ``--processes`` at the service's pace (``--duty``, the share of time each process works), then on ``--processes``
   flat out. Prints inquiries/s and the time for all of them (goal: 100,000 in 60 s or less on 2 cores).
3. With ``wrk`` installed, serves the app under gunicorn (2 workers) and measures intake (``POST /v1/inquiries``)
   alone, then while previews replay back to back at the service's pace, in turn, ``--rounds`` times; medians
   (goal: at most 20 % slower).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import itertools
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, delete, insert, select, update
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from routing.adapters.db import migrations  # noqa: E402
from routing.adapters.db.database import Database  # noqa: E402
from routing.adapters.db.models import (  # noqa: E402
    Inquiry,
    RulebookPreview,
    RulebookVersion,
    StaffToken,
    TriageDecision,
)
from routing.domain.triage import load_rulebook, triage  # noqa: E402
from routing.domain.triage.reader import reader_for  # noqa: E402
from routing.domain.triage.rulebook import DEFAULT_RULEBOOK_PATH  # noqa: E402
from routing.services import preview_replay, rulebook_preview, staff_tokens  # noqa: E402
from routing.services.staff_tokens import Staff  # noqa: E402

CORPUS = ("en", "es", "holdout", "holdout2", "other_languages")
#: Form answers given beside the message: none, or a few the form asks for (so the facts vary as they do).
FORM_ANSWERS = (
    {},
    {"duration_days": 35},
    {"pain_score": 9},
    {"muscle_relaxants": "no_relief"},
    {"duration_days": 30, "muscle_relaxants": "no_relief"},
    {"prior_imaging": True},
    {"onset": "sudden", "pain_score": 8},
    {"duration_days": 60},
)
PATIENT = {"first_name": "Bench", "last_name": "Patient", "email": "bench@example.org"}
PERIOD = timedelta(days=90)
INSERT_BATCH = 5_000


def corpus_messages() -> list[dict]:
    """Every corpus message with its language."""
    entries = []
    for name in CORPUS:
        entries += json.loads((REPO / "tests" / "corpus" / f"{name}.json").read_text(encoding="utf-8"))
    return [{"message": e["message"], "language": e["language"]} for e in entries if e.get("message")]


def generate(url: str, count: int, seed: int = 23) -> float:
    """Store ``count`` inquiries with their decisions (the generation's seconds)."""
    began = time.perf_counter()
    rulebook, reader = load_rulebook(), reader_for(None)
    messages = corpus_messages()
    kinds = list(itertools.product(range(len(messages)), range(len(FORM_ANSWERS))))
    decided: dict[tuple[int, int], tuple] = {}
    rng = random.Random(seed)
    now = datetime.now(UTC)
    engine = create_engine(url)
    inquiries, decisions = Inquiry.__table__, TriageDecision.__table__
    made = 0
    while made < count:
        rows, decision_rows = [], []
        for _ in range(min(INSERT_BATCH, count - made)):
            kind = kinds[rng.randrange(len(kinds))]
            entry, answers = messages[kind[0]], FORM_ANSWERS[kind[1]]
            if kind not in decided:
                decision = triage(answers, entry["message"], date.today(), rulebook, reader=reader)
                facts = decision.facts
                decided[kind] = (
                    decision,
                    {"values": facts.to_dict(), "evidence": [_evidence(e) for e in facts.evidence]},
                    [reason.to_dict() for reason in decision.reasons],
                )
            decision, facts_record, reasons = decided[kind]
            inquiry_id = uuid.uuid4()
            received = now - PERIOD * rng.random()
            payload = {"patient": PATIENT, "message": entry["message"], "symptoms": answers}
            raw = json.dumps(payload, ensure_ascii=False).encode()
            status = "urgent_review" if decision.route == "urgent_review" else "needs_review"
            rows.append(
                {
                    "id": inquiry_id,
                    "idempotency_key": f"bench-{inquiry_id.hex}",
                    "body_sha256": hashlib.sha256(raw).hexdigest(),
                    "content_type": "application/json",
                    "raw_body": raw,
                    "payload": payload,
                    "facts": facts_record,
                    "status": status,
                    "language": decision.language,
                    "received_at": received,
                    "updated_at": received,
                    "booking_attempts": 0,
                }
            )
            decision_rows.append(
                {
                    "id": uuid.uuid4(),
                    "inquiry_id": inquiry_id,
                    "urgency": decision.urgency,
                    "likely_cause": decision.likely_cause,
                    "route": decision.route,
                    "rule_id": decision.rule_id,
                    "needs_review": decision.needs_review,
                    "hold": decision.hold,
                    "reasons": reasons,
                    "facts": decision.facts.to_dict(),
                    "rulebook_version": decision.rulebook_version,
                    "created_at": received,
                }
            )
        with engine.begin() as connection:
            connection.execute(insert(inquiries), rows)
            connection.execute(insert(decisions), decision_rows)
        made += len(rows)
    engine.dispose()
    return time.perf_counter() - began


def _evidence(item) -> dict:
    value = sorted(item.value) if isinstance(item.value, frozenset) else item.value
    return {"fact": item.fact, "value": value, "source": item.source, "phrase": item.phrase}


def add_draft(url: str) -> tuple[int, Staff]:
    """The draft replayed: "persistent" pain from 28 days instead of 42. Returns its id and a staff member."""
    document = json.loads(DEFAULT_RULEBOOK_PATH.read_text(encoding="utf-8"))
    document = copy.deepcopy(document)
    document["version"] = f"bench-{uuid.uuid4().hex[:8]}"
    document["terms"]["persistent"]["at_least"] = 28
    db = Database(make_url(url))
    with db.session() as session, session.begin():
        session.execute(delete(RulebookPreview))
        version = RulebookVersion(
            label=document["version"], document=document, sha256="bench", state="draft", created_by="bench"
        )
        session.add(version)
        token = session.scalar(select(StaffToken).where(StaffToken.name == "Bench Admin"))
        if token is None:
            token, _ = staff_tokens.create_token(session, "Bench Admin", "admin")
        session.flush()
        result = version.id, Staff(token.id, token.name, token.role)
    db.dispose()
    return result


def low_priority(call):
    """Run ``call`` in a thread of its own at the preview thread's lower priority, as the worker does; its result."""
    out = []

    def run() -> None:
        preview_replay.lower_priority()
        out.append(call())

    thread = threading.Thread(target=run, name="previews")
    thread.start()
    thread.join()
    return out[0]


def replay_once(url: str, version_id: int, staff: Staff, processes: int, duty: float) -> dict:
    """Request a preview and run it as the worker does (call it from a low-priority thread); its report."""
    db = Database(make_url(url))
    try:
        with db.session() as session:
            rulebook_preview.request_preview(session, staff, version_id)
        settings = rulebook_preview.ReplaySettings(url, processes=processes, duty=duty)
        status = rulebook_preview.run_next(db.session, settings)
        if status != rulebook_preview.DONE:
            raise SystemExit(f"the preview ended {status}")
        with db.session() as session:
            return rulebook_preview.latest_report(session, version_id)["result"]
    finally:
        db.dispose()


def intake_side_by_side(
    url: str, version_id: int, staff: Staff, seconds: int, processes: int, rounds: int, duty: float
) -> None:
    """Intake's requests/s alone, then while previews replay back to back; ``rounds`` times in turn, medians."""
    from bench.intake_bench import _serve, _wrk

    env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING", "ROUTING_RATE_LIMIT_INTAKE": "100000000/minute"}
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "schedule", "seed", "--days", "60"],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
    )
    server, base = _serve("wsgi:app", env, None)
    post = str(REPO / "bench" / "intake_post.lua")
    alone, beside, replays = [], [], []
    try:
        _wrk(base + "/v1/inquiries", 1, post)  # warm up
        for _ in range(rounds):
            alone.append(_wrk(base + "/v1/inquiries", seconds, post))
            measure = lambda: _wrk(base + "/v1/inquiries", seconds, post)  # noqa: E731
            beside.append(_while_replaying(url, version_id, staff, processes, duty, replays, measure))
    finally:
        server.terminate()
        server.wait(timeout=30)
    for name, runs in (("intake alone:          ", alone), ("intake while replaying:", beside)):
        rps, p50, p99 = (statistics.median(run[key] for run in runs) for key in ("rps", "p50", "p99"))
        print(
            f"{name} {rps:8,.0f} req/s   p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   (rounds: "
            + ", ".join(f"{run['rps']:,.0f}" for run in runs)
            + ")"
        )
    slower = 1 - statistics.median(run["rps"] for run in beside) / statistics.median(run["rps"] for run in alone)
    verdict = "OK" if slower <= 0.20 else "OVER"
    print(f"intake slowdown while replaying: {slower:.0%} (goal <= 20%): {verdict}")
    if replays:
        done = sum(count for count, _ in replays)
        spent = sum(seconds for _, seconds in replays)
        print(f"replay beside intake: {done:,} inquiries replayed in {spent:.1f} s, {done / spent:,.0f} inquiries/s")


def _while_replaying(url: str, version_id: int, staff: Staff, processes: int, duty: float, replays: list, measure):
    """``measure()`` while previews replay back to back in a low-priority thread, as the worker runs them."""
    stop = threading.Event()

    def keep_replaying() -> None:
        preview_replay.lower_priority()  # as the worker's preview thread does
        db = Database(make_url(url))
        settings = rulebook_preview.ReplaySettings(url, processes=processes, duty=duty)
        try:
            while not stop.is_set():
                with db.session() as session:
                    preview_id = rulebook_preview.request_preview(session, staff, version_id)["id"]
                began = time.perf_counter()
                rulebook_preview.run_next(db.session, settings)
                # Done, or cancelled when the measurement ended: what it replayed, and in how long.
                with db.session() as session:
                    done = rulebook_preview.preview(session, uuid.UUID(preview_id))["done"]
                replays.append((done, time.perf_counter() - began))
        finally:
            db.dispose()

    replayer = threading.Thread(target=keep_replaying, name="previews")
    replayer.start()
    time.sleep(1.5)  # the pool's processes have started and are replaying
    try:
        return measure()
    finally:
        stop.set()
        _cancel_running(url)
        replayer.join()


def _cancel_running(url: str) -> None:
    # The replay in hand stops after its batch, as when staff cancel it.
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            update(RulebookPreview)
            .where(RulebookPreview.status.in_(rulebook_preview.LIVE))
            .values(status=rulebook_preview.CANCELLED)
        )
    engine.dispose()


def main() -> None:
    """Generate, replay, and compare intake with and without a replay running."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inquiries", type=int, default=100_000, help="stored inquiries to replay")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 2, help="replay processes")
    parser.add_argument(
        "--duty", type=float, default=rulebook_preview.DUTY, help="share of time a replay process works (the service's)"
    )
    parser.add_argument("--seconds", type=int, default=10, help="intake load per phase (alone, beside a replay)")
    parser.add_argument("--rounds", type=int, default=3, help="intake phases in turn, this many times; medians")
    parser.add_argument("--fast", action="store_true", help="the tests' short run: 2,000 inquiries, 1 s per phase")
    parser.add_argument("--no-intake", action="store_true", help="skip the intake comparison")
    args = parser.parse_args()
    if args.fast:
        args.inquiries, args.seconds, args.rounds = 2_000, 1, 1
    url = os.environ["BENCH_DATABASE_URL"]
    if create_engine(url).url.get_backend_name() != "postgresql":
        raise SystemExit("the replay benchmark runs on PostgreSQL, the production database")
    migrations.upgrade(create_engine(url).url)
    print(f"database postgresql, {os.cpu_count()} cores, {args.inquiries:,} stored inquiries")
    seconds = generate(url, args.inquiries)
    print(f"generated in {seconds:.1f} s (the corpus' messages, triaged and stored as intake stores them)")
    version_id, staff = add_draft(url)
    runs = [(1, args.duty), (args.processes, args.duty), (args.processes, 1.0)]
    for processes, duty in dict.fromkeys(runs):
        began = time.perf_counter()
        result = low_priority(lambda p=processes, d=duty: replay_once(url, version_id, staff, p, d))
        spent = time.perf_counter() - began
        replayed = result["replayed"] + result["staff_decided"]
        per_100k = spent * 100_000 / max(replayed, 1)
        print(
            f"replay, {processes} process{'es' if processes > 1 else ''}, duty {duty:g}: {replayed:,} inquiries in "
            f"{spent:.2f} s, {replayed / spent:,.0f} inquiries/s ({per_100k:.1f} s per 100,000; goal <= 60 s)"
        )
    print(
        f"report: {result['changed']:,} would change, {result['urgent_review_exits']} would leave urgent_review, "
        f"{len(result['transitions'])} transitions"
    )
    if args.no_intake:
        return
    if not shutil.which("wrk"):
        print("intake comparison skipped: wrk is not installed (bench/run_rulebook_replay_bench.sh installs it)")
        return
    intake_side_by_side(url, version_id, staff, args.seconds, args.processes, args.rounds, args.duty)


if __name__ == "__main__":
    main()
