"""Helpers for rulebook version tests: drafts of the shipped rulebook, finished previews, approved versions."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from routing.adapters.db.models import RulebookPreview, TriageDecision
from routing.domain.triage.rulebook import DEFAULT_RULEBOOK_PATH
from tests.http.admin_helpers import bearer

SHIPPED = json.loads(DEFAULT_RULEBOOK_PATH.read_text(encoding="utf-8"))
#: The shipped rulebook's version: version 1's label.
SHIPPED_LABEL = SHIPPED["version"]


def document(label: str, r10_urgency: str | None = None) -> dict:
    """The shipped rulebook as ``label``; ``r10_urgency`` changes what rule R10 (an acute strain after exertion,
    the intake helpers' STRAIN message) decides, so a decision shows which version made it."""
    changed = copy.deepcopy(SHIPPED)
    changed["version"] = label
    if r10_urgency is not None:
        next(rule for rule in changed["rules"] if rule["id"] == "R10")["urgency"] = r10_urgency
    return changed


def finished_preview(app, version_id: int, exits: int | None, finished_at: datetime | None = None) -> str:
    """A done impact preview of ``version_id`` whose report counts ``exits`` inquiries leaving urgent_review
    (None: a report without the count), as routing.services.rulebook_preview stores it; its id."""
    now = finished_at or datetime.now(UTC)
    result = {} if exits is None else {"urgent_review_exits": exits}
    return _preview(app, version_id, "done", result, now)


def unfinished_preview(app, version_id: int, status: str) -> str:
    """A preview that is ``queued``, ``running``, ``cancelled`` or ``failed``: no result to go by."""
    return _preview(app, version_id, status, None, datetime.now(UTC))


def _preview(app, version_id: int, status: str, result: dict | None, now: datetime) -> str:
    with app.extensions["routing"].db.session() as session, session.begin():
        preview = RulebookPreview(
            id=uuid.uuid4(),
            version_id=version_id,
            period_start=now - timedelta(days=90),
            period_end=now,
            status=status,
            total=0,
            done=0,
            result=result,
            requested_at=now - timedelta(minutes=1),
            requested_by="Ada Admin",
            finished_at=now if status == "done" else None,
        )
        session.add(preview)
    return str(preview.id)


def create_draft(client, token: str, label: str, **body) -> dict:
    """POST a draft of the shipped rulebook as ``label`` (201 expected); its answer."""
    payload = {"document": document(label, body.pop("r10_urgency", None)), **body}
    response = client.post("/v1/admin/rulebooks", json=payload, headers=bearer(token))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def approved_version(client, author: str, approver: str, label: str, **body) -> int:
    """A draft by ``author`` approved by ``approver`` (acknowledging: no preview ran); its id."""
    version_id = create_draft(client, author, label, **body)["id"]
    response = client.post(
        f"/v1/admin/rulebooks/{version_id}/approve",
        json={"acknowledge_urgent_review_exits": True},
        headers=bearer(approver),
    )
    assert response.status_code == 200, response.get_json()
    return version_id


def decision_label(app, inquiry_id: str) -> tuple[str, str, str]:
    """The decision in force for an inquiry: (rulebook version label, rule, urgency)."""
    with app.extensions["routing"].db.session() as session:
        row = session.scalars(
            select(TriageDecision).where(
                TriageDecision.inquiry_id == uuid.UUID(inquiry_id), TriageDecision.superseded_at.is_(None)
            )
        ).one()
        return row.rulebook_version, row.rule_id, row.urgency
