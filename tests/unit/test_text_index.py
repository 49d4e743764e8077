"""The reader's word index: splitting a message into sentences and words, and the first two words a pattern can
match."""

from __future__ import annotations

import re

import pytest

from routing.domain.triage.text_anchors import two_words_of
from routing.domain.triage.text_durations import _NAMED
from routing.domain.triage.text_lexicon import FEVER
from routing.domain.triage.text_scope import _FOLD, Document, Hints, _words, fold

hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies


@hypothesis.settings(max_examples=300, deadline=None)
@hypothesis.given(st.text(alphabet=st.sampled_from("ab_7 .,'-\n\té"), max_size=60) | st.text(max_size=60))
def test_words_are_the_runs_of_word_characters_with_their_offsets(text):
    low = text.lower()

    starts, words = _words(low)

    assert list(zip(starts, words, strict=True)) == [(m.start(), m.group()) for m in re.finditer(r"\w+", low)]


_HINTED = ("leg", "ab", "é", "x-ray", "both sides", "a_7")  # within a word, not ASCII, and across words
_SOME_HINTS = Hints(*_HINTED)


@hypothesis.settings(max_examples=300, deadline=None)
@hypothesis.given(st.text(alphabet=st.sampled_from("abelgx_7 -yr\nétoshid"), max_size=60) | st.text(max_size=60))
def test_a_message_mentions_hints_exactly_where_they_are_substrings(text):
    doc = Document(text)

    assert doc.mentions(_SOME_HINTS) == any(hint in doc.low for hint in _HINTED)


def _sentences_by_runs(low: str) -> tuple[list[int], list[int]]:
    """The sentence starts and ends as first written: each run of punctuation, tested one by one."""
    starts, ends = [0], []
    for match in re.finditer(r"[.!?;\n\r\u2022|-]+", low):
        run, start, end = match.group(), match.start(), match.end()
        if run[0] == "-" and len(run) == 1 and not (start > 0 and end < len(low) and low[start - 1] == " " == low[end]):
            continue  # a hyphen, not a dash
        if run[-1] in ".!?" and end < len(low) and not (low[end].isspace() or low[end] in "\"')]"):
            continue  # "101.5", "e.g.x"
        ends.append(start)
        starts.append(end)
    ends.append(len(low))
    return starts, ends


@hypothesis.settings(max_examples=500, deadline=None)
@hypothesis.given(st.text(alphabet=st.sampled_from("ab7 .!?;|-\n\r\u2022\t\"')],"), max_size=40) | st.text(max_size=40))
def test_sentences_end_where_the_runs_of_punctuation_tested_one_by_one_end_them(text):
    doc = Document(text)

    assert (doc._sentence_starts, doc._sentence_ends) == _sentences_by_runs(doc.low)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (r"have\s+not\s+been", {("have", False, "not", False)}),
        (r"can'?t\b", {("can", False, "t", False), ("cant", False, None, False)}),
        (r"no\s+(?:\w+\s+)?control", {("no", False, None, False), ("no", False, "control", True)}),
        (r"relax\w*", {("relax", True, None, False)}),
        (
            r"x-?rays?\b",
            {
                ("x", False, "ray", False),
                ("x", False, "rays", False),
                ("xray", False, None, False),
                ("xrays", False, None, False),
            },
        ),
    ],
)
def test_two_words_of_spells_out_what_a_match_can_begin_with(pattern, expected):
    found = {(w.first, w.first_open, w.second, w.second_open) for w in two_words_of(pattern)}

    assert found == expected


def test_a_second_word_of_digits_is_spelled_only_when_asked():
    pattern = r"since\s+(?:(?:19|20)[0-9]{2}|march)\b"

    plain = {(w.first, w.second, w.second_open) for w in two_words_of(pattern)}
    spelled = {(w.first, w.second, w.second_open) for w in two_words_of(pattern, digits=True)}

    assert plain == {("since", "march", False), ("since", "19", True), ("since", "20", True)}
    assert spelled == {("since", "march", False)} | {("since", str(year), False) for year in range(1900, 2100)}


@pytest.mark.parametrize(
    "message",
    ["since 2019 my back hurts", "the 2019 fall", "on 20190 days", "since then, 2019", "the 19th", "mid 2020 and"],
)
def test_a_lexicon_with_years_after_its_first_word_finds_what_finditer_finds(message):
    doc = Document(message)
    expected = [
        (m.start(), m.end()) for m in re.compile("|".join(f"(?:{s})" for _, s in _NAMED.sources)).finditer(doc.low)
    ]

    assert [m.span() for _, m in doc.find_ungated(_NAMED)] == expected


def test_a_pattern_that_can_start_at_punctuation_is_not_spelled():
    assert two_words_of(r"[,;]\s*no\b") is None


def test_a_message_without_words_has_no_candidates():
    doc = Document(" :-) ")

    assert doc.find_ungated(FEVER) == []


@pytest.mark.parametrize("text", ["It`s\tfine", "Don\u2019t\u00a0Stop \u2014 NOW", "İstanbul `x`\t", "plain ascii", ""])
def test_folding_lowers_and_unifies_apostrophes_dashes_and_spaces_in_place(text):
    low = text.lower()
    if len(low) != len(text):
        low = "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in text)

    assert fold(text) == low.translate(_FOLD)
    assert len(fold(text)) == len(text)
