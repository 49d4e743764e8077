"""The rulebook over structured facts: each rule, the modifiers, needs_review and the reasons."""

from __future__ import annotations

import pytest

from routing.domain.triage.engine import decide
from routing.domain.triage.facts import Evidence, Facts
from routing.domain.triage.rulebook import load_rulebook

RULEBOOK = load_rulebook()


def _decide(**facts):
    return decide(Facts(**facts), RULEBOOK)


@pytest.mark.parametrize(
    ("facts", "route", "urgency", "cause", "rule"),
    [
        (
            {"red_flags": frozenset({"saddle_numbness"})},
            "urgent_review",
            "emergency",
            "serious_pathology_suspected",
            "R1",
        ),
        (
            {"red_flags": frozenset({"bilateral_leg_symptoms"}), "pain_score": 9},
            "urgent_review",
            "emergency",
            "serious_pathology_suspected",
            "R1",
        ),
        (
            {"red_flags": frozenset({"iv_drug_use"}), "muscle_relaxants": "helped"},
            "urgent_review",
            "urgent",
            "serious_pathology_suspected",
            "R2",
        ),
        (
            {"red_flags": frozenset({"fever", "leg_weakness"})},
            "urgent_review",
            "emergency",
            "serious_pathology_suspected",
            "R1",
        ),
        (
            {"muscle_relaxants": "no_relief", "diagnosed_conditions": frozenset({"facet_joint_arthritis"})},
            "injection",
            "soon",
            "facet_joint_arthritis",
            "R3",
        ),
        (
            {"muscle_relaxants": "no_relief", "diagnosed_conditions": frozenset({"arthritis"})},
            "injection",
            "soon",
            "structural",
            "R3",
        ),
        (
            {"muscle_relaxants": "no_relief", "duration_days": 42, "prior_imaging": False},
            "imaging",
            "soon",
            "structural",
            "R4",
        ),
        ({"muscle_relaxants": "no_relief", "duration_days": 90}, "imaging", "soon", "structural", "R4"),
        ({"muscle_relaxants": "no_relief", "duration_days": 41}, "consult", "soon", "structural", "R5"),
        (
            {"muscle_relaxants": "no_relief", "duration_days": 90, "prior_imaging": True},
            "consult",
            "soon",
            "structural",
            "R5",
        ),
        (
            {
                "muscle_relaxants": "no_relief",
                "duration_days": 90,
                "diagnosed_conditions": frozenset({"disc_herniation"}),
            },
            "consult",
            "soon",
            "structural",
            "R5",
        ),
        ({"duration_days": 120, "muscle_relaxants": "helped"}, "consult", "routine", "chronic_spasm", "R6"),
        (
            {"duration_days": 120, "muscle_relaxants": "helped", "radiating_leg_pain": True},
            "imaging",
            "routine",
            "structural",
            "R7",
        ),
        (
            {
                "duration_days": 120,
                "muscle_relaxants": "helped",
                "diagnosed_conditions": frozenset({"spinal_stenosis"}),
            },
            "consult",
            "routine",
            "structural",
            "R8",
        ),
        ({"duration_days": 56, "radiating_leg_pain": True}, "imaging", "routine", "structural", "R7"),
        ({"duration_days": 56, "prior_imaging": True}, "consult", "routine", "structural", "R8"),
        (
            {"diagnosed_conditions": frozenset({"degenerative_disc"}), "prior_imaging": True},
            "consult",
            "routine",
            "structural",
            "R8",
        ),
        (
            {"duration_days": 3, "radiating_leg_pain": True, "trigger": "lifting"},
            "consult",
            "routine",
            "structural",
            "R9",
        ),
        ({"duration_days": 3, "trigger": "lifting"}, "consult", "routine", "muscle_strain", "R10"),
        ({"trigger": "other_exertion"}, "consult", "routine", "muscle_strain", "R10"),
        ({"duration_days": 3, "trigger": "none"}, "consult", "routine", "undetermined", "R11"),
        ({}, "consult", "routine", "undetermined", "R11"),
    ],
)
def test_first_matching_rule_decides_route_urgency_and_cause(facts, route, urgency, cause, rule):
    decision = _decide(**facts)

    assert (decision.route, decision.urgency, decision.likely_cause, decision.rule_id) == (route, urgency, cause, rule)


