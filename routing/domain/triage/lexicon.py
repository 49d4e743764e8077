"""The reader's word lists: one TOML file per language, validated and compiled at load.

A lexicon file holds, for each concept the reader knows (``red_flag.fever``, ``onset.sudden``, the
ConText cues ``cue.negated_forward`` ...), a list of phrases, one per line. A phrase is written in a
small pattern language that reads like the words it matches:

=================  ==========================================================================
``word``           the word itself; case, accents and apostrophes are folded ("cant" = "can't")
``stem*``          any word that starts with ``stem`` (at least three letters)
``a|b|c``          one of these words (each may be a stem or a ``@macro``)
``[a|b]``          optionally one of these words
``(a b|c)``        one of these phrases (inside brackets or parentheses with a space, a bar parts phrases)
``[a b|c d]``      optionally one of these phrases
``~N``             up to N other words (1-6), none of them a negation or a scope-ending word
``@name``          any phrase of the macro ``name`` (the file's ``[macros]`` table)
``<num>``          a number such as ``38.5``; ``<count>`` a number or number word, or a range
``<score>``        a score out of ten written with a slash ("7/10"); its number is ``<num>``
``<unit>``         a time unit of the ``[units]`` table; ``<weekday>`` a day of the ``[weekdays]`` table
=================  ==========================================================================

Everything that makes matching fast is derived here from the phrases: each phrase is compiled to one
regular expression, and an index from the words a phrase can start with to the phrase, so a message
only tries the phrases whose first word it contains. Nothing is kept by hand beside the phrases.
"""

from __future__ import annotations

import itertools
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from routing.domain.triage.facts import (
    CONDITIONS,
    EPISODES,
    LOCATIONS,
    ONSETS,
    RED_FLAGS,
    RELAXANT_EFFECTS,
    TRIGGERS,
    UNKNOWN,
)

LEXICON_DIR = Path(__file__).with_name("lexicons")


