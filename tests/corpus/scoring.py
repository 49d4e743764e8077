"""Score the triage reader on the project's own corpus of patient messages.

Run ``python -m tests.corpus.scoring`` for the figures the README reports: per-fact precision and
recall, per-rule agreement, red-flag recall, how often the safety screen holds a message that has no
red flag, and language detection accuracy. The tests in ``tests/unit/test_corpus.py`` hold the goals.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from routing.domain.triage import load_rulebook, triage
from routing.domain.triage.language import detect_language

CORPUS = Path(__file__).resolve().parent
FACTS = (
    "onset",
    "duration_days",
    "trigger",
    "pain_score",
    "muscle_relaxants",
    "radiating_leg_pain",
    "diagnosed_conditions",
    "prior_imaging",
    "red_flags",
)
SET_FACTS = ("diagnosed_conditions", "red_flags")


def load_cases(*names: str) -> list[dict[str, Any]]:
    """The cases of the named corpus files (default: English and Spanish/mixed)."""
    cases = []
    for name in names or ("en.json", "es.json"):
        cases.extend(json.loads((CORPUS / name).read_text(encoding="utf-8")))
    return cases


@dataclass
class Outcome:
    """One case read by the service: its facts, decision and what the label says."""

    case: dict[str, Any]
    facts: dict[str, Any]
    route: str
    urgency: str
    rule: str
    hold: str | None
    language: str


@dataclass
class Report:
    """The corpus figures."""

    outcomes: list[Outcome]
    # per fact (and per red flag / condition value): true positives, false positives, false negatives
    counts: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))

    @property
    def route_urgency_agreement(self) -> float:
        """Share of cases whose route and urgency are those expected."""
        return sum(map(_agrees, self.outcomes)) / len(self.outcomes)

    def flag_outcomes(self) -> list[Outcome]:
        """Cases labelled with at least one red flag."""
        return [o for o in self.outcomes if o.case["facts"].get("red_flags")]

    @property
    def red_flag_recall(self) -> float:
        """Share of labelled red flags that the reader read (each flag of each case counts once)."""
        counts = self.counts["red_flags"]
        return counts["tp"] / ((counts["tp"] + counts["fn"]) or 1)

    @property
    def red_flags_never_booked(self) -> float:
        """Share of red-flag cases that went to a clinician or were held for staff (nothing booked)."""
        flagged = self.flag_outcomes()
        safe = sum(o.route == "urgent_review" or o.hold is not None for o in flagged)
        return safe / (len(flagged) or 1)

    def held_without_flag(self) -> tuple[int, int]:
        """(held by the screen, all) among cases labelled with no red flag."""
        plain = [o for o in self.outcomes if not o.case["facts"].get("red_flags")]
        return sum(o.hold == "possible_red_flag" for o in plain), len(plain)


def _agrees(outcome: Outcome) -> bool:
    expected = outcome.case["expected"]
    if expected.get("or_red_flag") and outcome.route == "urgent_review":
        return True  # a vague possible red flag read as a red flag: a clinician calls, as safe as a hold
    return outcome.route == expected["route"] and outcome.urgency == expected["urgency"]


def read_corpus(cases: list[dict[str, Any]]) -> Report:
    """Triage every case (message only; the language as the form would not give it: detected)."""
    rulebook = load_rulebook()
    report = Report([])
    for case in cases:
        decision = triage({}, case["message"], date.fromisoformat(case["received_on"]), rulebook)
        facts = decision.facts.to_dict()
        outcome = Outcome(
            case, facts, decision.route, decision.urgency, decision.rule_id, decision.hold, decision.language
        )
        report.outcomes.append(outcome)
        _count(report.counts, case["facts"], facts)
    return report


def _count(counts: dict[str, Counter], expected: dict[str, Any], read: dict[str, Any]) -> None:
    for fact in FACTS:
        if fact in SET_FACTS:
            want, got = set(expected.get(fact) or ()), set(read.get(fact) or ())
            counts[fact]["tp"] += len(want & got)
            counts[fact]["fp"] += len(got - want)
            counts[fact]["fn"] += len(want - got)
            for value in want | got:
                key = f"{fact}.{value}"
                counts[key]["tp"] += value in want and value in got
                counts[key]["fp"] += value in got and value not in want
                counts[key]["fn"] += value in want and value not in got
            continue
        want, got = expected.get(fact), read.get(fact)
        got = None if got == "unknown" else got
        if want is not None and got == want:
            counts[fact]["tp"] += 1
        else:
            counts[fact]["fp"] += got is not None
            counts[fact]["fn"] += want is not None


def precision_recall(counts: Counter) -> tuple[float, float]:
    """Precision and recall from tp/fp/fn counts (1.0 when there is nothing to find)."""
    tp, fp, fn = counts["tp"], counts["fp"], counts["fn"]
    return (tp / (tp + fp) if tp + fp else 1.0), (tp / (tp + fn) if tp + fn else 1.0)


def language_accuracy(cases: list[dict[str, Any]]) -> tuple[int, int, list[tuple[str, str, str]]]:
    """(right, all, mistakes) for detected language: en/es must be told apart, others must not be en/es."""
    right, wrong = 0, []
    for case in cases:
        got = detect_language(case["message"])
        want = case["language"]
        ok = got == want if want in ("en", "es") else got not in ("en", "es")
        right += ok
        if not ok:
            wrong.append((case["id"], want, str(got)))
    return right, len(cases), wrong


def main() -> None:
    """Print the corpus figures (README, "The reader's corpus")."""
    cases = load_cases()
    report = read_corpus(cases)
    by_language = Counter(case["id"].split("-")[0] for case in cases)
    print(f"cases: {len(cases)} ({', '.join(f'{k} {v}' for k, v in sorted(by_language.items()))})")
    print(f"route + urgency agreement: {report.route_urgency_agreement:.1%}")
    print(f"red-flag recall (exact reading): {report.red_flag_recall:.1%}")
    print(f"red-flag cases never booked (read, or held by the safety net): {report.red_flags_never_booked:.1%}")
    held, plain = report.held_without_flag()
    print(f"held by the screen without a red flag: {held}/{plain} = {held / plain:.1%}")
    print("\nfact                           precision  recall")
    for fact in sorted(report.counts):
        precision, recall = precision_recall(report.counts[fact])
        print(f"{fact:32} {precision:7.1%} {recall:7.1%}")
    rules = defaultdict(Counter)
    for outcome in report.outcomes:
        rule = outcome.case["expected"]["rule"]
        rules[rule]["all"] += 1
        rules[rule]["same"] += outcome.rule == rule
    print("\nrule  cases  same rule")
    for rule in sorted(rules, key=lambda r: int(r[1:])):
        print(f"{rule:5} {rules[rule]['all']:5}  {rules[rule]['same'] / rules[rule]['all']:.1%}")
    right, total, wrong = language_accuracy(cases + load_cases("other_languages.json"))
    print(f"\nlanguage detection: {right}/{total} = {right / total:.1%}; mistakes: {wrong}")


if __name__ == "__main__":
    main()
