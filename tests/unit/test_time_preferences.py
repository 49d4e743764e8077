"""The patient's preferred times, read exactly in English and Spanish, or not at all."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from routing.domain.time_preferences import (
    PreferenceResult,
    TimeWordsError,
    Window,
    compile_time_words,
    load_time_words,
    preference_result,
    read_one,
    read_preferences,
)

NEW_YORK = ZoneInfo("America/New_York")
WORDS = load_time_words()
EN, ES = WORDS
MORNING, AFTERNOON = (0, 720), (720, 1020)
MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


@pytest.mark.parametrize(
    ("text", "windows"),
    [
        ("Thursday", (Window(days=frozenset({THU})),)),
        ("Thursdays please", (Window(days=frozenset({THU})),)),
        ("mornings", (Window(ranges=(MORNING,)),)),
        ("weekends", (Window(days=frozenset({SAT, SUN})),)),
        ("after 3pm", (Window(after=15 * 60),)),
        ("after 3", (Window(after=15 * 60),)),
        ("Mon or Wed", (Window(days=frozenset({MON})), Window(days=frozenset({WED})))),
        ("Mon, Wed or Fri mornings", tuple(Window(days=frozenset({d}), ranges=(MORNING,)) for d in (MON, WED, FRI))),
        ("Tuesday afternoon or Friday morning",
         (Window(days=frozenset({TUE}), ranges=(AFTERNOON,)), Window(days=frozenset({FRI}), ranges=(MORNING,)))),
        ("after 3:30 p.m. on Tuesdays", (Window(days=frozenset({TUE}), after=15 * 60 + 30),)),
        ("between 9 and 11", (Window(after=9 * 60, before=11 * 60),)),
        ("9-11am", (Window(after=9 * 60, before=11 * 60),)),
        ("mon-fri before 10:30", (Window(days=frozenset(range(5)), before=10 * 60 + 30),)),
        ("at 15:00", (Window(after=15 * 60, before=16 * 60),)),
        ("any time", (Window(),)),
    ],
)  # fmt: skip
def test_english_preferences_read_exactly(text, windows):
    assert read_one(text, EN) == windows


@pytest.mark.parametrize(
    ("text", "windows"),
    [
        ("jueves", (Window(days=frozenset({THU})),)),
        ("por la tarde", (Window(ranges=(AFTERNOON,)),)),
        ("jueves por la tarde", (Window(days=frozenset({THU}), ranges=(AFTERNOON,)),)),
        ("lunes o miércoles", (Window(days=frozenset({MON})), Window(days=frozenset({WED})))),
        ("fines de semana", (Window(days=frozenset({SAT, SUN})),)),
        ("después de las 3", (Window(after=15 * 60),)),
        ("a partir de las 10 de la mañana", (Window(after=10 * 60),)),
        ("entre las 9 y las 11", (Window(after=9 * 60, before=11 * 60),)),
        ("de 9 a 11", (Window(after=9 * 60, before=11 * 60),)),
        ("por las mañanas, entre semana", (Window(ranges=(MORNING,)), Window(days=frozenset(range(5))))),
    ],
)
def test_spanish_preferences_read_exactly(text, windows):
    assert read_one(text, ES) == windows


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("any day but Monday", EN),  # a negation is not guessed at
        ("not Friday", EN),
        ("next week", EN),
        ("after", EN),
        ("before 25:00", EN),
        ("mañana", ES),  # tomorrow or morning: not guessed
        ("cualquier día excepto el lunes", ES),
        ("please", EN),
    ],
)
def test_anything_not_wholly_understood_is_left_unread(text, words):
    assert read_one(text, words) is None


def test_each_entry_is_read_in_the_inquiry_language_first_then_the_others_and_unread_ones_are_counted():
    preference = read_preferences(["jueves", "Thursday", "whenever you can squeeze me in", " "], WORDS, NEW_YORK, "es")

    assert preference.windows == (Window(days=frozenset({THU})),)
    assert preference.unread == 1


def test_a_slot_fits_in_the_clinics_time_zone():
    preference = read_preferences(["Thursday mornings"], WORDS, NEW_YORK, "en")

    assert preference.fits(datetime(2026, 12, 3, 14, 0, tzinfo=ZoneInfo("UTC")))  # Thursday 9:00 New York
    assert not preference.fits(datetime(2026, 12, 3, 17, 0, tzinfo=ZoneInfo("UTC")))  # Thursday 12:00
    assert not preference.fits(datetime(2026, 12, 4, 3, 0, tzinfo=ZoneInfo("UTC")))  # Thursday 22:00 New York


@pytest.mark.parametrize(
    ("texts", "result"),
    [
        ([], PreferenceResult()),
        (["anytime"], PreferenceResult()),
        (["Thursday"], PreferenceResult(fitted=True)),
        (["Tuesday"], PreferenceResult(fitted=False)),
        (["sometime soonish"], PreferenceResult(unread=True)),
        (["Tuesday", "sometime soonish"], PreferenceResult(fitted=False, unread=True)),
    ],
)
def test_what_the_patient_is_told_about_their_preference(texts, result):
    thursday_9am = datetime(2026, 12, 3, 9, 0, tzinfo=NEW_YORK)

    assert preference_result(read_preferences(texts, WORDS, NEW_YORK, "en"), thursday_9am) == result


def _words(**changes):
    data = {
        "language": "en",
        "ignore": ["on"], "join": ["or"], "anytime": ["anytime"], "after": ["after"], "before": ["before"],
        "between": ["between"], "to": ["and"], "pm": ["pm"], "am": ["am"],
        "days": {day: [day] for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")},
        "parts": {"morning": {"phrases": ["morning"], "from": "00:00", "until": "12:00"}},
    }  # fmt: skip
    data.update(changes)
    return data


def test_a_valid_words_file_compiles():
    assert compile_time_words(_words(), "t.toml").language == "en"


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"language": "english"}, "t.toml: 'language' must be a two-letter code"),
        ({"days": {"monday": ["monday"]}}, "t.toml: [days] lacks tuesday, wednesday"),
        ({"parts": {"brunch": {"phrases": ["brunch"], "from": "10:00", "until": "12:00"}}},
         "t.toml: unknown part of day parts.brunch"),
        ({"parts": {"morning": {"phrases": ["morning"], "from": "12:00", "until": "08:00"}}},
         "t.toml: parts.morning: 'from' must be before 'until'"),
        ({"parts": {"morning": {"phrases": ["morning"], "from": "8am", "until": "12:00"}}},
         "t.toml: parts.morning.from must be a clock time"),
        ({"ignore": ["monday"]}, "t.toml: ignore: 'monday' is also in days.monday"),
        ({"join": []}, "t.toml: join must be a non-empty list of phrases"),
        ({"colours": ["red"]}, "t.toml: unknown key(s) colours"),
    ],
)  # fmt: skip
def test_a_bad_words_file_is_refused_naming_the_entry(changes, problem):
    with pytest.raises(TimeWordsError) as error:
        compile_time_words(_words(**changes), "t.toml")

    assert str(error.value).startswith(problem)
