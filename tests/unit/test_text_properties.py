"""Properties of the free-text reader over arbitrary text: it never raises, every phrase it shows is part
of the message, and a negated red flag added to any message never adds that red flag."""

from __future__ import annotations

import datetime

import pytest

from routing.domain.triage.facts import check_value
from routing.domain.triage.matching import Document
from routing.domain.triage.reader import default_reader, read_message

hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies
given, settings, example = hypothesis.given, hypothesis.settings, hypothesis.example

RECEIVED_ON = datetime.date(2026, 11, 25)
# Words the reader cares about, so generated messages exercise its rules rather than only noise.
VOCABULARY = (
    "no", "not", "never", "without", "denies", "don't", "haven't", "but", "and", "or", ",", ".", ";", "?", "!",
    "I", "my", "mother", "had", "have", "has", "fever", "chills", "numbness", "tingling", "weakness", "both", "legs",
    "leg", "left", "groin", "bladder", "bowel", "control", "can't", "pass", "urine", "cancer", "lymphoma",
    "prednisone", "steroids", "for", "years", "months", "weeks", "3", "two", "a", "few", "since", "Monday",
    "yesterday", "ago", "ladder", "fell", "car", "accident", "relaxants", "flexeril", "ibuprofen", "helped",
    "didn't", "help", "did", "nothing", "tried", "lifting", "gym", "sneezed", "out", "of", "nowhere", "sudden",
    "gradually", "pain", "7/10", "severe", "MRI", "x-ray", "scan", "herniated", "disc", "arthritis", "knee",
    "spine", "suspected", "lost", "15", "pounds", "weight", "inject", "heroin", "again", "first", "time", "lower",
    "back", "neck", "2020", "101", "since 2019", "3days", "on", "the", "feet", "wipe",
)  # fmt: skip
messages = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(VOCABULARY), max_size=40).map(" ".join),
)
NEGATED = (
    (" No fever.", "fever"),
    (" I do not have any bladder trouble.", "bladder_bowel_dysfunction"),
    (" Denies numbness in both legs.", "bilateral_leg_symptoms"),
    (" No history of cancer.", "cancer_history"),
    (" I haven't lost weight.", "unexplained_weight_loss"),
    (" Never injected drugs.", "iv_drug_use"),
    (" No saddle numbness.", "saddle_numbness"),
    (" No weakness in my legs.", "leg_weakness"),
)


@settings(max_examples=300, deadline=None)
@given(messages)
def test_any_text_is_read_without_error_and_phrases_are_substrings(message):
    reading = read_message(message, RECEIVED_ON)

    for name, value in reading.values.items():
        check_value(name, value)
    for evidence in reading.evidence:
        assert evidence.phrase
        assert evidence.phrase in message


@settings(max_examples=300, deadline=None)
@given(messages, st.sampled_from(NEGATED))
def test_appending_a_negated_red_flag_never_adds_it(message, negated):
    sentence, flag = negated
    before = read_message(message, RECEIVED_ON).values.get("red_flags", frozenset())

    # As a sentence of its own: run on into the message ("FEVER:NO No fever."), the first "no" is no
    # longer an answer, and reading the fever is the safe side.
    after = read_message(message + "." + sentence, RECEIVED_ON).values.get("red_flags", frozenset())

    assert flag in before or flag not in after


def _reference_hits(message: str) -> set[tuple[str, int, int]]:
    """Every phrase tried at every word start, without the index: what the index must find too."""
    doc = Document(message, default_reader().index)
    found = set()
    for start in doc.word_starts:
        for lexicon in default_reader().lexicons:
            for phrase in lexicon.phrases:
                match = phrase.pattern.match(doc.low, start)
                if match is not None:
                    found.add((phrase.concept, start, match.end()))
    return found


def _index_hits(message: str) -> set[tuple[str, int, int]]:
    doc = Document(message, default_reader().index)
    return {(hit.concept, hit.start, hit.end) for hits in doc.hits.values() for hit in hits}


@settings(max_examples=150, deadline=None)
@given(messages)
@example("0 YEAR:0 YEAR")  # found by this test: a phrase's second occurrence was hidden by its first
def test_the_derived_index_loses_no_phrase_match(message):
    reference = _reference_hits(message)

    # The document keeps the longest of nested hits of one concept; each kept hit is a reference hit,
    # and every reference hit lies inside a kept hit of its concept.
    kept = _index_hits(message)
    assert kept <= reference
    for concept, start, end in reference:
        assert any(c == concept and s <= start and end <= e for c, s, e in kept), (concept, message[start:end])


def test_on_every_example_message_the_index_loses_no_phrase_match():
    from tests.unit import test_text_reader

    examples = [
        value
        for name in dir(test_text_reader)
        for mark in getattr(getattr(test_text_reader, name), "pytestmark", [])
        if mark.name == "parametrize"
        for row in mark.args[1]
        for value in (row if isinstance(row, tuple) else (row,))
        if isinstance(value, str) and value.strip()
    ]
    assert len(examples) > 200
    for message in examples:
        reference = _reference_hits(message)
        kept = _index_hits(message)
        assert kept <= reference, message
        for concept, start, end in reference:
            assert any(c == concept and s <= start and end <= e for c, s, e in kept), (message, concept)


def test_a_phrase_said_twice_is_found_both_times():
    message = "It hurt for 2 weeks, then I fell 3 weeks ago"

    durations = sorted(hit for hit in _index_hits(message) if hit[0] == "duration.counted")

    assert [message[start:end] for _, start, end in durations] == ["for 2 weeks", "3 weeks ago"]
