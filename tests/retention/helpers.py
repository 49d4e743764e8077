"""Helpers for the text retention tests: an app keeping text a year, inquiries, what is stored about them."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from routing.adapters.db.models import Appointment, AuditEvent, Inquiry, Referral, TriageDecision
from routing.domain.retention import TextRetention
from routing.services import retention

DAYS = 365
POLICY = TextRetention(text_days=DAYS)
#: Words of STRAIN (some quoted as evidence by the reader); none may be left anywhere once the text is removed.
QUOTED = ("couch", "Lifted", "spasm", "Pain about", "Never had this before")


def post(client, body: dict) -> str:
    response = client.post("/v1/inquiries", json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
    assert response.status_code in (201, 202), response.get_json()
    return response.get_json()["id"]


def sessions(app):
    return app.extensions["routing"].db.session


def received_at(app, inquiry_id: str):
    with sessions(app)() as session:
        return session.get(Inquiry, uuid.UUID(inquiry_id)).received_at


def stored(app, inquiry_id: str) -> dict:
    """Everything stored about the inquiry that could hold the patient's words, as plain values."""
    key = uuid.UUID(inquiry_id)
    with sessions(app)() as session:
        row = session.get(Inquiry, key)
        decisions = session.scalars(
            select(TriageDecision).where(TriageDecision.inquiry_id == key).order_by(TriageDecision.created_at)
        ).all()
        appointments = session.scalars(
            select(Appointment).where(Appointment.inquiry_id == key).order_by(Appointment.created_at)
        ).all()
        referrals = session.scalars(select(Referral).where(Referral.inquiry_id == key)).all()
        return {
            "raw_body": row.raw_body,
            "payload": row.payload,
            "facts": row.facts,
            "status": row.status,
            "text_redacted_at": row.text_redacted_at,
            "decisions": [
                (d.route, d.urgency, d.rule_id, d.likely_cause, d.needs_review, d.facts, d.reasons) for d in decisions
            ],
            "appointments": [(a.slot_type, a.start, a.status) for a in appointments],
            "referrals": [r.reasons for r in referrals],
        }


def run(app, now, **kwargs):
    with sessions(app)() as session:
        return retention.run(session, kwargs.pop("policy", POLICY), now, **kwargs)


def audit_events(app, action: str = retention.ACTION) -> list[tuple[str, dict]]:
    with sessions(app)() as session:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).all()
        return [(row.actor_name, row.details) for row in rows]
