"""A year of a 5-site practice on PostgreSQL: do intake and the staff pages stay as fast as on day one?

Usage: ``bash bench/run_scale_bench.sh`` (a throwaway, durable PostgreSQL; installs wrk), or with
``BENCH_DATABASE_URL`` pointing at a PostgreSQL server: ``python bench/scale_year.py``. ``--fast`` is the tests'
short run (3,650 inquiries, one second per target); ``--inquiries`` sets the year's size (default 500,000).

Two databases on the same server, side by side in the same run:
  * **day one**: 5 sites, their slots, staff tokens and the practice's first day (the year's inquiries / 365,
    so that an inquiry's page and an audit search have something to show);
  * **year**: the same, plus a year of history: ``--inquiries`` inquiries over 365 days with their decisions
    (the corpus' messages triaged once per kind by the real reader and rulebook, as bench/rulebook_replay.py
    does), the statuses a practice ends a year with (booked, staff-overridden, waitlisted, open and stale
    needs_review, closed, acknowledged and open urgent_review, a few pending), appointments (some cancelled,
    no-shows), audit events by eight staff members and the system, waitlist entries and outbox events.
    Generated inside PostgreSQL (INSERT ... SELECT over generate_series), so 500,000 take minutes, not hours.

Then each figure on both, under gunicorn (2 workers) and ``wrk -t2 -c8`` as bench/intake_bench.py measures:
intake (``POST /v1/inquiries``), the staff queue's first page and a page filtered by site, an inquiry's page,
the audit search by actor and by inquiry; and the booking worker's claim of a due inquiry (``take_next``, in
process, one at a time). Prints a table with the ratio year / day one (goal <= 1.5) and the p99 goal (queue and
detail <= 50 ms), the tables' rows and sizes, and with ``--explain`` the queue's queries under
``EXPLAIN (ANALYZE, BUFFERS)`` on the year.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import create_engine, event, insert, text
from sqlalchemy.engine import URL, make_url

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.intake_bench import _database_server_pid, _measure, _serve, _wrk  # noqa: E402
from bench.rulebook_replay import FORM_ANSWERS, _evidence, corpus_messages  # noqa: E402
from routing.adapters.db import migrations  # noqa: E402
from routing.adapters.db.database import Database  # noqa: E402
from routing.domain.triage import load_rulebook, triage  # noqa: E402
from routing.domain.triage.reader import reader_for  # noqa: E402
from routing.services import booking_queue, staff_queue, staff_tokens  # noqa: E402
from routing.services.route_inquiry import QueuePolicy  # noqa: E402

#: The practice: five sites, not all offering every kind of appointment (around Denver, for the travel radius).
SITES = (
    ("main", "Main site", 39.7392, -104.9903, ["consult", "imaging", "injection"]),
    ("north", "North clinic", 39.8680, -104.9719, ["consult", "injection"]),
    ("south", "South clinic", 39.5807, -104.8772, ["consult", "imaging"]),
    ("east", "East clinic", 39.7294, -104.8319, ["consult"]),
    ("west", "West clinic", 39.7555, -105.2211, ["consult", "injection"]),
)
STAFF = ("Ana Ruiz", "Ben Okafor", "Chloe Martin", "Dev Patel", "Emma Clarke", "Femi Adeyemi", "Grace Liu", "Hugo Berg")
ADMIN = "Bench Admin"
FIRST_NAMES = ("Maria", "James", "Sofia", "Liam", "Aisha", "Noah", "Elena", "Omar", "Grace", "Lucas")
LAST_NAMES = ("Garcia", "Smith", "Nguyen", "Johnson", "Lopez", "Brown", "Kim", "Martinez", "Davis", "Wilson")
#: Distinct (message, form answers) kinds triaged for the generated inquiries.
KINDS = 800
TARGETS = ("intake", "queue, first page", "queue, one site", "inquiry page", "audit by actor", "audit by inquiry")
#: p99 goals (ms) at 8 clients.
P99_GOAL = {"queue, first page": 50, "queue, one site": 50, "inquiry page": 50}
FACTOR_GOAL = 1.5


# --- databases --------------------------------------------------------------------------------------------


def _database(url: URL, name: str) -> URL:
    """A fresh database ``name`` on the server of ``url`` (dropped first if there)."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return url.set(database=name)


