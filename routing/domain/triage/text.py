"""The free-text reader: the triage policy's facts from a patient's "describe your pain" message.

``read_message`` follows the policy's section "Reading free text". It returns only what the message
determines, each value with the short phrase of the message that justified it, so staff can see why.
Negation never sets a red flag, a diagnosis or a true value; when a red flag's negation is unclear the
red flag stands. Pure standard-library Python, deterministic, and safe on any string.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from routing.domain.triage import text_lexicon as lex
from routing.domain.triage.facts import FACT_KINDS, SET_FACTS, TEXT, Evidence, TextReading
from routing.domain.triage.text_durations import read_duration
from routing.domain.triage.text_relaxants import read_relaxant_effect
from routing.domain.triage.text_scope import PHRASE_TRIM, Document, Hints, Lexicon


class _Found:
    """Collects values and their evidence; the first value found for a single fact is kept."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.values: dict[str, Any] = {}
        self.items: dict[str, dict[str, tuple[int, int]]] = {}

    def set(self, fact: str, value: Any, start: int, end: int) -> None:
        if fact not in self.values:
            self.values[fact] = (value, start, end)

    def add(self, fact: str, item: str, start: int, end: int) -> None:
        self.items.setdefault(fact, {}).setdefault(item, (start, end))

    def reading(self) -> TextReading:
        values: dict[str, Any] = {}
        evidence: list[Evidence] = []
        found, raw = self.values, self.doc.raw
        for fact, is_set in _FACT_ORDER:
            if is_set:
                items = self.items.get(fact)
                if items:
                    values[fact] = frozenset(items)
                    evidence.extend(Evidence(fact, item, TEXT, self._phrase(*items[item])) for item in sorted(items))
            elif fact in found:
                value, start, end = found[fact]
                values[fact] = value
                # ``_phrase`` written out: a reading has a phrase for most facts.
                evidence.append(Evidence(fact, value, TEXT, raw[start:end].strip(PHRASE_TRIM) or raw[start:end]))
        return TextReading(values, tuple(evidence))

    def _phrase(self, start: int, end: int) -> str:
        return self.doc.phrase(start, end) or self.doc.raw[start:end]


_FACT_ORDER = tuple((fact, fact in SET_FACTS) for fact in FACT_KINDS)  # the order of a reading's facts


# --- red flags ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _FlagRule:
    flag: str
    phrases: Lexicon
    history: bool = False  # a relative's history does not count, nor does a worry or a plan
    keep: Callable[[Document, re.Match[str]], bool] | None = None


def _weight_loss_unexplained(doc: Document, match: re.Match[str]) -> bool:
    start, end = doc.sentence(match.start())
    if lex.WEIGHT_LOSS_UNEXPLAINED.search(doc.low, start, end):
        return True
    return not lex.WEIGHT_LOSS_ON_PURPOSE.search(doc.low, start, end)


def _immunosuppressed(doc: Document, match: re.Match[str]) -> bool:
    text = match.group()
    start, end = doc.sentence(match.start())
    if "hiv" in text and lex.HIV_NEGATIVE.search(doc.low, max(start, match.start() - 30), min(end, match.end() + 40)):
        return False
    steroid = any(word in text for word in ("steroid", "predni", "cortis", "dexameth", "medrol"))
    return not (steroid and lex.STEROID_SHORT_COURSE.search(doc.low, start, end))


_RED_FLAG_RULES = (
    _FlagRule("bladder_bowel_dysfunction", lex.BLADDER_BOWEL),
    _FlagRule("saddle_numbness", lex.SADDLE),
    _FlagRule("leg_weakness", lex.LEG_WEAKNESS),
    _FlagRule("fever", lex.FEVER),
    _FlagRule("major_trauma", lex.MAJOR_TRAUMA),
    _FlagRule("cancer_history", lex.CANCER, history=True),
    _FlagRule("unexplained_weight_loss", lex.WEIGHT_LOSS, history=True, keep=_weight_loss_unexplained),
    _FlagRule("immunosuppression", lex.IMMUNOSUPPRESSION, history=True, keep=_immunosuppressed),
    _FlagRule("iv_drug_use", lex.IV_DRUG_USE, history=True),
)


def _read_red_flags(doc: Document, found: _Found) -> None:
    for rule in _RED_FLAG_RULES:
        for _, match in doc.find(rule.phrases):
            start, end = match.span()
            if doc.negation(start, end) is not None:
                continue
            if rule.history and (doc.about_someone_else(start, end) or doc.speculative(start)):
                continue
            if rule.keep is not None and not rule.keep(doc, match):
                continue
            found.add("red_flags", rule.flag, start, end)
            break


# --- legs: radiating pain (one leg) and bilateral symptoms (both legs) ---------------------------------

_LEG_HINTS = Hints(
    "leg",
    "thigh",
    "calf",
    "calves",
    "shin",
    "hamstring",
    "foot",
    "feet",
    "ankle",
    "toe",
    "knee",
    "sciatic",
    "radicul",
    "radiat",
    "spread",
    "shoot",
    "travel",
    "bilateral",
    "both sides",
)

