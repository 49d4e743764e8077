"""The free-text reader: the triage policy's facts from a patient's message, in English or Spanish.

``read_message`` follows the policy's "Reading free text", "Languages" and "the safety net". The words
are data (``lexicons/*.toml``); this module says what a hit of each concept means for the facts. It
returns only what the message determines, each value with the phrase that justified it, plus the
possible red flags the broad screen saw that the exact reading did not account for. Pure Python.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from routing.domain.triage.facts import FACT_KINDS, SET_FACTS, TEXT, Evidence, TextReading
from routing.domain.triage.lexicon import CONCEPTS, LEXICON_DIR, RANGE_WORDS, Lexicon, load_lexicons
from routing.domain.triage.matching import Document, Hit, PhraseIndex, Scope

# A number above this is a temperature in Fahrenheit, else Celsius; fever from 100.4 F / 38 C.
_FAHRENHEIT_ABOVE = 50
_FEVER_F, _FEVER_C = 100.4, 38.0
_PLAUSIBLE_C, _PLAUSIBLE_F = (34.0, 43.0), (93.0, 113.0)  # body temperatures ("45 grados" is the weather)
_MAX_SCORE = 10
_RANGE_SEPARATORS = ("-", *(f" {word} " for word in RANGE_WORDS))  # "2-3", "2 to 3", "dos o tres"
# The screen is a second, stricter reader: a cue rules a screen word out only from this many words away, so a
# long or mistaken scope of the exact reading ("the relaxants didn't help and I keep wetting myself") cannot
# silence both.
_SCREEN_REACH = 4
# The emergency signs the screen holds even when they seem to be someone else's: a form is about its patient, and
# "mi esposo no puede orinar, yo lleno esto por él" is a carer writing for them. A relative's cancer or
# injecting is common talk; their bladder or legs failing, in a back-pain form, is not.
_HELD_EVEN_FOR_SOMEONE_ELSE = frozenset(
    {"bladder_bowel_dysfunction", "saddle_numbness", "leg_weakness", "bilateral_leg_symptoms"}
)


@dataclass(frozen=True)
class PossibleRedFlag:
    """A screen word the exact reading did not account for: the flag it may mean and the patient's words."""

    flag: str
    words: str


@dataclass
class _Found:
    doc: Document
    values: dict[str, tuple[Any, int, int]] = field(default_factory=dict)
    items: dict[str, dict[str, tuple[int, int]]] = field(default_factory=dict)
    # Spans the exact reading accounted for: a red flag set or ruled out, or a fact that places the words.
    explained: list[tuple[int, int]] = field(default_factory=list)
    # Red-flag phrases ruled out in a way the screen does not accept ("mi esposa no aguanta la orina"): held as
    # the whole phrase, whose own words ("no aguanta") must not rule out its screen word.
    unsettled: list[tuple[str, Hit]] = field(default_factory=list)

    def set(self, fact: str, value: Any, start: int, end: int) -> None:
        if fact not in self.values:
            self.values[fact] = (value, start, end)

    def add(self, fact: str, item: str, start: int, end: int) -> None:
        items = self.items.setdefault(fact, {})
        if item not in items:
            items[item] = (start, end)
            return
        first, last = items[item]
        if start < last and first < end:  # two overlapping phrases say it: show them as one
            items[item] = (min(first, start), max(last, end))

    def explain(self, start: int, end: int) -> None:
        self.explained.append((start, end))

    def reading(self, possible: tuple[PossibleRedFlag, ...]) -> TextReading:
        values: dict[str, Any] = {}
        evidence: list[Evidence] = []
        for fact in FACT_KINDS:
            if fact in SET_FACTS:
                items = self.items.get(fact)
                if items:
                    values[fact] = frozenset(items)
                    evidence.extend(Evidence(fact, item, TEXT, self.doc.phrase(*items[item])) for item in sorted(items))
            elif fact in self.values:
                value, start, end = self.values[fact]
                values[fact] = value
                evidence.append(Evidence(fact, value, TEXT, self.doc.phrase(start, end)))
        return TextReading(values, tuple(evidence), possible_red_flags=possible)