def _drop(url: URL) -> None:
    engine = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
    engine.dispose()


def prepare(url: URL, history_days: int) -> str:
    """Schema, the five sites, their slots from ``history_days`` ago to 60 days ahead, staff tokens; the admin's
    token."""
    migrations.upgrade(url)
    engine = create_engine(url)
    now = datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM locations WHERE id <> 'main'"))
        for site, name, latitude, longitude, slot_types in SITES:
            values = {
                "id": site,
                "name": name,
                "lat": latitude,
                "lon": longitude,
                "types": json.dumps(slot_types),
                "now": now,
            }
            connection.execute(
                text(
                    "INSERT INTO locations (id, name, latitude, longitude, slot_types, active, created_at, updated_at)"
                    " VALUES (:id, :name, :lat, :lon, CAST(:types AS json), true, :now, :now)"
                    " ON CONFLICT (id) DO UPDATE SET name = :name, latitude = :lat, longitude = :lon,"
                    " slot_types = CAST(:types AS json)"
                ),
                values,
            )
        # Half-hour slots 08:00-16:30 UTC on weekdays at every site, each kind it offers; past ones mostly taken.
        connection.execute(
            text(
                'INSERT INTO slots (id, location_id, slot_type, start, "end", status, version, created_at)'
                " SELECT gen_random_uuid(), l.id, t.slot_type, d + make_interval(mins => m),"
                " d + make_interval(mins => m + 30),"
                " CASE WHEN d + make_interval(mins => m) < now() AND random() < 0.9 THEN 'busy' ELSE 'free' END,"
                " 1, now()"
                " FROM locations l CROSS JOIN LATERAL json_array_elements_text(l.slot_types) AS t(slot_type)"
                " CROSS JOIN generate_series(date_trunc('day', now()) - :history,"
                "   date_trunc('day', now()) + interval '60 days', interval '1 day') AS d"
                " CROSS JOIN generate_series(8 * 60, 16 * 60 + 30, 30) AS m"
                " WHERE extract(isodow FROM d) < 6"
            ),
            {"history": timedelta(days=history_days)},
        )
    engine.dispose()
    db = Database(url)
    with db.session() as session, session.begin():
        for name in STAFF:
            staff_tokens.create_token(session, name, "staff")
        _, token = staff_tokens.create_token(session, ADMIN, "admin")
    db.dispose()
    return token


def kinds(count: int, seed: int = 24) -> list[dict]:
    """``count`` (message, answers) kinds from the corpus, each triaged once by the real reader and rulebook."""
    rulebook, reader = load_rulebook(), reader_for(None)
    messages = corpus_messages()
    rng = random.Random(seed)
    made = []
    for k in range(count):
        entry, answers = rng.choice(messages), rng.choice(FORM_ANSWERS)
        decision = triage(answers, entry["message"], date.today(), rulebook, reader=reader)
        facts = decision.facts
        made.append(
            {
                "k": k,
                "message": entry["message"],
                "answers": json.dumps(answers),
                "language": decision.language,
                "facts": json.dumps({"values": facts.to_dict(), "evidence": [_evidence(e) for e in facts.evidence]}),
                "urgency": decision.urgency,
                "likely_cause": decision.likely_cause,
                "route": decision.route,
                "rule_id": decision.rule_id,
                "needs_review": decision.needs_review,
                "hold": decision.hold,
                "reasons": json.dumps([reason.to_dict() for reason in decision.reasons]),
                "decision_facts": json.dumps(decision.facts.to_dict()),
                "rulebook_version": decision.rulebook_version,
            }
        )
    return made


