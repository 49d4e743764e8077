"""A month of a busy clinic, replayed with the waitlist and without it: freed slots refilled, waits by urgency.

Usage: ``python bench/waitlist_month.py [--days 30] [--seed 22] [--load 1.3]`` (a throwaway SQLite database per
run), or ``bash bench/run_waitlist_bench.sh`` (a throwaway durable PostgreSQL; ``--postgres URL`` names a server
where the bench creates and drops its own databases). The waitlist's policy is the ``ROUTING_WAITLIST_*`` settings
in the environment, as in production (e.g. ``ROUTING_WAITLIST_BOOK_URGENT=on``).

The clinic is the demo timetable (consults every weekday, imaging three days, injections two afternoons). Patients
write in during opening hours, a Poisson number an hour at ``--load`` times the timetable's capacity, with messages
that triage to a known route and urgency; some cancel, some answer waitlist offers (accept or decline, after a
while), some never do (see ``bench/waitlist_clinic.py``). Everything runs through the real services (intake,
``staff_actions.cancel_booked``, ``waitlist.refill`` every ``--refill-minutes``, ``waitlist_answers``) on a real
database, with the simulated time passed as ``now``. The month is played twice with the same seed, so the same
patients write at the same moments and behave the same way: once with the waitlist, once with
``WaitlistPolicy(enabled=False)``. A warm-up before the month fills the books as a running clinic's are; a cool-down
after it lets the month's inquiries reach their end (booked, or their window passed) while new ones keep coming.

Why the defaults. ``--load 1.3``: about 12 % of bookings are cancelled and their slots mostly rebooked, so at 1.0 to
1.2 times the capacity the books never fill (a routine patient waits about a day) and hardly a list forms; at 1.3
(1.14 net of cancellations) the near days are full and the list holds a few entries all month, as in a busy clinic.
``--refill-minutes 5``: the worker runs the waitlist every 30 s in production, but one run is about ten queries and
a month has 15,000 five-minute ticks, most of the run's time; offers last 30 min at the shortest, so one passes on
at most 5 min late. The month's figures came out the same, to the last offer, with ``--refill-minutes 1``.

Prints one table: slots freed by cancellations and what became of them, offers and their answers, the median and
90th percentile wait from inquiry to appointment by urgency, the waitlist's length per route, the inquiries left to
staff; then checks over the whole run that nothing impossible happened (a slot booked twice, an offer outside its
window), and exits non-zero if something did.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.waitlist_clinic import (  # noqa: E402
    AWAKE,
    OPEN,
    OPEN_HOURS_PER_WEEK,
    Behaviour,
    Clinic,
    check_messages,
    draw_patients,
    weekly_capacity,
)
from bench.waitlist_figures import URGENCIES, Figures, median, p90, read_figures, settled  # noqa: E402
from routing.adapters.db import migrations  # noqa: E402
from routing.adapters.db.database import Database  # noqa: E402
from routing.config import load_settings  # noqa: E402
from routing.services.schedule import seed_demo_schedule  # noqa: E402
from routing.wiring import Wiring, wire  # noqa: E402


@dataclasses.dataclass(frozen=True)
class Month:
    """The simulated period: a warm-up, the month measured, a cool-down."""

    first_day: date
    days: int
    warmup_days: int
    cooldown_days: int

    @property
    def begins(self) -> date:
        return self.first_day - timedelta(days=self.warmup_days)

    @property
    def total_days(self) -> int:
        return self.warmup_days + self.days + self.cooldown_days


def _database(postgres: str | None, name: str, folder: Path) -> URL:
    """A new empty database for one run: a SQLite file, or a database created on the PostgreSQL server."""
    if postgres is None:
        return make_url(f"sqlite:///{folder / name}.sqlite3")
    server = make_url(postgres)
    database = f"waitlist_month_{name}_{uuid.uuid4().hex[:8]}"
    _admin(server, f'CREATE DATABASE "{database}"')
    return server.set(database=database)


def _drop(url: URL, postgres: str | None) -> None:
    if postgres is not None:
        _admin(make_url(postgres), f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')


def _admin(server: URL, statement: str) -> None:
    engine = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(statement))
    finally:
        engine.dispose()


def run_month(wiring: Wiring, url: URL, month: Month, args: argparse.Namespace, behaviour: Behaviour, on: bool):
    """One run on a new database: migrate, seed the timetable, play the patients. Its figures, what the patients
    did, the wall time, the routing it ran with, and how many days it simulated."""
    migrations.upgrade(url)
    db = Database(url)
    routing = dataclasses.replace(wiring, db=db).routing
    if not on:
        routing = dataclasses.replace(routing, waitlist=dataclasses.replace(routing.waitlist, enabled=False))
    tz = routing.tz
    check_messages(routing, month.first_day)
    longest = max(days for days in routing.rulebook.urgency_windows_days.values() if days is not None)
    # Slots until well after the end, so an inquiry late in the run finds its whole window published.
    seed_demo_schedule(db=db, days=month.total_days + longest + 7, tz=tz, first_day=month.begins)
    patients = draw_patients(args.seed, args.load, behaviour, tz, month.begins, month.total_days)
    start = datetime.combine(month.begins, datetime.min.time(), tz)
    first = start + timedelta(days=month.warmup_days)
    last, end = first + timedelta(days=month.days), start + timedelta(days=month.total_days)
    clinic = Clinic(db, routing, patients, behaviour, timedelta(minutes=args.refill_minutes))
    began = time.perf_counter(), time.process_time()
    stopped = clinic.run(start, end, settled((first, last)))
    seconds = time.perf_counter() - began[0], time.process_time() - began[1]
    with db.session() as session:
        figures = read_figures(session, routing, (first, last), (start, stopped))
    db.dispose()
    return figures, clinic.tally, seconds, routing, (stopped - start) / timedelta(days=1)


def main() -> None:
    """Play the month with and without the waitlist and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30, help="days measured")
    parser.add_argument("--warmup-days", type=int, default=21, help="days played before, to fill the books")
    parser.add_argument("--cooldown-days", type=int, default=21, help="days played after, for the month's inquiries")
    parser.add_argument("--first-day", type=date.fromisoformat, default=date(2027, 3, 1), help="first day measured")
    parser.add_argument("--seed", type=int, default=22)
    parser.add_argument("--load", type=float, default=1.3, help="inquiries a week over the timetable's slots a week")
    parser.add_argument("--refill-minutes", type=float, default=5.0, help="the worker's waitlist period (see above)")
    parser.add_argument("--cancel", type=float, default=Behaviour.cancel, help="share of patients who cancel")
    parser.add_argument("--silent", type=float, default=Behaviour.silent, help="share who never answer an offer")
    parser.add_argument("--accept", type=float, default=Behaviour.accept, help="share of answers that accept")
    parser.add_argument("--answer-minutes", type=float, default=Behaviour.answer_minutes, help="mean answer delay")
    parser.add_argument("--postgres", metavar="URL", help="a PostgreSQL server to create the runs' databases on")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # the services' own events would drown the table
    behaviour = Behaviour(
        cancel=args.cancel, silent=args.silent, accept=args.accept, answer_minutes=args.answer_minutes
    )
    month = Month(args.first_day, args.days, args.warmup_days, args.cooldown_days)

    # The rulebook, reader and settings are built once (compiling the reader's lexicons takes seconds); each run
    # gets its own database. ROUTING_WAITLIST_* in the environment change the policy, as in production.
    settings = load_settings({"DATABASE_URL": "sqlite://", "ROUTING_SCHEDULER": "embedded"})
    wiring = wire(settings)
    results = {}
    with tempfile.TemporaryDirectory(prefix="waitlist-month-") as folder:
        for name, on in (("waitlist", True), ("no_waitlist", False)):
            url = _database(args.postgres, name, Path(folder))
            try:
                results[name] = run_month(wiring, url, month, args, behaviour, on)
            finally:
                _drop(url, args.postgres)
    on, on_tally, on_seconds, routing, on_days = results["waitlist"]
    off, off_tally, off_seconds, _, off_days = results["no_waitlist"]
    backend = "postgresql" if args.postgres else "sqlite"
    _print_parameters(args, month, behaviour, routing, backend, (on_seconds, off_seconds), (on_days, off_days))
    _print_table(on, off, on_tally, off_tally)
    problems = on.problems + off.problems
    print(
        f"\nconsistency over both runs ({on.checks + off.checks:,} rows checked): {'OK' if not problems else 'FAILED'}"
    )
    for problem in problems[:20]:
        print("  " + problem)
    if problems:
        raise SystemExit(1)


