"""Command-line tools: ``flask --app wsgi db ...``, ``schedule ...``, ``staff ...``, ``demo ...``, ``retention ...``
and ``worker``."""

from __future__ import annotations

import functools
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import ParamSpec, TypeVar

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext

from routing.adapters.db import migrations
from routing.adapters.db.types import utcnow
from routing.domain.vocabulary import StaffRole
from routing.services import audit, rulebook_preview, waitlist
from routing.services.booking_queue import queue_depth, run_worker
from routing.services.schedule import seed_demo_schedule
from routing.services.staff_tokens import UnknownStaff, create_token, list_tokens, parse_duration, revoke_token
from routing.wiring import Wiring

P = ParamSpec("P")
R = TypeVar("R")

#: How to bring the schema to head, spelled so it works outside an activated virtualenv.
UPGRADE_COMMAND = ".venv/bin/flask --app wsgi db upgrade"


def _wiring() -> Wiring:
    from flask import current_app

    return current_app.extensions["routing"]


@with_appcontext
def require_schema() -> None:
    """Stop with one line naming the fix when the database's schema is not the code's (not migrated yet).

    Every command but ``db ...`` needs the tables; without them SQLAlchemy's error is a long traceback.
    """
    with _wiring().db.engine.connect() as connection:
        current = migrations.current_revision(connection)
    head = migrations.head_revision()
    if current != head:
        raise click.ClickException(
            f"the database schema is at revision {current or 'none'}, the code needs {head}: run `{UPGRADE_COMMAND}`"
        )


def needs_schema(command: Callable[P, R]) -> Callable[P, R]:
    """Decorate a command (below its options) to run :func:`require_schema` first.

    After option parsing, so ``--help`` and usage errors still answer on an empty database.
    """

    @functools.wraps(command)
    def checked(*args: P.args, **kwargs: P.kwargs) -> R:
        require_schema()
        return command(*args, **kwargs)

    return checked


@contextmanager
def quiet_when_run_from_cli() -> Iterator[None]:
    """Around ``create_app()``: under the ``flask`` command, drop the console's session-key warning.

    A CLI command serves no console session, so "ROUTING_SECRET_KEY is not set" would only be noise on
    every command. Under gunicorn there is no click context and the warning stays.
    """
    if click.get_current_context(silent=True) is None:
        yield
        return
    app_logger = logging.getLogger("routing")
    app_logger.addFilter(_not_the_secret_key_warning)
    try:
        yield
    finally:
        app_logger.removeFilter(_not_the_secret_key_warning)


def _not_the_secret_key_warning(record: logging.LogRecord) -> bool:
    return "ROUTING_SECRET_KEY" not in str(record.msg)


db_cli = AppGroup("db", help="Database schema (Alembic migrations).")
schedule_cli = AppGroup("schedule", help="The embedded scheduler's slots.")


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    migrations.upgrade(_wiring().db.url, revision)
    click.echo(f"Database at revision {revision}.")


@db_cli.command("downgrade")
@click.argument("revision")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def db_downgrade(revision: str, yes: bool) -> None:
    """Revert migrations down to REVISION ('base' drops every table and all patient data)."""
    if not yes:
        # abort=True: anything but "y" (or no terminal) stops here with a non-zero exit.
        loses = "every table and all patient data" if revision == "base" else "what later migrations added"
        click.confirm(f"Revert the schema to {revision}, dropping {loses}?", abort=True)
    migrations.downgrade(_wiring().db.url, revision)
    click.echo(f"Database at revision {revision}.")


@db_cli.command("current")
def db_current() -> None:
    """Print the database's revision and the newest one in the code."""
    with _wiring().db.engine.connect() as connection:
        current = migrations.current_revision(connection)
    click.echo(f"current: {current or 'none'}\nhead: {migrations.head_revision()}")


#: ``on`` (default) or ``off``: whether serve.sh and the container seed demo slots on the embedded scheduler.
DEMO_SLOTS_ENV = "ROUTING_DEMO_SLOTS"


def _demo_slots_off(wiring: Wiring) -> str | None:
    """Why ``--if-demo-slots`` seeds nothing, or None when it seeds."""
    if wiring.scheduler.name != "embedded":
        return f"the {wiring.scheduler.name} scheduler keeps its own slots"
    value = os.environ.get(DEMO_SLOTS_ENV, "on").strip().lower() or "on"
    if value not in ("on", "off"):
        raise click.ClickException(f"{DEMO_SLOTS_ENV} must be 'on' or 'off', not {value!r}")
    return f"{DEMO_SLOTS_ENV}=off" if value == "off" else None