# The plan of each generated inquiry: its kind, when it came, its site, its fate, and a staff member.
_PLAN = """
CREATE UNLOGGED TABLE bench_plan AS
SELECT p.*, k.route, k.urgency, k.hold, k.needs_review,
  CASE
    WHEN k.route = 'urgent_review' THEN CASE
      WHEN p.age < interval '2 days' AND p.r1 < 0.5 THEN 'urgent_open'
      WHEN p.r1 < 0.8 THEN 'urgent_closed' ELSE 'urgent_acked' END
    WHEN k.hold IS NOT NULL OR k.needs_review THEN CASE
      WHEN p.age < interval '5 days' AND p.r1 < 0.6 THEN 'review_open'
      WHEN p.r1 < 0.92 THEN 'review_booked' ELSE 'review_stale' END
    WHEN p.age < interval '1 day' AND p.r2 < 0.01 THEN 'pending'
    WHEN p.r1 < 0.90 THEN 'booked'
    WHEN p.r1 < 0.96 THEN 'waitlist_booked'
    ELSE 'no_slot'
  END AS fate
FROM (
  SELECT n, gen_random_uuid() AS id, floor(random() * :kinds)::int AS k,
    random() * :period AS age, random() AS r1, random() AS r2, random() AS r3,
    (ARRAY['main', 'main', 'north', 'south', 'east', 'west'])[1 + floor(random() * 6)::int] AS site,
    1 + floor(random() * 8)::int AS actor
  FROM generate_series(1, :count) AS n
) AS p JOIN bench_kinds k ON k.k = p.k
"""
_STATUS = """CASE fate
  WHEN 'urgent_open' THEN 'urgent_review' WHEN 'urgent_acked' THEN 'urgent_review' WHEN 'urgent_closed' THEN 'closed'
  WHEN 'review_open' THEN 'needs_review' WHEN 'review_stale' THEN 'needs_review' WHEN 'no_slot' THEN 'needs_review'
  WHEN 'pending' THEN 'pending_booking' ELSE 'booked' END"""
