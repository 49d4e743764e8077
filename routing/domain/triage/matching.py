"""Find every lexicon phrase in a message, and what each phrase is modified by (the ConText model).

One matching loop: the message is split into words once, and at each word only the phrases that can
start with it are tried (the index is derived from the lexicons at load). Then each ConText cue
(negation, another person, a hypothesis, an aggravating activity) gets a scope: forward or backward from
the cue, a few words long, ended by a clause break, a terminator word ("but", "pero") or the sentence
end. A hit is negated, hypothetical or about someone else when a cue's scope reaches it.
"""

from __future__ import annotations

import itertools
import re
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable
from functools import lru_cache
from operator import attrgetter, itemgetter
from typing import NamedTuple

from routing.domain.triage.lexicon import Lexicon, Phrase, fold

_WORD = re.compile(r"\w+")
# A sentence ends at . ! ? ; or a line break; a point between two digits is a decimal point ("38.5").
_SENTENCE_END = re.compile(r"[.!?;\n]+")
# A clause ends at a comma, a bracket or a dash, but not at a hyphen that joins two words ("x-ray", "2-3"): the
# hyphen is told apart after the match (``_is_a_hyphen``), which is far cheaper than asking a pattern around
# every character.
_CLAUSE_BREAK = re.compile(r"[,()-]")
# The dashes that join words or numbers when typed between them ("x-ray", "2-3", an en dash too); an em dash never does
# ("no fever—I wet myself" is two statements). ``fold`` writes every dash as "-", so the patient's own is read.
_JOINING_DASHES = frozenset("-\u2010\u2011\u2012\u2013\u2212")
SCOPE_WORDS = 8  # how many words a cue reaches
_LIST_ITEM_WORDS = 4  # "chills or night sweats": the clauses of a list a negation carries are this short


class Hit:
    """One phrase found in a message: its concept, where it is, and the match (for numbers and units).

    A plain class with slots: a message makes dozens of hits, and this is the cheapest object to make.
    """

    __slots__ = ("concept", "end", "match", "start")

    def __init__(self, concept: str, start: int, end: int, match: re.Match[str]) -> None:
        self.concept = concept
        self.start = start
        self.end = end
        self.match = match

    def __repr__(self) -> str:
        return f"Hit({self.concept!r}, {self.start}, {self.end})"

    def overlaps(self, start: int, end: int) -> bool:
        """Whether this hit shares a character with ``start:end``."""
        return self.start < end and start < self.end


class PhraseIndex:
    """Which phrases can start at a word: derived from the lexicons' phrases when they are loaded."""

    def __init__(self, lexicons: Iterable[Lexicon]) -> None:
        self.exact: dict[str, list[Phrase]] = defaultdict(list)
        self.pairs: dict[tuple[str, str], list[Phrase]] = defaultdict(list)  # by the first two words
        self.stems: dict[str, list[tuple[str, Phrase]]] = defaultdict(list)  # by the stem's first 3 letters
        self.numeric: list[Phrase] = []
        indexed: set[tuple[str, str]] = set()
        for lexicon in lexicons:
            for phrase in lexicon.phrases:
                if (phrase.concept, phrase.pattern.pattern) in indexed:
                    continue  # the same words for the same concept in another language ("ibuprofen"): one will do
                indexed.add((phrase.concept, phrase.pattern.pattern))
                for pair in phrase.pairs:
                    self.pairs[pair].append(phrase)
                for start in phrase.starts:
                    if start == "#":
                        self.numeric.append(phrase)
                    elif start.endswith("*"):
                        self.stems[start[:3]].append((start[:-1], phrase))
                    else:
                        self.exact[start].append(phrase)

    @lru_cache(maxsize=65536)  # noqa: B019 - one index per reader, kept for the process's life
    def candidates(self, word: str, next_word: str) -> tuple[Phrase, ...]:
        """The phrases that may start at a message word (folded), followed by ``next_word``.

        Remembered: patients use the same few hundred words, so most lookups are answered from memory.
        """
        found = list(self.exact.get(word, ()))
        firsts = (word, "#") if word[0].isdigit() else (word,)
        seconds = (next_word, "#") if next_word[:1].isdigit() else (next_word,)
        for first in firsts:
            for second in seconds:
                found.extend(self.pairs.get((first, second), ()))
        glued = word.lstrip("0123456789")
        if glued and glued != word:  # "102f", "10lbs": a number and the word after it written as one
            found.extend(self.pairs.get(("#", glued), ()))
        for stem, phrase in self.stems.get(word[:3], ()):
            if word.startswith(stem):
                found.append(phrase)
        if word[0].isdigit():
            found.extend(self.numeric)
        return tuple(found)


