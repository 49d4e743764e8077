"""Properties of the free-text reader over arbitrary text: it never raises, every phrase it shows is part
of the message, and a negated red flag added to any message never adds that red flag."""

from __future__ import annotations

import datetime
import re

import pytest

from routing.domain.triage import text_durations, text_lexicon, text_relaxants, text_scope
from routing.domain.triage.facts import check_value
from routing.domain.triage.text import read_message
from routing.domain.triage.text_scope import Document, Lexicon

hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies
given, settings = hypothesis.given, hypothesis.settings

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

    after = read_message(message + sentence, RECEIVED_ON).values.get("red_flags", frozenset())

    assert flag in before or flag not in after


def _lexicons():
    found = {}
    for module in (text_scope, text_lexicon, text_durations, text_relaxants):
        for name, value in vars(module).items():
            if isinstance(value, Lexicon):
                found[f"{module.__name__.rsplit('.', 1)[-1]}.{name}"] = value
    return found


LEXICONS = _lexicons()


def _reference_find(low, sources):
    """What the lexicon's patterns joined into one alternation would find, with ``finditer`` semantics."""
    patterns = [(kind, re.compile(source)) for kind, source in sources]
    found, pos = [], 0
    while pos <= len(low):
        for kind, pattern in patterns:
            match = pattern.match(low, pos)
            if match is not None and match.end() > pos:
                found.append((kind, match.span()))
                pos = match.end()
                break
        else:
            pos += 1
    return found


@settings(max_examples=150, deadline=None)
@given(messages)
def test_a_lexicon_finds_what_its_patterns_joined_would_and_gates_lose_nothing(message):
    doc = Document(message)
    for name, lexicon in LEXICONS.items():
        expected = _reference_find(doc.low, lexicon.sources)

        assert [(kind, m.span()) for kind, m in doc.find_ungated(lexicon)] == expected, name
        if expected:
            assert [(kind, m.span()) for kind, m in doc.find(lexicon)] == expected, f"{name}: its gate lost a match"


def _example_messages():
    """Every message used in the reader's table tests, so each lexicon is checked on realistic text."""
    from tests.unit import test_text_reader

    found = set()
    for value in vars(test_text_reader).values():
        for mark in getattr(value, "pytestmark", ()):
            if mark.name == "parametrize":
                for case in mark.args[1]:
                    found.update(
                        item for item in (case if isinstance(case, tuple) else (case,)) if isinstance(item, str)
                    )
    return sorted(found)


def test_on_every_example_message_lexicons_match_their_reference_and_gates_lose_nothing():
    for message in _example_messages():
        doc = Document(message)
        for name, lexicon in LEXICONS.items():
            expected = _reference_find(doc.low, lexicon.sources)

            assert [(kind, m.span()) for kind, m in doc.find(lexicon)] == expected, (name, message)


def test_a_whole_message_search_is_found_once_and_callers_get_their_own_list():
    doc = Document("No fever, no chills. My legs are numb and I can't control my bladder.")
    lexicon = text_lexicon.BLADDER_BOWEL

    first = doc.find(lexicon)
    first.clear()  # a caller changing its list must not change what the next caller gets

    assert [(kind, m.span()) for kind, m in doc.find(lexicon)] == [
        (kind, m.span()) for kind, m in doc.find_ungated(lexicon)
    ]
    assert doc.find(lexicon)
