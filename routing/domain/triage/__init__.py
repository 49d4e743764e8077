"""Triage: the practice's criteria as an explainable, versioned rulebook.

``triage(form, message, received_on, rulebook)`` reads the message, merges it with the form's
explicit values (form wins for single values; red flags and diagnoses are the union) and applies
the rulebook. Pure Python: no Flask, database or network.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from routing.domain.triage.engine import HOLD_LANGUAGE, HOLD_POSSIBLE_RED_FLAG, READ_LANGUAGES, Decision, Reason, decide
from routing.domain.triage.facts import Evidence, Facts, TextReading, combine
from routing.domain.triage.language import UNDETERMINED, detect_language
from routing.domain.triage.reader import Reader, read_message
from routing.domain.triage.rulebook import DEFAULT_RULEBOOK_PATH, Rulebook, RulebookError, load_rulebook


def triage(
    form: Mapping[str, Any],
    message: str | None,
    received_on: date,
    rulebook: Rulebook,
    language: str | None = None,
    reader: Reader | None = None,
) -> Decision:
    """Decide route, urgency and likely cause for one inquiry, with reasons.

    ``language`` is the one the patient chose on the form (``en`` or ``es``); without it the message's
    language is detected. A message in another language, or a possible red flag the reader could not
    place, holds the inquiry for staff (``Decision.hold``).
    """
    reading = read_message(message, received_on, reader)
    detected = detect_language(message)
    # The form's choice answers the patient in that language; a message plainly written in a third language
    # is still one the reader cannot read ("und", too short to tell, is held only when no form language says).
    unread = detected not in (None, *READ_LANGUAGES) and not (language and detected == UNDETERMINED)
    facts = combine(form, reading)
    return decide(
        facts,
        rulebook,
        language=language or detected or "en",
        message_language=detected if unread else None,
        possible_red_flags=reading.possible_red_flags,
    )


__all__ = [
    "DEFAULT_RULEBOOK_PATH",
    "HOLD_LANGUAGE",
    "HOLD_POSSIBLE_RED_FLAG",
    "READ_LANGUAGES",
    "Decision",
    "Evidence",
    "Facts",
    "Reason",
    "Rulebook",
    "RulebookError",
    "TextReading",
    "combine",
    "decide",
    "detect_language",
    "load_rulebook",
    "read_message",
    "triage",
]
