"""Impact previews on SQLite and PostgreSQL: requested over the admin API, run as the worker runs them (one process
and a pool of two), polled, cancelled, taken over after a dead worker's lease, and their reports on a seeded history
with known transitions (tests/http/preview_helpers.py)."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from routing.adapters.db.models import AuditEvent, TriageDecision
from routing.adapters.db.types import utcnow
from routing.services import rulebook_preview
from tests.http.admin_helpers import bearer, make_token
from tests.http.preview_helpers import (
    BLADDER,
    FIVE_WEEKS,
    WORST_PAIN,
    add_version,
    days_ago,
    draft_28_days,
    preview_row,
    run_worker_once,
    store_history,
)


@pytest.fixture
def admin(app):
    return make_token(app, "Ada Admin", "admin")


@pytest.fixture
def staff(app):
    return make_token(app, "Nina Nurse", "staff")


@pytest.fixture
def history(app):
    """Three inquiries 10 days ago (one leaves urgent_review, one moves to imaging, one stays), one 100 days ago."""
    recent = store_history(app, [WORST_PAIN, FIVE_WEEKS, BLADDER], days_ago(10))
    old = store_history(app, [FIVE_WEEKS], days_ago(100))
    return {"worst_pain": recent[0], "five_weeks": recent[1], "bladder": recent[2], "old": old[0]}


@pytest.fixture
def draft_id(app):
    return add_version(app, draft_28_days())


def request(client, token, version_id, **body):
    return client.post(f"/v1/admin/rulebooks/{version_id}/previews", json=body, headers=bearer(token))


EXPECTED_TRANSITIONS = [
    ("urgent_review/urgent", "consult/soon", 1),
    ("consult/soon", "imaging/soon", 1),
    ("urgent_review/emergency", "urgent_review/emergency", 1),
]


def transitions(result) -> list[tuple[str, str, int]]:
    return [
        (f"{t['from']['route']}/{t['from']['urgency']}", f"{t['to']['route']}/{t['to']['urgency']}", t["count"])
        for t in result["transitions"]
    ]


@pytest.mark.parametrize("processes", [1, 2])
def test_a_preview_of_a_seeded_history_reports_its_known_transitions_and_the_exit_from_urgent_review(
    app, client, admin, staff, history, draft_id, processes
):
    requested = request(client, admin, draft_id)
    assert requested.status_code == 202, requested.get_json()
    preview_id = requested.get_json()["id"]
    assert requested.get_json()["status"] == "queued"

    assert run_worker_once(app, processes=processes) == "done"

    polled = client.get(f"/v1/admin/rulebooks/{draft_id}/previews/{preview_id}", headers=bearer(staff))
    assert polled.status_code == 200
    body = polled.get_json()
    assert (body["status"], body["total"], body["done"], body["version_label"]) == ("done", 3, 3, "draft-28-days")
    result = body["result"]
    assert (result["replayed"], result["changed"], result["staff_decided"]) == (3, 2, 0)
    assert (result["urgent_review_exits"], result["urgent_review_entries"]) == (1, 0)
    assert result["red_flag_changes"] == [
        {
            "inquiry_id": history["worst_pain"],
            "direction": "exit",
            "from": {"route": "urgent_review", "urgency": "urgent", "rule": "R2b"},
            "to": {"route": "consult", "urgency": "soon", "rule": "R10"},
            "red_flags": [],
        }
    ]
    assert transitions(result) == EXPECTED_TRANSITIONS
    assert [t["samples"] for t in result["transitions"]] == [[history["worst_pain"]], [history["five_weeks"]], []]
    assert [(r["rule"], r["before"], r["after"]) for r in result["rules"] if r["change"]] == [
        ("R2b", 1, 0),
        ("R4", 0, 1),
        ("R5", 1, 0),
        ("R10", 0, 1),
        ("M1", 0, 1),
    ]
    assert result["processes"] == processes


def test_the_period_chooses_the_inquiries_replayed(app, client, admin, history, draft_id):
    start, end = days_ago(120).isoformat(), days_ago(50).isoformat()
    requested = request(client, admin, draft_id, period_start=start, period_end=end)
    assert requested.status_code == 202, requested.get_json()

    run_worker_once(app)

    result = preview_row(app, requested.get_json()["id"]).result
    assert transitions(result) == [("consult/soon", "imaging/soon", 1)]  # only the inquiry of 100 days ago
    assert result["transitions"][0]["samples"] == [history["old"]]


def test_a_preview_is_refused_for_a_bad_period_an_unknown_version_and_while_another_is_queued(
    app, client, admin, staff, draft_id
):
    later, earlier = days_ago(1).isoformat(), days_ago(5).isoformat()

    backwards = request(client, admin, draft_id, period_start=later, period_end=earlier)
    naive = request(client, admin, draft_id, period_start="2026-11-01T00:00:00")
    unknown = request(client, admin, 999)
    first = request(client, staff, draft_id)  # staff may preview, as they may write a draft
    second = request(client, admin, draft_id)

    assert (backwards.status_code, backwards.get_json()["errors"]) == (
        422,
        {"period_start": ["Must be before the period's end."]},
    )
    assert backwards.content_type == "application/problem+json"
    assert (naive.status_code, list(naive.get_json()["errors"])) == (422, ["period_start"])
    assert (unknown.status_code, unknown.get_json()["detail"]) == (
        404,
        "There is no rulebook version with this number.",
    )
    assert (first.status_code, first.get_json()["requested_by"]) == (202, "Nina Nurse")
    assert second.status_code == 409
    assert second.get_json()["detail"] == (
        f"A preview of version {draft_id} is already queued or running ({first.get_json()['id']})."
    )


def test_staff_list_a_version_s_previews_and_a_preview_is_found_only_under_its_own_version(
    app, client, admin, staff, draft_id
):
    preview_id = request(client, admin, draft_id).get_json()["id"]

    listed = client.get(f"/v1/admin/rulebooks/{draft_id}/previews", headers=bearer(staff))
    elsewhere = client.get(f"/v1/admin/rulebooks/1/previews/{preview_id}", headers=bearer(staff))
    nowhere = client.get(f"/v1/admin/rulebooks/{draft_id}/previews/{uuid.uuid4()}", headers=bearer(staff))

    assert [(item["id"], item["status"]) for item in listed.get_json()["items"]] == [(preview_id, "queued")]
    assert "result" not in listed.get_json()["items"][0]
    assert (elsewhere.status_code, nowhere.status_code) == (404, 404)


def test_a_cancelled_preview_stops_after_the_batch_in_hand_and_keeps_no_report(app, client, admin, history, draft_id):
    preview_id = request(client, admin, draft_id).get_json()["id"]
    wiring = app.extensions["routing"]
    settings = rulebook_preview.ReplaySettings(
        wiring.settings.database_url.render_as_string(hide_password=False), processes=1, batch_size=1
    )
    writes = []

    def clock():
        # Called to claim, then at each write of progress: an admin cancels once the first batch is written.
        writes.append(1)
        if len(writes) == 4:
            assert client.post(f"/v1/admin/rulebooks/{draft_id}/previews/{preview_id}/cancel", headers=bearer(admin))
        return utcnow()

    status = rulebook_preview.run_next(wiring.db.session, settings, clock)

    row = preview_row(app, preview_id)
    assert (status, row.status, row.total, row.done, row.result) == ("cancelled", "cancelled", 3, 1, None)
    again = client.post(f"/v1/admin/rulebooks/{draft_id}/previews/{preview_id}/cancel", headers=bearer(admin))
    assert (again.status_code, again.get_json()["detail"]) == (
        409,
        "This preview has ended (cancelled); there is nothing to cancel.",
    )
    assert run_worker_once(app) is None  # a cancelled preview is not taken again


def test_a_dead_worker_s_preview_is_taken_over_after_its_lease_and_the_dead_one_can_no_longer_write(
    app, client, admin, history, draft_id
):
    request(client, admin, draft_id)
    wiring = app.extensions["routing"]
    now = utcnow()
    with wiring.db.session() as session:
        dead = rulebook_preview.claim_next(session, now)
    with wiring.db.session() as session:
        while_leased = rulebook_preview.claim_next(session, now + timedelta(seconds=30))
    with wiring.db.session() as session:
        taken_over = rulebook_preview.claim_next(session, now + timedelta(seconds=61))

    assert while_leased is None
    assert (taken_over.id, taken_over.started_at) == (dead.id, now + timedelta(seconds=61))
    url = wiring.settings.database_url.render_as_string(hide_password=False)
    settings = rulebook_preview.ReplaySettings(url, processes=1)
    assert rulebook_preview.run_claim(wiring.db.session, dead, settings) == "running"  # it stops at once
    assert preview_row(app, str(dead.id)).done == 0
    assert rulebook_preview.run_claim(wiring.db.session, taken_over, settings) == "done"


def test_requests_and_cancellations_are_audited(app, client, admin, draft_id):
    preview_id = request(client, admin, draft_id).get_json()["id"]
    client.post(f"/v1/admin/rulebooks/{draft_id}/previews/{preview_id}/cancel", headers=bearer(admin))

    with app.extensions["routing"].db.session() as session:
        rows = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [(row.action, row.actor_name, row.details["preview_id"]) for row in rows] == [
        ("rulebook.preview", "Ada Admin", preview_id),
        ("rulebook.preview_cancel", "Ada Admin", preview_id),
    ]


def test_a_route_staff_set_by_hand_is_counted_apart(app, client, admin, history, draft_id):
    with app.extensions["routing"].db.session() as session, session.begin():
        decision = session.scalars(
            select(TriageDecision).where(TriageDecision.inquiry_id == uuid.UUID(history["five_weeks"]))
        ).one()
        decision.rule_id, decision.route = "STAFF", "injection"
    request(client, admin, draft_id)

    run_worker_once(app)

    (row,) = [r for r in _previews(app) if r.status == "done"]
    assert (row.result["replayed"], row.result["staff_decided"], row.result["changed"]) == (2, 1, 1)


def test_the_worker_thread_runs_a_requested_preview_and_stops_when_asked(app, client, admin, history, draft_id):
    preview_id = request(client, admin, draft_id).get_json()["id"]
    wiring = app.extensions["routing"]
    url = wiring.settings.database_url.render_as_string(hide_password=False)
    stop = threading.Event()
    thread = threading.Thread(
        target=rulebook_preview.work,
        args=(wiring.db.session, rulebook_preview.ReplaySettings(url, processes=1), stop, 0.05),
    )
    thread.start()
    try:
        for _ in range(200):
            if preview_row(app, preview_id).status == "done":
                break
            stop.wait(0.05)
    finally:
        stop.set()
        thread.join(timeout=10)

    assert not thread.is_alive()
    assert preview_row(app, preview_id).result["urgent_review_exits"] == 1


def _previews(app):
    with app.extensions["routing"].db.session() as session:
        return session.scalars(select(rulebook_preview.RulebookPreview)).all()


def test_a_period_without_inquiries_gives_an_empty_report(app, client, admin, history, draft_id):
    requested = request(
        client, admin, draft_id, period_start=days_ago(400).isoformat(), period_end=days_ago(300).isoformat()
    )

    assert run_worker_once(app) == "done"

    row = preview_row(app, requested.get_json()["id"])
    assert (row.total, row.done) == (0, 0)
    result = row.result
    assert (result["replayed"], result["changed"], result["urgent_review_exits"]) == (0, 0, 0)
    assert (result["transitions"], result["red_flag_changes"], result["rules"]) == ([], [], [])
