"""The booking queue: inquiries left pending are booked by workers, with backoff, leases and a limit."""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select, text, update

from routing.adapters.db.models import Appointment, Inquiry, Referral, SyncCheckpoint
from routing.adapters.scheduling.embedded import EmbeddedScheduler
from routing.adapters.scheduling.interface import SchedulerUnavailable
from routing.services import booking_queue
from routing.services.route_inquiry import QueuePolicy, Routing
from tests.fake_scheduler import FakeScheduler
from tests.http.intake_helpers import add_slots, busy_slots, counts, inquiry

MRI_MESSAGE = "Back spasms on and off for 3 months. Muscle relaxants didn't help at all."  # p02: imaging


def down_scheduler() -> FakeScheduler:
    """A scheduling system that cannot be reached (the FHIR adapter raises the same after retries)."""
    return FakeScheduler("fhir").failing("find_free_slots", SchedulerUnavailable("down"))


@pytest.fixture
def slots(app):
    add_slots(app, "consult", [26, 27, 28, 29, 50])
    add_slots(app, "imaging", [72], minutes=60)
    return app


def routing_with(app, scheduler, **policy) -> Routing:
    wiring = app.extensions["routing"]
    return Routing(wiring.rulebook, scheduler, wiring.settings.timezone, QueuePolicy(**policy))


def stored(app, inquiry_id) -> Inquiry:
    with app.extensions["routing"].db.session() as session:
        return session.get(Inquiry, uuid.UUID(str(inquiry_id)))


def work(app, routing, now=None):
    with app.extensions["routing"].db.session() as session:
        return booking_queue.work_one(session, routing, now)


def post_while_down(app, client, body=None) -> str:
    app.extensions["routing"].scheduler = down_scheduler()
    response = client.post("/v1/inquiries", json=body or inquiry())
    app.extensions["routing"].scheduler = EmbeddedScheduler()
    assert response.status_code == 202
    return response.get_json()["id"]


def test_an_unreachable_scheduler_leaves_the_inquiry_pending_with_the_attempt_counted(app, client, slots):
    inquiry_id = post_while_down(app, client)

    row = stored(app, inquiry_id)
    assert row.status == "pending_booking"
    assert row.booking_attempts == 1
    assert row.next_attempt_at > datetime.now(UTC)
    assert row.lease_until is None
    assert "scheduling system unavailable" in row.status_detail


def test_the_worker_books_a_pending_inquiry_once_it_is_due(app, client, slots):
    inquiry_id = post_while_down(app, client)
    routing = routing_with(app, EmbeddedScheduler())

    assert work(app, routing) is None  # backing off: not due yet
    outcome = work(app, routing, now=datetime.now(UTC) + timedelta(hours=1))

    assert outcome.status == "booked"
    assert str(outcome.id) == inquiry_id
    assert stored(app, inquiry_id).status == "booked"
    assert counts(app) == (1, 1)
    assert work(app, routing, now=datetime.now(UTC) + timedelta(hours=2)) is None


def test_after_the_last_attempt_the_inquiry_goes_to_staff(app, client, slots):
    inquiry_id = post_while_down(app, client)
    routing = routing_with(app, down_scheduler(), max_attempts=3)
    later = datetime.now(UTC)
    for _ in range(2):
        later += timedelta(days=1)
        assert work(app, routing, now=later) is not None

    row = stored(app, inquiry_id)
    assert row.status == "needs_review"
    assert row.booking_attempts == 3
    assert "gave up after 3 attempts" in row.status_detail
    assert work(app, routing, now=later + timedelta(days=1)) is None


def test_backoff_grows_with_each_failed_attempt(app, client, slots):
    inquiry_id = post_while_down(app, client)
    routing = routing_with(app, down_scheduler(), retry_base=timedelta(minutes=1), max_attempts=10)
    delays = []
    now = datetime.now(UTC)
    for _ in range(4):
        now = stored(app, inquiry_id).next_attempt_at
        work(app, routing, now=now)
        delays.append(stored(app, inquiry_id).next_attempt_at - now)

    # Jittered between half and all of 1, 2, 4, 8 minutes.
    for attempt, delay in enumerate(delays, start=2):
        ceiling = timedelta(minutes=2 ** (attempt - 1))
        assert ceiling / 2 <= delay <= ceiling


