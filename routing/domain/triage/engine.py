"""Evaluate a rulebook over facts: the first matching rule routes, modifiers raise urgency."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from routing.domain.triage.facts import SET_FACTS, TEXT, Facts
from routing.domain.triage.rulebook import Rulebook, days


@dataclass(frozen=True, init=False)
class Reason:
    """One line of a decision's explanation.

    ``rule`` is a rule id (R0 to R11), a modifier id (M1, M2), ``NR`` for the needs-review note, or
    ``TEXT`` for a fact read from the message (then ``fact`` and ``phrase`` say which and from where).
    """

    rule: str
    text: str
    fact: str | None = None
    phrase: str | None = None

    def __init__(self, rule: str, text: str, fact: str | None = None, phrase: str | None = None) -> None:
        # Cheaper than the generated frozen __init__ (see ``facts.Evidence``); several per decision.
        # Item by item: ``__dict__.update(rule=rule, ...)`` first builds a dict of keywords to copy.
        fields = self.__dict__
        fields["rule"] = rule
        fields["text"] = text
        fields["fact"] = fact
        fields["phrase"] = phrase

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; ``fact``/``phrase`` only when present."""
        out: dict[str, Any] = {"rule": self.rule, "text": self.text}
        if self.fact is not None:
            out["fact"] = self.fact
            out["phrase"] = self.phrase
        return out


@dataclass(frozen=True, init=False)
class Decision:
    """The outcome of triage, with everything needed to explain and store it."""

    route: str
    urgency: str
    likely_cause: str
    rule_id: str
    needs_review: bool
    reasons: tuple[Reason, ...]
    rulebook_version: str
    facts: Facts

    def __init__(
        self,
        route: str,
        urgency: str,
        likely_cause: str,
        rule_id: str,
        needs_review: bool,
        reasons: tuple[Reason, ...],
        rulebook_version: str,
        facts: Facts,
    ) -> None:
        # One per decision; the generated frozen __init__ would call object.__setattr__ eight times.
        fields = self.__dict__
        fields["route"] = route
        fields["urgency"] = urgency
        fields["likely_cause"] = likely_cause
        fields["rule_id"] = rule_id
        fields["needs_review"] = needs_review
        fields["reasons"] = reasons
        fields["rulebook_version"] = rulebook_version
        fields["facts"] = facts

    def to_dict(self) -> dict[str, Any]:
        """The contract's ``triage`` object (plus ``rule``)."""
        return {
            "urgency": self.urgency,
            "likely_cause": self.likely_cause,
            "route": self.route,
            "rule": self.rule_id,
            "needs_review": self.needs_review,
            "reasons": [reason.to_dict() for reason in self.reasons],
            "rulebook_version": self.rulebook_version,
        }


def decide(facts: Facts, rulebook: Rulebook) -> Decision:
    """Apply ``rulebook`` to ``facts``. Pure and deterministic: same facts, same decision."""
    rule = next(rule for rule in rulebook.rules if rule.matches(facts))
    reasons = [Reason(rule.id, _fill(rule.reason, facts, rulebook))]
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
        shown = ", ".join(name.replace("_", " ") for name in known) or "none"
        reasons.append(Reason("NR", rulebook.review_reason.format(known=shown)))
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
    )


def _fill(template: str, facts: Facts, rulebook: Rulebook) -> str:
    if "{" not in template and "}" not in template:
        return template  # nothing to fill (several reasons have no placeholder)
    placeholders = _Placeholders()
    placeholders.facts = facts
    placeholders.rulebook = rulebook
    return template.format_map(placeholders)


class _Placeholders(dict):
    """Fact values in plain words, computed only for the placeholders a template uses."""

    # Slots set by ``_fill`` rather than an ``__init__``: a Python ``__init__`` calling ``dict.__init__``
    # costs more than filling the template.
    __slots__ = ("facts", "rulebook")
    facts: Facts
    rulebook: Rulebook

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
    # (Arguments by position: keywords cost a dict per Reason, and a decision has several.)
    # ``describe``'s memo is read here first: the call costs more than the lookup, and every fact read
    # from a message is described once per decision.
    described = rulebook._described
    reasons = []
    for item in facts.evidence:
        if item.source == TEXT:
            fact, value, phrase = item.fact, item.value, item.phrase
            try:
                label = described[(fact, type(value), value)]  # the key of ``Rulebook.describe``
            except (KeyError, TypeError):
                label = rulebook.describe(fact, value)
            reasons.append(Reason("TEXT", f"From the message: {label} (“{phrase}”).", fact, phrase))
    return reasons
