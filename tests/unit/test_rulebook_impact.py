"""Impact preview arithmetic (routing.domain.rulebook_impact), the diff of two rulebooks and the heat map: pure code."""

from __future__ import annotations

import copy
import json
import re

from routing.domain.rulebook_diff import diff
from routing.domain.rulebook_impact import StoredDecision, Tally, facts_of, replay, report, summarise_reasons
from routing.domain.triage import triage
from routing.domain.triage.rulebook import DEFAULT_RULEBOOK_PATH, load_rulebook, parse_rulebook
from routing.http.console_text import LABELS
from routing.http.heatmap_svg import heatmap

SHIPPED = json.loads(DEFAULT_RULEBOOK_PATH.read_text(encoding="utf-8"))
RULEBOOK = load_rulebook()


def stored(decision, inquiry_id: str, language: str | None = None) -> StoredDecision:
    """A decision as the replay reads it back from the database (its reasons as JSON text)."""
    reasons = [reason.to_dict() for reason in decision.reasons]
    return StoredDecision.of(
        inquiry_id,
        decision.route,
        decision.urgency,
        decision.rule_id,
        json.dumps(reasons),
        json.loads(json.dumps(decision.facts.to_dict())),
        language,
    )


def draft(**persistent) -> dict:
    document = copy.deepcopy(SHIPPED)
    document["version"] = "draft"
    document["terms"]["persistent"].update(persistent)
    return document


def test_replaying_a_decision_on_its_own_rulebook_gives_the_same_route_urgency_rule_and_hold():
    decisions = [
        triage({"pain_score": 9}, "Lifted a couch yesterday, lower back spasm.", _today(), RULEBOOK),
        triage({}, "Fever and back pain since Monday.", _today(), RULEBOOK),
        triage({}, "J'ai mal au dos depuis trois semaines, surtout le matin.", _today(), RULEBOOK),
    ]

    # Without the inquiry's language, as the preview reads them: the reasons say which language was not read.
    replayed = [replay(stored(d, str(i), None), RULEBOOK) for i, d in enumerate(decisions)]

    assert [(r.route, r.urgency, r.rule_id, r.hold) for r in replayed] == [
        (d.route, d.urgency, d.rule_id, d.hold) for d in decisions
    ]
    assert decisions[2].hold == "language"


def test_the_reasons_text_is_summarised_as_the_parsed_reasons_are():
    decisions = [
        triage({"pain_score": 9, "onset": "sudden", "duration_days": 1}, "Twisted my back.", _today(), RULEBOOK),
        triage({}, "J'ai mal au dos depuis trois semaines, surtout le matin.", _today(), RULEBOOK),
    ]

    for decision in decisions:
        reasons = [reason.to_dict() for reason in decision.reasons]
        assert summarise_reasons(json.dumps(reasons)) == summarise_reasons(reasons)
    assert summarise_reasons(json.dumps([r.to_dict() for r in decisions[0].reasons]))[0] == {"M1", "R10"}


def test_stored_facts_come_back_as_facts_and_unknown_names_are_left_out():
    facts = facts_of({"red_flags": ["fever"], "duration_days": 3, "no_longer_a_fact": True})

    assert (facts.red_flags, facts.duration_days, facts.onset) == (frozenset({"fever"}), 3, "unknown")


def test_a_known_transition_and_an_exit_from_urgent_review_are_reported_exits_first():
    worst = parse_rulebook(_with_worst_pain_rule())
    exit_ = triage({"pain_score": 10, "duration_days": 3, "onset": "sudden", "trigger": "lifting"}, "", _today(), worst)
    moved = triage({"duration_days": 35, "muscle_relaxants": "no_relief", "prior_imaging": False}, "", _today(), worst)
    entry_rulebook = parse_rulebook(draft(at_least=28))
    tally = Tally()
    for index, decision in enumerate([moved, exit_]):
        tally.add(stored(decision, f"id-{index}"), entry_rulebook)

    result = report(tally, entry_rulebook)

    assert (result["replayed"], result["changed"], result["urgent_review_exits"], result["urgent_review_entries"]) == (
        2,
        2,
        1,
        0,
    )
    assert result["red_flag_changes"] == [
        {
            "inquiry_id": "id-1",
            "direction": "exit",
            "from": {"route": "urgent_review", "urgency": "urgent", "rule": "R2b"},
            "to": {"route": "consult", "urgency": "soon", "rule": "R10"},
            "red_flags": [],
        }
    ]
    assert [(t["from"], t["to"], t["count"], t["samples"]) for t in result["transitions"]] == [
        (
            {"route": "urgent_review", "urgency": "urgent"},
            {"route": "consult", "urgency": "soon"},
            1,
            ["id-1"],
        ),
        ({"route": "consult", "urgency": "soon"}, {"route": "imaging", "urgency": "soon"}, 1, ["id-0"]),
    ]
    assert result["rules"] == [
        {"rule": "R2b", "before": 1, "after": 0, "change": -1},
        {"rule": "R4", "before": 0, "after": 1, "change": 1},
        {"rule": "R5", "before": 1, "after": 0, "change": -1},
        {"rule": "R10", "before": 0, "after": 1, "change": 1},
        {"rule": "M1", "before": 0, "after": 1, "change": 1},  # M2 too holds, but M1 had raised it already
    ]