_STAYS_HINTS = Hints("stay", "only", "just", "confined", "locali")


def _overlaps(span: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    return any(span[0] < end and start < span[1] for start, end in spans)


def _read_legs(doc: Document, found: _Found) -> None:
    if not doc.mentions(_LEG_HINTS):
        if doc.mentions(_STAYS_HINTS):
            hit = doc.first(lex.NOT_RADIATING)
            if hit is not None:
                found.set("radiating_leg_pain", False, *hit[1].span())
        return
    taken: list[tuple[int, int]] = [m.span() for _, m in doc.find(lex.SADDLE) if "thigh" in m.group()]
    negative: tuple[int, int] | None = None
    for _, match in doc.find(lex.BILATERAL):
        taken.append(match.span())
        cue = doc.negation(match.start(), match.end())
        if cue is None:
            found.add("red_flags", "bilateral_leg_symptoms", *match.span())
        elif negative is None:
            negative = (cue, match.end())
    for _, match in doc.find(lex.RADIATING):
        if _overlaps(match.span(), taken):
            continue
        cue = doc.negation(match.start(), match.end())
        if cue is None:
            found.set("radiating_leg_pain", True, *match.span())
            return
        if negative is None:
            negative = (cue, match.end())
    if negative is None:
        negative = next((m.span() for _, m in doc.find(lex.NOT_RADIATING)), None)
    if negative is not None:
        found.set("radiating_leg_pain", False, *negative)


# --- conditions and imaging ----------------------------------------------------------------------------

_CONDITION_HINTS = Hints(
    "arthr",
    "facet",
    "dis",
    "ddd",
    "hnp",
    "herniat",
    "stenosis",
    "spondyl",
    "djd",
    "degenerat",
)
_SITE_AFTER = re.compile(r"\s*(?:\w+\s+){0,2}?(?:in|of|on|at|affecting)\s+((?:[\w,]+\s*){1,6})")
# The last two words before a phrase, read backwards: ``_SITE_BEFORE.search(low, start - 25, start)`` for
# r"(?:(\w+)\s+)?(\w+)\s+$" gives the same words, but tries every character of the window, several times.
_SITE_BEFORE_REVERSED = re.compile(r"\s+(\w+)(?:\s+(\w+))?")
_NEXT_WORD = re.compile(r"\s+(\w+)")


def _site_words_before(low: str, start: int) -> tuple[str | None, str] | None:
    """The word (and the one before it, if only spaces part them) that end, with spaces, at ``start``.

    Only the 25 characters before ``start`` are read (a word cut there is read from the cut).
    """
    found = _SITE_BEFORE_REVERSED.match(low[max(0, start - 25) : start][::-1])
    if found is None:
        return None
    last, previous = found.groups()
    return (previous[::-1] if previous is not None else None), last[::-1]


def _other_site_before(doc: Document, start: int) -> bool:
    before = _site_words_before(doc.low, start)
    return before is not None and not lex.OTHER_SITE_WORDS.isdisjoint(before)


def _in_spine_or_unstated(doc: Document, start: int, end: int) -> bool:
    """Whether a condition is in the spine or at no stated site ("arthritis in my knee" is neither)."""
    sentence_end = doc.sentence(start)[1]
    after = _SITE_AFTER.match(doc.low, end, sentence_end)
    if after:
        site = after.group(1)
        if lex.SPINE_SITE.search(site):
            return True
        if lex.OTHER_SITE.search(site):
            return False
    if _other_site_before(doc, start):
        return False
    following = _NEXT_WORD.match(doc.low[end : end + 20])
    return not (following and following.group(1) in lex.OTHER_SITE_WORDS)


def _read_conditions(doc: Document, found: _Found) -> None:
    if not doc.mentions(_CONDITION_HINTS):
        return
    for kind, match in doc.find(lex.CONDITIONS):
        start, end = match.span()
        if doc.negation(start, end) is not None or doc.speculative(start) or doc.about_someone_else(start, end):
            continue
        if not _in_spine_or_unstated(doc, start, end):
            continue
        found.add("diagnosed_conditions", kind, start, end)


_IMAGING_HINTS = Hints("mri", "m.r.i", "x-ray", "xray", "x ray", "ct", "scan", "imaging", "radiograph", "myelogram")
_STRONG_DONE = re.compile(r"show|reveal|found|find|confirm|indicat|came|result|report|ago|normal|clear|done|taken")


def _read_imaging(doc: Document, found: _Found) -> None:
    if not doc.mentions(_IMAGING_HINTS):
        return
    low = doc.low
    for _, match in doc.find(lex.IMAGING_DONE):
        start, end = match.span()
        if doc.negation(start, end) is not None or not _in_spine_or_unstated(doc, start, end):
            continue
        clause_start, clause_end = doc.sentence(start)
        strong = _STRONG_DONE.search(match.group()) or lex.IMAGING_RESULT.search(low, clause_start, clause_end)
        if not strong and lex.IMAGING_PLANNED.search(low, clause_start, clause_end):
            continue
        found.set("prior_imaging", True, start, end)
        return
    for _, match in doc.find(lex.IMAGING_NEVER):
        if _in_spine_or_unstated(doc, match.start(), match.end()):
            found.set("prior_imaging", False, *match.span())
            return


# --- onset, episodes, location, trigger, pain score ---------------------------------------------------


def _first_affirmed(doc: Document, phrases: Lexicon) -> tuple[str, re.Match[str]] | None:
    for kind, match in doc.find(phrases):
        if doc.negation(match.start(), broad=True) is None:
            return kind, match
    return None


def _read_onset(doc: Document, found: _Found) -> None:
    hits = [(kind, m) for kind, m in doc.find(lex.ONSET) if doc.negation(m.start(), broad=True) is None]
    if not hits:
        return
    # Sudden outranks gradual when both are said ("crept up, then suddenly worse"): it is the safer reading.
    chosen = next((hit for hit in hits if hit[0] == "sudden"), hits[0])
    found.set("onset", chosen[0], *chosen[1].span())


def _read_episodes(doc: Document, found: _Found) -> None:
    hits = doc.find(lex.EPISODES)
    if not hits:
        return
    chosen = next((hit for hit in hits if hit[0] == "first"), hits[0])
    found.set("episodes", chosen[0], *chosen[1].span())


def _read_location(doc: Document, found: _Found) -> None:
    hit = _first_affirmed(doc, lex.LOCATION)
    if hit is not None:
        found.set("location", hit[0], *hit[1].span())


_TRIGGER_PRIORITY = ("lifting", "twisting", "exercise", "other_exertion", "none")


def _aggravates(doc: Document, match: re.Match[str]) -> bool:
    """Whether an activity is said to worsen the pain ("hurts when I lift") rather than to have caused it."""
    sentence_start = doc.sentence(match.start())[0]
    if doc.first(lex.AGGRAVATOR_BEFORE, max(sentence_start, match.start() - 60), match.start()) is not None:
        return True
    return lex.AGGRAVATOR_AFTER.match(doc.low, match.end()) is not None


def _read_trigger(doc: Document, found: _Found) -> None:
    best: tuple[str, re.Match[str]] | None = None
    for kind, match in doc.find(lex.TRIGGERS):
        if doc.negation(match.start(), broad=True) is not None or _aggravates(doc, match):
            continue
        if best is None or _TRIGGER_PRIORITY.index(kind) < _TRIGGER_PRIORITY.index(best[0]):
            best = (kind, match)
    if best is not None:
        found.set("trigger", best[0], *best[1].span())


_NUMBER_WORDS = {
    word: index
    for index, word in enumerate(("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"))
}
_NUMBER_WORDS["ten"] = 10


def _score(text: str | None) -> int | None:
    if not text:
        return None
    value = _NUMBER_WORDS.get(text)
    if value is None:
        try:
            value = int(float(text) + 0.5)  # round half up: 7.5 reads as 8
        except ValueError:
            return None
    return min(value, 10)


def _read_pain_score(doc: Document, found: _Found) -> None:
    low = doc.low
    best: tuple[int, int, int] | None = None
    for _, match in doc.find(lex.SCORE_OUT_OF_TEN):
        scores = [s for s in (_score(match["a"]), _score(match["b"])) if s is not None]
        if scores and (best is None or max(scores) > best[0]):
            best = (max(scores), *match.span())
    for _, match in doc.find(lex.SCORE_STATED):
        if lex.SCORE_UNITS_AFTER.match(low, match.end()) or low.startswith(" of ", match.end()):
            continue
        score = _score(match["a"])
        if score is not None and (best is None or score > best[0]):
            best = (score, *match.span())
    if best is not None:
        found.set("pain_score", best[0], best[1], best[2])
        return
    for _, match in doc.find(lex.SEVERITY):
        if doc.negation(match.start(), broad=True) is not None:
            continue
        if match.group().startswith("severe") and lex.SEVERE_NOT_PAIN.match(low, match.end()):
            continue
        found.set("pain_score", 8, *match.span())
        return


# --- entry point ---------------------------------------------------------------------------------------


def read_message(message: str | None, received_on: datetime.date) -> TextReading:
    """Read the triage facts a patient's message states, each with the phrase that says it.

    ``received_on`` is the clinic-local date the inquiry arrived; weekday phrases ("since Monday") count
    back from it. The reading holds only what the text determines: facts it does not mention are absent,
    and negated red flags or diagnoses are never set. Never raises on any string; ``None`` or a blank
    message gives an empty reading.
    """
    if not isinstance(message, str) or not message.strip():
        return TextReading()
    doc = Document(message)
    found = _Found(doc)
    _read_red_flags(doc, found)
    _read_legs(doc, found)
    _read_conditions(doc, found)
    _read_imaging(doc, found)
    duration = read_duration(doc, received_on)
    if duration is not None:
        found.set("duration_days", duration.days, duration.start, duration.end)
    effect = read_relaxant_effect(doc)
    if effect is not None:
        found.set("muscle_relaxants", effect.value, effect.start, effect.end)
    _read_onset(doc, found)
    _read_episodes(doc, found)
    _read_location(doc, found)
    _read_trigger(doc, found)
    _read_pain_score(doc, found)
    return found.reading()