class Reader:
    """Reads messages with a set of lexicons (one per language)."""

    def __init__(self, lexicons: Iterable[Lexicon]) -> None:
        self.lexicons = tuple(lexicons)
        self.index = PhraseIndex(self.lexicons)
        self.units = _merged(lexicon.units for lexicon in self.lexicons)
        self.numbers = _merged(lexicon.numbers for lexicon in self.lexicons)
        self.weekdays = _merged(lexicon.weekdays for lexicon in self.lexicons)

    def read(self, message: str | None, received_on: datetime.date) -> TextReading:
        """Read the facts a message states; see :func:`read_message`."""
        if not isinstance(message, str) or not message.strip():
            return TextReading()
        doc = Document(message, self.index)
        found = _Found(doc)
        _read_red_flags(doc, found)
        _read_temperature(doc, found)
        _read_legs(doc, found)
        _read_conditions(doc, found)
        _read_imaging(doc, found)
        self._read_duration(doc, found, received_on)
        _read_relaxants(doc, found)
        _read_onset(doc, found)
        _read_choice(doc, found, "episodes", CONCEPTS["episodes"])
        _read_choice(doc, found, "location", CONCEPTS["location"])
        _read_trigger(doc, found)
        self._read_pain_score(doc, found)
        return found.reading(_screen(doc, found))

    # --- numbers -----------------------------------------------------------------------------------

    def number(self, text: str | None) -> float | None:
        """A number written in digits or words ("3", "2.5", "three", "dos"); None if it is neither."""
        if not text:
            return None
        text = " ".join(text.split())
        if text in self.numbers:
            return float(self.numbers[text])
        try:
            return float(text.replace(",", "."))
        except ValueError:
            return None

    def count(self, text: str) -> float | None:
        """The lower bound of a count or a range ("2-3", "two or three", "dos o tres")."""
        for separator in _RANGE_SEPARATORS:
            if separator in text:
                first = self.number(text.split(separator)[0].strip())
                if first is not None:
                    return first
        return self.number(text.strip())

    def _read_duration(self, doc: Document, found: _Found, received_on: datetime.date) -> None:
        candidates: list[tuple[int, Hit]] = []
        not_durations = doc.find("duration.not_duration")
        for hit in doc.find("duration.counted"):
            if any(hit.overlaps(other.start, other.end) for other in not_durations):
                continue  # "I'm 45 years old", "every few weeks"
            count = self.count(hit.match.group("count"))
            unit = self.units.get(" ".join(hit.match.group("unit").split()))
            if count is not None and unit is not None:
                candidates.append((int(count * unit), hit))
        for hit in doc.find("duration.weekday"):
            weekday = self.weekdays[" ".join(hit.match.group("weekday").split())]
            days = (received_on.weekday() - weekday) % 7 or 7
            candidates.append((days, hit))
        counted = [hit for _, hit in candidates]
        for days, hits in doc.table("duration_days").items():
            # "2 months of spasms" is 60 days, not the 90 of "months of"
            fixed = [hit for hit in hits if not any(hit.overlaps(other.start, other.end) for other in counted)]
            candidates.extend((int(days), hit) for hit in fixed)
        if not candidates:
            return
        topics = _topics(doc)
        # The longest first (a stable sort: on a tie, the first found): the first one about the pain is the fact.
        for days, hit in sorted(candidates, key=lambda candidate: -candidate[0]):
            if not doc.ruled_out(hit) and _about_the_pain(doc, hit, topics):
                found.set("duration_days", days, hit.start, hit.end)
                return

    def _read_pain_score(self, doc: Document, found: _Found) -> None:
        not_scores = doc.find("pain_score.not_score")
        best: tuple[int, Hit] | None = None
        for hit in doc.find("pain_score.number"):
            group = "num" if "num" in hit.match.re.groupindex else "count"
            value = self.count(hit.match.group(group))
            number = hit.match.span(group)
            if value is None or value > 2 * _MAX_SCORE or any(other.overlaps(*number) for other in not_scores):
                continue
            score = min(int(value + 0.5), _MAX_SCORE)  # round half up: 7.5 reads as 8; "11/10" is 10
            if best is None or score > best[0]:
                best = (score, hit)
        if best is not None:
            score, hit = best
            # "Pain about 6/10": two phrases say the same score; show both as one.
            same = [other for other in doc.find("pain_score.number") if other.overlaps(hit.start, hit.end)]
            found.set("pain_score", score, min(o.start for o in same), max(o.end for o in same))
            return
        not_severe = doc.find("pain_score.not_severe")
        for hit in doc.find("pain_score.severe"):
            if not doc.negated(hit) and not any(hit.overlaps(other.start, other.end) for other in not_severe):
                found.set("pain_score", 8, hit.start, hit.end)
                return