@schedule_cli.command("seed")
@click.option("--days", type=click.IntRange(1, 366), default=7, show_default=True, help="Calendar days to fill.")
@click.option(
    "--start",
    "start",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="First day (YYYY-MM-DD, clinic time). Default: tomorrow.",
)
@click.option(
    "--if-demo-slots",
    "gated",
    is_flag=True,
    help=f"Seed only with the embedded scheduler and {DEMO_SLOTS_ENV} not 'off' (serve.sh and the container).",
)
@needs_schema
def schedule_seed(days: int, start: datetime | None, gated: bool) -> None:
    """Fill the embedded scheduler with demo slots (consult, imaging, injection) in clinic hours.

    Safe to re-run: existing slots are kept, missing ones added.
    """
    wiring = _wiring()
    if gated and (reason := _demo_slots_off(wiring)):
        click.echo(f"No demo slots: {reason}.")
        return
    tz = wiring.settings.timezone
    first_day: date = start.date() if start else datetime.now(tz).date() + timedelta(days=1)
    added, free = seed_demo_schedule(db=wiring.db, days=days, tz=tz, first_day=first_day)
    if added:  # new slots: offer them to the waitlist now rather than at the worker's next run
        with wiring.db.session() as session:
            waitlist.refill_after_freeing(session, wiring.routing, utcnow())
    summary = ", ".join(f"{slot_type} {count}" for slot_type, count in sorted(free.items())) or "none"
    click.echo(f"Added {added} slots from {first_day.isoformat()} for {days} days. Free slots now: {summary}.")


@click.command("worker")
@click.option("--until-idle", is_flag=True, help="Stop when no booking is due (for cron jobs and tests).")
@click.option(
    "--idle-sleep", type=click.FloatRange(0.01, 60), default=1.0, show_default=True, help="Seconds between polls."
)
@with_appcontext
@needs_schema
def worker(until_idle: bool, idle_sleep: float) -> None:
    """Book inquiries left pending (scheduler down, crash), with backoff, and deliver the outbox (webhooks,
    alerts) and run rulebook impact previews in threads beside it; run as many processes as needed. Also runs the
    waitlist and, with ROUTING_RETENTION_TEXT_DAYS set, the removal of patients' free text past it.

    Stops cleanly on SIGTERM or Ctrl-C after the job and the sends in hand.
    """
    wiring = _wiring()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    channels = ", ".join(channel.name for channel in wiring.channels)
    with wiring.db.session() as session:
        click.echo(
            f"worker started ({wiring.scheduler.name} scheduler); {queue_depth(session)} pending; outbox: {channels}"
        )
    outbox = wiring.outbox_worker()
    # Its own thread: a booking waiting on a slow scheduling system never holds up an alert.
    deliverer = None if until_idle else threading.Thread(target=outbox.run, args=(stop,), name="outbox", daemon=True)
    if deliverer is not None:
        deliverer.start()
    # Impact previews in a thread of their own too: a replay of a long period takes a minute, bookings go on.
    replay = _replay_settings(wiring)
    previews = threading.Thread(
        target=rulebook_preview.work, args=(wiring.db.session, replay, stop, idle_sleep), name="previews", daemon=True
    )
    if not until_idle:
        previews.start()
    done = run_worker(
        wiring.db.session,
        wiring.routing,
        stop=stop,
        idle_sleep=idle_sleep,
        until_idle=until_idle,
        reconcile_every=timedelta(seconds=wiring.settings.reconcile_seconds),
        waitlist_every=timedelta(seconds=wiring.settings.waitlist_seconds),
        text_retention=wiring.settings.retention,
    )
    if deliverer is None:
        sent = outbox.drain()
        rulebook_preview.run_pending(wiring.db.session, replay)
    else:
        stop.set()
        deliverer.join(timeout=wiring.settings.outbox.lease_seconds)
        previews.join(timeout=rulebook_preview.LEASE.total_seconds())
        sent = None
    click.echo(f"worker stopped after {done} jobs" + (f" and {sent} deliveries" if sent is not None else ""))


def _replay_settings(wiring: Wiring) -> rulebook_preview.ReplaySettings:
    url = wiring.settings.database_url.render_as_string(hide_password=False)
    settings = wiring.settings
    return rulebook_preview.ReplaySettings(url, processes=settings.preview_processes, duty=settings.preview_duty)


staff_cli = AppGroup("staff", help="Staff API tokens (only their hashes are stored).")
CLI_ACTOR = "command line"