def test_diagnosis_without_imaging_answer_counts_as_imaged():
    # Policy: imaged = prior_imaging true, or unknown and a condition is diagnosed.
    assert _decide(duration_days=90, diagnosed_conditions=frozenset({"disc_herniation"})).rule_id == "R8"
    assert (
        _decide(duration_days=90, diagnosed_conditions=frozenset({"disc_herniation"}), prior_imaging=False).rule_id
        == "R7"
    )


@pytest.mark.parametrize(
    ("facts", "urgency", "modifiers"),
    [
        ({"trigger": "lifting", "pain_score": 8}, "soon", ["M1"]),
        ({"trigger": "lifting", "pain_score": 7}, "routine", []),
        ({"muscle_relaxants": "no_relief", "pain_score": 10}, "urgent", ["M1"]),
        (
            {"muscle_relaxants": "no_relief", "diagnosed_conditions": frozenset({"arthritis"}), "pain_score": 8},
            "urgent",
            ["M1"],
        ),
        ({"onset": "sudden", "pain_score": 7, "duration_days": 3, "trigger": "twisting"}, "soon", ["M2"]),
        ({"onset": "sudden", "pain_score": 7, "duration_days": 4, "trigger": "twisting"}, "routine", []),
        ({"onset": "sudden", "pain_score": 7, "trigger": "twisting"}, "routine", []),
        ({"onset": "gradual", "pain_score": 7, "duration_days": 1}, "routine", []),
        # M1 already reached "soon": M2's floor changes nothing, so it is not listed as a reason.
        ({"onset": "sudden", "pain_score": 9, "duration_days": 2, "trigger": "twisting"}, "soon", ["M1"]),
        ({"onset": "sudden", "pain_score": 9, "duration_days": 2, "muscle_relaxants": "no_relief"}, "urgent", ["M1"]),
    ],
)
def test_modifiers_raise_urgency_and_say_so(facts, urgency, modifiers):
    decision = _decide(**facts)

    assert decision.urgency == urgency
    assert [reason.rule for reason in decision.reasons if reason.rule.startswith("M")] == modifiers


def test_modifiers_never_touch_urgent_review():
    decision = _decide(red_flags=frozenset({"fever"}), pain_score=10, onset="sudden", duration_days=1)

    assert decision.urgency == "urgent"
    assert [reason.rule for reason in decision.reasons] == ["R2"]


@pytest.mark.parametrize(
    ("facts", "needs_review"),
    [
        ({}, True),
        ({"onset": "sudden"}, True),
        ({"onset": "sudden", "pain_score": 9, "location": "lower_back"}, True),
        ({"onset": "sudden", "trigger": "none"}, False),
        ({"duration_days": 0, "muscle_relaxants": "not_tried"}, False),
        ({"trigger": "lifting", "muscle_relaxants": "unknown"}, True),
    ],
)
def test_needs_review_when_fewer_than_two_key_facts_are_known(facts, needs_review):
    decision = _decide(**facts)

    assert decision.needs_review is needs_review
    assert any(reason.rule == "NR" for reason in decision.reasons) is needs_review


@pytest.mark.parametrize(
    ("facts", "known"),
    [
        ({}, "none"),
        ({"duration_days": 3}, "how long it has lasted"),
        ({"onset": "sudden", "pain_score": 9}, "how it started"),
    ],
)
def test_the_few_details_reason_names_the_known_facts_in_words(facts, known):
    [reason] = [reason for reason in _decide(**facts).reasons if reason.rule == "NR"]

    assert reason.text == f"Few details given (known: {known}): staff should confirm the details with the patient."


