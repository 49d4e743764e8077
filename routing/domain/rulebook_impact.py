"""An impact preview's arithmetic: replay stored decisions through a candidate rulebook and tally the differences.

Replay uses the facts each decision was made on (``engine.decide``), not the message read again: the preview then
shows what the rulebook change alone would do, with the reader held as it was when each inquiry came in (a reader
change is a code release, previewed by the corpus tests, not a rulebook draft). It is also what makes replay fast.

A :class:`Tally` is a partial result over some inquiries; tallies of disjoint batches merge (the replay runs in
several processes, a batch each), and :func:`report` turns the merged tally into the stored, JSON-ready report.
Pure Python: no database, no Flask.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from routing.domain.triage.engine import SAFETY, Decision, decide
from routing.domain.triage.facts import FACT_KINDS, SET_FACTS, Facts
from routing.domain.triage.reader import PossibleRedFlag
from routing.domain.triage.rulebook import URGENCY_SCALE, Rulebook
from routing.domain.vocabulary import Route

#: The rule id of a decision staff set by hand (``staff_actions.STAFF_RULE``): not the rulebook's, so not compared.
STAFF_RULE = "STAFF"
#: Reason lines that are not a rule firing (needs review, safety net, facts read from the message, staff).
NOT_RULES = frozenset({"NR", SAFETY, "TEXT", STAFF_RULE})
#: Sample inquiries kept per transition, and red-flag changes listed (their counts are always exact).
SAMPLES_PER_TRANSITION = 5
RED_FLAG_CHANGES_LISTED = 200
#: Routes and urgencies in the order the report and its heat map show them (most serious first).
ROUTE_ORDER = tuple(route.value for route in Route)
URGENCY_ORDER = tuple(urgency.value for urgency in reversed(URGENCY_SCALE))
EXIT, ENTRY = "exit", "entry"
_UNREAD_LANGUAGE = re.compile(r"^Language not read \(([^)]+)\)")
_POSSIBLE_RED_FLAG = "Possible red flag not placed"


@dataclass(frozen=True)
class StoredDecision:
    """The decision in force for one inquiry, as stored in ``triage_decisions``.

    Of its reasons only what replay needs is kept: the rule and modifiers that fired, and the safety net's texts.
    """

    inquiry_id: str
    route: str
    urgency: str
    rule_id: str
    facts: dict[str, Any]
    language: str | None = None
    fired: frozenset[str] = frozenset()
    safety: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        inquiry_id: str,
        route: str,
        urgency: str,
        rule_id: str,
        reasons: str | list[dict[str, Any]] | None,
        facts: dict[str, Any] | None,
        language: str | None = None,
    ) -> StoredDecision:
        """From a ``triage_decisions`` row; ``reasons`` as stored JSON text (the fast way) or already parsed."""
        fired, safety = summarise_reasons(reasons or [])
        return cls(inquiry_id, route, urgency, rule_id, facts or {}, language, fired | {rule_id}, safety)


# A "rule" key in a decision's reasons, as JSON text. Inside a JSON string every quote is escaped, so this matches
# keys only. Reading the ids this way instead of parsing every reason list is most of a replay's speed.
_RULE_IN_JSON = re.compile(r'"rule"\s*:\s*"([^"\\]*)"')


def summarise_reasons(reasons: str | list[dict[str, Any]]) -> tuple[frozenset[str], tuple[str, ...]]:
    """The rules and modifiers a decision's reasons name, and the texts of its safety-net reasons."""
    if isinstance(reasons, str):
        named = _RULE_IN_JSON.findall(reasons)
        if SAFETY not in named:
            return frozenset(rule for rule in named if rule not in NOT_RULES), ()
        reasons = json.loads(reasons)  # held for staff (rare): the safety net's texts are needed
    fired = frozenset(str(r.get("rule")) for r in reasons if r.get("rule") not in NOT_RULES)
    return fired, tuple(str(r.get("text", "")) for r in reasons if r.get("rule") == SAFETY)