def _print_parameters(args, month: Month, behaviour: Behaviour, routing, backend: str, seconds, days) -> None:
    capacity = weekly_capacity(routing.tz, month.first_day - timedelta(days=month.first_day.weekday()))
    weekly = sum(capacity.values())
    policy = routing.waitlist
    print(
        f"waitlist month, seed {args.seed}: {month.days} days from {month.first_day:%a %Y-%m-%d} ({routing.tz.key}), "
        f"after {month.warmup_days} days of warm-up, then a cool-down until the month's inquiries and freed slots "
        f"are settled (at most {month.cooldown_days} days)"
    )
    shares = ", ".join(f"{kind} {n}" for kind, n in sorted(capacity.items()))
    print(
        f"demand {args.load:.2f} x capacity ({weekly} slots a week: {shares}) = "
        f"{args.load * weekly / OPEN_HOURS_PER_WEEK:.1f} inquiries an hour, Mon-Fri {OPEN[0]:%H}-{OPEN[1]:%H}"
    )
    print(
        f"patients: {behaviour.cancel:.0%} cancel, {behaviour.silent:.0%} never answer an offer, "
        f"{behaviour.accept:.0%} of answers accept, after {behaviour.answer_minutes:.0f} min on average "
        f"(awake {AWAKE[0]:%H}-{AWAKE[1]:%H}), {behaviour.unavailable:.0%} give a time that does not suit them"
    )
    print(
        f"waitlist: offers last {_minutes(policy.offer_time)} ({_minutes(policy.short_offer_time)} within "
        f"{_minutes(policy.soon_slot)} of the slot), notice {_minutes(policy.notice)}, after "
        f"{policy.max_unanswered} unanswered offers to staff, urgent booked directly: "
        f"{'yes' if policy.book_urgent_directly else 'no'}; the worker refills every {args.refill_minutes:g} min"
    )
    (on_wall, on_cpu), (off_wall, off_cpu) = seconds
    print(
        f"database {backend}; simulated {days[0]:.0f} days in {on_wall:.0f} s with the waitlist "
        f"({on_cpu:.0f} s of this process's CPU), {days[1]:.0f} in {off_wall:.0f} s without ({off_cpu:.0f} s)"
    )


