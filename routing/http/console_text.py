"""Presentation for the staff console: human labels for stored codes, highlighted messages, local times.

The labels are data (``LABELS``), one table per kind of code, so a new code needs one line here and
nothing in the templates; the rulebook's own ``labels`` name the values of the facts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

#: What the console shows for each stored code, by kind. ``tests/http/test_console.py`` checks that
#: every value of the vocabularies (statuses, routes, urgencies, causes, outcomes, facts) is here.
LABELS: dict[str, dict[str, str]] = {
    "status": {
        "pending_booking": "waiting to be booked",
        "booked": "booked",
        "needs_review": "needs staff review",
        "urgent_review": "urgent review",
        "closed": "closed",
    },
    "route": {
        "urgent_review": "urgent clinician review",
        "consult": "consultation",
        "imaging": "imaging (MRI)",
        "injection": "injection",
    },
    "urgency": {
        "emergency": "emergency",
        "urgent": "urgent",
        "soon": "soon",
        "routine": "routine",
    },
    "likely_cause": {
        "serious_pathology_suspected": "possibly serious cause",
        "muscle_strain": "muscle strain",
        "facet_joint_arthritis": "facet joint arthritis",
        "structural": "structural (disc or joint)",
        "chronic_spasm": "chronic muscle spasm",
        "undetermined": "not determined",
    },
    "outcome": {
        "booked": "booked by phone",
        "referred_to_er": "sent to the emergency department",
        "no_answer": "no answer",
    },
    "hold": {
        "language": "written in a language the reader does not read",
        "possible_red_flag": "possible red flag",
    },
    "fact": {
        "onset": "onset",
        "duration_days": "how long it has lasted",
        "episodes": "episodes",
        "trigger": "trigger",
        "location": "where",
        "pain_score": "pain score",
        "muscle_relaxants": "muscle relaxants",
        "radiating_leg_pain": "pain down a leg",
        "diagnosed_conditions": "diagnosed conditions",
        "prior_imaging": "spine imaged before",
        "red_flags": "red flags",
    },
    "source": {"form": "form answer", "text": "message"},
    "slot_type": {"consult": "consultation", "imaging": "imaging", "injection": "injection"},
    "appointment": {"booked": "booked", "cancelled": "cancelled", "noshow": "did not attend"},
    "action": {
        "override": "route changed",
        "cancel": "appointment cancelled",
        "callback": "call-back",
        "retriage": "triage re-run",
        "acknowledge": "acknowledged",
    },
    #: A reason's source when it is not a numbered rule of the rulebook (R1, M1: shown as they are).
    "reason_rule": {"TEXT": "message", "NR": "details", "STAFF": "staff"},
    "language": {"en": "English", "es": "Spanish"},
    "session_ended": {
        "unknown": "Your session has ended. Sign in again.",
        "idle": "You were signed out after {idle} minutes without activity. Sign in again.",
        "max_age": "You were signed out: a session lasts at most {max_age} hours. Sign in again.",
        "token_revoked": "Your token has been revoked; ask an admin for a new one.",
        "token_expired": "Your token has expired; ask an admin for a new one.",
    },
}

_KNOWN_LIST = re.compile(r"(\(known: )([^)]*)\)")
#: How the number facts read, from their value.
_NUMBER_FORMATS = {"duration_days": "{value} days", "pain_score": "{value}/10"}


def highlight(message: str, phrases: Iterable[str]) -> list[tuple[str, bool]]:
    """The message cut into (text, highlighted) pieces, with every phrase that set a fact highlighted.

    Matching ignores case and runs of spaces; overlapping phrases merge. The template escapes each piece,
    so nothing in the message can become markup.
    """
    spans: list[tuple[int, int]] = []
    for phrase in {p.strip() for p in phrases if p and p.strip()}:
        pattern = r"\s+".join(re.escape(word) for word in phrase.split())
        spans += [match.span() for match in re.finditer(pattern, message, flags=re.IGNORECASE)]
    pieces: list[tuple[str, bool]] = []
    position = 0
    for start, end in _merged(spans):
        if start > position:
            pieces.append((message[position:start], False))
        pieces.append((message[start:end], True))
        position = end
    if position < len(message):
        pieces.append((message[position:], False))
    return pieces


def label(code: str | None, kind: str) -> str:
    """The human words for a stored ``code`` of ``kind``; an unlisted code shows itself, spaced."""
    if code is None:
        return "—"
    return LABELS.get(kind, {}).get(code) or str(code).replace("_", " ")


def fact_value(fact: str, value: Any, rulebook_labels: dict[str, Any]) -> str:
    """A fact's value in words: the rulebook's label for a choice or a flag, a unit for a number."""
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(fact_value(fact, item, rulebook_labels) for item in value) or "none"
    if value is None or value == "unknown":
        return "not known"
    if fact in _NUMBER_FORMATS and not isinstance(value, bool):
        return _NUMBER_FORMATS[fact].format(value=value)
    names = rulebook_labels.get(fact)
    key = str(value).lower() if isinstance(value, bool) else str(value)
    if isinstance(names, dict) and key in names:
        return names[key]
    return str(value).replace("_", " ")


def reason_text(reason: dict[str, Any]) -> str:
    """A stored reason as the console shows it: the facts a needs-review reason lists, named in words."""
    text = reason.get("text") or ""
    spaced = {code.replace("_", " "): words for code, words in LABELS["fact"].items()}

    def named(match: re.Match) -> str:
        names = [spaced.get(name.strip(), name.strip()) for name in match.group(2).split(",")]
        return match.group(1) + ", ".join(names) + ")"

    # Decisions made before rulebook 2026-12-06.4+2 list the known facts by code, spaced ("known: duration
    # days"); later ones name them in words already. Only that list changes.
    return _KNOWN_LIST.sub(named, text) if reason.get("rule") == "NR" else text


_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def rule_text(reason: Any) -> str:
    """A rule's reason as the rulebook page shows it: its variants in turn, each placeholder as
    ``[what goes there]`` in words (``{red_flags}`` reads ``[red flags]``), never a Python repr."""
    if isinstance(reason, list):
        texts = (variant.get("text") if isinstance(variant, dict) else variant for variant in reason)
        return " / ".join(rule_text(text) for text in texts)
    if not isinstance(reason, str):
        return ""
    return _PLACEHOLDER.sub(lambda match: f"[{label(match.group(1), 'fact')}]", reason)


def local(moment: str | datetime | None, tz: ZoneInfo) -> str:
    """``Thu 26 Nov 2026, 09:00 EST`` in the clinic's time zone, named (from an ISO string or a datetime)."""
    if moment is None:
        return ""
    when = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return when.astimezone(tz).strftime("%a %d %b %Y, %H:%M %Z")


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