class Scope(NamedTuple):
    """The stretch of text a cue modifies (a named tuple, as hits are: a message makes dozens of them)."""

    category: str
    start: int
    end: int
    cue_start: int
    cue_end: int


class Document:
    """A message, folded, with every phrase found in it and the scopes of its cues."""

    def __init__(self, raw: str, index: PhraseIndex) -> None:
        self.raw = raw
        self.low = fold(raw)
        found = list(_WORD.finditer(self.low))
        self.word_starts = [match.start() for match in found]
        self.sentences = _bounds(_SENTENCE_END, self.low, unless=_is_decimal_point)
        self.clauses = _bounds(
            _CLAUSE_BREAK, self.low, within=self.sentences, unless=lambda _, dash: _is_a_hyphen(raw, dash.start())
        )
        self.hits: dict[str, list[Hit]] = defaultdict(list)
        low, starts = self.low, self.word_starts
        words = [match.group() for match in found] + [""]  # "": the word after the last
        present = frozenset(words)
        for position, word_start in enumerate(starts):
            for phrase in index.candidates(words[position], words[position + 1]):
                if phrase.needs and phrase.needs.isdisjoint(present):
                    continue  # a word the phrase cannot do without is nowhere in the message
                if phrase.one_word:  # the word found it, and the word is all of it: no pattern to run
                    word = found[position]
                    self.hits[phrase.concept].append(Hit(phrase.concept, word_start, word.end(), word))
                    continue
                # From this word, without a lead-in ("[for the past] <count> <unit>"): most tries end here.
                match = (phrase.body or phrase.pattern).match(low, word_start)
                if match is None:
                    continue
                start = word_start
                if phrase.body is not None:
                    # The phrase is here: from the earliest word its lead-in may start at, the longest match.
                    for begin in starts[max(0, position - phrase.lead) : position]:
                        longer = phrase.pattern.match(low, begin)
                        # A match from an earlier word must reach this one: else it is an earlier occurrence of
                        # the phrase ("2 weeks and 3 weeks"), found at its own word.
                        if longer is not None and longer.end() > word_start:
                            start, match = begin, longer
                            break
                self.hits[phrase.concept].append(Hit(phrase.concept, start, match.end(), match))
        self.tables: dict[str, dict[str, list[Hit]]] = defaultdict(dict)  # "screen" -> {"fever": hits, ...}
        for concept, hits in self.hits.items():
            if len(hits) > 1:
                hits = self.hits[concept] = _longest(hits)
            table, _, key = concept.partition(".")
            self.tables[table][key] = hits
        # The terminator words that cut a clause into segments; one that also joins a list ("and", "y") does not.
        joiners = {(hit.start, hit.end) for hit in self.find("cue.list_word")}
        self._segment_ends = [hit for hit in self.find("cue.terminator") if (hit.start, hit.end) not in joiners]
        self.scopes = self._scopes()

    # --- where things are -------------------------------------------------------------------------

    def sentence(self, offset: int) -> tuple[int, int]:
        """The bounds of the sentence holding ``offset``."""
        return _containing(self.sentences, offset)

    def clause(self, offset: int) -> tuple[int, int]:
        """The bounds of the clause (sentence part between commas or brackets) holding ``offset``."""
        return _containing(self.clauses, offset)

    def segment(self, offset: int) -> tuple[int, int]:
        """The clause holding ``offset``, cut further at terminator words ("ibuprofen helped but ...").

        A word that also joins a list ("and", "y") does not cut it: "relaxants and ibuprofen haven't helped".
        """
        start, end = self.clause(offset)
        for hit in self._segment_ends:
            if start <= hit.start and hit.end <= offset:
                start = hit.end
            elif offset < hit.start < end:
                end = hit.start
        return start, end

    def phrase(self, start: int, end: int) -> str:
        """The patient's own words at ``start:end``, trimmed."""
        return self.raw[start:end].strip(" \t\n,.;:!?\"'()") or self.raw[start:end]

    def find(self, concept: str) -> list[Hit]:
        """The hits of one concept, in message order."""
        return self.hits.get(concept, [])

    def table(self, name: str) -> dict[str, list[Hit]]:
        """The hits of every concept of one table, by key: ``table("screen")`` is ``{"fever": [...], ...}``."""
        return self.tables.get(name, {})

    def find_in(self, concept: str, start: int, end: int) -> list[Hit]:
        """The hits of one concept inside ``start:end``."""
        return [hit for hit in self.find(concept) if start <= hit.start and hit.end <= end]

    # --- ConText ----------------------------------------------------------------------------------

    def modified(self, hit: Hit, *categories: str, reach: int | None = None) -> Scope | None:
        """The first scope of one of ``categories`` that reaches ``hit``, or None.

        With ``reach``, only a cue at most that many words away from the hit counts.
        """
        start, end = hit.start, hit.end
        for scope in self.scopes:
            if scope.category not in categories:
                continue
            reaches = scope.start <= start < scope.end or (scope.start < end <= scope.end and start < scope.start)
            if not reaches:
                continue
            if start <= scope.cue_start and scope.cue_end <= end:
                continue  # the cue is part of the phrase itself ("can't control my bladder")
            if scope.category == "other_person" and self._patient_too(hit):
                continue  # "my mom had cancer and so did I", "my friend rear-ended me"
            if reach is None or self._close(scope, hit, reach):
                return scope
        return None

    def _patient_too(self, hit: Hit) -> bool:
        """Whether the patient shares what someone else had or did: "so did I", "me too", "... me" after it."""
        end = self.sentence(hit.start)[1]
        if any(hit.end <= cue.start < end for cue in self.find("cue.patient_too")):
            return True
        following = bisect_left(self.word_starts, hit.end)
        return following < len(self.word_starts) and self.low.startswith(
            ("me ", "me.", "me,"), self.word_starts[following]
        )

    def _close(self, scope: Scope, hit: Hit, reach: int) -> bool:
        """Whether the cue is in the hit's own clause and at most ``reach`` words from it."""
        return self.clause(scope.cue_start) == self.clause(hit.start) and self._words_between(scope, hit) <= reach

    def _words_between(self, scope: Scope, hit: Hit) -> int:
        starts = self.word_starts
        if scope.cue_end <= hit.start:
            return bisect_left(starts, hit.start) - bisect_left(starts, scope.cue_end)
        return bisect_left(starts, scope.cue_start) - bisect_left(starts, hit.end)

    def negated(self, hit: Hit) -> bool:
        """Whether a negation reaches the hit ("no fever", "fever: none", "sin fiebre")."""
        return self.modified(hit, "negated") is not None

    def ruled_out(self, hit: Hit, reach: int | None = None) -> Scope | None:
        """The cue that makes a hit not the patient's present fact: negated, someone else's, or hypothetical."""
        return self.modified(hit, "negated", "other_person", "hypothetical", reach=reach)

    def _scopes(self) -> list[Scope]:
        blocked = [(hit.start, hit.end) for hit in self.find("cue.pseudo")]
        terminators = [(hit.start, hit.end) for hit in self.find("cue.terminator")]
        # The patient speaking of themself again ends only talk of someone else.
        person_ends = sorted(terminators + [(hit.start, hit.end) for hit in self.find("cue.other_person_end")])
        list_words = [hit.start for hit in self.find("cue.list_word")]
        # A carer writing for the patient ("his back went out Monday", "a mi papá le duele la espalda") and never of
        # a pain of their own: what is said of the relative is the patient's, so no cue makes it someone else's.
        for_the_patient = bool(self.find("cue.carer")) and not self.find("cue.own_pain")
        scopes = []
        for concept, category, forward in (
            ("cue.negated_forward", "negated", True),
            ("cue.negated_backward", "negated", False),
            ("cue.negated_closing", "negated", False),
            ("cue.other_person", "other_person", True),
            ("cue.other_person_backward", "other_person", False),
            ("cue.hypothetical_forward", "hypothetical", True),
            ("cue.hypothetical_backward", "hypothetical", False),
            ("cue.aggravator", "aggravator", True),
            ("cue.aggravator_backward", "aggravator", False),
        ):
            if category == "other_person" and for_the_patient:
                continue
            for cue in self.find(concept):
                if blocked and any(start < cue.end and cue.start < end for start, end in blocked):
                    continue  # "no longer", "not sure", "no puedo": not a negation
                if concept == "cue.negated_closing" and not self._closes_its_clause(cue):
                    continue  # "no ha regresado": a "no" before its verb is read forward
                ends = person_ends if category == "other_person" else terminators
                if forward:
                    end = self._forward_end(cue, ends, list_words if category == "negated" else [])
                    scopes.append(Scope(category, cue.end, end, cue.start, cue.end))
                else:
                    start = self._backward_start(cue, ends)
                    scopes.append(Scope(category, start, cue.start, cue.start, cue.end))
        return scopes

    def _forward_end(self, cue: Hit, terminators: list[tuple[int, int]], list_words: list[int]) -> int:
        reach = bisect_left(self.word_starts, cue.end) + SCOPE_WORDS  # the first word past the reach
        limit = self.word_starts[reach] if reach < len(self.word_starts) else len(self.low)
        end = self.clause(cue.start)[1]
        # "no fever, chills or night sweats": a list of short items ending in "or"/"ni" carries the negation
        # past commas; a longer clause, or one where the patient speaks ("wet myself", "I keep tripping"), is a
        # new statement. Asked only when the clause ends within reach: past it, the reach ends the scope.
        if end < limit:
            sentence_end = self.sentence(cue.start)[1]
            later = [word for word in list_words if end <= word < sentence_end]
            if later:
                list_end = self.clause(later[0])[1]
                if self._short_items(end, list_end) and not self.find_in("cue.statement", end, list_end):
                    end = list_end
        end = min(end, limit)
        # The first terminator after the cue ends its scope ("no fever but ..."); the terminators are in order.
        first = bisect_left(terminators, cue.end, key=_START_OF_SPAN)
        if first < len(terminators) and terminators[first][0] < end:
            end = terminators[first][0]
        return end

    def _short_items(self, start: int, end: int) -> bool:
        """Whether every item in ``start:end`` (parted by commas and list words) is short enough for a list."""
        joiners = [hit for hit in self.find("cue.list_word") if start <= hit.start < end]
        cuts = sorted(
            {bound for clause in self.clauses if start <= clause[0] < end for bound in clause}
            | {bound for hit in joiners for bound in (hit.start, hit.end)}
            | {start, end}
        )
        return all(
            bisect_left(self.word_starts, after) - bisect_left(self.word_starts, before) <= _LIST_ITEM_WORDS
            for before, after in itertools.pairwise(cuts)
        )

    def _closes_its_clause(self, cue: Hit) -> bool:
        return not self.low[cue.end : self.clause(cue.start)[1]].strip(" \t\"'!?.;:")

    def _backward_start(self, cue: Hit, terminators: list[tuple[int, int]]) -> int:
        sentence_start = self.sentence(cue.start)[0]
        if cue.concept == "cue.negated_closing" and sentence_start > 0:
            before = self.low[:sentence_start].rstrip()
            if before.endswith("?") and not self.low[sentence_start : cue.start].strip(" \t\"'¿¡"):
                # "Fever? No." answers the question just before it: its last few words.
                question_start = self.sentence(len(before) - 1)[0]
                first = bisect_left(self.word_starts, len(before)) - SCOPE_WORDS
                return max(question_start, self.word_starts[first] if first > 0 else 0)
        start = self.clause(cue.start)[0]  # within the cue's own clause ("last week,negative xray")
        first = bisect_left(self.word_starts, cue.start) - SCOPE_WORDS  # the earliest word within reach
        if first > 0:
            start = max(start, self.word_starts[first])
        for _, end in terminators:
            if start < end <= cue.start:
                start = end
        return start