_BOOKED = "fate IN ('booked', 'review_booked', 'waitlist_booked')"
_SLOT_TYPE = "CASE route WHEN 'imaging' THEN 'imaging' WHEN 'injection' THEN 'injection' ELSE 'consult' END"
_STEPS = (
    (
        "inquiries",
        f"""
INSERT INTO inquiries (id, idempotency_key, body_sha256, content_type, raw_body, payload, facts, status,
  status_detail, patient_message, language, location_id, received_at, updated_at, booking_attempts,
  next_attempt_at, urgency, hold, acknowledged_at)
SELECT b.id, CAST(:prefix AS text) || b.n, encode(sha256(b.raw), 'hex'), 'application/json', b.raw,
  b.body::json, b.facts::json, b.status, NULL, 'Thank you, we have your message.', b.language, b.site,
  b.received_at, b.received_at, 0,
  CASE WHEN b.fate = 'pending' THEN now() + interval '1 hour' END,
  b.urgency, CASE WHEN b.fate = 'review_booked' THEN NULL ELSE b.hold END,
  CASE WHEN b.fate = 'urgent_acked' THEN b.received_at + b.r3 * interval '2 hours' END
FROM (
  SELECT p.*, now() - p.age AS received_at, {_STATUS} AS status, k.language, k.facts, body,
    convert_to(body::text, 'UTF8') AS raw
  FROM bench_plan p JOIN bench_kinds k ON k.k = p.k
  CROSS JOIN LATERAL (SELECT jsonb_build_object(
    'patient', jsonb_build_object(
      'first_name', (ARRAY{list(FIRST_NAMES)})[1 + p.n % 10],
      'last_name', (ARRAY{list(LAST_NAMES)})[1 + (p.n / 10) % 10],
      'email', 'patient' || p.n || '@example.org', 'phone', '+1303555' || lpad((p.n % 10000)::text, 4, '0')),
    'message', k.message, 'symptoms', k.answers::jsonb) AS body) AS built
) AS b
""",  # noqa: S608 (constants of this module, no input)
    ),
    (
        "triage_decisions",
        """
INSERT INTO triage_decisions (id, inquiry_id, urgency, likely_cause, route, rule_id, needs_review, hold, reasons,
  facts, rulebook_version, created_at, superseded_at)
SELECT gen_random_uuid(), p.id, k.urgency, k.likely_cause, k.route, k.rule_id, k.needs_review, k.hold,
  k.reasons::json, k.decision_facts::json, k.rulebook_version, now() - p.age,
  CASE WHEN p.fate = 'review_booked' THEN now() - p.age + p.r3 * interval '2 days' END
FROM bench_plan p JOIN bench_kinds k ON k.k = p.k
UNION ALL
SELECT gen_random_uuid(), p.id, k.urgency, k.likely_cause, k.route, 'STAFF', false, NULL,
  json_build_array(json_build_object('rule', 'STAFF', 'text', 'Route set by staff: read and booked')),
  k.decision_facts::json, k.rulebook_version, now() - p.age + p.r3 * interval '2 days', NULL
FROM bench_plan p JOIN bench_kinds k ON k.k = p.k WHERE p.fate = 'review_booked'
""",
    ),
    (
        "appointments",
        f"""
INSERT INTO appointments (id, inquiry_id, slot_type, start, "end", scheduler, status, created_at, cancelled_at,
  cancel_reason, location_id, booking_key)
SELECT gen_random_uuid(), id, {_SLOT_TYPE}, t, t + interval '30 minutes', 'embedded',
  CASE WHEN r2 < 0.04 THEN 'noshow' WHEN r2 < 0.10 THEN 'cancelled' ELSE 'booked' END,
  now() - age, CASE WHEN r2 >= 0.04 AND r2 < 0.10 THEN now() - age + interval '1 day' END,
  CASE WHEN r2 >= 0.04 AND r2 < 0.10 THEN 'patient cancelled by phone' END, site, CAST(:prefix AS text) || n
FROM (SELECT *, date_trunc('hour', now() - age) + (1 + floor(r3 * 13)) * interval '1 day' AS t FROM bench_plan
  WHERE {_BOOKED}) AS p
""",  # noqa: S608 (constants of this module, no input)
    ),
    (
        "audit_events",
        """
INSERT INTO audit_events (at, actor_id, actor_name, action, inquiry_id, details, reason)
SELECT e.at, t.id, named.actor, e.action, e.inquiry_id, e.details, e.reason
FROM (
  SELECT now() - age + r3 * interval '2 days' AS at, actor, 'override' AS action, id AS inquiry_id,
    json_build_object('from', json_build_object('route', route), 'to', json_build_object('route', route)) AS details,
    'Read the message; booked as asked' AS reason
  FROM bench_plan WHERE fate = 'review_booked'
  UNION ALL
  SELECT now() - age + r3 * interval '3 hours', actor, 'callback', id,
    json_build_object('outcome', CASE WHEN r2 < 0.7 THEN 'booked' ELSE 'referred_to_er' END), 'Called the patient'
  FROM bench_plan WHERE fate = 'urgent_closed'
  UNION ALL
  SELECT now() - age + r3 * interval '2 hours', actor, 'acknowledge', id,
    json_build_object('status', 'urgent_review', 'urgency', urgency), 'Seen at the front desk'
  FROM bench_plan WHERE fate = 'urgent_acked'
  UNION ALL
  SELECT now() - age + interval '1 day', actor, 'cancel', id, json_build_object('appointment', NULL),
    'Patient cancelled by phone'
  FROM bench_plan WHERE fate IN ('booked', 'review_booked', 'waitlist_booked') AND r2 >= 0.04 AND r2 < 0.10
  UNION ALL
  SELECT now() - age + r3 * interval '1 day', 0, a.action, id, json_build_object('slot_type', route), NULL
  FROM bench_plan CROSS JOIN (VALUES ('waitlist.offered'), ('waitlist.accepted')) AS a(action)
  WHERE fate = 'waitlist_booked'
) AS e(at, actor_index, action, inquiry_id, details, reason)
CROSS JOIN LATERAL (SELECT CASE WHEN e.actor_index = 0 THEN 'waitlist'
  ELSE (CAST(:staff AS text[]))[e.actor_index] END AS actor) AS named
LEFT JOIN staff_tokens t ON t.name = named.actor
""",
    ),
    (
        "waitlist_entries",
        f"""
INSERT INTO waitlist_entries (id, inquiry_id, route, slot_type, urgency, priority, window_end, status, unanswered,
  joined_at, updated_at, closed_at, close_reason)
SELECT gen_random_uuid(), id, route, {_SLOT_TYPE}, urgency,
  CASE urgency WHEN 'urgent' THEN 20 WHEN 'soon' THEN 40 ELSE 60 END,
  now() - age + interval '14 days',
  CASE WHEN fate = 'waitlist_booked' THEN 'booked' WHEN age < interval '14 days' THEN 'waiting'
    ELSE 'window_passed' END,
  0, now() - age, now() - age,
  CASE WHEN fate = 'waitlist_booked' THEN now() - age + r3 * interval '1 day'
    WHEN age >= interval '14 days' THEN now() - age + interval '14 days' END,
  CASE WHEN fate = 'waitlist_booked' THEN 'booked' WHEN age >= interval '14 days' THEN 'window passed' END
FROM bench_plan WHERE fate IN ('waitlist_booked', 'no_slot')
""",  # noqa: S608 (constants of this module, no input)
    ),
    (
        "outbox_events",
        """
INSERT INTO outbox_events (id, type, inquiry_id, occurred_at, data, fanned_out_at)
SELECT gen_random_uuid(), e.type, p.id, now() - p.age, json_build_object('inquiry_id', p.id), now() - p.age
FROM bench_plan p CROSS JOIN (VALUES ('inquiry.received'), ('inquiry.routed')) AS e(type)
""",
    ),
)
TABLES = ("inquiries", "triage_decisions", "appointments", "audit_events", "waitlist_entries", "outbox_events", "slots")


