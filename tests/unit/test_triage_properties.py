"""Invariants of triage over any facts (hypothesis): safety first, never lower, always the same."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from routing.domain.triage.engine import decide
from routing.domain.triage.facts import (
    CONDITIONS,
    EPISODES,
    FACT_KINDS,
    LOCATIONS,
    ONSETS,
    RED_FLAGS,
    RELAXANT_EFFECTS,
    SET_FACTS,
    TRIGGERS,
    UNKNOWN,
    Evidence,
    Facts,
    TextReading,
    combine,
)
from routing.domain.triage.rulebook import URGENCY_SCALE, load_rulebook

RULEBOOK = load_rulebook()
BASE_URGENCY = {rule.id: rule.urgency for rule in RULEBOOK.rules}

maybe_bool = st.sampled_from([True, False, None])
facts_strategy = st.builds(
    Facts,
    onset=st.sampled_from(ONSETS),
    duration_days=st.none() | st.integers(0, 5000),
    episodes=st.sampled_from(EPISODES),
    trigger=st.sampled_from(TRIGGERS),
    location=st.sampled_from(LOCATIONS),
    pain_score=st.none() | st.integers(0, 10),
    muscle_relaxants=st.sampled_from(RELAXANT_EFFECTS),
    radiating_leg_pain=maybe_bool,
    diagnosed_conditions=st.frozensets(st.sampled_from(CONDITIONS)),
    prior_imaging=maybe_bool,
    red_flags=st.frozensets(st.sampled_from(RED_FLAGS)),
)


@given(facts_strategy, st.sampled_from(RED_FLAGS))
def test_any_red_flag_goes_to_urgent_review_whatever_else_is_said(facts, flag):
    facts = replace(facts, red_flags=facts.red_flags | {flag})

    decision = decide(facts, RULEBOOK)

    assert decision.route == "urgent_review"
    assert decision.urgency in ("emergency", "urgent")


@given(facts_strategy)
def test_without_red_flags_a_slot_is_always_chosen(facts):
    facts = replace(facts, red_flags=frozenset())

    assert decide(facts, RULEBOOK).route in ("consult", "imaging", "injection")


@given(facts_strategy)
def test_modifiers_never_lower_urgency(facts):
    decision = decide(facts, RULEBOOK)

    assert URGENCY_SCALE.index(decision.urgency) >= URGENCY_SCALE.index(BASE_URGENCY[decision.rule_id])


@given(facts_strategy)
def test_the_same_facts_always_give_the_same_decision(facts):
    assert decide(facts, RULEBOOK) == decide(facts, RULEBOOK)
    assert decide(facts, RULEBOOK).to_dict() == decide(facts, RULEBOOK).to_dict()


@given(facts_strategy)
def test_the_catch_all_is_a_safety_net_no_valid_facts_reach(facts):
    assert decide(facts, RULEBOOK).rule_id != "R0"


@given(facts_strategy)
def test_every_reason_is_filled_in_and_names_a_rule(facts):
    for reason in decide(facts, RULEBOOK).reasons:
        assert reason.text
        assert "{" not in reason.text
        assert reason.rule in BASE_URGENCY or reason.rule in ("M1", "M2", "NR", "TEXT")


def _form_value(name):
    kind, allowed = FACT_KINDS[name]
    if kind == "choice":
        return st.sampled_from(allowed)
    if kind == "number":
        return st.integers(0, 10)
    if kind == "flag":
        return st.booleans()
    return st.frozensets(st.sampled_from(allowed)).map(sorted)


form_strategy = st.fixed_dictionaries({}, optional={name: _form_value(name) for name in FACT_KINDS})


def _as_text(value):
    return frozenset(value) if isinstance(value, list) else value


text_strategy = st.fixed_dictionaries(
    {}, optional={name: _form_value(name).filter(lambda v: v != UNKNOWN).map(_as_text) for name in FACT_KINDS}
)


@given(form_strategy, text_strategy)
def test_form_fields_win_over_text_and_lists_are_the_union(form, text_values):
    evidence = tuple(
        Evidence(name, item, "text", "…")
        for name, value in text_values.items()
        for item in (sorted(value) if name in SET_FACTS else [value])
    )

    facts = combine(form, TextReading(text_values, evidence))

    for name in FACT_KINDS:
        value = getattr(facts, name)
        if name in SET_FACTS:
            assert value == frozenset(form.get(name, ())) | text_values.get(name, frozenset())
        elif name in form and form[name] != UNKNOWN:
            assert value == form[name]
        elif name in text_values:
            assert value == text_values[name]
            assert any(e.fact == name and e.source == "text" for e in facts.evidence)