def test_tallies_of_batches_merge_to_the_same_report_in_any_order():
    draft_rulebook = parse_rulebook(draft(at_least=28))
    answers = [{"duration_days": days, "muscle_relaxants": "no_relief"} for days in (10, 30, 35, 50, 29, 100)]
    decisions = [stored(triage(a, "", _today(), RULEBOOK), f"id-{i:02d}") for i, a in enumerate(answers)]
    whole, first, second = Tally(), Tally(), Tally()
    for decision in decisions:
        whole.add(decision, draft_rulebook)
    for decision in decisions[:3]:
        first.add(decision, draft_rulebook)
    for decision in decisions[3:]:
        second.add(decision, draft_rulebook)
    second.merge(first)

    assert report(second, draft_rulebook) == report(whole, draft_rulebook)
    assert report(whole, draft_rulebook)["changed"] == 3  # 30, 35 and 29 days are persistent from 28 days


def test_a_route_staff_set_by_hand_is_counted_not_compared():
    tally = Tally()
    tally.add(StoredDecision.of("id", "imaging", "soon", "STAFF", "[]", {}, "en"), RULEBOOK)

    assert (tally.replayed, tally.staff_decided, sum(tally.transitions.values())) == (0, 1, 0)


def test_the_diff_names_a_moved_threshold_an_added_rule_and_a_removed_modifier():
    after = draft(at_least=28)
    added = copy.deepcopy(after["rules"][-2])
    added["id"] = "R12"
    after["rules"].insert(-1, added)
    after["modifiers"]["steps"] = after["modifiers"]["steps"][:1]

    changes = diff(SHIPPED, after)

    assert [(i.key, i.status) for i in changes.terms if i.status != "same"] == [("persistent", "changed")]
    (persistent,) = [i for i in changes.terms if i.key == "persistent"]
    assert [(leaf.path, leaf.before, leaf.after, leaf.threshold) for leaf in persistent.leaves] == [
        ("at_least", 42, 28, True)
    ]
    assert [(i.key, i.status, i.positions) for i in changes.rules if i.status != "same"] == [
        ("R12", "added", (None, 12))
    ]
    assert [(i.key, i.status) for i in changes.modifiers] == [("M1", "same"), ("M2", "removed")]
    assert [(i.key, i.status) for i in changes.settings if i.status != "same"] == [("version", "changed")]
    assert changes.counts() == {"added": 1, "removed": 1, "changed": 2, "moved": 0}


def test_the_diff_tells_a_moved_rule_from_one_pushed_down_by_an_insertion():
    after = copy.deepcopy(SHIPPED)
    rules = after["rules"]
    rules[2], rules[3] = rules[3], rules[2]  # R3 and R4 swap

    changes = diff(SHIPPED, after)

    assert [(i.key, i.status, i.positions) for i in changes.rules if i.status != "same"] == [
        ("R4", "moved", (4, 3)),
        ("R3", "moved", (3, 4)),
    ]


def test_the_heat_map_is_svg_with_escaped_labels_counts_and_outlined_exits_and_no_style_or_script():
    result = {
        "outcomes": ["urgent_review/urgent", "consult/soon"],
        "transitions": [
            {
                "from": {"route": "urgent_review", "urgency": "urgent"},
                "to": {"route": "consult", "urgency": "soon"},
                "count": 3,
            },
            {
                "from": {"route": "consult", "urgency": "soon"},
                "to": {"route": "consult", "urgency": "soon"},
                "count": 40,
            },
        ],
    }
    labels = {**LABELS, "route": {**LABELS["route"], "consult": "<b>consult</b>"}}

    svg = str(heatmap(result, labels))

    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg" role="img"')
    assert re.findall(r'data-from="([^"]+)" data-to="([^"]+)" data-count="(\d+)"', svg) == [
        ("urgent_review/urgent", "urgent_review/urgent", "0"),
        ("urgent_review/urgent", "consult/soon", "3"),
        ("consult/soon", "urgent_review/urgent", "0"),
        ("consult/soon", "consult/soon", "40"),
    ]
    assert svg.count('stroke="#a4001c" stroke-width="3"') == 1  # the one exit from urgent_review
    assert "&lt;b&gt;consult&lt;/b&gt;" in svg
    assert "<b>" not in svg
    assert "style" not in svg
    assert "script" not in svg
    assert "3 of 43 inquiries would change" in svg


def _with_worst_pain_rule() -> dict:
    document = copy.deepcopy(SHIPPED)
    document["version"] = "history"
    document["rules"].insert(
        2,
        {
            "id": "R2b",
            "name": "worst-pain",
            "when": {"fact": "pain_score", "at_least": 10},
            "route": "urgent_review",
            "urgency": "urgent",
            "likely_cause": "undetermined",
            "reason": "Pain rated {pain_score}/10.",
        },
    )
    return document


def _today():
    from datetime import date

    return date(2026, 12, 1)