@staff_cli.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice([r.value for r in StaffRole]), default="staff", show_default=True)
@click.option(
    "--expires-in",
    "expires_in",
    default=None,
    metavar="DURATION",
    help="Refuse the token after this long: 90m, 12h, 30d or 2w (default: until revoked).",
)
@needs_schema
def staff_create(name: str, role: str, expires_in: str | None) -> None:
    """Create a token for NAME and print it (the only time it is shown)."""
    try:
        lifetime = parse_duration(expires_in) if expires_in is not None else None
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--expires-in") from None
    with _wiring().db.session() as session, session.begin():
        row, token = create_token(session, name, role, expires_in=lifetime)
        details = {"token_id": str(row.id), "name": name, "role": role}
        if row.expires_at is not None:
            details["expires_at"] = row.expires_at.isoformat()
        audit.record(session, None, "token.create", details=details, actor_name=CLI_ACTOR)
    until = f", valid until {row.expires_at:%Y-%m-%d %H:%M} UTC" if row.expires_at else ""
    click.echo(f"Token for {name} ({role}){until}, id {row.id}. Store it now; it is not shown again:\n{token}")


@staff_cli.command("revoke")
@click.argument("id_or_name")
@needs_schema
def staff_revoke(id_or_name: str) -> None:
    """Revoke the token with this id, or every live token of this name."""
    try:
        with _wiring().db.session() as session, session.begin():
            rows = revoke_token(session, id_or_name)
            for row in rows:
                audit.record(session, None, "token.revoke", details={"token_id": str(row.id)}, actor_name=CLI_ACTOR)
    except UnknownStaff:
        raise click.ClickException(f"No live token with id or name {id_or_name!r}.") from None
    click.echo(f"Revoked {len(rows)} token(s).")


@staff_cli.command("list")
@needs_schema
def staff_list() -> None:
    """Every token: id, name, role, created, revoked or when it expires, last used (UTC)."""
    with _wiring().db.session() as session:
        for row in list_tokens(session):
            if row.revoked_at:
                state = f"revoked {row.revoked_at:%Y-%m-%d %H:%M}"
            else:
                state = f"expires {row.expires_at:%Y-%m-%d %H:%M}" if row.expires_at else "live, no expiry"
            used = f"last used {row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else "never used"
            created = f"created {row.created_at:%Y-%m-%d %H:%M}"
            click.echo(f"{row.id}  {row.name:20}  {row.role:6}  {created}  {state}  {used}")


demo_cli = AppGroup("demo", help="Example data for a first look (never on a clinic's real database).")


@demo_cli.command("seed-inquiries")
@click.option(
    "--count", type=click.IntRange(1, 200), default=10, show_default=True, help="Example inquiries to deliver."
)
@needs_schema
def demo_seed_inquiries(count: int) -> None:
    """Fill the queue with example inquiries (English and Spanish, every route, emergencies, a hold).

    They go through the real intake: stored, triaged, booked or held as any web-form inquiry. Safe to
    re-run: each example has a fixed webhook id, so one already delivered is not added again. Run
    ``schedule seed`` first so the examples that should be booked find slots.
    """
    from routing.services.demo_inquiries import seed_demo_inquiries  # only this command needs the examples

    wiring = _wiring()
    added, statuses = seed_demo_inquiries(sessions=wiring.db.session, routing=wiring.routing, count=count)
    summary = ", ".join(f"{status} {number}" for status, number in sorted(statuses.items()))
    click.echo(f"Delivered {count} example inquiries ({added} new). By status: {summary}.")


retention_cli = AppGroup("retention", help="Removing patients' free text past ROUTING_RETENTION_TEXT_DAYS.")


@retention_cli.command("run")
@click.option("--dry-run", is_flag=True, help="Only count the inquiries whose text is due for removal.")
@needs_schema
def retention_run(dry_run: bool) -> None:
    """Remove the free text of every inquiry past the retention now (the worker does it every few minutes).

    Keeps facts, decisions, appointments and the audit trail; see docs/retention.md. Safe to re-run.
    """
    from routing.services import retention  # only this command and the worker need it

    wiring = _wiring()
    policy = wiring.settings.retention
    if not policy.enabled:
        raise click.ClickException("ROUTING_RETENTION_TEXT_DAYS is not set: text is kept, nothing is removed.")
    with wiring.db.session() as session:
        done = retention.run(session, policy, utcnow(), dry_run=dry_run)
    before = f"received before {done.cutoff:%Y-%m-%d %H:%M} UTC ({policy.text_days} days)"
    if dry_run:
        click.echo(f"Dry run: text due for removal in {done.due} inquiries {before}; nothing changed.")
    else:
        click.echo(f"Text removed from {done.redacted} inquiries {before}, in {done.batches} batches.")


def register(app: Flask) -> None:
    """Attach the command groups to ``app``."""
    app.cli.add_command(db_cli)
    app.cli.add_command(schedule_cli)
    app.cli.add_command(worker)
    app.cli.add_command(staff_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(retention_cli)