def generate(url: URL, count: int, days: int, prefix: str, triaged: list[dict], seed: float = 0.24) -> float:
    """``count`` inquiries over the last ``days`` days, with everything a practice's year leaves; seconds spent."""
    began = time.perf_counter()
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS bench_kinds, bench_plan"))
        connection.execute(
            text(
                "CREATE UNLOGGED TABLE bench_kinds (k int PRIMARY KEY, message text, answers text, language text,"
                " facts text, urgency text, likely_cause text, route text, rule_id text, needs_review boolean,"
                " hold text, reasons text, decision_facts text, rulebook_version text)"
            )
        )
        connection.execute(insert(_kinds_table(connection)), triaged)
        connection.execute(text("SELECT setseed(:seed)"), {"seed": seed})
        connection.execute(text(_PLAN), {"kinds": len(triaged), "period": timedelta(days=days), "count": count})
        for _, statement in _STEPS:
            connection.execute(text(statement), {"prefix": prefix, "staff": list(STAFF)})
        connection.execute(text("DROP TABLE bench_kinds, bench_plan"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
        # A practice's year reached the disk over a year; this one was written in a minute and sits mostly in
        # dirty pages. Flush it before measuring, so the checkpoint that would follow (spread over minutes)
        # does not compete with the commits measured on either database.
        connection.execute(text("CHECKPOINT"))
    engine.dispose()
    return time.perf_counter() - began


def _kinds_table(connection):
    from sqlalchemy import MetaData, Table

    return Table("bench_kinds", MetaData(), autoload_with=connection)


def sizes(url: URL) -> dict[str, tuple[int, int, int]]:
    """Rows, table bytes (with TOAST) and index bytes of each table."""
    engine = create_engine(url)
    found = {}
    with engine.connect() as connection:
        for table in TABLES:
            rows = connection.scalar(text(f"SELECT count(*) FROM {table}"))  # noqa: S608 (TABLES, a constant)
            data = connection.scalar(text(f"SELECT pg_table_size('{table}')"))
            indexes = connection.scalar(text(f"SELECT pg_indexes_size('{table}')"))
            found[table] = (rows, data, indexes)
    engine.dispose()
    return found


# --- measuring --------------------------------------------------------------------------------------------


def staff_paths(url: URL) -> dict[str, list[str]]:
    """The GET paths of each staff target: the last day's inquiries and those of them with audit events."""
    engine = create_engine(url)
    with engine.connect() as connection:
        recent = connection.scalars(
            text("SELECT id FROM inquiries WHERE received_at > now() - interval '1 day' ORDER BY id LIMIT 200")
        ).all()
        audited = connection.scalars(
            text(
                "SELECT DISTINCT inquiry_id FROM audit_events WHERE inquiry_id IS NOT NULL"
                " AND at > now() - interval '3 days' ORDER BY inquiry_id LIMIT 200"
            )
        ).all()
    engine.dispose()
    if not recent or not audited:
        raise SystemExit("the generated data has no recent inquiry or no audit event to show")
    return {
        "queue, first page": ["/v1/admin/inquiries"],
        "queue, one site": ["/v1/admin/inquiries?location=north"],
        "inquiry page": [f"/v1/admin/inquiries/{inquiry}" for inquiry in recent],
        "audit by actor": [f"/v1/admin/audit?actor={STAFF[2].replace(' ', '%20')}"],
        "audit by inquiry": [f"/v1/admin/audit?inquiry_id={inquiry}" for inquiry in audited],
    }


def claim_latencies(url: URL, jobs: int) -> dict:
    """The booking worker's claim (``booking_queue.take_next``) of ``jobs`` due inquiries, one at a time, each
    settled (untimed) before the next, as a worker does; p50, p99 (ms) and claims per second.

    The backlog is one as it builds up: inquiries received a second apart over the last hour, each due since it
    arrived. (Until 2026-12-07 all ``jobs`` shared one time to the microsecond, a tie no real backlog has: each
    claim then read the row versions the claims before it had left, and the year/day-one ratio swung 0.96-1.93x
    with autovacuum's timing on day one's small table.)
    """
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO inquiries (id, idempotency_key, body_sha256, content_type, raw_body, payload, status,"
                " received_at, updated_at, booking_attempts, next_attempt_at)"
                " SELECT gen_random_uuid(), 'claim-' || n || '-' || gen_random_uuid(), '', 'application/json',"
                " convert_to('{}', 'UTF8'), '{\"message\": \"claim\"}'::json, 'pending_booking',"
                " now() - interval '1 hour' + n * interval '1 second', now(), 0,"
                " now() - interval '1 hour' + n * interval '1 second'"
                " FROM generate_series(1, :jobs) AS n"
            ),
            {"jobs": jobs},
        )
    engine.dispose()
    db = Database(url)
    routing = SimpleNamespace(policy=QueuePolicy())  # take_next reads only the lease
    spent = []
    try:
        for _ in range(jobs):
            with db.session() as session:
                began = time.perf_counter()
                job = booking_queue.take_next(session, routing, datetime.now(UTC))
                spent.append(time.perf_counter() - began)
                if job is None:
                    raise SystemExit("the claim found nothing due")
                with session.begin():
                    session.execute(
                        text("UPDATE inquiries SET status = 'booked', lease_until = NULL WHERE id = :id"),
                        {"id": job.inquiry_id},
                    )
    finally:
        db.dispose()
    spent.sort()
    return {
        "rps": len(spent) / sum(spent),
        "p50": statistics.median(spent) * 1000,
        "p99": spent[min(len(spent) - 1, int(len(spent) * 0.99))] * 1000,
    }


def measure(urls: dict[str, URL], tokens: dict[str, str], seconds: int, rounds: int, jobs: int) -> dict:
    """Every target on every database, the databases in turn per target; medians over ``rounds``.

    The databases take turns going first (day one in odd rounds, the year in even ones): whatever the one
    measured first leaves behind (autovacuum, a checkpoint, the WAL of its writes) then weighs on each in turn.
    """
    results: dict[str, dict[str, list[dict]]] = {target: {name: [] for name in urls} for target in TARGETS}
    results["booking claim"] = {name: [] for name in urls}
    servers = {}
    post, staff_get = str(REPO / "bench" / "intake_post.lua"), str(REPO / "bench" / "staff_get.lua")
    database_pid = _database_server_pid(next(iter(urls.values())).render_as_string(hide_password=False))
    workdir = Path(tempfile.mkdtemp(prefix="scale-bench-"))
    try:
        for name, url in urls.items():
            env = {
                **os.environ,
                "DATABASE_URL": url.render_as_string(hide_password=False),
                "LOG_LEVEL": "WARNING",
                "ROUTING_RATE_LIMIT_INTAKE": "100000000/minute",
            }
            servers[name] = _serve("wsgi:app", env, None)
        for round_ in range(rounds):
            order = list(urls) if round_ % 2 == 0 else list(reversed(urls))
            for name in order:
                server, base = servers[name]
                _wrk(base + "/v1/inquiries", 1, post)  # warm up: connections, caches, the first requests' imports
                results["intake"][name].append(_measure(server, base + "/v1/inquiries", seconds, post, database_pid))
            paths = {name: staff_paths(url) for name, url in urls.items()}
            for target in TARGETS[1:]:
                for name in order:
                    server, base = servers[name]
                    listing = workdir / f"{name}-{TARGETS.index(target)}.txt"
                    listing.write_text("\n".join(paths[name][target]) + "\n")
                    os.environ["BENCH_PATHS"], os.environ["BENCH_TOKEN"] = str(listing), tokens[name]
                    first = paths[name][target][0]
                    _wrk(base + first, 1, staff_get)  # warm up
                    results[target][name].append(_measure(server, base + first, seconds, staff_get, database_pid))
            for name in order:
                results["booking claim"][name].append(claim_latencies(urls[name], jobs))
    finally:
        for server, _ in servers.values():
            server.terminate()
            server.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)
    return {target: {name: _summary(runs) for name, runs in by_db.items()} for target, by_db in results.items()}