def test_a_job_held_by_a_worker_that_died_is_taken_again_when_its_lease_runs_out(app, client, slots):
    inquiry_id = post_while_down(app, client)
    routing = routing_with(app, EmbeddedScheduler(), lease=timedelta(minutes=2))
    due = stored(app, inquiry_id).next_attempt_at
    with app.extensions["routing"].db.session() as session:
        job = booking_queue.take_next(session, routing, due)  # ...and the worker is killed here
    assert str(job.inquiry_id) == inquiry_id

    assert work(app, routing, now=due + timedelta(minutes=1)) is None  # still leased
    outcome = work(app, routing, now=due + timedelta(minutes=3))

    assert outcome.status == "booked"
    assert counts(app) == (1, 1)


def test_an_inquiry_whose_request_died_before_booking_is_picked_up_after_the_lease(app, client, slots):
    # Stored first, then the process died: pending, no decision, leased to the dead request.
    response = client.post("/v1/inquiries", json=inquiry())
    inquiry_id = uuid.UUID(response.get_json()["id"])
    with app.extensions["routing"].db.session() as session, session.begin():
        session.execute(update(Appointment).values(status="cancelled"))
        session.execute(
            update(Inquiry)
            .where(Inquiry.id == inquiry_id)
            .values(
                status="pending_booking",
                next_attempt_at=datetime.now(UTC),
                lease_until=datetime.now(UTC) + timedelta(minutes=2),
            )
        )
    routing = routing_with(app, EmbeddedScheduler())

    assert work(app, routing) is None
    outcome = work(app, routing, now=datetime.now(UTC) + timedelta(minutes=3))

    assert outcome.status == "booked"
    with app.extensions["routing"].db.session() as session:
        keys = session.scalars(select(Appointment.booking_key).where(Appointment.inquiry_id == inquiry_id)).all()
    assert sorted(keys) == sorted([str(inquiry_id), f"{inquiry_id}/2"])  # a new booking, its own key


def test_workers_on_several_threads_never_take_the_same_inquiry(app, client, slots, database_url):
    if database_url.get_backend_name() != "postgresql":
        pytest.skip("SKIP LOCKED is proven on PostgreSQL, the production database")
    ids = {post_while_down(app, client, inquiry(message=f"Back pain after lifting, day {n}.")) for n in range(4)}
    routing = routing_with(app, EmbeddedScheduler())
    later = datetime.now(UTC) + timedelta(days=1)
    taken: list[uuid.UUID] = []
    barrier = threading.Barrier(4)

    def take():
        barrier.wait()
        with app.extensions["routing"].db.session() as session:
            job = booking_queue.take_next(session, routing, later)
        taken.append(job.inquiry_id if job else None)

    threads = [threading.Thread(target=take) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert {str(t) for t in taken} == ids


def test_an_imaging_booking_keeps_the_referral_it_is_based_on(app, client, slots):
    response = client.post("/v1/inquiries", json=inquiry(message=MRI_MESSAGE))

    body = response.get_json()
    assert body["triage"]["route"] == "imaging", body["triage"]
    with app.extensions["routing"].db.session() as session:
        referral = session.scalar(select(Referral))
        appointment = session.scalar(select(Appointment))
    assert (referral.code_system, referral.code) == ("http://www.ama-assn.org/go/cpt", "72148")
    assert referral.display == "MRI lumbar spine without contrast"
    assert referral.scheduler == "embedded"
    assert referral.reasons  # the triage reasons travel with the order
    assert appointment.referral_id == referral.id
    assert busy_slots(app) == 1


def test_the_worker_command_books_everything_due_and_stops_when_idle(app, client, slots):
    ids = [post_while_down(app, client, inquiry(message=f"Back pain after lifting, day {n}.")) for n in range(3)]
    with app.extensions["routing"].db.session() as session, session.begin():
        session.execute(update(Inquiry).values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1)))

    result = app.test_cli_runner().invoke(args=["worker", "--until-idle"])

    assert result.exit_code == 0, result.output
    assert "3 pending" in result.output
    assert "after 3 jobs" in result.output
    assert all(stored(app, inquiry_id).status == "booked" for inquiry_id in ids)


def run_polling_worker(app, routing, now) -> int:
    """The worker as ``--until-idle`` at ``now``, with the reconciliation poll every two minutes."""
    sessions = app.extensions["routing"].db.session
    every = timedelta(minutes=2)
    return booking_queue.run_worker(
        sessions, routing, stop=threading.Event(), until_idle=True, clock=lambda: now, reconcile_every=every
    )


def checkpoints(app) -> list[tuple]:
    with app.extensions["routing"].db.session() as session:
        return [(row.name, row.position) for row in session.scalars(select(SyncCheckpoint))]