def _merged(tables: Iterable[dict[str, int] | Any]) -> dict[str, int]:
    merged: dict[str, int] = {}
    for table in tables:
        merged.update(table)
    return merged


# --- red flags -----------------------------------------------------------------------------------------

_RED_FLAGS_READ = CONCEPTS["red_flag"]  # every red flag but both legs (read with the legs)


def _read_red_flags(doc: Document, found: _Found) -> None:
    for flag in _RED_FLAGS_READ:
        look_alikes = doc.find(f"not_red_flag.{flag}")
        for hit in look_alikes:
            found.explain(hit.start, hit.end)
        # Only a plausible temperature decides over the word ("a temperature of 100.3"; not "fever for 3 days").
        readings = (
            [hit for hit in doc.find("temperature.reading") if _temperature(hit) is not None] if flag == "fever" else []
        )
        for hit in doc.find(f"red_flag.{flag}"):
            # The screen agrees with a ruling-out only when it is tight: a cue close by, a look-alike over the
            # same words, a temperature over the same words. A looser one may be a reading gone too far.
            if doc.ruled_out(hit):
                close = doc.ruled_out(hit, reach=_SCREEN_REACH)
                if close is not None and _someone_elses_emergency(close, flag):
                    found.unsettled.append((flag, hit))
                elif close is not None:
                    found.explain(hit.start, hit.end)
                continue
            if any(hit.overlaps(reading.start, reading.end) for reading in readings):
                found.explain(hit.start, hit.end)
                continue  # "a temperature of 100.3": the number decides
            if _excluded(doc, hit, look_alikes):
                if any(hit.overlaps(other.start, other.end) for other in look_alikes):
                    found.explain(hit.start, hit.end)
                continue
            found.explain(hit.start, hit.end)
            found.add("red_flags", flag, hit.start, hit.end)


def _screen_agrees(doc: Document, hit: Hit, flag: str) -> bool:
    """Whether the safety screen accepts that a cue rules ``hit`` out: a cue close by, and not "someone else"
    for an emergency sign (``_HELD_EVEN_FOR_SOMEONE_ELSE``)."""
    close = doc.ruled_out(hit, reach=_SCREEN_REACH)
    return close is not None and not _someone_elses_emergency(close, flag)


def _someone_elses_emergency(cue: Scope, flag: str) -> bool:
    """Whether ``cue`` rules an emergency sign out only as someone else's: the screen holds it for staff."""
    return cue.category == "other_person" and flag in _HELD_EVEN_FOR_SOMEONE_ELSE


_LOOK_ALIKE_REACH = 40  # characters: a look-alike this near, in the same sentence, explains the hit


def _excluded(doc: Document, hit: Hit, look_alikes: list[Hit]) -> bool:
    """Whether a look-alike of the same flag stands beside the hit ("lost 10 lbs on a diet")."""
    start, end = doc.sentence(hit.start)
    return any(
        start <= other.start < end
        # A look-alike inside a longer red-flag phrase is part of it: "haven't been able to pee normally".
        and not (hit.start <= other.start and other.end <= hit.end and other.end - other.start < hit.end - hit.start)
        and (
            other.overlaps(hit.start, hit.end)
            or abs(other.start - hit.end) <= _LOOK_ALIKE_REACH
            or abs(hit.start - other.end) <= _LOOK_ALIKE_REACH
        )
        and not doc.negated(other)
        for other in look_alikes
    )


