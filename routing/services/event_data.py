"""What each outbox event says: its data, built from the change it describes. Ids, codes and times only.

A triage decision is told by its route, urgency, rule and the rule ids of its reasons: never the reasons'
text, the facts read from the message, the likely cause, or anything the patient wrote. The docs list each shape
(docs/notifications-webhooks.md); tests/outbox/test_outbox_events.py pins them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any


def reason_rules(reasons: Iterable[Any]) -> list[str]:
    """The rule ids of a decision's reasons (``Reason`` objects or their stored dicts), each once, in order."""
    seen: dict[str, None] = {}
    for reason in reasons:
        rule = reason.get("rule") if isinstance(reason, dict) else reason.rule
        if rule:
            seen.setdefault(str(rule), None)
    return list(seen)


def received(inquiry_id: uuid.UUID, language: str | None) -> dict[str, Any]:
    """``inquiry.received``: an inquiry was stored."""
    return {"inquiry_id": inquiry_id, "language": language}


def routed(inquiry_id: uuid.UUID, status: str, decision: Any) -> dict[str, Any]:
    """``inquiry.routed``: the inquiry settled (booked, held for staff, or urgent review) under ``decision``
    (a triage ``Decision`` or a stored ``TriageDecision``)."""
    return {
        "inquiry_id": inquiry_id,
        "status": status,
        "route": decision.route,
        "urgency": decision.urgency,
        "rule": decision.rule_id,
        "reasons": reason_rules(decision.reasons),
        "hold": decision.hold,
        "rulebook_version": decision.rulebook_version,
    }


def urgent_review(inquiry_id: uuid.UUID, decision: Any) -> dict[str, Any]:
    """``inquiry.urgent_review``: a clinician must call the patient (an emergency, or an urgent review)."""
    return {
        "inquiry_id": inquiry_id,
        "urgency": decision.urgency,
        "rule": decision.rule_id,
        "reasons": reason_rules(decision.reasons),
    }


def held(inquiry_id: uuid.UUID, reason: str, route: str | None = None, urgency: str | None = None) -> dict[str, Any]:
    """``inquiry.held``: staff must act before anything is booked; ``reason`` is a code (see HOLD_REASONS)."""
    return {"inquiry_id": inquiry_id, "reason": reason, "route": route, "urgency": urgency}


#: Why an inquiry is held for staff (``inquiry.held``'s ``reason``).
HOLD_REASONS = (
    "language",  # written in a language the reader does not read
    "possible_red_flag",  # a possible red flag the reader could not place
    "no_slot",  # no free slot inside the urgency's window (the earliest after it is proposed to staff)
    "patient_identity",  # the scheduling system has records that may be this patient
    "booking_failed",  # the scheduling system failed every attempt
    "triage_failed",  # triage itself failed: staff read the inquiry
    "waitlist_window_passed",  # on the waitlist, no slot freed inside the urgency window
)


def appointment(
    inquiry_id: uuid.UUID,
    appointment_id: uuid.UUID | str,
    slot_type: str,
    start: datetime,
    end: datetime | None,
    scheduler: str | None,
    **extra: Any,
) -> dict[str, Any]:
    """``appointment.booked`` / ``.cancelled`` / ``.noshow``: one of our appointments (``extra``: codes)."""
    return {
        "inquiry_id": inquiry_id,
        "appointment_id": str(appointment_id),
        "slot_type": slot_type,
        "start": start,
        "end": end,
        "scheduler": scheduler,
        **extra,
    }


def rebooked(
    inquiry_id: uuid.UUID,
    previous_appointment_id: uuid.UUID | str,
    appointment_id: uuid.UUID | str,
    slot_type: str,
    start: datetime,
    end: datetime | None,
    scheduler: str | None,
    by: str,
) -> dict[str, Any]:
    """``appointment.rebooked``: a new appointment replaces the previous one (cancelled), told as one change;
    ``by`` is ``staff`` (an override) or ``routing`` (rebooked after the scheduling system cancelled it)."""
    return {
        **appointment(inquiry_id, appointment_id, slot_type, start, end, scheduler),
        "previous_appointment_id": str(previous_appointment_id),
        "by": by,
    }


def waitlist_offer(
    inquiry_id: uuid.UUID, offer_id: uuid.UUID, slot_type: str, start: datetime, expires_at: datetime
) -> dict[str, Any]:
    """``waitlist.offered``: a freed slot is held for the patient until ``expires_at``."""
    return {
        "inquiry_id": inquiry_id,
        "offer_id": str(offer_id),
        "slot_type": slot_type,
        "start": start,
        "expires_at": expires_at,
    }