def _is_a_hyphen(raw: str, offset: int) -> bool:
    """Whether the dash at ``offset`` of the patient's text joins two words or numbers ("x-ray", "2-3", "t-boned").

    Not one with a blank on either side ("sore - no fever", "no fever- I can't pee"), nor an em dash: those part
    two clauses.
    """
    return (
        raw[offset] in _JOINING_DASHES and raw[offset - 1 : offset].isalnum() and raw[offset + 1 : offset + 2].isalnum()
    )


def _is_decimal_point(text: str, match: re.Match[str]) -> bool:
    start, end = match.span()
    if text[start:end] != "." or start == 0 or end == len(text):
        return False
    return text[start - 1].isdigit() and text[end].isdigit()


def _bounds(
    pattern: re.Pattern[str],
    text: str,
    within: list[tuple[int, int]] | None = None,
    unless: Callable[[str, re.Match[str]], bool] | None = None,
) -> list[tuple[int, int]]:
    """The stretches of ``text`` (of each span ``within``) between the matches of ``pattern`` that are not
    ``unless``'s exceptions."""
    spans = within or [(0, len(text))]
    bounds = []
    for span_start, span_end in spans:
        start = span_start
        for match in pattern.finditer(text, span_start, span_end):
            if unless is not None and unless(text, match):
                continue
            if match.start() > start:
                bounds.append((start, match.start()))
            start = match.end()
        if span_end > start:
            bounds.append((start, span_end))
    return bounds or [(0, len(text))]


def _containing(bounds: list[tuple[int, int]], offset: int) -> tuple[int, int]:
    """The bound holding ``offset``; between two bounds, the one before it (bounds are in order)."""
    index = bisect_right(bounds, offset, key=_START_OF_SPAN) - 1  # the last bound starting at or before offset
    return bounds[max(index, 0)]


def _longest(hits: list[Hit]) -> list[Hit]:
    """Hits in message order, without a hit that lies inside a longer one of the same concept."""
    kept: list[Hit] = []
    for hit in sorted(hits, key=_START):  # a stable sort: hits that start together stay in the order found
        if kept and hit.end <= kept[-1].end:
            continue  # it starts no earlier and ends no later than the last hit kept: it lies inside it
        if kept and hit.start == kept[-1].start:
            kept[-1] = hit  # it starts with the last hit kept and goes further: the longer one stays
            continue
        kept.append(hit)
    return kept


_START = attrgetter("start")
_START_OF_SPAN = itemgetter(0)
