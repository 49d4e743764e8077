"""The reader's words are data: one TOML file per language, checked at load, and a new line is a new phrase."""

from __future__ import annotations

import datetime
import shutil
from pathlib import Path

import pytest

from routing.config import ConfigError, load_settings
from routing.domain.triage.lexicon import LEXICON_DIR, LexiconError, compile_lexicon, fold, load_lexicons
from routing.domain.triage.matching import PhraseIndex
from routing.domain.triage.reader import Reader
from routing.wiring import wire

WEDNESDAY = datetime.date(2026, 12, 2)


def _with_line(tmp_path: Path, table: str, concept: str, phrase: str) -> Path:
    """A copy of the shipped lexicons with one phrase added to ``[table] concept = [...]`` of en.toml."""
    folder = tmp_path / "lexicons"
    shutil.copytree(LEXICON_DIR, folder)
    path = folder / "en.toml"
    text = path.read_text(encoding="utf-8")
    table_at = text.index(f"\n[{table}]\n")
    anchor = f"\n{concept} = [\n"
    at = text.index(anchor, table_at) + len(anchor)
    path.write_text(f'{text[:at]}  "{phrase}",\n{text[at:]}', encoding="utf-8")
    return folder


def test_the_shipped_lexicons_load_english_first_then_spanish():
    lexicons = load_lexicons()

    assert [lexicon.language for lexicon in lexicons] == ["en", "es"]
    assert all(lexicon.phrases for lexicon in lexicons)


@pytest.mark.parametrize(
    ("table", "concept", "phrase", "message", "flag"),
    [
        ("red_flag", "fever", "pyrexia", "Back pain with pyrexia since Monday.", "fever"),
        (
            "legs",
            "both",
            "numbness in both lower limbs",
            "I have numbness in both lower limbs.",
            "bilateral_leg_symptoms",
        ),
    ],
)
def test_adding_a_phrase_is_one_line_in_one_data_file(tmp_path, table, concept, phrase, message, flag):
    before = Reader(load_lexicons()).read(message, WEDNESDAY)

    after = Reader(load_lexicons(_with_line(tmp_path, table, concept, phrase))).read(message, WEDNESDAY)

    assert flag not in before.values.get("red_flags", frozenset())
    assert after.values["red_flags"] == frozenset({flag})


def test_an_added_phrase_is_still_cancelled_by_the_languages_negation(tmp_path):
    reader = Reader(load_lexicons(_with_line(tmp_path, "red_flag", "fever", "pyrexia")))

    assert reader.read("No pyrexia at all.", WEDNESDAY).values.get("red_flags", frozenset()) == frozenset()


def test_an_added_negation_cue_is_used_everywhere(tmp_path):
    message = "Nae fever. Back pain after lifting a box."
    reader = Reader(load_lexicons(_with_line(tmp_path, "cue", "negated_forward", "nae")))

    assert Reader(load_lexicons()).read(message, WEDNESDAY).values["red_flags"] == frozenset({"fever"})
    assert reader.read(message, WEDNESDAY).values.get("red_flags", frozenset()) == frozenset()


@pytest.mark.parametrize(
    ("data", "names"),
    [
        ({"language": "en", "red_flag": {"fevers": ["fever"]}}, "unknown concept red_flag.fevers"),
        ({"language": "en", "red_flags": {"fever": ["fever"]}}, "unknown table(s) red_flags"),
        ({"language": "english"}, "'language' must be a two-letter code"),
        (
            {"language": "en", "red_flag": {"fever": ["fe*"]}},
            "red_flag.fever: 'fe*': the stem 'fe*' needs at least three letters",
        ),
        (
            {"language": "en", "red_flag": {"fever": ["~2 fever"]}},
            "red_flag.fever: '~2 fever': a phrase cannot start with a gap",
        ),
        ({"language": "en", "red_flag": {"fever": ["fever ~9 night"]}}, "a gap is written ~1 to ~6, not '~9'"),
        ({"language": "en", "red_flag": {"fever": ["[high fever"]}}, "unbalanced brackets"),
        ({"language": "en", "red_flag": {"fever": ["@hot fever"]}}, "no macro @hot in [macros]"),
        ({"language": "en", "red_flag": {"fever": ["<temp> fever"]}}, "unknown placeholder '<temp>'"),
        ({"language": "en", "red_flag": {"fever": ["fever!"]}}, "'fever!' is not a word"),
        ({"language": "en", "red_flag": {"fever": "fever"}}, "red_flag.fever must be a list of phrases"),
        ({"language": "en", "red_flag": {"fever": ["[high]"]}}, "every word is optional"),
        ({"language": "en", "duration": {"counted": ["<count> <unit>"]}}, "<unit> needs the [units] table"),
        (
            {"language": "en", "duration_days": {"week": ["last week"]}},
            "duration_days.week: the key must be a whole number",
        ),
        ({"language": "en", "units": {"day": -1}}, "units.day must be a whole number of 0 or more"),
        ({"language": "en", "macros": {"a": ["@a"]}, "red_flag": {"fever": ["@a"]}}, "macro @a refers to itself"),
    ],
)
def test_a_bad_lexicon_entry_is_refused_with_a_message_naming_it(data, names):
    with pytest.raises(LexiconError) as refused:
        compile_lexicon(data, "xx.toml")

    assert str(refused.value).startswith("xx.toml")
    assert names in str(refused.value)