def _looks_like_a_temperature(doc: Document, hit: Hit) -> bool:
    """A bare number that reads as a temperature: a decimal such as "102.5" or "38.6", or a whole number in a
    sentence that speaks of temperature ("fever 99.5 yesterday, 102 today"); no unit after it."""
    text = hit.match.group("num").replace(",", ".")
    value = float(text)
    if not (99 <= value <= 107 or 37 <= value <= 43):
        return False
    if any(other.overlaps(hit.start, hit.end) for other in doc.find("pain_score.not_score")):
        return False
    start, end = doc.sentence(hit.start)
    return "." in text or bool(
        doc.find_in("temperature.reading", start, end) or doc.find_in("red_flag.fever", start, end)
    )


def _temperature(hit: Hit) -> float | None:
    """The reading's number when it is a plausible body temperature (°C or °F); else None ("fever for 3 days")."""
    value = float(hit.match.group("num").replace(",", "."))
    return value if _PLAUSIBLE_C[0] <= value <= _PLAUSIBLE_C[1] or _PLAUSIBLE_F[0] <= value <= _PLAUSIBLE_F[1] else None


def _read_temperature(doc: Document, found: _Found) -> None:
    readings = [hit for hit in doc.find("temperature.reading") if _temperature(hit) is not None]
    bare = [
        hit
        for hit in doc.find("temperature.bare")
        if not any(hit.overlaps(reading.start, reading.end) for reading in readings)
        and _looks_like_a_temperature(doc, hit)
    ]
    for hit in [*readings, *bare]:
        found.explain(hit.start, hit.end)
        value = float(hit.match.group("num").replace(",", "."))
        fever = value >= _FEVER_F if value > _FAHRENHEIT_ABOVE else value >= _FEVER_C
        if fever and not doc.ruled_out(hit):
            found.add("red_flags", "fever", hit.start, hit.end)


# --- legs ----------------------------------------------------------------------------------------------


def _read_legs(doc: Document, found: _Found) -> None:
    saddle = doc.find("red_flag.saddle_numbness")
    negative: tuple[int, int] | None = None
    for hit in doc.find("legs.both"):
        if not doc.ruled_out(hit) or doc.ruled_out(hit, reach=_SCREEN_REACH):
            found.explain(hit.start, hit.end)
        if any(hit.overlaps(other.start, other.end) for other in saddle):
            continue
        cue = doc.modified(hit, "negated")
        if cue is not None:
            negative = negative or (min(cue.cue_start, hit.start), hit.end)
        elif not doc.ruled_out(hit) and not _excluded(doc, hit, doc.find("not_red_flag.bilateral_leg_symptoms")):
            found.add("red_flags", "bilateral_leg_symptoms", hit.start, hit.end)
    both = doc.find("legs.both")
    for hit in doc.find("legs.one"):
        found.explain(hit.start, hit.end)
        if any(hit.overlaps(other.start, other.end) for other in [*saddle, *both]):
            continue
        cue = doc.modified(hit, "negated")
        if cue is not None:
            negative = negative or (min(cue.cue_start, hit.start), hit.end)
        elif not doc.ruled_out(hit):
            found.set("radiating_leg_pain", True, hit.start, hit.end)
            return
    for hit in doc.find("legs.not_radiating"):
        found.explain(hit.start, hit.end)
        negative = negative or (hit.start, hit.end)
    if negative is not None:
        found.set("radiating_leg_pain", False, *negative)


# --- conditions and imaging ----------------------------------------------------------------------------


def _in_spine_or_unstated(doc: Document, hit: Hit) -> bool:
    """Whether a condition or scan is of the spine or of no stated site ("arthritis in my knee" is neither)."""
    start, end = doc.segment(hit.start)
    if doc.find_in("site.spine", start, end):
        return True
    return not doc.find_in("site.other", start, end)


def _read_conditions(doc: Document, found: _Found) -> None:
    facet = doc.find("condition.facet_joint_arthritis")
    for kind in CONCEPTS["condition"]:
        for hit in doc.find(f"condition.{kind}"):
            if kind == "arthritis" and any(hit.overlaps(other.start, other.end) for other in facet):
                continue
            if doc.ruled_out(hit) or not _in_spine_or_unstated(doc, hit):
                continue
            found.add("diagnosed_conditions", kind, hit.start, hit.end)