def _known(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(value for value in values if value != UNKNOWN)


#: Every concept a lexicon may define: table -> the keys allowed in it (None: any key, checked elsewhere).
CONCEPTS: dict[str, tuple[str, ...] | None] = {
    # Both legs is read through ``legs.both``: every other red flag has phrases of its own.
    "red_flag": tuple(flag for flag in RED_FLAGS if flag != "bilateral_leg_symptoms"),
    # Look-alikes that are explicitly not the red flag ("slipped and fell", "lost weight on a diet").
    "not_red_flag": RED_FLAGS,
    "temperature": ("reading", "bare"),
    "legs": ("both", "one", "not_radiating"),
    "relaxant": ("name", "other_treatment"),
    "relaxant_effect": _known(RELAXANT_EFFECTS),
    "duration": ("counted", "weekday", "since", "not_duration", "not_pain", "back"),
    "duration_days": None,  # keys are whole numbers of days: "0" = ["today", ...]
    "onset": _known(ONSETS),
    "episodes": _known(EPISODES),
    "location": tuple(place for place in _known(LOCATIONS) if place != "other"),
    "trigger": _known(TRIGGERS),
    "pain_score": ("number", "not_score", "severe", "not_severe"),
    "condition": CONDITIONS,
    "site": ("spine", "other"),
    "imaging": ("done", "never"),
    "cue": (
        "negated_forward",
        "negated_backward",
        "negated_closing",
        "other_person",
        "other_person_backward",
        "other_person_end",
        "patient_too",
        "hypothetical_forward",
        "hypothetical_backward",
        "aggravator",
        "aggravator_backward",
        "pseudo",
        "terminator",
        "list_word",
        "statement",
        "carer",
        "own_pain",
    ),
    "screen": RED_FLAGS,
}
# Tables of values rather than phrases.
VALUE_TABLES = ("numbers", "units", "weekdays", "macros")
MAX_GAP = 6


class LexiconError(ValueError):
    """A lexicon file is invalid; the message names the file, the entry and what is wrong."""


# --- folding -------------------------------------------------------------------------------------------

_PUNCTUATION = {
    "\u2019": "'",
    "\u2018": "'",
    "\u02bc": "'",
    "\u00b4": "'",
    "`": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u2010": "-",
    "\u2011": "-",
    "\u2012": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u2212": "-",
    "\u00a0": " ",
    "\t": " ",
}


def _fold_char(char: str) -> str:
    folded = _PUNCTUATION.get(char)
    if folded is not None:
        return folded
    lower = char.lower()
    if len(lower) != 1:
        return char  # e.g. "İ" lower-cases to two characters: keep it, so offsets still line up
    if lower.isascii():
        return lower
    base = unicodedata.normalize("NFD", lower)[0]
    return base if base.isalpha() else lower


def fold(text: str) -> str:
    """Lower-case ``text``, drop accents ("cáncer" -> "cancer") and unify apostrophes and dashes.

    Every character stays at its offset, so a span found in the folded text is the same span of the
    patient's own words.
    """
    if text.isascii():
        return text.lower().replace("`", "'").replace("\t", " ")
    return "".join(map(_fold_char, text))


# --- phrases -------------------------------------------------------------------------------------------

_WORD_CHARS = re.compile(r"[\w'-]+")
# A word, an optional group in brackets, or a group of alternative phrases in parentheses.
_TOKEN = re.compile(r"\[(?:[^\[\]()]|\([^()]*\))*\]|\([^()]*\)|\S+")
_SEPARATOR = r"[\s,/+&:°-]+"  # between two words of a phrase: spaces, and the odd comma, slash, colon or dash
_GAP = r"[\s/+&°-]+"  # before a gap word: as a separator, but no comma or colon
_NUMBER = r"\d+(?:[.,]\d+)?"
_NO_LEADING_BOUNDARY = re.compile(r"(?<=\(\?:)\\b|(?<=\|)\\b|(?<=>)\\b")  # and a named group's "(?P<unit>\b"


@dataclass(frozen=True)
class Phrase:
    """One compiled phrase of a concept: its text as written, its pattern and the words it may start with."""

    concept: str
    text: str
    language: str
    pattern: re.Pattern[str]
    #: The index keys: first words that find the phrase alone (exact words, stems ending in "*", "#" for a
    #: number), and (first word, second word) pairs where both are fixed ("no puedo orinar"), so a common
    #: first word ("no", "my") only tries the phrases its second word allows.
    starts: frozenset[str]
    pairs: frozenset[tuple[str, str]] = frozenset()
    #: Words of which the message must hold at least one for the phrase to match (one of its later required
    #: words, e.g. the stems' alternative "relaxants|relaxers" of "no @relaxant"); empty: no such word.
    needs: frozenset[str] = frozenset()
    #: How many words of optional lead-in ("[for|about] <count> <unit>") may stand before the first required
    #: word: the phrase is found at that word and tried from up to this many words before it.
    lead: int = 0
    #: The phrase is one plain word or a choice of them ("and", "bladder|bowel"): the index offers it only at
    #: a message word that is one of them, so that word is the whole match and the pattern need not run.
    one_word: bool = False
    #: With a lead-in, the phrase without it: tried first at the first required word, where most tries end,
    #: so the whole pattern is tried from the words before it only when the phrase is there. None: no lead-in.
    body: re.Pattern[str] | None = None


@dataclass(frozen=True)
class Lexicon:
    """One language's phrases by concept, and the values of its number, unit and weekday words."""

    language: str
    phrases: tuple[Phrase, ...]
    numbers: Mapping[str, int] = field(default_factory=dict)
    units: Mapping[str, int] = field(default_factory=dict)
    weekdays: Mapping[str, int] = field(default_factory=dict)


class _Compiler:
    """Turns the phrases of one lexicon file into regular expressions and their first words."""

    def __init__(self, name: str, data: Mapping[str, Any]) -> None:
        self.name = name
        self.numbers = _value_table(name, data, "numbers")
        self.units = _value_table(name, data, "units")
        self.weekdays = _value_table(name, data, "weekdays")
        self.macros: dict[str, list[str]] = {}
        for macro, phrases in (data.get("macros") or {}).items():
            self.macros[macro] = _phrase_list(name, f"macros.{macro}", phrases)
        self._macro_cache: dict[str, tuple[str, frozenset[str], int]] = {}
        self._expanding: list[str] = []
        cues = data.get("cue") or {}
        stops = set()
        for key in ("negated_forward", "negated_backward", "terminator"):
            for phrase in _phrase_list(name, f"cue.{key}", cues.get(key, [])):
                words = phrase.split()
                if len(words) == 1 and re.fullmatch(r"[\w']+", words[0]):
                    stops.add(fold(words[0]).replace("'", ""))
        filler_words = _by_first_letter(stops)
        # A gap word is never a negation or a scope end, so a phrase cannot swallow the cue that cancels it.
        # Nor does a gap cross a comma: "las piernas, solo dolor" is two clauses, not one phrase.
        self.filler = rf"(?:{_GAP}(?!(?:{filler_words})\b)\w+)" if filler_words else rf"(?:{_GAP}\w+)"

    def compile(self, concept: str, text: str, language: str) -> Phrase:
        source, starts, lead = self.phrase(text, where=f"{concept}: {text!r}")
        try:
            pattern = re.compile(source)
        except re.error as error:  # pragma: no cover - the pattern language should never produce this
            raise LexiconError(f"{self.name}: {concept}: {text!r} does not compile ({error})") from None
        singles, pairs = self.keys(text, starts)
        one_word = bool(_PLAIN_TOKEN.fullmatch(text.strip()))
        body = None
        if lead:
            required = " ".join(_without_lead_in(_TOKEN.findall(text)))
            body = re.compile(self.phrase(required, where=f"{concept}: {text!r}")[0])
        return Phrase(concept, text, language, pattern, singles, pairs, self.needs(text), lead, one_word, body)

    def phrase(self, text: str, where: str) -> tuple[str, frozenset[str], int]:
        """A phrase's pattern source, the words its first required word can be, and its lead-in length."""
        tokens = _TOKEN.findall(text)
        if not tokens:
            raise LexiconError(f"{self.name}: {where}: an empty phrase")
        if tokens[0].startswith("~"):
            raise LexiconError(f"{self.name}: {where}: a phrase cannot start with a gap")
        if tokens[-1].startswith("~"):
            raise LexiconError(f"{self.name}: {where}: a phrase cannot end with a gap")
        parts: list[str] = []
        starts: frozenset[str] = frozenset()
        lead = 0
        still_first = True
        after_number = False
        groups: set[str] = set()
        for token in tokens:
            if token.startswith("~"):
                if not re.fullmatch(r"~[1-6]", token):
                    raise LexiconError(f"{self.name}: {where}: a gap is written ~1 to ~{MAX_GAP}, not {token!r}")
                parts.append(f"{self.filler}{{0,{token[1:]}}}")
                continue
            optional = token.startswith("[")
            if optional != token.endswith("]") or token.startswith("(") != token.endswith(")"):
                raise LexiconError(f"{self.name}: {where}: unbalanced brackets in {token!r}")
            if token[0] in "[(":
                source, first, token_lead = self.group(token[1:-1], where, groups)
            else:
                source, first, token_lead = self.token(token, where, groups)
            # Words are parted by a separator; an optional word takes its separator with it. After a number
            # the separator may be missing ("38.4C", "10lbs").
            separator = _SEPARATOR
            if after_number:
                separator = f"(?:{_SEPARATOR})?"
                source = _NO_LEADING_BOUNDARY.sub("", source)  # "4c": no word boundary between 4 and c
            if still_first:  # nothing but optional words before it
                parts.append(f"(?:{source}{_SEPARATOR})?" if optional else source)
            else:
                parts.append(f"(?:{separator}{source})?" if optional else f"{separator}{source}")
            after_number = token in ("<num>", "<count>") and not optional
            if still_first:
                if optional:
                    lead += self.span(token[1:-1])
                else:
                    starts, lead = first, lead + token_lead
                still_first = optional
        if still_first:
            raise LexiconError(f"{self.name}: {where}: every word is optional")
        return rf"(?:{''.join(parts)})(?!\w)", starts, lead

    def span(self, text: str) -> int:
        """At most how many message words ``text`` (a phrase, maybe with alternatives) can cover."""
        longest = 0
        for alternative in _split_alternatives(text):
            words = 0
            for token in _TOKEN.findall(alternative):
                inner = token.strip("[]()")
                if token.startswith("~"):
                    words += int(token[1:]) if token[1:].isdigit() else 0
                elif " " in inner or token[0] in "[(":
                    words += self.span(inner)
                else:
                    words += max(self.word_span(part) for part in inner.split("|"))
            longest = max(longest, words)
        return longest

    def word_span(self, word: str) -> int:
        if word.startswith("@"):
            return max((self.span(phrase) for phrase in self.macros.get(word[1:], [])), default=1)
        if word.startswith("<"):
            return 3  # a number, a range ("2 to 3"), a unit or a weekday
        return max(1, len(re.findall(r"\w+", fold(word))))

    # --- the first two words ------------------------------------------------------------------
    # A common first word ("no", "i", "the", a number) opens many phrases, and the second word rules most
    # of them out; so where a phrase's first two words are fixed, the index keeps the pairs it opens with,
    # and only the first word where the second is not fixed.

    def keys(self, text: str, starts: frozenset[str]) -> tuple[frozenset[str], frozenset[tuple[str, str]]]:
        """How the index finds a phrase: by its first word alone, and by (first word, second word) pairs."""
        tokens = _without_lead_in(_TOKEN.findall(text))  # the phrase is found by its first required word
        heads = self.heads(tokens)
        if heads is None:
            return starts, frozenset()  # the first word is a stem or a number: found by it alone
        singles = {head[0] for head in heads if len(head) == 1 or head[1] is None}
        pairs = {(head[0], head[1]) for head in heads if len(head) == 2 and head[1] is not None}
        return frozenset(singles), frozenset(pairs)

    def heads(self, tokens: list[str]) -> list[tuple[str | None, ...]] | None:
        """How a sequence of tokens can begin: (first, second) when both words are fixed, (first, None)
        when the second is not, (first,) when the sequence is one word long or begins with a stem ("relax*",
        found by its stem alone); None if the first word is not fixed (a gap, an optional word)."""
        if not tokens:
            return None
        firsts = self.beginnings(tokens[0])
        if firsts is None:
            return None
        heads: list[tuple[str | None, ...]] = []
        for head in firsts:
            if len(head) == 2 or len(tokens) == 1 or _is_stem(head[0]):
                heads.append(head)
            else:
                following = self.heads(tokens[1:])
                if following is None:
                    heads.append((head[0], None))
                else:
                    # A stem second word is no pair key: the first word alone finds those ("no relax*").
                    heads.extend((head[0], None if _is_stem(after[0]) else after[0]) for after in following)
        return heads

    def beginnings(self, token: str) -> list[tuple[str | None, ...]] | None:
        """How one token can begin (see ``heads``); None if its first word is not fixed.

        A number is "#" (a decimal or a range goes on with another number); "can't" begins "can t" or "cant";
        a stem is itself ("relax*").
        """
        if token.startswith(("~", "[")):
            return None
        if token.startswith("("):
            alternatives = [_TOKEN.findall(alternative) for alternative in _split_alternatives(token[1:-1])]
            return self._joined(self.heads(tokens) for tokens in alternatives)
        found: list[tuple[str | None, ...]] = []
        for alternative in token.split("|"):
            if alternative.endswith("*"):
                found.append((_letters(fold(alternative[:-1])) + "*",))
            elif alternative.startswith("@"):
                macro = [self.heads(_TOKEN.findall(phrase)) for phrase in self.macros.get(alternative[1:], [])]
                joined = self._joined(macro)
                if joined is None:
                    return None
                found += joined
            elif alternative in ("<num>", "<score>", "<count>"):
                found += [("#",), ("#", "#")]
                if alternative == "<count>":
                    found += [("#", joiner) for joiner in RANGE_WORDS]
                    for number in self.numbers:
                        words = number.split()
                        found += [tuple(words[:2])] + [(words[0], joiner) for joiner in RANGE_WORDS]
            elif alternative in ("<unit>", "<weekday>"):
                table = self.units if alternative == "<unit>" else self.weekdays
                found += [tuple(word.split()[:2]) for word in table]
            else:
                folded = fold(alternative)
                pieces = tuple(piece for piece in re.split(r"['-]", folded) if piece)
                found += [pieces[:2], (_letters(folded),)]
        return found

    @staticmethod
    def _joined(parts) -> list[tuple[str | None, ...]] | None:
        joined: list[tuple[str | None, ...]] = []
        for part in parts:
            if part is None:
                return None
            joined += part
        return joined

    def needs(self, text: str) -> frozenset[str]:
        """The words of a later required token made of plain words only: the token whose shortest word is
        longest, then the one of fewest words. Short words ("a", "my", "no") are in most messages; a phrase
        that needs "crash|collision|wreck" is seldom worth trying, one that needs "a|an" nearly always."""
        tokens = _without_lead_in(_TOKEN.findall(text))
        choices = [
            frozenset(fold(word) for word in token.split("|"))
            for previous, token in itertools.pairwise(tokens)
            # After a number a word may be glued to it ("38.4c"): not a word of the message on its own.
            if _PLAIN_TOKEN.fullmatch(token) and previous not in ("<num>", "<count>", "<score>")
        ]
        return max(choices, key=lambda words: (min(map(len, words)), -len(words)), default=frozenset())

    def group(self, body: str, where: str, groups: set[str]) -> tuple[str, frozenset[str], int]:
        """``(a b|c)`` or ``[a b|c]``: alternatives that are whole phrases (``a|b`` alone: alternative words)."""
        if " " not in body.strip():
            return self.token(body.strip(), where, groups)
        sources, starts, lead = [], set(), 0
        for alternative in _split_alternatives(body):
            source, first, alternative_lead = self.phrase(alternative.strip(), where)
            sources.append(source.removesuffix(r"(?!\w)"))
            starts |= first
            lead = max(lead, alternative_lead)
        return "(?:" + "|".join(sources) + ")", frozenset(starts), lead

    def token(self, body: str, where: str, groups: set[str]) -> tuple[str, frozenset[str], int]:
        alternatives, starts, lead = [], set(), 0
        for alternative in body.split("|"):
            if alternative.startswith("@"):
                source, first, macro_lead = self.macro(alternative[1:], where)
                lead = max(lead, macro_lead)
            else:
                source, first = self.alternative(alternative, where, groups)
            alternatives.append(source)
            starts |= first
        return "(?:" + "|".join(alternatives) + ")", frozenset(starts), lead

    def alternative(self, word: str, where: str, groups: set[str]) -> tuple[str, frozenset[str]]:
        if word.startswith("<"):
            return self.typed(word, where, groups)
        stem = word.endswith("*")
        if stem:
            word = word[:-1]
        if not word or not _WORD_CHARS.fullmatch(word):
            raise LexiconError(f"{self.name}: {where}: {word!r} is not a word")
        folded = fold(word)
        letters = _letters(folded)
        if stem and len(letters) < 3:
            raise LexiconError(f"{self.name}: {where}: the stem {word + '*'!r} needs at least three letters")
        # Patients drop apostrophes ("cant") and write "x-ray" as "xray" or "x ray".
        source = re.escape(folded).replace("'", "'?").replace(r"\-", "[- ]?")
        pieces = re.split(r"['-]", folded)
        starts = {letters}
        if stem:
            source = r"\b" + source + r"\w*"
            starts = {letters + "*"}
        else:
            source = r"\b" + source + r"\b"
        if len(pieces) > 1 and pieces[0]:
            starts.add(pieces[0])
        return source, frozenset(starts)

    def typed(self, word: str, where: str, groups: set[str]) -> tuple[str, frozenset[str]]:
        kind = word.strip("<>")
        if kind in groups:
            raise LexiconError(f"{self.name}: {where}: {word} may appear once in a phrase")
        groups.add(kind)
        if kind == "num":
            return rf"(?P<num>{_NUMBER})", frozenset({"#"})
        if kind == "score":
            if "num" in groups:
                raise LexiconError(f"{self.name}: {where}: <score> and <num> cannot share a phrase")
            groups.add("num")
            return rf"(?P<num>{_NUMBER})\s*/\s*10(?!\d)", frozenset({"#"})
        if kind == "count":
            number = "|".join([_NUMBER] + [_word_source(w) for w in _longest_first(self.numbers)])
            source = rf"(?P<count>\b(?:{number})(?:\s*(?:-|to|or|a|o|y)\s*(?:{number}))?\b)"
            return source, frozenset({"#"} | {fold(w).split()[0] for w in self.numbers})
        table = {"unit": self.units, "weekday": self.weekdays}.get(kind)
        if table is None:
            raise LexiconError(f"{self.name}: {where}: unknown placeholder {word!r} (num, score, count, unit, weekday)")
        if not table:
            raise LexiconError(f"{self.name}: {where}: {word} needs the [{kind}s] table")
        words = "|".join(_word_source(w) for w in _longest_first(table))
        return rf"(?P<{kind}>\b(?:{words})\b)", frozenset(fold(w).split()[0] for w in table)

    def macro(self, name: str, where: str) -> tuple[str, frozenset[str], int]:
        if name in self._macro_cache:
            return self._macro_cache[name]
        if name not in self.macros:
            raise LexiconError(f"{self.name}: {where}: no macro @{name} in [macros]")
        if name in self._expanding:
            raise LexiconError(f"{self.name}: {where}: macro @{name} refers to itself")
        self._expanding.append(name)
        sources, starts, lead = [], set(), 0
        for text in self.macros[name]:
            source, first, phrase_lead = self.phrase(text, where=f"macros.{name}: {text!r}")
            sources.append(source)
            starts |= first
            lead = max(lead, phrase_lead)
        self._expanding.pop()
        compiled = "(?:" + "|".join(sources) + ")", frozenset(starts), lead
        self._macro_cache[name] = compiled
        return compiled


RANGE_WORDS = ("to", "or", "a", "o", "y")  # "2 to 3", "dos o tres": what may join a range of numbers
_PLAIN_TOKEN = re.compile(r"[^\W\d_]+(?:\|[^\W\d_]+)*")  # "bladder|bowel": words of letters, no stem


def _by_first_letter(words: Iterable[str]) -> str:
    """A regex alternation of ``words`` grouped by first letter ("n(?:ever|ot|o)|b(?:ut)"): the regex engine
    then rules out a word by one letter, not one try per word. A gap word is checked against every negation
    word of its file, so this is the lexicon's hottest alternation."""
    groups: dict[str, list[str]] = {}
    for word in sorted(words, key=len, reverse=True):
        groups.setdefault(word[0], []).append(re.escape(word[1:]))
    return "|".join(f"{re.escape(first)}(?:{'|'.join(rests)})" for first, rests in groups.items())


def _letters(folded: str) -> str:
    """A folded word without its apostrophes and hyphens ("can't" -> "cant", "x-ray" -> "xray"): its index key."""
    return re.sub(r"['-]", "", folded)


def _is_stem(word: str | None) -> bool:
    return word is not None and word.endswith("*")


def _without_lead_in(tokens: list[str]) -> list[str]:
    """A phrase's tokens from its first required one: without the optional words before it ("[for] 2 weeks")."""
    first = next((index for index, token in enumerate(tokens) if not token.startswith("[")), len(tokens))
    return tokens[first:]


def _split_alternatives(body: str) -> list[str]:
    """Split ``a b|c (d|e)`` at the top-level bars: ["a b", "c (d|e)"]."""
    parts, depth, current = [], 0, []
    for char in body:
        depth += {"(": 1, "[": 1, ")": -1, "]": -1}.get(char, 0)
        if char == "|" and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _longest_first(words: Iterable[str]) -> list[str]:
    return sorted(words, key=len, reverse=True)


def _word_source(words: str) -> str:
    return r"\s+".join(re.escape(fold(word)) for word in words.split())


def _phrase_list(name: str, where: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise LexiconError(f"{name}: {where} must be a list of phrases (strings)")
    return value


def _value_table(name: str, data: Mapping[str, Any], table: str) -> dict[str, int]:
    values = data.get(table) or {}
    if not isinstance(values, dict):
        raise LexiconError(f"{name}: [{table}] must be a table of word = number")
    for word, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise LexiconError(f"{name}: {table}.{word} must be a whole number of 0 or more, not {value!r}")
    return {fold(word): value for word, value in values.items()}


def compile_lexicon(data: Mapping[str, Any], name: str) -> Lexicon:
    """Validate one language's lexicon (parsed TOML) and compile its phrases; raise LexiconError if bad."""
    language = data.get("language")
    if not isinstance(language, str) or not re.fullmatch(r"[a-z]{2}", language):
        raise LexiconError(f"{name}: 'language' must be a two-letter code such as \"en\"")
    unknown = set(data) - set(CONCEPTS) - set(VALUE_TABLES) - {"language"}
    if unknown:
        raise LexiconError(f"{name}: unknown table(s) {', '.join(sorted(unknown))}; known: {', '.join(CONCEPTS)}")
    compiler = _Compiler(name, data)
    phrases: list[Phrase] = []
    for table, allowed in CONCEPTS.items():
        entries = data.get(table) or {}
        if not isinstance(entries, dict):
            raise LexiconError(f"{name}: [{table}] must be a table of concept = [phrases]")
        for key, texts in entries.items():
            if allowed is not None and key not in allowed:
                raise LexiconError(f"{name}: unknown concept {table}.{key}; known: {', '.join(allowed)}")
            if allowed is None and not key.isdigit():
                raise LexiconError(f"{name}: {table}.{key}: the key must be a whole number of days")
            for text in _phrase_list(name, f"{table}.{key}", texts):
                phrases.append(compiler.compile(f"{table}.{key}", text, language))
    return Lexicon(
        language=language,
        phrases=tuple(phrases),
        numbers=compiler.numbers,
        units=compiler.units,
        weekdays=compiler.weekdays,
    )


def load_lexicon(path: Path) -> Lexicon:
    """Read, validate and compile one lexicon file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise LexiconError(f"{path.name}: cannot be read: {error}") from None
    return compile_lexicon(data, path.name)


def load_lexicons(directory: Path = LEXICON_DIR) -> tuple[Lexicon, ...]:
    """Every ``*.toml`` lexicon in ``directory``, English first; raise LexiconError naming a bad entry."""
    paths = sorted(directory.glob("*.toml"), key=lambda path: (path.stem != "en", path.stem))
    if not paths:
        raise LexiconError(f"no lexicon files (*.toml) in {directory}")
    return tuple(load_lexicon(path) for path in paths)