def _minutes(span: timedelta) -> str:
    minutes = span / timedelta(minutes=1)
    return f"{minutes / 60:g} h" if minutes >= 60 else f"{minutes:g} min"


def _print_table(on: Figures, off: Figures, on_tally, off_tally) -> None:
    print(f"\n{'':52}{'waitlist':>14}{'no waitlist':>14}{'difference':>14}")

    def row(label: str, a, b, diff: str | None = None) -> None:
        if diff is None and isinstance(a, int | float) and isinstance(b, int | float):
            diff = f"{a - b:+g}"
        print(f"{label:52}{_cell(a):>14}{_cell(b):>14}{diff or '':>14}")

    row("inquiries in the month", on.inquiries, off.inquiries)
    row("  " + ", ".join(f"{u} {on.by_urgency.get(u, 0)}" for u in URGENCIES), "", "")
    row("slots starting in the month", on.slots, off.slots)
    row("  nobody came (empty)", on.slots_empty, off.slots_empty)
    row("appointments cancelled in the month (slots freed)", on.freed, off.freed)
    row("  refilled from the waitlist", on.refilled_from_list, off.refilled_from_list)
    row("  booked again by a new inquiry", on.refilled_by_new, off.refilled_by_new)
    row("  slots refilled, in all", on.refilled(), off.refilled())
    row("  left empty when their time came", on.left_empty, off.left_empty)
    row("    of which freed within the notice (2 h)", on.left_empty_late, off.left_empty_late)
    if on.not_yet or off.not_yet:
        row("  not started when the run ended", on.not_yet, off.not_yet)
    made = sum(on.offers.values())
    row("waitlist offers made in the month", made, "-")
    for status in ("accepted", "declined", "expired", "withdrawn", "open"):
        if on.offers.get(status) or status != "open":
            row(f"  {status}", on.offers.get(status, 0), "-", _share(on.offers.get(status, 0), made))
    row("  made at night (22-07)", on.offers_at_night, "-", _share(on.offers_at_night, made))
    row("  answers that came too late", on_tally.answers["too late"], "-")
    row("booked in their window (intake or waitlist)", _booked(on), _booked(off), f"{_booked(on) - _booked(off):+d}")
    for urgency in URGENCIES:
        a, b, n = _booked(on, urgency), _booked(off, urgency), on.by_urgency.get(urgency, 0)
        row(f"  {urgency}: of {n}", f"{a} ({_share(a, n)})", f"{b} ({_share(b, n)})", f"{a - b:+d}")
    row("  of which from the waitlist", sum(on.booked_from_list.values()), sum(off.booked_from_list.values()))
    row("left to staff (never booked)", sum(on.left_to_staff.values()), sum(off.left_to_staff.values()))
    for urgency in URGENCIES:
        row(f"  {urgency}", on.left_to_staff[urgency], off.left_to_staff[urgency])
    for reason in sorted(set(on.staff_reasons) | set(off.staff_reasons)):
        row(f"  {reason}", on.staff_reasons[reason], off.staff_reasons[reason])
    print("wait from inquiry to appointment, days: median (p90), of those booked")
    for urgency in URGENCIES:
        a, b = on.waits.get(urgency, []), off.waits.get(urgency, [])
        diff = f"{median(a) - median(b):+.1f}" if a and b else ""
        row(f"  {urgency}", _wait(a), _wait(b), diff)
    print("waitlist length, entries: mean (max) over the month")
    for route in (*on.length_mean,):
        row(f"  {route}", f"{on.length_mean[route]:.1f} ({on.length_max[route]})", "-")
    days = on.days_on_list_booked
    row("days on the list before booked: median (p90)", _wait(days), "-")


def _booked(figures: Figures, urgency: str | None = None) -> int:
    urgencies = URGENCIES if urgency is None else (urgency,)
    return sum(figures.booked_at_intake[u] + figures.booked_from_list[u] for u in urgencies)


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "-"


def _wait(values: list[float]) -> str:
    return "-" if not values else f"{median(values):.1f} ({p90(values):.1f})"


def _cell(value) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


if __name__ == "__main__":
    main()
