"""Command-line tools: ``flask --app wsgi db ...``, ``schedule ...`` and ``worker``."""

from __future__ import annotations

import signal
import threading
from datetime import date, datetime, timedelta

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext

from routing.adapters.db import migrations
from routing.services.booking_queue import queue_depth, run_worker
from routing.services.schedule import seed_demo_schedule
from routing.wiring import Wiring

db_cli = AppGroup("db", help="Database schema (Alembic migrations).")
schedule_cli = AppGroup("schedule", help="The embedded scheduler's slots.")


def _wiring() -> Wiring:
    from flask import current_app

    return current_app.extensions["routing"]


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    migrations.upgrade(_wiring().db.url, revision)
    click.echo(f"Database at revision {revision}.")


@db_cli.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION ('base' drops every table)."""
    migrations.downgrade(_wiring().db.url, revision)
    click.echo(f"Database at revision {revision}.")


@db_cli.command("current")
def db_current() -> None:
    """Print the database's revision and the newest one in the code."""
    with _wiring().db.engine.connect() as connection:
        current = migrations.current_revision(connection)
    click.echo(f"current: {current or 'none'}\nhead: {migrations.head_revision()}")


@schedule_cli.command("seed")
@click.option("--days", type=click.IntRange(1, 366), default=7, show_default=True, help="Calendar days to fill.")
@click.option(
    "--start",
    "start",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="First day (YYYY-MM-DD, clinic time). Default: tomorrow.",
)
def schedule_seed(days: int, start: datetime | None) -> None:
    """Fill the embedded scheduler with demo slots (consult, imaging, injection) in clinic hours.

    Safe to re-run: existing slots are kept, missing ones added.
    """
    wiring = _wiring()
    tz = wiring.settings.timezone
    first_day: date = start.date() if start else datetime.now(tz).date() + timedelta(days=1)
    added, free = seed_demo_schedule(db=wiring.db, days=days, tz=tz, first_day=first_day)
    summary = ", ".join(f"{slot_type} {count}" for slot_type, count in sorted(free.items())) or "none"
    click.echo(f"Added {added} slots from {first_day.isoformat()} for {days} days. Free slots now: {summary}.")


@click.command("worker")
@click.option("--until-idle", is_flag=True, help="Stop when no booking is due (for cron jobs and tests).")
@click.option(
    "--idle-sleep", type=click.FloatRange(0.01, 60), default=1.0, show_default=True, help="Seconds between polls."
)
@with_appcontext
def worker(until_idle: bool, idle_sleep: float) -> None:
    """Book inquiries left pending (scheduler down, crash), with backoff; run as many processes as needed.

    Stops cleanly on SIGTERM or Ctrl-C after the job in hand.
    """
    wiring = _wiring()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with wiring.db.session() as session:
        click.echo(f"worker started ({wiring.scheduler.name} scheduler); {queue_depth(session)} pending")
    done = run_worker(wiring.db.session, wiring.routing, stop=stop, idle_sleep=idle_sleep, until_idle=until_idle)
    click.echo(f"worker stopped after {done} jobs")


def register(app: Flask) -> None:
    """Attach the command groups to ``app``."""
    app.cli.add_command(db_cli)
    app.cli.add_command(schedule_cli)
    app.cli.add_command(worker)