def test_the_worker_polls_a_remote_scheduler_and_sends_a_no_show_found_there_to_staff(app, client):
    fake = FakeScheduler("fhir")
    fake.add_slot("consult", datetime.now(UTC) + timedelta(hours=2), datetime.now(UTC) + timedelta(hours=3))
    app.extensions["routing"].scheduler = fake
    booked = client.post("/v1/inquiries", json=inquiry()).get_json()
    (appointment,) = fake.appointments
    fake.set_status(appointment, "noshow")

    run_polling_worker(app, routing_with(app, fake), datetime.now(UTC))

    assert stored(app, booked["id"]).status == "needs_review"
    assert checkpoints(app) == [("scheduler.appointments", fake.changed_at[appointment])]


def test_the_worker_keeps_booking_when_the_reconciliation_poll_cannot_reach_the_scheduler(app, client, caplog):
    fake = FakeScheduler("fhir").failing("changed_appointments", SchedulerUnavailable("down"))
    fake.add_slot("consult", datetime.now(UTC) + timedelta(hours=2), datetime.now(UTC) + timedelta(hours=3))
    inquiry_id = post_while_down(app, client)
    caplog.set_level(logging.INFO, logger="routing.events")

    done = run_polling_worker(app, routing_with(app, fake), datetime.now(UTC) + timedelta(hours=1))

    assert (done, stored(app, inquiry_id).status) == (1, "booked")
    assert fake.calls[0] == "changed_appointments"
    assert checkpoints(app) == [("scheduler.appointments", None)]  # claimed, but no change handled
    polls = [record.result for record in caplog.records if record.msg == "reconciliation.poll"]
    assert polls == ["unavailable"]


def test_the_embedded_scheduler_is_never_polled(app, client, slots):
    run_polling_worker(app, routing_with(app, EmbeddedScheduler()), datetime.now(UTC))

    assert checkpoints(app) == []


_INSERT_INQUIRIES = text(
    "INSERT INTO inquiries (id, idempotency_key, body_sha256, content_type, raw_body, payload, status,"
    " received_at, updated_at, booking_attempts, next_attempt_at)"
    " SELECT gen_random_uuid(), :prefix || n, '', 'application/json', convert_to('{}', 'UTF8'), '{}'::json,"
    " :status, now() - interval '1 hour', now(), 0, now() - n * interval '1 second'"
    " FROM generate_series(1, :count) AS n"
)


def test_a_claim_reads_one_due_entry_however_long_a_backlog_the_statistics_have_not_seen(app, database_url):
    if database_url.get_backend_name() != "postgresql":
        pytest.skip("the plan is PostgreSQL's, the production database")
    engine = app.extensions["routing"].db.engine
    with engine.begin() as connection:
        connection.execute(_INSERT_INQUIRIES, {"prefix": "done-", "status": "booked", "count": 20_000})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("ANALYZE inquiries"))  # statistics that count no pending inquiry
    with engine.begin() as connection:  # then a backlog (the scheduling system was down)
        connection.execute(_INSERT_INQUIRIES, {"prefix": "backlog-", "status": "pending_booking", "count": 2_000})
    claims: list[tuple[str, dict]] = []
    record = lambda conn, cursor, statement, parameters, *rest: claims.append((statement, parameters))  # noqa: E731
    event.listen(engine, "before_cursor_execute", record)
    try:
        with app.extensions["routing"].db.session() as session:
            job = booking_queue.take_next(session, routing_with(app, EmbeddedScheduler()), datetime.now(UTC))
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert job is not None
    statement, parameters = next((s, p) for s, p in claims if s.startswith("UPDATE inquiries"))

    with engine.connect() as connection:
        [[plan]] = connection.exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", parameters).all()
        connection.rollback()

    scans = [node for node in _plan_nodes(plan[0]["Plan"]) if node["Node Type"].endswith("Scan")]
    assert [(node["Node Type"], node.get("Index Name"), node["Actual Rows"]) for node in scans] == [
        ("Index Scan", "ix_inquiries_due", 1),
        ("Index Scan", "pk_inquiries", 1),
    ]
    assert not [node for node in _plan_nodes(plan[0]["Plan"]) if "Sort" in node["Node Type"]]


def _plan_nodes(node: dict) -> list[dict]:
    """A plan node and every node below it, depth first."""
    return [node, *(below for child in node.get("Plans", []) for below in _plan_nodes(child))]