def _summary(runs: list[dict]) -> dict:
    """Medians of the runs' figures; CPU per request (web workers and database, ms) when measured; non-2xx."""
    summary = {key: statistics.median(run[key] for run in runs) for key in ("rps", "p50", "p99")}
    cpu = [
        run["app_ms"] + run["db_ms"] for run in runs if run.get("app_ms") is not None and run.get("db_ms") is not None
    ]
    summary["cpu_ms"] = statistics.median(cpu) if cpu else None
    summary["failed"] = sum(run.get("failed", 0) for run in runs)
    return summary


def explain(url: URL) -> None:
    """The queue's statements as the service sends them, under EXPLAIN (ANALYZE, BUFFERS): unfiltered and by site."""
    db = Database(url)
    queues = (("first page", staff_queue.QueueFilter()), ("one site", staff_queue.QueueFilter(location="north")))
    for label, filters in queues:
        seen: list[tuple[str, object]] = []

        def capture(conn, cursor, statement, parameters, context, executemany, seen=seen):
            seen.append((statement, parameters))

        event.listen(db.engine, "before_cursor_execute", capture)
        with db.session() as session:
            staff_queue.queue_page(session, filters)
        event.remove(db.engine, "before_cursor_execute", capture)
        queue_statements = [(sql, params) for sql, params in seen if "FROM inquiries" in sql]
        for statement, parameters in queue_statements[:2]:  # the bounded count, then the page
            kind = "count" if "count(*)" in statement else "page"
            print(f"\nEXPLAIN (ANALYZE, BUFFERS) of the queue's {kind} query, {label}:")
            with db.engine.connect() as connection:
                raw = connection.connection.dbapi_connection
                with raw.cursor() as cursor:
                    cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
                    for (line,) in cursor.fetchall():
                        print("  " + line)
    db.dispose()