def test_reasons_name_the_rule_and_fill_in_the_facts():
    decision = _decide(red_flags=frozenset({"bladder_bowel_dysfunction", "saddle_numbness"}))

    assert decision.reasons[0].rule == "R1"
    assert "bladder or bowel changes, numbness around the groin or buttocks" in decision.reasons[0].text
    assert "{" not in decision.reasons[0].text


def test_the_injection_reason_speaks_to_a_receptionist():
    decision = _decide(muscle_relaxants="no_relief", diagnosed_conditions=frozenset({"facet_joint_arthritis"}))

    assert decision.reasons[0].text.startswith(
        "Muscle relaxants gave no relief and arthritis is diagnosed (facet joint arthritis): a facet joint block"
    )


def test_facts_from_text_are_listed_with_their_phrase_and_form_facts_are_not():
    facts = Facts(
        duration_days=90,
        muscle_relaxants="no_relief",
        evidence=(
            Evidence("duration_days", 90, "text", "for 3 months"),
            Evidence("muscle_relaxants", "no_relief", "form"),
        ),
    )

    text_reasons = [reason for reason in decide(facts, RULEBOOK).reasons if reason.rule == "TEXT"]

    assert [(r.fact, r.phrase) for r in text_reasons] == [("duration_days", "for 3 months")]
    assert text_reasons[0].text == "From the message: pain for 90 days (“for 3 months”)."


def test_every_decision_carries_the_rulebook_version():
    assert _decide().rulebook_version == RULEBOOK.version == "2026-12-06.4+2"


def test_decision_serialises_to_the_contract_shape():
    body = _decide(trigger="lifting", pain_score=8).to_dict()

    assert body == {
        "urgency": "soon",
        "likely_cause": "muscle_strain",
        "route": "consult",
        "rule": "R10",
        "needs_review": True,
        "hold": None,
        "reasons": body["reasons"],
        "rulebook_version": "2026-12-06.4+2",
    }
    assert [reason["rule"] for reason in body["reasons"]] == ["R10", "M1", "NR"]
    assert all(set(reason) == {"rule", "text"} for reason in body["reasons"])


@pytest.mark.parametrize(
    "red_flags", [frozenset({"saddle_numbness"}), frozenset({"fever"})], ids=["emergency", "urgent"]
)
def test_an_urgent_review_decision_always_needs_review(red_flags):
    # All four key facts known, so only the route can set the flag.
    decision = _decide(
        red_flags=red_flags, onset="sudden", duration_days=2, trigger="lifting", muscle_relaxants="not_tried"
    )

    assert (decision.route, decision.needs_review) == ("urgent_review", True)


@pytest.mark.parametrize(
    ("prior_imaging", "reason"),
    [
        (None, "Muscle relaxants gave no relief, the pain has lasted 90 days and no scan of the spine was mentioned: "
               "an MRI can show whether arthritis or a spinal disc is the cause."),
        (False, "Muscle relaxants gave no relief, the pain has lasted 90 days and the spine has not been imaged: "
                "an MRI can show whether arthritis or a spinal disc is the cause."),
    ],
)  # fmt: skip
def test_r4_says_not_imaged_only_when_the_patient_said_so(prior_imaging, reason):
    decision = _decide(muscle_relaxants="no_relief", duration_days=90, prior_imaging=prior_imaging)

    assert (decision.rule_id, decision.reasons[0].text) == ("R4", reason)


@pytest.mark.parametrize(
    ("prior_imaging", "reason"),
    [
        (None, "Pain for 60 days and no scan of the spine was mentioned: an MRI can look for arthritis or a spinal "
               "disc problem."),
        (False, "Pain for 60 days and the spine has not been imaged: an MRI can look for arthritis or a spinal disc "
                "problem."),
    ],
)  # fmt: skip
def test_r7_says_not_imaged_only_when_the_patient_said_so(prior_imaging, reason):
    decision = _decide(duration_days=60, onset="gradual", prior_imaging=prior_imaging)

    assert (decision.rule_id, decision.reasons[0].text) == ("R7", reason)