def test_a_bad_lexicon_file_stops_the_service_at_start_naming_the_variable_and_the_line(tmp_path):
    folder = _with_line(tmp_path, "red_flag", "fever", "fe*")

    with pytest.raises(ConfigError) as refused:
        wire(load_settings({"ROUTING_LEXICONS": str(folder), "DATABASE_URL": "sqlite://"}, environ={}))

    assert str(refused.value) == (
        "ROUTING_LEXICONS: en.toml: red_flag.fever: 'fe*': the stem 'fe*' needs at least three letters"
    )


def test_a_folder_without_lexicons_stops_the_service_at_start(tmp_path):
    with pytest.raises(ConfigError) as refused:
        wire(load_settings({"ROUTING_LEXICONS": str(tmp_path), "DATABASE_URL": "sqlite://"}, environ={}))

    assert "ROUTING_LEXICONS: no lexicon files" in str(refused.value)


@pytest.mark.parametrize(
    ("text", "folded"),
    [("CÁNCER", "cancer"), ("Fiebre", "fiebre"), ("can\u2019t", "can't"), ("niño", "nino"), ("İ", "İ")],
)
def test_case_accents_and_apostrophes_are_folded_keeping_every_offset(text, folded):
    assert fold(text) == folded
    assert len(fold(text)) == len(text)


def test_the_filler_of_a_gap_never_swallows_a_negation_word():
    lexicon = compile_lexicon(
        {"language": "en", "cue": {"negated_forward": ["doesn't"]}, "legs": {"both": ["tingling ~4 both legs"]}}, "t"
    )
    (pattern,) = [phrase.pattern for phrase in lexicon.phrases if phrase.concept == "legs.both"]

    assert pattern.match(fold("tingling goes down both legs"))
    assert not pattern.match(fold("tingling doesn't go down both legs"))
    assert not pattern.match(fold("tingling doesnt go down both legs"))


@pytest.mark.parametrize(
    ("phrase", "one_word"),
    [
        ("and", True),
        ("bladder|bowel", True),
        ("cáncer", True),
        ("can't", False),
        ("x-ray", False),
        ("numb*", False),
        ("no fever", False),
        ("<num>", False),
        ("@my", False),
        ("[my] back", False),
    ],
)
def test_a_phrase_of_one_plain_word_is_known_at_load_as_one_word(phrase, one_word):
    lexicon = compile_lexicon({"language": "en", "macros": {"my": ["my"]}, "site": {"spine": [phrase]}}, "t")

    assert [compiled.one_word for compiled in lexicon.phrases] == [one_word]


def test_every_shipped_one_word_phrase_is_matched_by_its_own_pattern_as_exactly_that_word():
    # The matching loop takes a one-word phrase's word as its match without running the pattern: the same hit.
    one_word = [phrase for lexicon in load_lexicons() for phrase in lexicon.phrases if phrase.one_word]

    assert len(one_word) > 100
    for phrase in one_word:
        for word in phrase.starts:
            match = phrase.pattern.match(f"{word}, then")
            assert (phrase.text, match and match.span()) == (phrase.text, (0, len(word)))


def test_a_phrase_is_tried_only_in_a_message_holding_the_longest_words_it_cannot_do_without():
    # "a|an" is in nearly every message; "crash|wreck" seldom: the phrase is not tried where neither is.
    lexicon = compile_lexicon({"language": "en", "red_flag": {"major_trauma": ["in|had ~1 a|an ~1 crash|wreck"]}}, "t")
    (phrase,) = lexicon.phrases

    assert phrase.needs == frozenset({"crash", "wreck"})
    assert Reader([lexicon]).read("I was in a bad wreck.", WEDNESDAY).values == {
        "red_flags": frozenset({"major_trauma"})
    }


def test_a_phrase_both_languages_give_one_concept_is_tried_once():
    index = PhraseIndex(load_lexicons())

    assert [(phrase.concept, phrase.language) for phrase in index.candidates("ibuprofen", "")] == [
        ("relaxant.other_treatment", "en")
    ]


def test_a_stem_among_a_phrases_first_words_leaves_the_fixed_ones_found_by_their_pairs():
    # "the relajante" is tried at "the" only when "relajante" follows; the stem finds its own words.
    data = {
        "language": "es",
        "macros": {"relajante": ["el|the relajante", "ciclobenz*"]},
        "relaxant": {"name": ["@relajante"]},
    }
    (phrase,) = compile_lexicon(data, "t").phrases

    assert phrase.starts == frozenset({"ciclobenz*"})
    assert phrase.pairs == frozenset({("el", "relajante"), ("the", "relajante")})
    index = PhraseIndex([compile_lexicon(data, "t")])
    assert index.candidates("the", "pain") == ()
    assert [found.text for found in index.candidates("ciclobenzaprine", "")] == ["@relajante"]


def test_the_gap_filler_lists_each_negation_word_once_grouped_by_first_letter():
    lexicon = compile_lexicon(
        {"language": "en", "cue": {"negated_forward": ["no", "not", "never"]}, "site": {"spine": ["back ~2 pain"]}}, "t"
    )
    (back_pain,) = [phrase for phrase in lexicon.phrases if phrase.concept == "site.spine"]

    assert "(?!(?:n(?:ever|ot|o))\\b)" in back_pain.pattern.pattern
    assert back_pain.pattern.match("back is no pain") is None
    assert back_pain.pattern.match("back is nothing but pain") is None  # at most two words between
    assert back_pain.pattern.match("back noodle pain") is not None  # "no" as a word only