def _read_imaging(doc: Document, found: _Found) -> None:
    never = [hit for hit in doc.find("imaging.never") if _in_spine_or_unstated(doc, hit)]
    for hit in doc.find("imaging.done"):
        if any(hit.overlaps(other.start, other.end) for other in never):
            continue
        if not _in_spine_or_unstated(doc, hit) or doc.modified(hit, "hypothetical", "other_person"):
            continue
        if not doc.negated(hit):  # a scan done outranks one never had ("never had an MRI, only x-rays")
            found.set("prior_imaging", True, hit.start, hit.end)
            return
        never.append(hit)
    if never:
        first = min(never, key=lambda hit: hit.start)
        found.set("prior_imaging", False, first.start, first.end)


# --- durations, relaxants, onset, trigger --------------------------------------------------------------


# What a duration may be about besides the back pain: the concepts of red flags, legs, treatments,
# conditions and scans, and the lexicon's own extra words (duration.not_pain); and a number (a temperature or a
# weight: "101 for 3 days", "12 pounds in 6 weeks"), unless it is a pain score's.
_OTHER_TOPICS = ("red_flag", "legs", "relaxant", "condition", "imaging")


# What a duration is about: the back pain, a leg, or something else.
_PAIN, _LEG, _OTHER = "pain", "leg", "other"


def _topics(doc: Document) -> list[tuple[Hit, str]]:
    """Every topic word a duration may be about, and what it is (``_PAIN``, ``_LEG`` or ``_OTHER``)."""
    topics = [(other, _PAIN) for other in doc.find("duration.back")]
    topics += [(other, _OTHER) for other in doc.find("duration.not_pain")]
    topics += [
        # Pain down one leg (sciatica) is the back pain spreading; both legs are a red flag of their own.
        (other, _LEG if (table, key) == ("legs", "one") else _OTHER)
        for table in _OTHER_TOPICS
        for key, hits in doc.table(table).items()
        for other in hits
    ]
    # A pain score's numbers are not another topic: "pain 7 out of 10 for 3 weeks" is the pain's 3 weeks.
    scores = doc.find("pain_score.number")
    topics += [
        (number, _OTHER)
        for hits in doc.table("temperature").values()
        for number in hits
        if not any(number.overlaps(score.start, score.end) for score in scores)
    ]
    return topics


def _about_the_pain(doc: Document, hit: Hit, topics: list[tuple[Hit, str]]) -> bool:
    """Whether a duration is the back pain's, not a medicine's, a leg's, a diagnosis's or a scan's.

    A duration belongs to the nearest topic word in its clause: "on prednisone for years" to the medicine,
    "back pain for 3 weeks" to the pain, "sciatica since Sunday" to a leg. A leg's is the pain's too when the
    clause names the back ("back pain with sciatica for 3 weeks": the pain going down the leg). "since ..."
    looks ahead first ("since this morning I can't pee").
    """
    start, end = doc.clause(hit.start)
    topics = [
        (other, kind)
        for other, kind in topics
        if start <= other.start and other.end <= end and not other.overlaps(hit.start, hit.end)
    ]
    if not topics:
        return True
    # "since" opening the duration ("since this morning") or just before it: it looks ahead.
    ahead_first = any(
        cue.start == hit.start or (cue.end <= hit.start and not doc.low[cue.end : hit.start].strip())
        for cue in doc.find("duration.since")
    )
    before = [(hit.start - other.end, kind) for other, kind in topics if other.end <= hit.start]
    after = [(other.start - hit.end, kind) for other, kind in topics if other.start >= hit.end]
    first, second = (after, before) if ahead_first else (before, after)
    # The nearest topic; on a tie the pain's.
    nearest = min(first or second, key=lambda topic: (topic[0], topic[1] != _PAIN))[1]
    return nearest == _PAIN or (nearest == _LEG and bool(doc.find_in("site.spine", start, end)))


_EFFECT_PRIORITY = ("no_relief", "helped", "not_tried")