def facts_of(stored: Mapping[str, Any]) -> Facts:
    """The stored facts (``Facts.to_dict()``) as :class:`Facts` again; names this code no longer knows are left out."""
    values = {
        name: frozenset(value or ()) if name in SET_FACTS else value
        for name, value in stored.items()
        if name in FACT_KINDS
    }
    return Facts(**values)


def replay(stored: StoredDecision, rulebook: Rulebook) -> Decision:
    """What ``rulebook`` decides on the facts ``stored`` was made on.

    The safety net's inputs are taken from the stored reasons: a message in a language the reader does not read, and
    possible red flags the reader could not place, hold the replayed decision for staff exactly as they held the
    original (the candidate rulebook cannot change what the reader found). The language not read is named in its
    reason, so the inquiry's own language is not needed (``language`` None reads as English, which holds nothing).
    """
    message_language, possible = None, []
    for text in stored.safety:
        if found := _UNREAD_LANGUAGE.match(text):
            message_language = found.group(1)
        elif text.startswith(_POSSIBLE_RED_FLAG):
            possible.append(PossibleRedFlag("possible_red_flag", "(as read when the inquiry came in)"))
    return decide(
        facts_of(stored.facts),
        rulebook,
        language=stored.language or "en",
        message_language=message_language,
        possible_red_flags=possible,
    )


def rules_fired(decision: Decision) -> set[str]:
    """The rule and modifiers that made a decision (a modifier that raised urgency gives a reason)."""
    return {decision.rule_id, *(reason.rule for reason in decision.reasons if reason.rule not in NOT_RULES)}


def outcome_key(route: str, urgency: str) -> str:
    """A cell of the transition matrix: ``route/urgency``."""
    return f"{route}/{urgency}"


@dataclass
class Tally:
    """Counts over a batch of replayed inquiries; :meth:`merge` adds another batch's."""

    replayed: int = 0
    staff_decided: int = 0
    transitions: Counter = field(default_factory=Counter)  # (from key, to key) -> inquiries
    rules_before: Counter = field(default_factory=Counter)
    rules_after: Counter = field(default_factory=Counter)
    samples: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    exits: int = 0
    entries: int = 0
    #: The first inquiries (by id) leaving urgent_review, and entering it; each list capped, the counts exact.
    exit_list: list[dict[str, Any]] = field(default_factory=list)
    entry_list: list[dict[str, Any]] = field(default_factory=list)

    def add(self, stored: StoredDecision, rulebook: Rulebook) -> None:
        """Replay one stored decision through ``rulebook`` and count what would change."""
        if stored.rule_id == STAFF_RULE:
            # Staff chose this route by hand: no rulebook would change it, so it is counted, not compared.
            self.staff_decided += 1
            return
        decision = replay(stored, rulebook)
        self.replayed += 1
        before = outcome_key(stored.route, stored.urgency)
        after = outcome_key(decision.route, decision.urgency)
        self.transitions[before, after] += 1
        self.rules_before.update(stored.fired)
        self.rules_after.update(rules_fired(decision))
        if before != after:
            kept = self.samples.setdefault((before, after), [])
            if len(kept) < SAMPLES_PER_TRANSITION:
                kept.append(stored.inquiry_id)
        was_urgent, is_urgent = stored.route == Route.URGENT_REVIEW, decision.route == Route.URGENT_REVIEW
        if was_urgent != is_urgent:
            if was_urgent:
                self.exits += 1
            else:
                self.entries += 1
            listed = self.exit_list if was_urgent else self.entry_list
            if len(listed) < RED_FLAG_CHANGES_LISTED:
                listed.append(
                    {
                        "inquiry_id": stored.inquiry_id,
                        "direction": EXIT if was_urgent else ENTRY,
                        "from": {"route": stored.route, "urgency": stored.urgency, "rule": stored.rule_id},
                        "to": {"route": decision.route, "urgency": decision.urgency, "rule": decision.rule_id},
                        "red_flags": sorted(stored.facts.get("red_flags") or ()),
                    }
                )

    def merge(self, other: Tally) -> None:
        """Add ``other``'s counts (a batch of other inquiries)."""
        self.replayed += other.replayed
        self.staff_decided += other.staff_decided
        self.transitions.update(other.transitions)
        self.rules_before.update(other.rules_before)
        self.rules_after.update(other.rules_after)
        for key, ids in other.samples.items():
            self.samples[key] = sorted({*self.samples.get(key, ()), *ids})[:SAMPLES_PER_TRANSITION]
        self.exits += other.exits
        self.entries += other.entries
        # By inquiry id, so the lists do not depend on how the inquiries were batched.
        self.exit_list = _first_by_id(self.exit_list, other.exit_list)
        self.entry_list = _first_by_id(self.entry_list, other.entry_list)

    def red_flag_changes(self) -> list[dict[str, Any]]:
        """Exits from urgent_review first (the loud ones), then entries; at most RED_FLAG_CHANGES_LISTED."""
        return [*self.exit_list, *self.entry_list][:RED_FLAG_CHANGES_LISTED]


