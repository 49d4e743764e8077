"""Rulebook versions over the admin API: drafts validated as at start, the state machine, two-person approval,
the urgent_review acknowledgement, activation and rollback (in force at once, stored with each decision), audit."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from routing import create_app
from routing.adapters.db.models import AuditEvent, RulebookVersion
from routing.services import rulebook_versions
from routing.services.staff_tokens import Staff
from tests.conftest import settings_for
from tests.http.admin_helpers import bearer, make_token, new_inquiry
from tests.http.intake_helpers import add_slots
from tests.http.rulebook_helpers import (
    SHIPPED_LABEL,
    approved_version,
    create_draft,
    decision_label,
    document,
    finished_preview,
    unfinished_preview,
)

NO_PREVIEW = (
    "No finished impact preview of this draft says whether any inquiry would leave urgent_review. Run a preview "
    "and read it, or approve with acknowledge_urgent_review_exits: true."
)


class Team:
    """The app, a client and four people: a staff author, two admins, and a staff reader."""

    def __init__(self, app):
        self.app = app
        self.client = app.test_client()
        self.sam = make_token(app, "Sam Staff", "staff")
        self.ada = make_token(app, "Ada Admin", "admin")
        self.ben = make_token(app, "Ben Admin", "admin")

    def post(self, path: str, token: str, body: dict | None = None):
        return self.client.post(f"/v1/admin/rulebooks{path}", json=body or {}, headers=bearer(token))

    def get(self, path: str, token: str):
        return self.client.get(f"/v1/admin/rulebooks{path}", headers=bearer(token))

    def states(self) -> dict[int, str]:
        with self.app.extensions["routing"].db.session() as session:
            return dict(session.execute(select(RulebookVersion.id, RulebookVersion.state)).all())

    def audit(self, prefix: str = "rulebook.") -> list[tuple[str, str, dict, str | None]]:
        with self.app.extensions["routing"].db.session() as session:
            rows = session.scalars(
                select(AuditEvent).where(AuditEvent.action.startswith(prefix)).order_by(AuditEvent.id)
            )
            return [(row.action, row.actor_name, row.details, row.reason) for row in rows]


@pytest.fixture
def team(migrated_url):
    app = create_app(settings_for(migrated_url))
    add_slots(app, "consult", [26 + n for n in range(12)])
    yield Team(app)
    app.extensions["routing"].db.dispose()


# --- drafts ---------------------------------------------------------------------------------------------


def test_the_shipped_rulebook_is_version_1_active_and_in_force(team):
    listed = team.get("", team.sam)

    assert listed.status_code == 200
    [seed] = listed.get_json()
    assert (seed["id"], seed["label"], seed["state"], seed["created_by"]) == (1, SHIPPED_LABEL, "active", "migration")
    assert team.app.extensions["routing"].rulebook.version == SHIPPED_LABEL
    assert team.app.extensions["routing"].rulebooks.version_id == 1


def test_staff_create_a_draft_from_an_uploaded_rulebook_and_it_is_audited(team):
    created = create_draft(team.client, team.sam, "2026-12-07.1", note="R10 sooner", based_on=1, r10_urgency="soon")

    assert {key: created[key] for key in ("id", "label", "state", "based_on", "note", "created_by")} == {
        "id": 2,
        "label": "2026-12-07.1",
        "state": "draft",
        "based_on": 1,
        "note": "R10 sooner",
        "created_by": "Sam Staff",
    }
    assert (created["approved_by"], created["activated_at"]) == (None, None)
    shown = team.get("/2", team.sam).get_json()
    assert shown["document"] == document("2026-12-07.1", r10_urgency="soon")
    assert shown["approval"] == {
        "preview_id": None,
        "urgent_review_exits": None,
        "acknowledgement_required": True,
        "why": NO_PREVIEW,
    }
    assert team.audit() == [
        ("rulebook.create", "Sam Staff", {"version_id": 2, "label": "2026-12-07.1", "based_on": 1}, "R10 sooner")
    ]
    assert team.states() == {1: "active", 2: "draft"}


def test_a_draft_that_does_not_validate_is_refused_with_the_message_the_file_gets_at_start(team):
    broken = {**document("2026-12-07.1"), "rules": []}

    response = team.post("", team.sam, {"document": broken})

    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    body = response.get_json()
    # At start the same check says "ROUTING_RULEBOOK: <path>: rules: must be ..." (tests/unit/test_config.py).
    assert body["errors"] == {"document": ["document: rules: must be a non-empty list, in the order they are tried"]}
    assert team.states() == {1: "active"}


def test_a_draft_with_a_version_label_already_used_is_refused(team):
    response = team.post("", team.sam, {"document": document(SHIPPED_LABEL)})

    assert response.status_code == 422
    assert response.get_json()["errors"] == {
        "document.version": [
            f"Version '{SHIPPED_LABEL}' exists already: give this draft a version of its own (it is stored with "
            "each decision)."
        ]
    }


def test_every_bad_field_of_a_draft_is_named_at_once(team):
    body = {"document": document("2026-12-07.1\x00"), "note": "", "based_on": 0}

    response = team.post("", team.sam, body)

    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert sorted(errors) == ["based_on", "document.version", "note"]
    assert errors["document.version"] == [
        "Contains U+0000, a control character, at character 13; remove it. Tab and line breaks are allowed here."
    ]


def test_a_draft_based_on_a_missing_version_or_with_a_too_long_version_is_refused(team):
    missing = team.post("", team.sam, {"document": document("2026-12-07.1"), "based_on": 99})
    too_long = team.post("", team.sam, {"document": document("v" * 41)})

    assert (missing.status_code, missing.get_json()["errors"]) == (422, {"based_on": ["There is no version 99."]})
    assert (too_long.status_code, too_long.get_json()["errors"]) == (
        422,
        {"document.version": ["At most 40 characters; it is stored with every decision."]},
    )


def test_an_unknown_version_is_404(team):
    for response in (
        team.get("/9", team.sam),
        team.post("/9/approve", team.ada, {"acknowledge_urgent_review_exits": True}),
        team.post("/9/activate", team.ada),
    ):
        assert response.status_code == 404
        assert response.get_json()["detail"] == "There is no rulebook version with this id."


def test_a_version_id_past_the_databases_integers_is_404_not_a_driver_error(team):
    too_big = 2**31  # the fuzz test's find: psycopg refused to send it (OverflowError, a 500)

    answers = [
        team.get(f"/{too_big}", team.sam),
        team.get(f"/{too_big}/previews", team.sam),
        team.post(f"/{too_big}/previews", team.sam, {}),
        team.post(f"/{too_big}/approve", team.ada, {"acknowledge_urgent_review_exits": True}),
        team.post(f"/{too_big}/activate", team.ada),
    ]

    assert [response.status_code for response in answers] == [404] * 5


# --- approval -------------------------------------------------------------------------------------------


def test_the_author_of_a_draft_cannot_approve_it_and_another_admin_can(team):
    version_id = create_draft(team.client, team.ada, "2026-12-07.1")["id"]

    own = team.post(f"/{version_id}/approve", team.ada, {"acknowledge_urgent_review_exits": True})
    other = team.post(f"/{version_id}/approve", team.ben, {"acknowledge_urgent_review_exits": True})

    assert own.status_code == 403
    assert own.get_json()["type"] == "urn:routing:problem:two-person-rule"
    assert own.get_json()["detail"] == "You wrote this draft: another admin must approve it (two-person rule)."
    assert other.status_code == 200
    assert (other.get_json()["state"], other.get_json()["approved_by"]) == ("approved", "Ben Admin")
    assert team.states() == {1: "active", 2: "approved"}


def test_staff_may_read_and_write_drafts_but_not_approve_or_activate(team):
    version_id = create_draft(team.client, team.sam, "2026-12-07.1")["id"]

    approve = team.post(f"/{version_id}/approve", team.sam, {"acknowledge_urgent_review_exits": True})
    activate = team.post(f"/{version_id}/activate", team.sam)
    rollback = team.post("/rollback", team.sam)

    assert [r.status_code for r in (approve, activate, rollback)] == [403, 403, 403]
    assert team.states() == {1: "active", 2: "draft"}


def test_approving_a_draft_without_a_finished_preview_needs_the_acknowledgement(team):
    version_id = create_draft(team.client, team.sam, "2026-12-07.1")["id"]
    unfinished_preview(team.app, version_id, "running")
    unfinished_preview(team.app, version_id, "cancelled")

    refused = team.post(f"/{version_id}/approve", team.ada)
    acknowledged = team.post(f"/{version_id}/approve", team.ada, {"acknowledge_urgent_review_exits": True})

    assert refused.status_code == 422
    body = refused.get_json()
    assert body["type"] == "urn:routing:problem:acknowledgement-required"
    assert body["errors"] == {"acknowledge_urgent_review_exits": [NO_PREVIEW]}
    assert (body["urgent_review_exits"], body["preview_id"]) == (None, None)
    assert acknowledged.status_code == 200
    assert team.audit()[-1] == (
        "rulebook.approve",
        "Ada Admin",
        {
            "version_id": 2,
            "label": "2026-12-07.1",
            "preview_id": None,
            "urgent_review_exits": None,
            "acknowledged": True,
        },
        None,
    )


def test_approving_a_draft_whose_preview_moves_inquiries_out_of_urgent_review_needs_the_acknowledgement(team):
    version_id = create_draft(team.client, team.sam, "2026-12-07.1")["id"]
    preview_id = finished_preview(team.app, version_id, exits=3)
    expected = (
        "The latest impact preview shows 3 inquiries leaving urgent_review under this draft. Read them, then approve "
        "with acknowledge_urgent_review_exits: true."
    )

    shown = team.get(f"/{version_id}", team.ada).get_json()["approval"]
    refused = team.post(f"/{version_id}/approve", team.ada, {"acknowledge_urgent_review_exits": False})
    acknowledged = team.post(f"/{version_id}/approve", team.ada, {"acknowledge_urgent_review_exits": True})

    assert shown == {
        "preview_id": preview_id,
        "urgent_review_exits": 3,
        "acknowledgement_required": True,
        "why": expected,
    }
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {"acknowledge_urgent_review_exits": [expected]}
    assert (refused.get_json()["urgent_review_exits"], refused.get_json()["preview_id"]) == (3, preview_id)
    assert acknowledged.status_code == 200
    assert team.audit()[-1][2] == {
        "version_id": version_id,
        "label": "2026-12-07.1",
        "preview_id": preview_id,
        "urgent_review_exits": 3,
        "acknowledged": True,
    }


def test_the_latest_finished_preview_decides_and_none_leaving_urgent_review_needs_no_acknowledgement(team):
    version_id = create_draft(team.client, team.sam, "2026-12-07.1")["id"]
    finished_preview(team.app, version_id, exits=2, finished_at=datetime.now(UTC) - timedelta(hours=1))
    latest = finished_preview(team.app, version_id, exits=0)
    unfinished_preview(team.app, version_id, "failed")

    approved = team.post(f"/{version_id}/approve", team.ada)

    assert approved.status_code == 200
    assert approved.get_json()["state"] == "approved"
    assert team.audit()[-1][2] == {
        "version_id": version_id,
        "label": "2026-12-07.1",
        "preview_id": latest,
        "urgent_review_exits": 0,
        "acknowledged": False,
    }


def test_a_finished_preview_without_the_count_needs_the_acknowledgement(team):
    version_id = create_draft(team.client, team.sam, "2026-12-07.1")["id"]
    finished_preview(team.app, version_id, exits=None)

    refused = team.post(f"/{version_id}/approve", team.ada)

    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {"acknowledge_urgent_review_exits": [NO_PREVIEW]}


# --- the state machine, activation, rollback ------------------------------------------------------------


def test_only_a_draft_is_approved_and_only_an_approved_or_retired_version_is_activated(team):
    draft = create_draft(team.client, team.sam, "2026-12-07.1")["id"]
    approved = approved_version(team.client, team.sam, team.ada, "2026-12-07.2")

    answers = {
        "activate a draft": team.post(f"/{draft}/activate", team.ada),
        "approve the active": team.post("/1/approve", team.ben, {"acknowledge_urgent_review_exits": True}),
        "approve an approved": team.post(f"/{approved}/approve", team.ben, {"acknowledge_urgent_review_exits": True}),
        "activate the active": team.post("/1/activate", team.ada),
    }

    details = {step: (r.status_code, r.get_json()["detail"]) for step, r in answers.items()}
    assert details == {
        "activate a draft": (
            409,
            "Only an approved or retired version can be activated; this version is a draft: approve it first.",
        ),
        "approve the active": (409, "Only a draft can be approved; this version is active."),
        "approve an approved": (409, "Only a draft can be approved; this version is approved."),
        "activate the active": (409, "This version is already active."),
    }
    assert team.states() == {1: "active", 2: "draft", 3: "approved"}


def test_activation_retires_the_active_version_and_the_next_decision_is_the_new_version_s(team):
    before = new_inquiry(team.client)
    version_id = approved_version(team.client, team.sam, team.ada, "2026-12-07.1", r10_urgency="soon")

    activated = team.post(f"/{version_id}/activate", team.ada, {"reason": "R10 sooner, per Dr Lee"})
    after = new_inquiry(team.client)

    assert activated.status_code == 200
    assert (activated.get_json()["state"], activated.get_json()["activated_by"]) == ("active", "Ada Admin")
    assert team.states() == {1: "retired", 2: "active"}
    assert decision_label(team.app, before) == (SHIPPED_LABEL, "R10", "routine")
    assert decision_label(team.app, after) == ("2026-12-07.1", "R10", "soon")
    assert team.get("", team.sam).get_json()[0]["state"] == "active"
    assert team.client.get("/v1/admin/rulebook", headers=bearer(team.sam)).get_json()["version"] == "2026-12-07.1"
    assert team.audit()[-1] == (
        "rulebook.activate",
        "Ada Admin",
        {"version_id": 2, "label": "2026-12-07.1", "previous_version_id": 1, "previous_label": SHIPPED_LABEL},
        "R10 sooner, per Dr Lee",
    )


def test_rollback_reactivates_the_version_active_before_and_decisions_follow(team):
    version_id = approved_version(team.client, team.sam, team.ada, "2026-12-07.1", r10_urgency="soon")
    team.post(f"/{version_id}/activate", team.ada)

    rolled_back = team.post("/rollback", team.ben, {"reason": "too many soon slots"})
    after_rollback = new_inquiry(team.client)
    forward_again = team.post(f"/{version_id}/activate", team.ada)
    after_forward = new_inquiry(team.client)

    assert rolled_back.status_code == 200
    assert (rolled_back.get_json()["id"], rolled_back.get_json()["state"]) == (1, "active")
    assert decision_label(team.app, after_rollback) == (SHIPPED_LABEL, "R10", "routine")
    assert forward_again.status_code == 200
    assert decision_label(team.app, after_forward) == ("2026-12-07.1", "R10", "soon")
    assert team.states() == {1: "retired", 2: "active"}
    assert [(action, actor, details["version_id"], reason) for action, actor, details, reason in team.audit()] == [
        ("rulebook.create", "Sam Staff", 2, None),
        ("rulebook.approve", "Ada Admin", 2, None),
        ("rulebook.activate", "Ada Admin", 2, None),
        ("rulebook.rollback", "Ben Admin", 1, "too many soon slots"),
        ("rulebook.rollback", "Ada Admin", 2, None),
    ]


def test_rollback_with_no_earlier_version_is_refused(team):
    response = team.post("/rollback", team.ada)

    assert response.status_code == 409
    assert response.get_json()["detail"] == "No earlier version has been active: there is nothing to roll back to."
    assert team.states() == {1: "active"}


def test_rollback_goes_back_one_activation_at_a_time(team):
    second = approved_version(team.client, team.sam, team.ada, "2026-12-07.1")
    third = approved_version(team.client, team.sam, team.ada, "2026-12-07.2")
    team.post(f"/{second}/activate", team.ada)
    team.post(f"/{third}/activate", team.ada)

    first_back = team.post("/rollback", team.ada).get_json()["id"]
    second_back = team.post("/rollback", team.ada).get_json()["id"]

    # Back to the second, then to the third (the one active before it): a rollback undoes the last activation.
    assert (first_back, second_back) == (second, third)
    assert team.states() == {1: "retired", 2: "retired", 3: "active"}


def test_a_version_that_no_longer_validates_is_not_activated(team):
    version_id = approved_version(team.client, team.sam, team.ada, "2026-12-07.1")
    with team.app.extensions["routing"].db.session() as session, session.begin():
        # As if the code had changed since it was written: a fact that is no longer known.
        row = session.get(RulebookVersion, version_id)
        row.document = {**row.document, "labels": {"no_such_fact": "x"}}

    response = team.post(f"/{version_id}/activate", team.ada)

    assert response.status_code == 422
    assert response.get_json()["errors"]["document"][0].startswith(f"version {version_id}: labels.no_such_fact: ")
    assert team.states() == {1: "active", 2: "approved"}


def test_the_service_refuses_a_staff_member_who_is_not_an_admin(team):
    staff = Staff(id=uuid.uuid4(), name="Sam Staff", role="staff")
    with team.app.extensions["routing"].db.session() as session, pytest.raises(rulebook_versions.Refused) as refused:
        rulebook_versions.activate(session, staff, 1)

    assert (refused.value.status, str(refused.value)) == (
        403,
        "Activating a rulebook version needs the 'admin' role; your token has 'staff'.",
    )


def test_a_routing_made_before_an_activation_triages_with_the_new_version(team):
    # The booking worker makes its Routing once, at start, and keeps it for the life of the process.
    routing = team.app.extensions["routing"].routing
    version_id = approved_version(team.client, team.sam, team.ada, "2026-12-07.1")

    before = routing.rulebook.version
    team.post(f"/{version_id}/activate", team.ada)

    assert (before, routing.rulebook.version) == (SHIPPED_LABEL, "2026-12-07.1")


def test_a_body_nested_past_the_recursion_limit_is_a_400_and_a_deep_document_a_422(team):
    abyss = "[" * 5000 + "]" * 5000
    deep = document("2026-12-07.1")
    condition = {"fact": "pain_score", "known": True}
    for _ in range(40):
        condition = {"not": condition}
    deep["rules"][3]["when"] = condition

    malformed = team.client.post(
        "/v1/admin/rulebooks",
        data=f'{{"document": {{"version": {abyss}}}}}',
        content_type="application/json",
        headers=bearer(team.sam),
    )
    too_deep = team.post("", team.sam, {"document": deep})

    assert (malformed.status_code, malformed.get_json()["detail"]) == (400, "The JSON body is nested too deeply.")
    assert malformed.content_type == "application/problem+json"
    assert too_deep.status_code == 422
    assert too_deep.get_json()["errors"] == {"document": ["Nested more than 32 levels deep; no rulebook is."]}
    assert team.states() == {1: "active"}