def _read_relaxants(doc: Document, found: _Found) -> None:
    names = doc.find("relaxant.name")
    if not names:
        return
    treatments = sorted([*names, *doc.find("relaxant.other_treatment")], key=lambda hit: hit.start)
    chosen = _strongest_effect(doc, treatments)
    if chosen is not None:
        value, hit, subject = chosen
        said = [
            hit,
            subject,
            *(
                other
                for kind in _EFFECT_PRIORITY
                for other in doc.find(f"relaxant_effect.{kind}")
                if other.overlaps(hit.start, hit.end)
            ),
        ]
        start, end = min(item.start for item in said), max(item.end for item in said)
        found.set("muscle_relaxants", value, start, end)


def _strongest_effect(doc: Document, treatments: list[Hit]) -> tuple[str, Hit, Hit] | None:
    """The relaxants' effect that outranks the others (``_EFFECT_PRIORITY``): its value, phrase and relaxant."""
    chosen: tuple[str, Hit, Hit] | None = None
    for effect in _EFFECT_PRIORITY:
        # The longest phrase first, so staff see "relaxants didn't help" rather than "didn't".
        for hit in sorted(doc.find(f"relaxant_effect.{effect}"), key=lambda hit: hit.start - hit.end):
            if _inside_a_longer_effect(doc, hit):
                continue  # "no me lo quita del todo" (partial help) holds "no me lo quita" (no relief)
            subject = _subject(doc, hit, treatments)
            if subject is None or subject.concept != "relaxant.name":
                continue
            value = effect
            if effect == "helped" and doc.negated(hit):
                value = "no_relief"  # "did not really help", "no me ayudaron"
            if chosen is None or _EFFECT_PRIORITY.index(value) < _EFFECT_PRIORITY.index(chosen[0]):
                chosen = (value, hit, subject)
                if value == _EFFECT_PRIORITY[0]:
                    return chosen  # nothing outranks it: no other phrase need be placed
    return chosen


def _inside_a_longer_effect(doc: Document, hit: Hit) -> bool:
    """Whether a longer phrase of another effect holds this one: the longer phrase says what the patient meant."""
    return any(
        other.concept != hit.concept
        and other.start <= hit.start
        and hit.end <= other.end
        and other.end - other.start > hit.end - hit.start
        for others in doc.table("relaxant_effect").values()
        for other in others
    )


def _subject(doc: Document, effect: Hit, treatments: list[Hit]) -> Hit | None:
    """The treatment an effect phrase is about.

    A treatment named inside the phrase; else a relaxant among the treatments of its clause ("relaxants and
    ibuprofen haven't helped"), else the nearest one of its clause, its sentence, or the sentence before
    ("Tried relaxants. Didn't help.").
    """
    within = [hit for hit in treatments if hit.start >= effect.start and hit.end <= effect.end]
    if within:
        return within[0]
    others = [hit for hit in treatments if not hit.overlaps(effect.start, effect.end)]
    clause = doc.segment(effect.start)
    in_clause = [hit for hit in others if clause[0] <= hit.start < clause[1]]
    if in_clause:
        relaxants = [hit for hit in in_clause if hit.concept == "relaxant.name"]
        return relaxants[0] if relaxants else _nearest(effect, in_clause)
    sentence = doc.sentence(effect.start)
    in_sentence = [hit for hit in others if sentence[0] <= hit.start < sentence[1]]
    if in_sentence:
        return _nearest(effect, in_sentence)
    earlier = [hit for hit in others if hit.end <= sentence[0]]
    if earlier and doc.sentence(earlier[-1].start) == doc.sentence(max(sentence[0] - 1, 0)):
        return earlier[-1]
    return None


def _nearest(effect: Hit, hits: list[Hit]) -> Hit:
    before = [hit for hit in hits if hit.end <= effect.start]
    return before[-1] if before else hits[0]


def _read_onset(doc: Document, found: _Found) -> None:
    for kind in ("sudden", "gradual"):  # sudden outranks gradual: it is the safer reading
        for hit in doc.find(f"onset.{kind}"):
            if not doc.negated(hit):
                found.set("onset", kind, hit.start, hit.end)
                return


def _read_choice(doc: Document, found: _Found, fact: str, kinds: tuple[str, ...]) -> None:
    hits = [(hit, kind) for kind in kinds for hit in doc.find(f"{fact}.{kind}") if not doc.ruled_out(hit)]
    if hits:
        hit, kind = min(hits, key=lambda item: item[0].start)
        found.set(fact, kind, hit.start, hit.end)


