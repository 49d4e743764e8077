"""The words before a condition, read backwards, are those the forward pattern would find."""

from __future__ import annotations

import re

import pytest

from routing.domain.triage.text import _site_words_before
from tests.unit.test_text_properties import _example_messages

hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies

# The pattern ``_site_words_before`` replaces, searched in the 25 characters before the phrase.
_FORWARD = re.compile(r"(?:(\w+)\s+)?(\w+)\s+$")


def _forward(low: str, start: int) -> tuple[str | None, str] | None:
    found = _FORWARD.search(low, max(0, start - 25), start)
    return None if found is None else found.groups()


@hypothesis.settings(max_examples=500, deadline=None)
@hypothesis.given(
    st.text(alphabet=st.sampled_from("ab_7 ,.-\n\t\u00e9\u2003\x1c"), max_size=40) | st.text(max_size=40),
    st.integers(min_value=0, max_value=45),
)
def test_the_words_before_are_those_of_the_forward_search(text, start):
    assert _site_words_before(text, start) == _forward(text, start)


def test_on_every_example_message_the_words_before_each_position_are_those_of_the_forward_search():
    for message in _example_messages():
        low = message.lower()
        for start in range(len(low) + 1):
            assert _site_words_before(low, start) == _forward(low, start), (message, start)


def test_an_aggravator_before_a_phrase_is_found_in_a_window_as_the_search_of_its_patterns_would():
    from routing.domain.triage.text_lexicon import AGGRAVATOR_BEFORE
    from routing.domain.triage.text_scope import Document

    search = re.compile("|".join(f"(?:{source})" for _, source in AGGRAVATOR_BEFORE.sources))
    messages = [*_example_messages(), "It hurts when I lift, and it is worse when i try to bend. Painful to sit"]
    for message in messages:
        doc = Document(message)
        for end in range(len(doc.low) + 1):
            for start in (max(0, end - 60), max(0, end - 7)):
                expected = search.search(doc.low, start, end)
                found = doc.first(AGGRAVATOR_BEFORE, start, end)
                assert (found[1].span() if found else None) == (expected.span() if expected else None), (message, end)
