"""The reader's plain-Python shortcuts give exactly what the regular expressions they stand in for give.

Each shortcut skips a regex call on the hot path (sentence ends and clause marks of ASCII messages, the
"may a trailing negation follow?" pre-test, the "another body site" word lookup). The regexes stay the
definition; these tests hold the shortcuts to them, so a change to one without the other fails here.
"""

from __future__ import annotations

import re

import pytest

from routing.domain.triage import text_scope
from routing.domain.triage.text_lexicon import OTHER_SITE, OTHER_SITE_WORDS

hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies
given, settings, example = hypothesis.given, hypothesis.settings, hypothesis.example

# Sentence and clause marks with what decides around them (spaces, quotes, brackets, hyphens, letters).
MARKY_ASCII = st.text(alphabet=".!?;\n\r|-,:()\"') ]ab \t", max_size=60)
ANY_ASCII = st.text(alphabet=st.characters(max_codepoint=127), max_size=120)


def _regex_sentence_bounds(low: str) -> tuple[list[int], list[int]]:
    found = list(text_scope._SENTENCE_END.finditer(low))
    return [0, *(m.end() for m in found)], [*(m.start() for m in found), len(low)]


@settings(max_examples=2000, deadline=None)
@given(st.one_of(MARKY_ASCII, ANY_ASCII))
@example("Hurts. A lot")
@example("back -- leg")
@example("low-back pain - worse")
@example("sore?- yes")
@example('he said "stop." then')
@example("end.")
@example("...")
def test_ascii_sentence_bounds_are_the_sentence_end_regex_bounds(low):
    assert text_scope._sentence_bounds(low) == _regex_sentence_bounds(low)


def test_non_ascii_sentence_bounds_use_the_regex_including_bullets():
    low = "fever \u2022 chills. caf\u00e9 pain"

    assert text_scope._sentence_bounds(low) == _regex_sentence_bounds(low)
    assert len(text_scope._sentence_bounds(low)[0]) == 3


@settings(max_examples=1000, deadline=None)
@given(st.one_of(MARKY_ASCII, ANY_ASCII))
def test_ascii_clause_marks_are_where_the_clause_punctuation_regex_matches(low):
    marks = text_scope._ascii_marks(low, text_scope._CLAUSE_TABLE)

    assert marks == [m.start() for m in text_scope._CLAUSE_PUNCTUATION.finditer(low)]


AFTER_A_PHRASE = st.text(alphabet=" \t\n:=?-nodeaigtvlpx.,", max_size=14)


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet="ab ", max_size=6), AFTER_A_PHRASE)
@example("fever", " - negative")
@example("fever", ":no")
@example("fever", "  = denied")
@example("fever", "\tabsent")
@example("fever", " no")
def test_the_trailing_negation_pretest_never_hides_a_match(before, after):
    low = before + after
    end = len(before)

    if text_scope._POST_NEGATION.match(low, end):
        assert text_scope._may_negate_after(low, end)


def test_the_trailing_negation_pretest_rules_out_the_usual_case():
    low = "fever with chills, worse at night"

    assert not text_scope._may_negate_after(low, len("fever"))
    assert not text_scope._may_negate_after(low, len("fever with chills"))
    assert not text_scope._may_negate_after(low, len(low))


SITE_LIKE_WORDS = st.one_of(
    st.sampled_from(sorted(OTHER_SITE_WORDS)),
    st.builds(lambda site, tail: site + tail, st.sampled_from(sorted(OTHER_SITE_WORDS)), st.sampled_from("sy1_")),
    st.builds(lambda site: site[1:], st.sampled_from(sorted(OTHER_SITE_WORDS))),
    st.from_regex(r"\w{1,10}", fullmatch=True),
)


@settings(max_examples=2000, deadline=None)
@given(SITE_LIKE_WORDS)
def test_other_site_word_lookup_is_the_other_site_regex_on_one_word(word):
    hypothesis.assume(re.fullmatch(r"\w+", word))

    assert (word in OTHER_SITE_WORDS) == (OTHER_SITE.fullmatch(word) is not None)


def test_every_other_site_word_is_matched_by_the_regex_alone():
    assert {site for site in OTHER_SITE_WORDS if OTHER_SITE.fullmatch(site)} == OTHER_SITE_WORDS