_TRIGGERS = CONCEPTS["trigger"]  # in the policy's order, which is also which one wins: a stated activity first


def _read_trigger(doc: Document, found: _Found) -> None:
    hits = [
        (hit, kind)
        for kind in _TRIGGERS
        for hit in doc.find(f"trigger.{kind}")
        if not doc.modified(hit, "aggravator") and (kind == "none" or not doc.ruled_out(hit))
    ]
    # "lifting weights" is exercise, though "lifting" alone is lifting: a longer phrase of another kind wins.
    hits = [
        (hit, kind)
        for hit, kind in hits
        if not any(
            other_kind != kind
            and other.start <= hit.start
            and hit.end <= other.end
            and other.end - other.start > hit.end - hit.start
            for other, other_kind in hits
        )
    ]
    for kind in _TRIGGERS:  # a stated activity beats "no injury"
        for hit, hit_kind in hits:
            if hit_kind == kind:
                found.set("trigger", kind, hit.start, hit.end)
                return


# --- the safety net ------------------------------------------------------------------------------------

# Facts that place screen words: numbness in one leg is radiating pain, not a possible red flag.
_PLACING_FACTS = ("legs.one", "legs.not_radiating")


def _beside(doc: Document, hit: Hit, look_alikes: list[Hit]) -> bool:
    """Whether a look-alike stands in the hit's clause segment (no comma or "but" between them)."""
    start, end = doc.segment(hit.start)
    return any(start <= other.start < end and not doc.negated(other) for other in look_alikes)


def _screen(doc: Document, found: _Found) -> tuple[PossibleRedFlag, ...]:
    """Screen words that no exact reading accounts for (the engine decides whether they hold the inquiry).

    A screen word is accounted for when it lies in a red flag's phrase (read, or ruled out close by), in a
    look-alike beside it, or in a fact that places it; or when a cue rules it out from a few words away.
    """
    for concept in _PLACING_FACTS:
        for hit in doc.find(concept):
            found.explain(hit.start, hit.end)
    possible: dict[str, list[str]] = {}
    for flag, hit in found.unsettled:
        possible.setdefault(flag, []).append(doc.phrase(hit.start, hit.end))
    for flag, hits in doc.table("screen").items():
        look_alikes = doc.find(f"not_red_flag.{flag}")
        for hit in hits:
            if any(hit.start < end and start < hit.end for start, end in found.explained):
                continue
            if any(hit.overlaps(other.start, other.end) for held, other in found.unsettled if held == flag):
                continue  # already held as the whole phrase
            if _beside(doc, hit, look_alikes):
                continue  # "lost 25 lbs on purpose": a look-alike in the same part of the sentence
            if _screen_agrees(doc, hit, flag):
                continue
            words = possible.setdefault(flag, [])
            phrase = doc.phrase(hit.start, hit.end)
            if phrase not in words:
                words.append(phrase)
    return tuple(PossibleRedFlag(flag, ", ".join(words)) for flag, words in sorted(possible.items()))


# --- entry point ---------------------------------------------------------------------------------------


def default_reader() -> Reader:
    """The reader of the lexicons shipped with the service."""
    return reader_for(None)


@lru_cache(maxsize=8)
def reader_for(folder: Path | None) -> Reader:
    """The reader of the lexicons in ``folder`` (default: the shipped ones); raise LexiconError naming a bad line.

    A folder is loaded once per process (compiling takes most of a second, and a test suite builds many apps).
    """
    return Reader(load_lexicons(folder or LEXICON_DIR))


def read_message(message: str | None, received_on: datetime.date, reader: Reader | None = None) -> TextReading:
    """Read the triage facts a patient's message states, each with the phrase that says it.

    ``received_on`` is the clinic-local date the inquiry arrived; weekday phrases ("since Monday") count
    back from it. Facts the message does not mention are absent, and negated red flags or diagnoses are
    never set. ``possible_red_flags`` lists what the broad screen saw and the exact reading did not
    account for. Never raises on any string; ``None`` or a blank message gives an empty reading.
    """
    return (reader or default_reader()).read(message, received_on)
