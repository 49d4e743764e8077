"""Helpers for impact preview tests: a history of inquiries decided by an earlier rulebook, drafts, a worker's run.

The history's rulebook is the shipped one with one more rule, R2b, that sent pain rated 10/10 to urgent_review;
the draft previewed is the shipped one with pain "persistent" from 28 days instead of 42. So, replayed:
  - WORST_PAIN (10/10, sudden, 3 days, after lifting) leaves urgent_review: urgent_review/urgent (R2b) ->
    consult/soon (R10, raised by M1 and M2);
  - FIVE_WEEKS (35 days, relaxants gave no relief, no scan) moves consult/soon (R5) -> imaging/soon (R4);
  - BLADDER (a red flag) stays urgent_review/emergency (R1), as every red flag must.
"""

from __future__ import annotations

import copy
import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta

from routing.adapters.db.models import Inquiry, RulebookPreview, RulebookVersion, TriageDecision
from routing.domain.triage import triage
from routing.domain.triage.rulebook import DEFAULT_RULEBOOK_PATH, parse_rulebook
from routing.services import rulebook_preview

SHIPPED = json.loads(DEFAULT_RULEBOOK_PATH.read_text(encoding="utf-8"))
PATIENT = {"first_name": "Ana", "last_name": "Diaz", "email": "ana@example.org"}
WORST_PAIN = {"message": "My back hurts.", "symptoms": {"pain_score": 10, "duration_days": 3, "onset": "sudden"}}
WORST_PAIN["symptoms"]["trigger"] = "lifting"
FIVE_WEEKS = {
    "message": "My lower back hurts.",
    "symptoms": {"duration_days": 35, "muscle_relaxants": "no_relief", "prior_imaging": False},
}
BLADDER = {"message": "My back hurts and since yesterday I can't control my bladder."}


def history_rulebook() -> dict:
    """The rulebook the history was decided by: the shipped one, plus R2b (pain 10/10 -> urgent_review)."""
    document = copy.deepcopy(SHIPPED)
    document["version"] = "history-r2b"
    worst = {
        "id": "R2b",
        "name": "worst-pain",
        "when": {"fact": "pain_score", "at_least": 10},
        "route": "urgent_review",
        "urgency": "urgent",
        "likely_cause": "undetermined",
        "reason": "Pain rated {pain_score}/10: a clinician calls the patient.",
    }
    document["rules"].insert(2, worst)
    return document


def draft_28_days(label: str = "draft-28-days") -> dict:
    """The shipped rulebook with pain "persistent" from 28 days (42 shipped)."""
    document = copy.deepcopy(SHIPPED)
    document["version"] = label
    document["terms"]["persistent"]["at_least"] = 28
    return document


def store_history(app, inquiries: list[dict], received_at: datetime, document: dict | None = None) -> list[str]:
    """Store inquiries as intake would have, each with the decision ``document`` (default: the history's rulebook)
    made on its message and form answers; their ids, in order."""
    rulebook = parse_rulebook(document or history_rulebook())
    ids = []
    with app.extensions["routing"].db.session() as session, session.begin():
        for body in inquiries:
            payload = {"patient": PATIENT, **body}
            raw = json.dumps(payload).encode()
            decision = triage(body.get("symptoms") or {}, body.get("message"), received_at.date(), rulebook)
            inquiry = Inquiry(
                id=uuid.uuid4(),
                idempotency_key=uuid.uuid4().hex,
                body_sha256=hashlib.sha256(raw).hexdigest(),
                content_type="application/json",
                raw_body=raw,
                payload=payload,
                facts={"values": decision.facts.to_dict(), "evidence": []},
                status="urgent_review" if decision.route == "urgent_review" else "needs_review",
                language=decision.language,
                received_at=received_at,
                updated_at=received_at,
            )
            session.add(inquiry)
            session.flush()
            session.add(
                TriageDecision(
                    inquiry_id=inquiry.id,
                    urgency=decision.urgency,
                    likely_cause=decision.likely_cause,
                    route=decision.route,
                    rule_id=decision.rule_id,
                    needs_review=decision.needs_review,
                    hold=decision.hold,
                    reasons=[reason.to_dict() for reason in decision.reasons],
                    facts=decision.facts.to_dict(),
                    rulebook_version=decision.rulebook_version,
                    created_at=received_at,
                )
            )
            ids.append(str(inquiry.id))
    return ids


def add_version(app, document: dict, state: str = "draft") -> int:
    """A rulebook version stored as it is (as a draft by default); its id."""
    with app.extensions["routing"].db.session() as session, session.begin():
        row = RulebookVersion(label=document["version"], document=document, sha256="test", state=state, created_by="t")
        session.add(row)
        session.flush()
        return row.id


def run_worker_once(app, processes: int = 1) -> str | None:
    """What a worker does with the oldest waiting preview: its final status (None: nothing was waiting)."""
    wiring = app.extensions["routing"]
    url = wiring.settings.database_url.render_as_string(hide_password=False)
    return rulebook_preview.run_next(wiring.db.session, rulebook_preview.ReplaySettings(url, processes=processes))


def preview_row(app, preview_id: str) -> RulebookPreview:
    """The stored preview row."""
    with app.extensions["routing"].db.session() as session:
        return session.get(RulebookPreview, uuid.UUID(preview_id))


def days_ago(days: float) -> datetime:
    """A moment ``days`` before now (UTC)."""
    return datetime.now(UTC) - timedelta(days=days)
