"""Evaluate a rulebook over facts: the first matching rule routes, modifiers raise urgency, and the
safety net holds for staff what the reader could not read for certain."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from routing.domain.triage.facts import SET_FACTS, TEXT, Facts
from routing.domain.triage.rulebook import Rulebook, days
from routing.domain.vocabulary import Route

#: The languages the reader reads; a message in any other is held for staff.
READ_LANGUAGES = ("en", "es")
#: Why a decision is held for staff before anything is booked.
HOLD_LANGUAGE = "language"
HOLD_POSSIBLE_RED_FLAG = "possible_red_flag"
SAFETY = "SAFETY"  # the rule id of a safety-net reason

LANGUAGE_NAMES = {
    "en": "English", "es": "Spanish", "fr": "French", "pt": "Portuguese", "it": "Italian", "de": "German",
    "tl": "Tagalog", "vi": "Vietnamese", "zh": "Chinese", "ko": "Korean", "ru": "Russian", "ar": "Arabic",
    "ht": "Haitian Creole", "pl": "Polish", "ja": "Japanese", "hi": "Hindi", "und": "an undetermined language",
}  # fmt: skip


@dataclass(frozen=True)
class Reason:
    """One line of a decision's explanation.

    ``rule`` is a rule id (R0 to R11), a modifier id (M1, M2), ``NR`` for the needs-review note, ``SAFETY``
    for the safety net, or ``TEXT`` for a fact read from the message (then ``fact`` and ``phrase`` say
    which and from where).
    """

    rule: str
    text: str
    fact: str | None = None
    phrase: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; ``fact``/``phrase`` only when present."""
        out: dict[str, Any] = {"rule": self.rule, "text": self.text}
        if self.fact is not None:
            out["fact"] = self.fact
            out["phrase"] = self.phrase
        return out


@dataclass(frozen=True)
class Decision:
    """The outcome of triage, with everything needed to explain and store it.

    ``hold`` says why staff must read the inquiry before anything is booked (``language`` or
    ``possible_red_flag``), or is None; ``language`` is the inquiry's language.
    """

    route: str
    urgency: str
    likely_cause: str
    rule_id: str
    needs_review: bool
    reasons: tuple[Reason, ...]
    rulebook_version: str
    facts: Facts
    language: str = "en"
    hold: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The contract's ``triage`` object (plus ``rule`` and ``hold``)."""
        return {
            "urgency": self.urgency,
            "likely_cause": self.likely_cause,
            "route": self.route,
            "rule": self.rule_id,
            "needs_review": self.needs_review,
            "hold": self.hold,
            "reasons": [reason.to_dict() for reason in self.reasons],
            "rulebook_version": self.rulebook_version,
        }


def decide(
    facts: Facts,
    rulebook: Rulebook,
    *,
    language: str = "en",
    message_language: str | None = None,
    possible_red_flags: Sequence[Any] = (),
) -> Decision:
    """Apply ``rulebook`` to ``facts``. Pure and deterministic: same inputs, same decision.

    ``language`` is the inquiry's language: one the reader does not read holds the inquiry for staff, and so
    does ``message_language`` when the message itself is written in such a language (whatever the form says).
    ``possible_red_flags`` are the safety screen's finds the exact reading did not place (each with
    ``flag`` and ``words``): they hold the inquiry too, unless a red flag already sends it to a clinician.
    """
    rule = next(rule for rule in rulebook.rules if rule.matches(facts))
    reasons = [Reason(rule.id, _fill(rule.reason_for(facts), facts, rulebook))]
    urgency = rule.urgency
    if rule.route not in rulebook.unmodified_routes:
        for modifier in rulebook.modifiers:
            if modifier.matches(facts):
                raised = modifier.apply(urgency)
                if raised != urgency:
                    reasons.append(Reason(modifier.id, _fill(modifier.reason, facts, rulebook)))
                    urgency = raised
    known = [name for name in rulebook.review_facts if facts.is_known(name)]
    needs_review = len(known) < rulebook.review_min_known
    if needs_review:
        shown = ", ".join(rulebook.review_names[name] for name in known) or "none"
        reasons.append(Reason("NR", rulebook.review_reason.format(known=shown)))
    hold = None
    unread = language if language not in READ_LANGUAGES else message_language
    if unread is not None:
        hold = HOLD_LANGUAGE
        name = LANGUAGE_NAMES.get(unread, unread)
        reasons.append(
            Reason(SAFETY, f"Language not read ({unread}): the message looks written in {name}; staff must read it.")
        )
    for possible in possible_red_flags:
        label = rulebook.describe("red_flags", possible.flag)
        reasons.append(
            Reason(
                SAFETY, f"Possible red flag not placed by the reader: {label} (“{possible.words}”); staff must read it."
            )
        )
        hold = hold or HOLD_POSSIBLE_RED_FLAG
    if hold is not None or rule.route == Route.URGENT_REVIEW:
        # A clinician reviews every urgent_review decision before anything happens: say so on the decision.
        needs_review = True
        if rule.route in rulebook.unmodified_routes:
            hold = None  # a red flag already sends it to a clinician, and nothing is booked
    reasons.extend(_text_reasons(facts, rulebook))
    return Decision(
        route=rule.route,
        urgency=urgency,
        likely_cause=rule.cause_for(facts),
        rule_id=rule.id,
        needs_review=needs_review,
        reasons=tuple(reasons),
        rulebook_version=rulebook.version,
        facts=facts,
        language=language,
        hold=hold,
    )


def _fill(template: str, facts: Facts, rulebook: Rulebook) -> str:
    if "{" not in template:
        return template
    return template.format_map(_Placeholders(facts, rulebook))


class _Placeholders(dict):
    """Fact values in plain words, computed only for the placeholders a template uses."""

    def __init__(self, facts: Facts, rulebook: Rulebook) -> None:
        super().__init__()
        self.facts = facts
        self.rulebook = rulebook

    def __missing__(self, name: str) -> Any:
        value = getattr(self.facts, name)
        if name in SET_FACTS:
            return ", ".join(self.rulebook.describe(name, item) for item in sorted(value)) or "none"
        if name == "duration_days":
            return days(value)
        if name == "pain_score":
            return "?" if value is None else value
        return self.rulebook.describe(name, value)


def _text_reasons(facts: Facts, rulebook: Rulebook) -> list[Reason]:
    # Staff must see which facts were inferred from wording rather than ticked on the form.
    return [
        Reason(
            "TEXT",
            f"From the message: {rulebook.describe(item.fact, item.value)} (“{item.phrase}”).",
            item.fact,
            item.phrase,
        )
        for item in facts.evidence
        if item.source == TEXT
    ]
