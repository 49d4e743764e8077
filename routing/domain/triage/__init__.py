"""Triage: the practice's criteria as an explainable, versioned rulebook.

``triage(form, message, received_on, rulebook)`` reads the message, merges it with the form's
explicit values (form wins for single values; red flags and diagnoses are the union) and applies
the rulebook. Pure Python: no Flask, database or network.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from routing.domain.triage.engine import Decision, Reason, decide
from routing.domain.triage.facts import Evidence, Facts, TextReading, combine
from routing.domain.triage.rulebook import DEFAULT_RULEBOOK_PATH, Rulebook, RulebookError, load_rulebook
from routing.domain.triage.text import read_message


def triage(form: Mapping[str, Any], message: str | None, received_on: date, rulebook: Rulebook) -> Decision:
    """Decide route, urgency and likely cause for one inquiry, with reasons."""
    return decide(combine(form, read_message(message, received_on)), rulebook)


__all__ = [
    "DEFAULT_RULEBOOK_PATH",
    "Decision",
    "Evidence",
    "Facts",
    "Reason",
    "Rulebook",
    "RulebookError",
    "TextReading",
    "combine",
    "decide",
    "load_rulebook",
    "read_message",
    "triage",
]