# --- the report -------------------------------------------------------------------------------------------


def report(figures: dict, names: tuple[str, str]) -> bool:
    """The table, year beside day one; True when every goal is met."""
    empty, year = names
    print(
        f"\n{'target':18} {'p50/p99 ms, day one':>20} {'year':>15} {'req/s, day one':>15} {'year':>6}"
        f" {'CPU ms/req, day one':>20} {'year':>5} {'year/day one':>13}  goal"
    )
    met = True
    for target, by_db in figures.items():
        a, b = by_db[empty], by_db[year]
        # The worst of p50, p99 and time per request (1 / req/s): a slower figure of any kind counts.
        factor = max(b["p50"] / a["p50"], b["p99"] / a["p99"], a["rps"] / b["rps"])
        ok = factor <= FACTOR_GOAL
        goal = f"<= {FACTOR_GOAL}x"
        if target in P99_GOAL:
            ok = ok and b["p99"] <= P99_GOAL[target]
            goal += f", p99 <= {P99_GOAL[target]} ms"
        failed = f"  non-2xx {a['failed'] + b['failed']:.0f}" if a["failed"] + b["failed"] else ""
        met = met and ok and not failed
        cpu = (
            f"{'-':>20} {'-':>5}"
            if a["cpu_ms"] is None or b["cpu_ms"] is None
            else f"{a['cpu_ms']:20.1f} {b['cpu_ms']:5.1f}"
        )
        print(
            f"{target:18} {a['p50']:11.1f} /{a['p99']:7.1f} {b['p50']:6.1f} /{b['p99']:7.1f} {a['rps']:15,.0f}"
            f" {b['rps']:6,.0f} {cpu} {factor:12.2f}x  {goal}: {'OK' if ok else 'OVER'}{failed}"
        )
    return met


