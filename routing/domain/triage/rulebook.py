"""The rulebook: the triage policy as data, validated and compiled when it is loaded.

The file (``rulebook.json`` beside this module by default) holds the ordered rules, the modifiers,
the derived terms with their thresholds, the reason texts and the labels used in them. Everything
is checked at load time: an unknown fact, value, term, route or placeholder, a duplicate id, a missing
catch-all or a red flag that would not reach urgent review raises :class:`RulebookError` with the
place in the file, so a bad edit stops the service at start rather than mis-routing a patient.
"""

from __future__ import annotations

import json
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from routing.domain.triage.facts import FACT_KINDS, RED_FLAGS, SET_FACTS, UNKNOWN, Facts
from routing.domain.vocabulary import Route, Urgency

DEFAULT_RULEBOOK_PATH = Path(__file__).with_name("rulebook.json")

#: Urgencies from least to most urgent; modifiers move along this scale.
URGENCY_SCALE = (Urgency.ROUTINE, Urgency.SOON, Urgency.URGENT, Urgency.EMERGENCY)
LIKELY_CAUSES = (
    "serious_pathology_suspected",
    "muscle_strain",
    "facet_joint_arthritis",
    "structural",
    "chronic_spasm",
    "undetermined",
)

Condition = Callable[[Facts], bool]


class RulebookError(ValueError):
    """The rulebook file is malformed; the message names the place and the problem."""


@dataclass(frozen=True)
class Rule:
    """One ordered rule: when it matches, it decides the route, urgency and likely cause."""

    id: str
    name: str
    matches: Condition
    route: str
    urgency: str
    likely_cause: tuple[tuple[Condition | None, str], ...]
    #: The reason text: the first case whose condition holds, as for likely_cause.
    reason_cases: tuple[tuple[Condition | None, str], ...]

    def reason_for(self, facts: Facts) -> str:
        """The reason template for these facts (a case without a condition always applies)."""
        for condition, text in self.reason_cases:
            if condition is None or condition(facts):
                return text
        raise AssertionError(f"rule {self.id} has no default reason")  # excluded at load

    def cause_for(self, facts: Facts) -> str:
        """The likely cause: the first case whose condition holds (a case without one always does)."""
        for condition, value in self.likely_cause:
            if condition is None or condition(facts):
                return value
        raise AssertionError(f"rule {self.id} has no default likely_cause")  # excluded at load


@dataclass(frozen=True)
class Modifier:
    """A step applied after the route is chosen that can only raise urgency."""

    id: str
    name: str
    matches: Condition
    raise_by: int
    up_to: str | None
    at_least: str | None
    reason: str

    def apply(self, urgency: str) -> str:
        """The urgency after this modifier (never lower than ``urgency``)."""
        level = URGENCY_SCALE.index(Urgency(urgency))
        if self.raise_by:
            ceiling = URGENCY_SCALE.index(Urgency(self.up_to)) if self.up_to else len(URGENCY_SCALE) - 1
            level = max(level, min(level + self.raise_by, ceiling))
        if self.at_least:
            level = max(level, URGENCY_SCALE.index(Urgency(self.at_least)))
        return URGENCY_SCALE[level].value


@dataclass(frozen=True)
class Rulebook:
    """A loaded, validated rulebook, ready to evaluate."""

    version: str
    rules: tuple[Rule, ...]
    modifiers: tuple[Modifier, ...]
    unmodified_routes: frozenset[str]
    review_min_known: int
    review_facts: tuple[str, ...]
    review_names: Mapping[str, str]  # each of review_facts in words, for the reason
    review_reason: str
    labels: Mapping[str, Any]
    urgency_windows_days: Mapping[str, int | None]
    source: Mapping[str, Any]
    # describe() answers, remembered: every decision describes each fact it read from the message.
    _described: dict[tuple[str, type, Any], str] = field(default_factory=dict, init=False, repr=False, compare=False)

    def describe(self, fact: str, value: Any) -> str:
        """A fact value in plain words, e.g. ``pain for 90 days`` or ``muscle relaxants helped``."""
        key = (fact, type(value), value)  # the type too: True and 1 are equal keys but read differently
        try:
            return self._described[key]
        except KeyError:
            pass
        except TypeError:  # an unhashable value: describe it afresh
            return self._describe(fact, value)
        if len(self._described) >= _DESCRIBED_LIMIT:
            self._described.clear()
        text = self._described[key] = self._describe(fact, value)
        return text

    def _describe(self, fact: str, value: Any) -> str:
        labels = self.labels.get(fact)
        if fact == "duration_days":
            value = days(value)
        if isinstance(labels, str):
            return labels.format(value=value)
        if isinstance(labels, dict):
            key = str(value).lower() if isinstance(value, bool) else str(value)
            return labels.get(key, str(value).replace("_", " "))
        return f"{fact.replace('_', ' ')}: {value}"