def _first_by_id(*lists: list[dict[str, Any]]) -> list[dict[str, Any]]:
    merged = sorted((item for items in lists for item in items), key=lambda item: item["inquiry_id"])
    return merged[:RED_FLAG_CHANGES_LISTED]


def _cell_order(key: str) -> tuple[int, int]:
    route, _, urgency = key.partition("/")
    return (
        ROUTE_ORDER.index(route) if route in ROUTE_ORDER else len(ROUTE_ORDER),
        URGENCY_ORDER.index(urgency) if urgency in URGENCY_ORDER else len(URGENCY_ORDER),
    )


def report(tally: Tally, rulebook: Rulebook) -> dict[str, Any]:
    """The stored report: counts, red-flag changes (exits from urgent_review first), transitions, rules.

    ``urgent_review_exits`` is the number of inquiries that would leave urgent_review: approval asks for an
    explicit acknowledgement when it is not zero.
    """
    transitions = [
        {
            "from": dict(zip(("route", "urgency"), before.split("/"), strict=True)),
            "to": dict(zip(("route", "urgency"), after.split("/"), strict=True)),
            "count": count,
            "changed": before != after,
            "samples": tally.samples.get((before, after), []),
        }
        for (before, after), count in tally.transitions.items()
    ]
    # Changes first, the largest first; then the unchanged cells, in the matrix's order.
    transitions.sort(
        key=lambda t: (
            not t["changed"],
            -t["count"] if t["changed"] else 0,
            _cell_order(outcome_key(**t["from"])),
            _cell_order(outcome_key(**t["to"])),
        )
    )
    cells = {key for pair in tally.transitions for key in pair}
    rules = sorted(set(tally.rules_before) | set(tally.rules_after), key=_rule_order)
    changed = sum(count for (before, after), count in tally.transitions.items() if before != after)
    return {
        "rulebook_version": rulebook.version,
        "replayed": tally.replayed,
        "changed": changed,
        "staff_decided": tally.staff_decided,
        "urgent_review_exits": tally.exits,
        "urgent_review_entries": tally.entries,
        "red_flag_changes": tally.red_flag_changes(),
        "outcomes": sorted(cells, key=_cell_order),
        "transitions": transitions,
        "rules": [
            {
                "rule": rule,
                "before": tally.rules_before.get(rule, 0),
                "after": tally.rules_after.get(rule, 0),
                "change": tally.rules_after.get(rule, 0) - tally.rules_before.get(rule, 0),
            }
            for rule in rules
        ],
    }


def _rule_order(rule: str) -> tuple[bool, str, int, str]:
    # Rules R0, R1, R2, ..., R10 in number order (not R1, R10, R11, R2), then the modifiers M1, M2.
    found = re.match(r"([A-Za-z]*)(\d*)(.*)", rule)
    letters, number, rest = found.groups() if found else (rule, "", "")
    return (letters != "R", letters, int(number) if number else -1, rest)


__all__ = [
    "RED_FLAG_CHANGES_LISTED",
    "SAMPLES_PER_TRANSITION",
    "STAFF_RULE",
    "StoredDecision",
    "Tally",
    "facts_of",
    "outcome_key",
    "replay",
    "report",
    "rules_fired",
    "summarise_reasons",
]
