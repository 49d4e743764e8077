"""What the text retention policy removes from a stored inquiry, and what it keeps (``docs/retention.md``).

Removed: the patient's free text, in their own words: the raw body as delivered, the message, the preferred and
unavailable times, any field the intake does not know (it may hold anything), and the words quoted from the message
in the facts' evidence and in the decisions' reasons. Kept: who the patient is and how to reach them, the form's
structured answers, the facts and where each came from (form or message), every decision, appointment and audit
event. Pure Python: the service (``routing.services.retention``) reads and writes the rows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from routing.domain.triage.facts import FACT_KINDS

#: Stands in for a removed message, so the stored payload still loads with the intake's schema (a message-only
#: inquiry would otherwise fail its "say something" check, and with it every reader of the patient's contact).
#: Never read as the patient's words: a redacted inquiry is decided again on its stored facts.
REMOVED_MESSAGE = "[text removed under the retention policy]"

#: The payload's fields that are facts, not free text: kept, and within them only the keys the intake knows.
_KEPT_PATIENT = ("first_name", "last_name", "email", "phone", "date_of_birth")
_KEPT_FIELDS = ("consent", "language", "contact_preference", "preferred_location", "postal_code")
#: Reason lines that quote the patient's words: facts read from the message, and the safety net's finds.
_QUOTING_RULES = frozenset({"TEXT", "SAFETY"})
#: The engine quotes the patient's words in curly quotes, in brackets, once per line: `` (“...”)``. Greedy, to the
#: line's last closing quote, so words that themselves hold ``”)`` go too.
_QUOTED = re.compile(r"\s*\(“.*”\)", re.DOTALL)


@dataclass(frozen=True)
class TextRetention:
    """How long an inquiry's free text is kept (``ROUTING_RETENTION_TEXT_DAYS``), and how the job works through it."""

    #: Days after an inquiry is received that its free text is removed; None: kept for ever (the default).
    text_days: int | None = None
    #: Inquiries redacted per transaction.
    batch_size: int = 200
    #: Batches one run of the worker's periodic job does at most (the CLI goes on until nothing is due).
    max_batches: int = 25
    #: How often the worker runs the job.
    every: timedelta = timedelta(minutes=10)

    @property
    def enabled(self) -> bool:
        """Whether any text is ever removed."""
        return self.text_days is not None

    def cutoff(self, now: datetime) -> datetime:
        """Inquiries received at or before this moment are due: their text has been kept ``text_days`` days."""
        if self.text_days is None:
            raise ValueError("text retention is off (ROUTING_RETENTION_TEXT_DAYS is not set)")
        return now - timedelta(days=self.text_days)


def redact_payload(payload: Mapping[str, Any] | None) -> dict[str, Any]:
    """The stored payload without free text: the patient's identity and contact, the form's answers, consent,
    language and site wishes; the message replaced by :data:`REMOVED_MESSAGE`; everything else left out."""
    payload = payload or {}
    kept: dict[str, Any] = {}
    patient = payload.get("patient")
    if isinstance(patient, Mapping):
        kept["patient"] = {key: patient[key] for key in _KEPT_PATIENT if key in patient}
    symptoms = payload.get("symptoms")
    if isinstance(symptoms, Mapping):
        # The answers passed the intake's validation (choices, numbers, flags): facts, not words. Keys the
        # intake does not know are dropped, as they were never checked.
        kept["symptoms"] = {key: value for key, value in symptoms.items() if key in FACT_KINDS}
    kept.update({key: payload[key] for key in _KEPT_FIELDS if key in payload})
    message = payload.get("message")
    if isinstance(message, str) and message.strip():
        kept["message"] = REMOVED_MESSAGE
    return kept


def redact_facts(facts: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The inquiry's stored facts (values and evidence) with the message's phrases removed from the evidence:
    each fact still says it was read from the message, not in which words."""
    if facts is None:
        return None
    evidence = [{**item, "phrase": None} if item.get("phrase") is not None else dict(item) for item in _items(facts)]
    return {**facts, "evidence": evidence}


def redact_reasons(reasons: Sequence[Any] | None) -> list[Any]:
    """A decision's reasons without the patient's quoted words. Every line stays, saying what was read and why
    (``From the message: radiating leg pain.``); the safety net's lines keep their opening words, which replaying
    the decision reads (``routing.domain.rulebook_impact.replay``)."""
    out: list[Any] = []
    for reason in reasons or ():
        if isinstance(reason, Mapping) and reason.get("rule") in _QUOTING_RULES:
            reason = dict(reason)
            reason["text"] = _unquoted(str(reason.get("text") or ""))
            if reason.get("phrase") is not None:
                reason["phrase"] = None
        out.append(reason)
    return out


def redact_reason_texts(texts: Sequence[Any] | None) -> list[Any]:
    """Reason lines kept as plain text (a referral's reasons) without the patient's quoted words."""
    return [_unquoted(text) if isinstance(text, str) else text for text in texts or ()]


def _unquoted(text: str) -> str:
    return _QUOTED.sub("", text)


def _items(facts: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    evidence = facts.get("evidence")
    return [item for item in evidence if isinstance(item, Mapping)] if isinstance(evidence, list) else []