_DESCRIBED_LIMIT = 4096  # descriptions remembered per rulebook; beyond this the memo starts over


def days(count: int | None) -> str:
    """``1 day``, ``3 days``, or ``an unknown number of days``."""
    if count is None:
        return "an unknown number of days"
    return "1 day" if count == 1 else f"{count} days"


def load_rulebook(path: str | Path = DEFAULT_RULEBOOK_PATH) -> Rulebook:
    """Read, validate and compile the rulebook at ``path``."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise RulebookError(f"cannot read rulebook {path}: {error.strerror}") from None
    except json.JSONDecodeError as error:
        raise RulebookError(f"rulebook {path} is not valid JSON: {error.msg} at line {error.lineno}") from None
    return parse_rulebook(data, origin=str(path))


def parse_rulebook(data: Any, origin: str = "rulebook") -> Rulebook:
    """Validate and compile rulebook data already parsed from JSON."""
    return _Compiler(origin).rulebook(data)


class _Compiler:
    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.terms: dict[str, Condition] = {}
        self.term_specs: dict[str, Any] = {}
        self.compiling: set[str] = set()

    def fail(self, where: str, problem: str) -> RulebookError:
        return RulebookError(f"{self.origin}: {where}: {problem}")

    def rulebook(self, data: Any) -> Rulebook:
        if not isinstance(data, dict):
            raise self.fail("top level", "must be a JSON object")
        _require_keys(self, "top level", data, {"version", "rules", "modifiers", "needs_review"})
        version = data["version"]
        if not isinstance(version, str) or not version.strip():
            raise self.fail("version", "must be a non-empty string; it is stored with every decision")
        self.term_specs = dict(data.get("terms") or {})
        for name in self.term_specs:
            self.term(name, f"terms.{name}")
        labels = data.get("labels") or {}
        for fact in labels:
            if fact not in FACT_KINDS:
                raise self.fail(f"labels.{fact}", f"unknown fact; known facts: {', '.join(FACT_KINDS)}")
        rules = self.rules(data["rules"])
        modifiers, unmodified = self.modifiers(data["modifiers"])
        review = data["needs_review"]
        _require_keys(self, "needs_review", review, {"min_known", "of", "names", "reason"})
        names = review["names"]
        for fact in review["of"]:
            self.fact_name(fact, "needs_review.of")
            if not isinstance(names, dict) or not isinstance(names.get(fact), str) or not names[fact].strip():
                raise self.fail(f"needs_review.names.{fact}", "each fact in 'of' needs its name in words")
        if not isinstance(review["min_known"], int) or not 0 <= review["min_known"] <= len(review["of"]):
            raise self.fail("needs_review.min_known", "must be a whole number between 0 and the number of facts")
        self.placeholders(review["reason"], "needs_review.reason", extra={"known"})
        windows = data.get("urgency_windows_days") or {}
        for urgency in windows:
            self.choice(urgency, [u.value for u in Urgency], f"urgency_windows_days.{urgency}")
        return Rulebook(
            version=version,
            rules=rules,
            modifiers=modifiers,
            unmodified_routes=unmodified,
            review_min_known=review["min_known"],
            review_facts=tuple(review["of"]),
            review_names=dict(names),
            review_reason=review["reason"],
            labels=labels,
            urgency_windows_days=windows,
            source=data,
        )

    def rules(self, specs: Any) -> tuple[Rule, ...]:
        if not isinstance(specs, list) or not specs:
            raise self.fail("rules", "must be a non-empty list, in the order they are tried")
        rules, seen = [], set()
        for index, spec in enumerate(specs):
            where = f"rules[{index}]"
            _require_keys(self, where, spec, {"id", "name", "when", "route", "urgency", "likely_cause", "reason"})
            rule_id = spec["id"]
            where = f"rule {rule_id}"
            if rule_id in seen:
                raise self.fail(where, "duplicate rule id")
            seen.add(rule_id)
            route = self.choice(spec["route"], [r.value for r in Route], f"{where}.route")
            urgency = self.choice(spec["urgency"], [u.value for u in Urgency], f"{where}.urgency")
            rules.append(
                Rule(
                    id=rule_id,
                    name=spec["name"],
                    matches=self.condition(spec["when"], f"{where}.when"),
                    route=route,
                    urgency=urgency,
                    likely_cause=self.cause_cases(spec["likely_cause"], f"{where}.likely_cause"),
                    reason_cases=self.reason_cases(spec["reason"], f"{where}.reason"),
                )
            )
        for spec in specs[:-1]:
            if spec["when"] == "always":
                raise self.fail(f"rule {spec['id']}", "only the last rule may be a catch-all; rules after it never run")
        if specs[-1]["when"] != "always":
            raise self.fail("rules", 'the last rule must be a catch-all ("when": "always") so every inquiry is routed')
        self.red_flags_reach_urgent_review(specs)
        return tuple(rules)

    def red_flags_reach_urgent_review(self, specs: list[dict]) -> None:
        # Safety net for edits: every red flag must be caught by an urgent_review rule placed before
        # any rule that books a slot, whatever else the inquiry says.
        covered: set[str] = set()
        for spec in specs:
            if spec["route"] != Route.URGENT_REVIEW:
                break
            when = spec["when"]
            if isinstance(when, dict) and when.get("fact") == "red_flags" and "any_of" in when:
                covered.update(when["any_of"])
        missing = [flag for flag in RED_FLAGS if flag not in covered]
        if missing:
            raise self.fail(
                "rules",
                f"red flags {', '.join(missing)} are not sent to urgent_review by a rule placed before the "
                "first rule that books a slot",
            )

    def cause_cases(self, spec: Any, where: str) -> tuple[tuple[Condition | None, str], ...]:
        if isinstance(spec, str):
            return ((None, self.choice(spec, LIKELY_CAUSES, where)),)
        if not isinstance(spec, list) or not spec:
            raise self.fail(where, "must be a likely cause or a list of {when, value} cases")
        cases = []
        for index, case in enumerate(spec):
            value = self.choice(case.get("value"), LIKELY_CAUSES, f"{where}[{index}].value")
            condition = self.condition(case["when"], f"{where}[{index}].when") if "when" in case else None
            cases.append((condition, value))
        if cases[-1][0] is not None:
            raise self.fail(where, "the last case must have no 'when' (the default)")
        return tuple(cases)

    def reason_cases(self, spec: Any, where: str) -> tuple[tuple[Condition | None, str], ...]:
        # A text, or {when, text} cases so a reason says only what the patient said ("not imaged" only
        # when they said so).
        if isinstance(spec, str):
            return ((None, self.placeholders(spec, where)),)
        if not isinstance(spec, list) or not spec:
            raise self.fail(where, "must be a text or a list of {when, text} cases")
        cases = []
        for index, case in enumerate(spec):
            _require_keys(self, f"{where}[{index}]", case, {"text"})
            _only_keys(self, f"{where}[{index}]", case, {"when", "text"})
            text = self.placeholders(case["text"], f"{where}[{index}].text")
            condition = self.condition(case["when"], f"{where}[{index}].when") if "when" in case else None
            cases.append((condition, text))
        if cases[-1][0] is not None:
            raise self.fail(where, "the last case must have no 'when' (the default)")
        return tuple(cases)

    def modifiers(self, spec: Any) -> tuple[tuple[Modifier, ...], frozenset[str]]:
        _require_keys(self, "modifiers", spec, {"steps"})
        unmodified = frozenset(
            self.choice(route, [r.value for r in Route], "modifiers.never_for_routes")
            for route in spec.get("never_for_routes", ())
        )
        steps, seen = [], set()
        for index, step in enumerate(spec["steps"]):
            _require_keys(self, f"modifiers.steps[{index}]", step, {"id", "name", "when", "reason"})
            where = f"modifier {step['id']}"
            if step["id"] in seen:
                raise self.fail(where, "duplicate modifier id")
            seen.add(step["id"])
            raise_by = step.get("raise", 0)
            if not isinstance(raise_by, int) or raise_by < 0:
                raise self.fail(f"{where}.raise", "must be a whole number of steps, 0 or more")
            up_to = step.get("up_to")
            at_least = step.get("at_least")
            urgencies = [u.value for u in Urgency]
            if up_to is not None:
                self.choice(up_to, urgencies, f"{where}.up_to")
            if at_least is not None:
                self.choice(at_least, urgencies, f"{where}.at_least")
            if not raise_by and at_least is None:
                raise self.fail(where, "needs 'raise' or 'at_least' (a modifier only raises urgency)")
            steps.append(
                Modifier(
                    id=step["id"],
                    name=step["name"],
                    matches=self.condition(step["when"], f"{where}.when"),
                    raise_by=raise_by,
                    up_to=up_to,
                    at_least=at_least,
                    reason=self.placeholders(step["reason"], f"{where}.reason"),
                )
            )
        return tuple(steps), unmodified

    # -- conditions ---------------------------------------------------------------------------

    def term(self, name: str, where: str) -> Condition:
        if name in self.terms:
            return self.terms[name]
        if name not in self.term_specs:
            raise self.fail(where, f"unknown term {name!r}; defined terms: {', '.join(self.term_specs) or 'none'}")
        if name in self.compiling:
            raise self.fail(where, f"term {name!r} is defined in terms of itself")
        self.compiling.add(name)
        compiled = self.condition(self.term_specs[name], f"terms.{name}")
        self.compiling.discard(name)
        self.terms[name] = compiled
        return compiled

    def condition(self, spec: Any, where: str) -> Condition:
        if spec == "always":
            return _always
        if not isinstance(spec, dict) or not spec:
            raise self.fail(where, 'a condition must be an object such as {"fact": ..., "is": ...}')
        if "all" in spec or "any" in spec:
            key = "all" if "all" in spec else "any"
            _only_keys(self, where, spec, {key})
            parts = spec[key]
            if not isinstance(parts, list) or not parts:
                raise self.fail(where, f"'{key}' needs a non-empty list of conditions")
            compiled = tuple(self.condition(part, f"{where}.{key}[{i}]") for i, part in enumerate(parts))
            return _all_of(compiled) if key == "all" else _any_of(compiled)
        if "not" in spec:
            _only_keys(self, where, spec, {"not"})
            inner = self.condition(spec["not"], f"{where}.not")
            return lambda facts: not inner(facts)
        if "term" in spec:
            _only_keys(self, where, spec, {"term"})
            return self.term(spec["term"], where)
        if "fact" in spec:
            return self.fact_test(spec, where)
        raise self.fail(where, f"unknown condition keys {sorted(spec)}; use fact, term, all, any or not")

    def fact_test(self, spec: dict, where: str) -> Condition:
        name = self.fact_name(spec["fact"], where)
        kind, allowed = FACT_KINDS[name]
        tests = set(spec) - {"fact"}
        if len(tests) != 1:
            raise self.fail(where, "a fact condition needs exactly one test (is, in, any_of, at_least, ...)")
        (test,) = tests
        value = spec[test]
        valid = {
            "choice": {"is", "in"},
            "number": {"at_least", "at_most", "known"},
            "flag": {"is"},
            "set": {"any_of", "not_empty"},
        }[kind]
        if test not in valid:
            raise self.fail(where, f"{name} ({kind}) supports {', '.join(sorted(valid))}, not {test!r}")
        if test == "is" and kind == "choice":
            self.choice(value, allowed, f"{where}.is")
            return lambda facts: getattr(facts, name) == value
        if test == "in":
            values = frozenset(self.choice(item, allowed, f"{where}.in") for item in _list(self, value, where))
            return lambda facts: getattr(facts, name) in values
        if test == "is":  # flags: true, false or null (unknown)
            if value not in (True, False, None):
                raise self.fail(f"{where}.is", f"{name} is true, false or null (unknown), not {value!r}")
            return lambda facts: getattr(facts, name) is value
        if test in ("at_least", "at_most"):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise self.fail(f"{where}.{test}", f"needs a number, not {value!r}")
            if test == "at_least":
                return lambda facts: (v := getattr(facts, name)) is not None and v >= value
            return lambda facts: (v := getattr(facts, name)) is not None and v <= value
        if test == "known":
            return lambda facts: (getattr(facts, name) is not None) is bool(value)
        if test == "any_of":
            items = frozenset(self.choice(item, allowed, f"{where}.any_of") for item in _list(self, value, where))
            return lambda facts: not items.isdisjoint(getattr(facts, name))
        return lambda facts: bool(getattr(facts, name)) is bool(value)  # not_empty

    def fact_name(self, name: Any, where: str) -> str:
        if name not in FACT_KINDS:
            raise self.fail(where, f"unknown fact {name!r}; known facts: {', '.join(FACT_KINDS)}")
        return name

    def choice(self, value: Any, allowed, where: str) -> str:
        if value not in allowed:
            shown = [v for v in allowed if v != UNKNOWN] + ([UNKNOWN] if UNKNOWN in allowed else [])
            raise self.fail(where, f"{value!r} is not one of {', '.join(shown)}")
        return value

    def placeholders(self, text: Any, where: str, extra: frozenset[str] | set[str] = frozenset()) -> str:
        if not isinstance(text, str) or not text.strip():
            raise self.fail(where, "must be a non-empty text that staff can read")
        for _, field_name, _, _ in string.Formatter().parse(text):
            if field_name is not None and field_name not in FACT_KINDS and field_name not in extra:
                raise self.fail(where, f"placeholder {{{field_name}}} is not a fact name")
        return text


def _always(_facts: Facts) -> bool:
    return True


# Plain loops: these run for every rule of every decision, and all()/any() over a generator
# costs a frame per call.
def _all_of(parts: tuple[Condition, ...]) -> Condition:
    def check(facts: Facts) -> bool:
        for part in parts:  # noqa: SIM110
            if not part(facts):
                return False
        return True

    return check


def _any_of(parts: tuple[Condition, ...]) -> Condition:
    def check(facts: Facts) -> bool:
        for part in parts:  # noqa: SIM110
            if part(facts):
                return True
        return False

    return check


def _list(compiler: _Compiler, value: Any, where: str) -> list:
    if not isinstance(value, list) or not value:
        raise compiler.fail(where, "needs a non-empty list of values")
    return value


def _require_keys(compiler: _Compiler, where: str, spec: Any, keys: set[str]) -> None:
    if not isinstance(spec, dict):
        raise compiler.fail(where, "must be an object")
    missing = keys - set(spec)
    if missing:
        raise compiler.fail(where, f"missing {', '.join(sorted(missing))}")


def _only_keys(compiler: _Compiler, where: str, spec: dict, keys: set[str]) -> None:
    extra = set(spec) - keys
    if extra:
        raise compiler.fail(where, f"unexpected {', '.join(sorted(extra))} next to {', '.join(sorted(keys))}")


__all__ = ["DEFAULT_RULEBOOK_PATH", "SET_FACTS", "URGENCY_SCALE", "Rule", "Rulebook", "RulebookError", "load_rulebook"]
