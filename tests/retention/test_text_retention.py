"""Text retention: the patient's free text is removed N days after the inquiry came in, never before, while the
facts, decisions, appointments and audit trail stay; run by the worker and the CLI, audited, idempotent, in batches."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import timedelta

from sqlalchemy import select, update

from routing import create_app
from routing.adapters.db.models import Appointment, Inquiry, WaitlistEntry
from routing.domain.retention import REMOVED_MESSAGE, TextRetention
from routing.services.booking_queue import run_worker
from tests.conftest import settings_for
from tests.http.admin_helpers import RED_FLAG, bearer, make_token
from tests.http.intake_helpers import PATIENT, STRAIN, inquiry
from tests.retention.helpers import DAYS, POLICY, QUOTED, audit_events, post, received_at, run, sessions, stored


def test_text_is_kept_until_exactly_n_days_after_the_inquiry_came_in(app, client):
    inquiry_id = post(client, inquiry())
    due = received_at(app, inquiry_id) + timedelta(days=DAYS)

    before = run(app, due - timedelta(microseconds=1))
    kept = stored(app, inquiry_id)
    after = run(app, due)

    assert (before.redacted, kept["text_redacted_at"], kept["payload"]["message"]) == (0, None, STRAIN)
    assert (after.redacted, stored(app, inquiry_id)["text_redacted_at"]) == (1, due)


def test_removal_keeps_facts_decisions_appointments_and_who_the_patient_is_but_no_words(app, client):
    body = inquiry(preferred_times=["Monday mornings, after my chemo"], consent=True, extra_field="my own words")
    inquiry_id = post(client, body)
    before = stored(app, inquiry_id)
    due = received_at(app, inquiry_id) + timedelta(days=DAYS)

    run(app, due)
    after = stored(app, inquiry_id)

    assert after["raw_body"] == b""
    assert after["payload"] == {"patient": PATIENT, "consent": True, "message": REMOVED_MESSAGE}
    assert after["facts"]["values"] == before["facts"]["values"]
    assert after["facts"]["evidence"] == [{**e, "phrase": None} for e in before["facts"]["evidence"]]
    assert [d[:6] for d in after["decisions"]] == [d[:6] for d in before["decisions"]]
    assert [[r["rule"] for r in d[6]] for d in after["decisions"]] == [
        [r["rule"] for r in d[6]] for d in before["decisions"]
    ]
    assert (after["appointments"], after["status"]) == (before["appointments"], before["status"])
    left = json.dumps([after["payload"], after["facts"], after["decisions"], after["referrals"]], default=str)
    assert [word for word in (*QUOTED, "chemo", "my own words") if word in left] == []


def test_a_fact_read_from_the_message_is_still_explained_without_the_words(app, client):
    inquiry_id = post(client, inquiry())
    text_reasons = [r for r in stored(app, inquiry_id)["decisions"][0][6] if r["rule"] == "TEXT"]

    run(app, received_at(app, inquiry_id) + timedelta(days=DAYS))
    after = [r for r in stored(app, inquiry_id)["decisions"][0][6] if r["rule"] == "TEXT"]

    assert text_reasons != []
    assert after == [{**r, "text": r["text"].replace(f" (“{r['phrase']}”)", ""), "phrase": None} for r in text_reasons]


def test_a_run_records_one_audit_event_with_counts_only(app, client):
    ids = [post(client, inquiry()) for _ in range(2)]
    now = max(received_at(app, i) for i in ids) + timedelta(days=DAYS)

    run(app, now)

    cutoff = (now - timedelta(days=DAYS)).isoformat()
    assert audit_events(app) == [
        ("retention", {"inquiries": 2, "batches": 1, "text_days": DAYS, "received_before": cutoff})
    ]


def test_a_second_run_changes_nothing_and_records_nothing(app, client):
    inquiry_id = post(client, inquiry())
    now = received_at(app, inquiry_id) + timedelta(days=DAYS)
    run(app, now)
    first = stored(app, inquiry_id)

    again = run(app, now + timedelta(days=1))

    assert (again.redacted, again.batches) == (0, 0)
    assert stored(app, inquiry_id) == first
    assert len(audit_events(app)) == 1


def test_a_run_works_in_batches_and_a_capped_run_leaves_the_rest_to_the_next(app, client):
    ids = [post(client, inquiry()) for _ in range(5)]
    now = max(received_at(app, i) for i in ids) + timedelta(days=DAYS)
    small = TextRetention(text_days=DAYS, batch_size=2)

    capped = run(app, now, policy=small, max_batches=2)
    rest = run(app, now, policy=small)

    assert (capped.redacted, capped.batches) == (4, 2)
    assert (rest.redacted, rest.batches) == (1, 1)
    assert [details["inquiries"] for _, details in audit_events(app)] == [4, 1]


def test_a_dry_run_counts_what_is_due_and_changes_nothing(app, client):
    inquiry_id = post(client, inquiry())
    now = received_at(app, inquiry_id) + timedelta(days=DAYS)

    dry = run(app, now, dry_run=True)

    assert (dry.due, dry.redacted) == (1, 0)
    assert stored(app, inquiry_id)["text_redacted_at"] is None
    assert audit_events(app) == []


def test_an_urgent_review_nobody_acknowledged_keeps_its_text_until_someone_does(app, client):
    inquiry_id = post(client, inquiry(RED_FLAG))
    now = received_at(app, inquiry_id) + timedelta(days=DAYS)
    token = make_token(app, "Dr Lee", "staff")

    unread = run(app, now)
    etag = client.get(f"/v1/admin/inquiries/{inquiry_id}", headers=bearer(token)).headers["ETag"]
    acknowledged = client.post(
        f"/v1/admin/inquiries/{inquiry_id}/acknowledge", json={}, headers={**bearer(token), "If-Match": etag}
    )
    read = run(app, now)

    assert stored(app, inquiry_id)["status"] == "urgent_review"
    assert acknowledged.status_code == 200, acknowledged.get_json()
    assert (unread.redacted, read.redacted) == (0, 1)


def test_an_appointment_still_to_come_keeps_the_text_until_it_is_over(app, client):
    inquiry_id = post(client, inquiry())
    now = received_at(app, inquiry_id) + timedelta(days=DAYS)
    with sessions(app)() as session, session.begin():
        # As if booked far ahead (a slot a year out): the patient may still ask to change it.
        session.execute(
            update(Appointment)
            .where(Appointment.inquiry_id == uuid.UUID(inquiry_id))
            .values(end=now + timedelta(hours=1))
        )

    during = run(app, now)
    over = run(app, now + timedelta(hours=1, seconds=1))

    assert (during.redacted, over.redacted) == (0, 1)


def test_the_worker_removes_text_past_the_retention(app, client):
    inquiry_id = post(client, inquiry())
    later = received_at(app, inquiry_id) + timedelta(days=DAYS, hours=1)
    routing = app.extensions["routing"].routing

    run_worker(
        sessions(app), routing, stop=threading.Event(), until_idle=True, clock=lambda: later, text_retention=POLICY
    )

    assert stored(app, inquiry_id)["text_redacted_at"] == later
    assert [actor for actor, _ in audit_events(app)] == ["retention"]


def test_the_cli_removes_text_past_the_retention_and_its_dry_run_only_counts(app, client):
    old, new = post(client, inquiry()), post(client, inquiry())
    with sessions(app)() as session, session.begin():
        # As if it all happened a year ago: received, booked and seen.
        session.get(Inquiry, uuid.UUID(old)).received_at -= timedelta(days=DAYS + 1)
        for appointment in session.scalars(select(Appointment).where(Appointment.inquiry_id == uuid.UUID(old))):
            appointment.start -= timedelta(days=DAYS + 1)
            appointment.end -= timedelta(days=DAYS + 1)
    runner = app.test_cli_runner()

    dry = runner.invoke(args=["retention", "run", "--dry-run"])
    real = runner.invoke(args=["retention", "run"])

    assert dry.exit_code == 0, dry.output
    assert dry.output.startswith("Dry run: text due for removal in 1 inquiries received before ")
    assert real.exit_code == 0, real.output
    assert real.output.startswith("Text removed from 1 inquiries received before ")
    assert real.output.endswith(f"({DAYS} days), in 1 batches.\n")
    assert (stored(app, old)["raw_body"], stored(app, new)["payload"]["message"]) == (b"", STRAIN)


def test_the_cli_refuses_when_no_retention_is_set(migrated_url):
    application = create_app(settings_for(migrated_url))
    try:
        result = application.test_cli_runner().invoke(args=["retention", "run"])
    finally:
        application.extensions["routing"].db.dispose()

    assert result.exit_code == 1
    assert result.output == "Error: ROUTING_RETENTION_TEXT_DAYS is not set: text is kept, nothing is removed.\n"


def test_an_inquiry_pending_a_booking_keeps_its_text(app, client):
    inquiry_id = post(client, inquiry())
    now = received_at(app, inquiry_id) + timedelta(days=DAYS)
    with sessions(app)() as session, session.begin():
        session.execute(update(Inquiry).where(Inquiry.id == uuid.UUID(inquiry_id)).values(status="pending_booking"))

    held = run(app, now)

    assert (held.redacted, stored(app, inquiry_id)["text_redacted_at"]) == (0, None)


def test_an_inquiry_on_the_waitlist_keeps_its_text_until_its_entry_closes(app, client):
    inquiry_id = post(client, inquiry())
    now = received_at(app, inquiry_id) + timedelta(days=DAYS)
    with sessions(app)() as session, session.begin():
        entry = WaitlistEntry(
            inquiry_id=uuid.UUID(inquiry_id),
            route="consult",
            slot_type="consult",
            urgency="routine",
            priority=3,
            window_end=now + timedelta(days=1),
            unavailable_times="Mondays, I have dialysis",
            status="waiting",
        )
        session.add(entry)
    waiting = run(app, now)
    with sessions(app)() as session, session.begin():
        session.execute(update(WaitlistEntry).values(status="window_passed"))

    closed = run(app, now)

    with sessions(app)() as session:
        times = session.scalars(select(WaitlistEntry.unavailable_times)).all()
    assert (waiting.redacted, closed.redacted, times) == (0, 1, [None])
