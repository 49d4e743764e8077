"""The rulebook file is validated when loaded: a bad edit stops the start, with a clear message."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from routing.domain.triage.engine import decide
from routing.domain.triage.facts import Facts
from routing.domain.triage.rulebook import DEFAULT_RULEBOOK_PATH, RulebookError, load_rulebook, parse_rulebook

POLICY = Path(__file__).resolve().parents[3] / "shared" / "triage-policy.md"


@pytest.fixture(scope="module")
def source() -> dict:
    return json.loads(DEFAULT_RULEBOOK_PATH.read_text())


def _rule(data: dict, rule_id: str) -> dict:
    return next(rule for rule in data["rules"] if rule["id"] == rule_id)


def test_the_shipped_rulebook_loads_with_rules_r1_to_r11_then_the_catch_all():
    rulebook = load_rulebook()

    assert [rule.id for rule in rulebook.rules] == [f"R{n}" for n in range(1, 12)] + ["R0"]
    assert [modifier.id for modifier in rulebook.modifiers] == ["M1", "M2"]


@pytest.mark.skipif(not POLICY.exists(), reason="shared/triage-policy.md not beside the repository")
def test_the_rulebook_version_is_the_policy_version_it_implements():
    policy_version = re.search(r"\(version ([^)]+)\)", POLICY.read_text()).group(1)

    # "+N" marks a revision of our wording that implements the same policy (docs/triage-policy.md).
    assert load_rulebook().version.partition("+")[0] == policy_version


def _mutations():
    def unknown_fact(data):
        _rule(data, "R9")["when"]["all"][1]["fact"] = "leg_pain"

    def unknown_value(data):
        _rule(data, "R4")["when"]["all"][0]["is"] = "useless"

    def unknown_route(data):
        _rule(data, "R7")["route"] = "physiotherapy"

    def unknown_urgency(data):
        _rule(data, "R7")["urgency"] = "whenever"

    def unknown_cause(data):
        _rule(data, "R7")["likely_cause"] = "bad_luck"

    def reason_cases_without_default(data):
        _rule(data, "R7")["reason"] = [{"when": {"fact": "prior_imaging", "is": False}, "text": "Not imaged."}]

    def reason_case_with_unknown_placeholder(data):
        _rule(data, "R4")["reason"][1]["text"] = "Pain for {weeks}."

    def duplicate_id(data):
        _rule(data, "R8")["id"] = "R7"

    def missing_catch_all(data):
        data["rules"].pop()

    def catch_all_not_last(data):
        data["rules"].insert(3, data["rules"].pop())

    def unknown_term(data):
        _rule(data, "R7")["when"]["all"][0] = {"term": "longstanding"}

    def circular_term(data):
        data["terms"]["persistent"] = {"not": {"term": "acute"}}

    def unknown_placeholder(data):
        _rule(data, "R7")["reason"] = "Pain for {weeks} weeks"

    def red_flag_dropped(data):
        _rule(data, "R2")["when"]["any_of"].remove("fever")

    def red_flag_rule_moved_after_booking(data):
        data["rules"].insert(5, data["rules"].pop(1))

    def wrong_test_for_fact(data):
        data["terms"]["persistent"] = {"fact": "duration_days", "is": "long"}

    def missing_version(data):
        del data["version"]

    def modifier_that_does_nothing(data):
        step = data["modifiers"]["steps"][0]
        del step["raise"], step["up_to"]

    def review_fact_without_a_name(data):
        del data["needs_review"]["names"]["trigger"]

    return [
        (unknown_fact, "unknown fact 'leg_pain'"),
        (unknown_value, "'useless' is not one of not_tried, helped, no_relief"),
        (unknown_route, "'physiotherapy' is not one of"),
        (unknown_urgency, "'whenever' is not one of"),
        (unknown_cause, "'bad_luck' is not one of"),
        (duplicate_id, "rule R7: duplicate rule id"),
        (missing_catch_all, "the last rule must be a catch-all"),
        (catch_all_not_last, "only the last rule may be a catch-all"),
        (unknown_term, "unknown term 'longstanding'"),
        (circular_term, "defined in terms of itself"),
        (unknown_placeholder, "placeholder {weeks} is not a fact name"),
        (red_flag_dropped, "red flags fever are not sent to urgent_review"),
        (red_flag_rule_moved_after_booking, "are not sent to urgent_review"),
        (wrong_test_for_fact, "duration_days (number) supports at_least, at_most, known, not 'is'"),
        (missing_version, "missing version"),
        (reason_cases_without_default, "rule R7.reason: the last case must have no 'when' (the default)"),
        (reason_case_with_unknown_placeholder, "rule R4.reason[1].text: placeholder {weeks} is not a fact name"),
        (modifier_that_does_nothing, "needs 'raise' or 'at_least'"),
        (review_fact_without_a_name, "needs_review.names.trigger: each fact in 'of' needs its name in words"),
    ]


@pytest.mark.parametrize(("mutate", "message"), _mutations(), ids=lambda item: getattr(item, "__name__", ""))
def test_a_malformed_rulebook_is_refused_with_a_message_naming_the_problem(source, mutate, message):
    data = copy.deepcopy(source)
    mutate(data)

    with pytest.raises(RulebookError, match=re.escape(message)):
        parse_rulebook(data)


def test_a_rulebook_file_that_is_not_json_is_refused(tmp_path):
    broken = tmp_path / "rulebook.json"
    broken.write_text('{"version": "x", "rules": [}')

    with pytest.raises(RulebookError, match="not valid JSON"):
        load_rulebook(broken)


def test_a_missing_rulebook_file_is_refused(tmp_path):
    with pytest.raises(RulebookError, match="cannot read rulebook"):
        load_rulebook(tmp_path / "nope.json")


def test_changing_the_persistence_threshold_is_a_one_line_data_edit(source, tmp_path):
    # 30 days with failed relaxants: acute under the policy's 42 days, persistent at 28.
    facts = Facts(duration_days=30, muscle_relaxants="no_relief", prior_imaging=False)
    assert decide(facts, load_rulebook()).rule_id == "R5"

    edited = tmp_path / "rulebook.json"
    edited.write_text(DEFAULT_RULEBOOK_PATH.read_text().replace('"at_least": 42', '"at_least": 28'))

    assert decide(facts, load_rulebook(edited)).rule_id == "R4"