def main() -> None:
    """Generate day one and the year, measure both, print the table (and the queue's plans with ``--explain``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inquiries", type=int, default=500_000, help="inquiries in the year (default 500,000)")
    parser.add_argument("--seconds", type=int, default=10, help="load per target and database")
    parser.add_argument("--rounds", type=int, default=1, help="measure everything this many times; medians")
    parser.add_argument("--claims", type=int, default=500, help="due inquiries claimed per database")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN (ANALYZE, BUFFERS) of the queue query")
    parser.add_argument("--fast", action="store_true", help="the tests' short run: 3,650 inquiries, 1 s per target")
    args = parser.parse_args()
    if args.fast:
        args.inquiries, args.seconds, args.rounds, args.claims = 3_650, 1, 1, 50
    base = make_url(os.environ["BENCH_DATABASE_URL"])
    if base.get_backend_name() != "postgresql":
        raise SystemExit("the scale benchmark runs on PostgreSQL, the production database")
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (bench/run_scale_bench.sh installs it)")
    names = ("day one", "year")
    urls = {names[0]: _database(base, f"{base.database}_day_one"), names[1]: _database(base, f"{base.database}_year")}
    print(f"database postgresql, {os.cpu_count()} cores, a year of {args.inquiries:,} inquiries at 5 sites")
    try:
        met = _run(args, urls, names)
    finally:
        for url in urls.values():
            _drop(url)
    print(f"every goal met: {'OK' if met else 'NO'}")


def _run(args: argparse.Namespace, urls: dict[str, URL], names: tuple[str, str]) -> bool:
    tokens = {name: prepare(url, 1 if name == names[0] else 365) for name, url in urls.items()}
    triaged = kinds(KINDS)
    day = max(args.inquiries // 365, 100)
    seconds = generate(urls[names[0]], day, 1, "day-", triaged)
    print(f"day one: {day:,} inquiries in {seconds:.1f} s")
    seconds = generate(urls[names[1]], args.inquiries, 365, "year-", triaged)
    print(f"year: {args.inquiries:,} inquiries in {seconds:.1f} s ({args.inquiries / seconds:,.0f}/s)")
    print("\nthe year's tables:   rows        table      indexes")
    for table, (rows, data, indexes) in sizes(urls[names[1]]).items():
        print(f"  {table:18} {rows:>10,} {data / 2**20:9.1f} MB {indexes / 2**20:9.1f} MB")
    if args.explain:
        explain(urls[names[1]])
    figures = measure(urls, tokens, args.seconds, args.rounds, args.claims)
    met = report(figures, names)
    print(
        f"\nwrk -t2 -c8, {args.seconds} s per target and database, gunicorn -w 2; booking claim in process, "
        f"one at a time ({args.claims} claims); ratio = the worst of p50, p99 and 1/req/s; CPU = web workers + database"
    )
    return met


if __name__ == "__main__":
    main()
