"""The reader on the project's own corpus (tests/corpus): the goals of the safety work, held as tests.

Every red flag of every case is read exactly (the exact set per case), route and urgency agree with the
labels on at least 97 % of cases, and the safety screen holds between 1 % and 10 % of the cases that
have no red flag. Figures are printed by ``python -m tests.corpus.scoring``.
"""

from __future__ import annotations

import pytest

from tests.corpus import scoring

CASES = scoring.load_cases()
REPORT = scoring.read_corpus(CASES)
OUTCOMES = {outcome.case["id"]: outcome for outcome in REPORT.outcomes}


def test_the_corpus_is_big_enough_and_half_bilingual():
    spanish_or_mixed = [case for case in CASES if case["id"].startswith(("es-", "mx-"))]

    assert len(CASES) >= 400
    assert len(spanish_or_mixed) >= 120


def test_every_case_was_labelled_twice():
    second = {case["id"] for case in scoring.load_cases("second_labels.json")}

    assert {case["id"] for case in CASES} <= second


@pytest.mark.parametrize("case_id", [case["id"] for case in CASES if case["facts"].get("red_flags")])
def test_a_labelled_red_flag_case_reads_exactly_its_red_flags(case_id):
    outcome = OUTCOMES[case_id]

    assert set(outcome.facts["red_flags"]) == set(outcome.case["facts"]["red_flags"]), outcome.case["message"]


def test_red_flag_recall_is_complete_and_no_red_flag_case_is_booked():
    assert REPORT.red_flag_recall == 1.0
    assert REPORT.red_flags_never_booked == 1.0


def test_route_and_urgency_agree_with_the_labels_on_at_least_97_percent():
    assert REPORT.route_urgency_agreement >= 0.97


def test_the_screen_holds_between_1_and_10_percent_of_messages_without_a_red_flag():
    held, plain = REPORT.held_without_flag()

    assert 0.01 <= held / plain <= 0.10, (held, plain)


@pytest.mark.parametrize("case_id", [case["id"] for case in CASES if case["expected"].get("held")])
def test_a_vague_possible_red_flag_is_held_for_staff_or_read_as_a_red_flag(case_id):
    outcome = OUTCOMES[case_id]

    assert outcome.hold == "possible_red_flag" or outcome.route == "urgent_review", outcome.case["message"]


def test_messages_in_other_languages_are_held_for_staff():
    others = scoring.read_corpus(scoring.load_cases("other_languages.json"))

    not_held = [o.case["id"] for o in others.outcomes if o.hold is None and o.route != "urgent_review"]
    assert not_held == []


def test_the_language_of_english_spanish_and_mixed_messages_is_told_apart():
    right, total, wrong = scoring.language_accuracy(CASES)

    assert right / total >= 0.97, wrong


@pytest.mark.parametrize("name", ["holdout.json", "holdout2.json", "holdout3.json", "holdout4.json", "holdout6.json"])
def test_on_the_held_out_messages_no_red_flag_case_is_booked(name):
    # Written by people who never saw the reader or the corpus; their first readings are in the README.
    # They are not tuned on: only the safety promise is held here.
    holdout = scoring.read_corpus(scoring.load_cases(name))

    assert holdout.red_flags_never_booked == 1.0


def test_on_the_traps_of_held_out_5_only_the_known_unreadable_weight_loss_is_booked():
    # "went from 180 to 162 in about 2 months eating same as always" names no weight, and "went from 4 to 8" is
    # a pain score: no phrase reads the one without the other (README, "The reader's corpus").
    holdout = scoring.read_corpus(scoring.load_cases("holdout5.json"))
    booked = {
        outcome.case["id"]
        for outcome in holdout.flag_outcomes()
        if outcome.route != "urgent_review" and outcome.hold is None
    }

    assert booked == {"h5-en-025"}
