"""The practice's example inquiries and triage() end to end.

``tests/data/vignettes.json`` is our copy of the practice's public vignettes (``shared/vignettes/public.json``),
so a clone runs them without ``shared/``; a test notices when the two drift apart.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from routing.domain.triage import load_rulebook, triage

VIGNETTES = Path(__file__).resolve().parents[1] / "data" / "vignettes.json"
SHARED_VIGNETTES = Path(__file__).resolve().parents[3] / "shared" / "vignettes" / "public.json"
RECEIVED_ON = date(2026, 11, 25)
RULEBOOK = load_rulebook()
CASES = json.loads(VIGNETTES.read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", [pytest.param(case, id=case["id"]) for case in CASES])
def test_public_vignette_gets_the_expected_route_urgency_cause_rule_and_hold(case):
    decision = triage(case.get("symptoms") or {}, case.get("message"), RECEIVED_ON, RULEBOOK)

    expected = case["expect"]
    reasons = [reason.text for reason in decision.reasons]
    if expected.get("or_red_flag") and decision.route == "urgent_review":
        return  # read as a red flag: a clinician calls, nothing is booked
    assert decision.route == expected["route"], reasons
    assert decision.urgency == expected["urgency"], reasons
    if "rule" in expected:
        assert decision.rule_id == expected["rule"], reasons
        assert decision.likely_cause == expected["likely_cause"], reasons
    assert decision.language == expected.get("language", decision.language)
    if expected.get("held"):
        assert decision.hold is not None, reasons
        assert decision.needs_review is True
        assert any(reason.rule == "SAFETY" for reason in decision.reasons)
    else:
        assert decision.hold is None, reasons


def test_our_copy_of_the_vignettes_is_the_practices():
    if not SHARED_VIGNETTES.exists():
        pytest.skip("shared/ is not beside the repository")
    assert json.loads(SHARED_VIGNETTES.read_text(encoding="utf-8")) == CASES


def test_explicit_form_values_win_over_the_message():
    decision = triage(
        {"trigger": "none", "duration_days": 2}, "I lifted a sofa three months ago", RECEIVED_ON, RULEBOOK
    )

    assert decision.facts.trigger == "none"
    assert decision.facts.duration_days == 2
    assert decision.rule_id == "R11"


def test_a_red_flag_in_the_message_overrides_a_harmless_form():
    form = {"onset": "gradual", "duration_days": 10, "trigger": "lifting", "red_flags": []}

    decision = triage(form, "Since last night I can't control my bladder.", RECEIVED_ON, RULEBOOK)

    assert decision.route == "urgent_review"
    assert "bladder_bowel_dysfunction" in decision.facts.red_flags


def test_facts_read_from_the_message_are_explained_with_their_phrase():
    message = "Back spasms on and off for 3 months. Muscle relaxants didn't help at all."

    decision = triage({}, message, RECEIVED_ON, RULEBOOK)

    text_reasons = {reason.fact: reason for reason in decision.reasons if reason.rule == "TEXT"}
    assert {"duration_days", "muscle_relaxants"} <= text_reasons.keys()
    for reason in text_reasons.values():
        assert reason.phrase in message
        assert reason.text.startswith("From the message:")


def test_a_negated_red_flag_is_not_a_red_flag():
    decision = triage(
        {}, "Lifted boxes two days ago. No fever, no numbness, no bladder problems.", RECEIVED_ON, RULEBOOK
    )

    assert decision.facts.red_flags == frozenset()
    assert decision.route == "consult"
