"""Where a phrase of a message stands: its sentence and clause, and whether it is negated, hedged or about
someone other than the patient.

The reader works on a folded copy of the message (lower case, one kind of apostrophe and dash) that has
exactly the same length as the original, so every offset found in the copy is an offset in the original
and evidence phrases are exact substrings of what the patient wrote.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from itertools import accumulate, chain, compress, count, repeat
from operator import add

from routing.domain.triage.text_anchors import KEY_LENGTH, WORD_LENGTH, TwoWords, anchors_of, two_words_of

_WORD = re.compile(r"\w+")
# ASCII characters that are not ``\w``, all mapped to a space, to split a plain-ASCII message into its words
# with ``str.split`` (one C call) rather than one regex match per word.
_ASCII_SPACES = bytes(code if chr(code).isalnum() or chr(code) == "_" else ord(" ") for code in range(256))


def _words(low: str) -> tuple[list[int], list[str]]:
    r"""The offsets and the words of every run of word characters (``\w+``) of ``low``, in order."""
    if not low.isascii():
        found = [(word.start(), word.group()) for word in _WORD.finditer(low)]
        return [start for start, _ in found], [word for _, word in found]
    parts = low.encode("ascii").translate(_ASCII_SPACES).decode("ascii").split(" ")
    # Part i starts after parts 0..i-1 and one space after each; empty parts are runs of spaces.
    offsets = accumulate(map(add, map(len, parts), repeat(1)), initial=0)
    return list(compress(offsets, parts)), list(filter(None, parts))


_FOLD = str.maketrans(  # only "`" and the tab are ASCII keys (see ``fold``)
    {
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
        "\u2009": " ",
        "\u202f": " ",
        "\t": " ",
    }
)


def fold(text: str) -> str:
    """Lower-case ``text`` and unify apostrophes and dashes, keeping every character at its offset."""
    low = text.lower()
    if len(low) != len(text):
        # A few characters lower-case to two (e.g. "İ"); keep those as they are so offsets still line up.
        low = "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in text)
    if low.isascii():
        # The only ASCII characters ``_FOLD`` changes; two scans cost far less than ``translate`` by a dict.
        return low.replace("`", "'").replace("\t", " ")
    return low.translate(_FOLD)


# A filler word inside a phrase ("numbness [down] in both legs") is never a negation or a "but", so a
# phrase cannot swallow the cue that negates it ("pain, denies numbness in both legs").
# The word is possessive (``\w++``): giving back its last letters could never let the spaces after it match,
# and a failed try then costs one step per word instead of one per letter.
_FILLER_WORD = (
    r"(?:(?!(?:no|not|never|without|denies|deny|denied|nor|neither|none|nothing|free|negative|but)\b)\w++\s+)"
)


def _source(alternative: str) -> str:
    # Patients write "dont", "cant" and "ive" as often as "don't": every apostrophe is optional.
    source = alternative.replace("'", "'?")
    return source.replace(r"(?:\w+\s+)", _FILLER_WORD).replace(r"(?:[\w/]+\s+)", _FILLER_WORD)


def rx(*alternatives: str) -> re.Pattern[str]:
    """Compile alternatives into one pattern, for matching at a known place or in a short window.

    An apostrophe in a pattern may be left out in the message, and a filler word written as one word
    and its spaces never matches a negation word.
    """
    return re.compile("|".join(f"(?:{_source(alternative)})" for alternative in alternatives))


def _split_top_level(source: str) -> list[str]:
    """The top-level alternatives of a regex source."""
    parts, depth, in_class, escaped, current = [], 0, False, False, []
    for char in source:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts


def _without_leading_boundaries(source: str) -> str:
    # Lexicon patterns are only tried where a word starts, so a leading \b always holds; without it the
    # regex engine can skip an alternative on its first letter, which makes a failed try much cheaper.
    return "|".join(part[2:] if part.startswith(r"\b") else part for part in _split_top_level(source))


class Lexicon:
    """Phrase patterns, each with a kind, read from a message as one ordered alternation would be.

    Each pattern is tried only at the words it can start with (worked out by ``text_anchors``), and at a
    word the first listed pattern that matches wins, so ``Document.find`` gives the same matches as
    ``finditer`` of all the patterns joined with ``|``, in a fraction of the time. A ``gate`` (word
    beginnings of which every match contains at least one) lets a message without any skip the search.
    """

    __slots__ = ("_bit", "_entries", "_mask", "_slot", "_steps", "gate", "sources")

    def __init__(self, entries: list[tuple[str, str]], gate: frozenset[str] | None = None) -> None:
        self.sources = tuple((kind, _source(source)) for kind, source in entries)  # as written, for the tests
        self._entries = tuple((kind, _without_leading_boundaries(source)) for kind, source in self.sources)
        self.gate = gate
        self._steps: dict[tuple[int, ...], _Steps] = {}
        self._bit = next(_BITS)  # the gate's bit in a probe's mask
        self._mask = 1 << self._bit
        self._slot = _register(self)

    def steps(self, indices: tuple[int, ...]) -> _Steps:
        """The patterns at ``indices`` as (kind, pattern) steps to try in order, neighbours joined if they can be.

        Neighbouring patterns become one alternation, which the regex engine tries in the same order, so
        one ``match`` call replaces several and the first listed pattern still wins. When the joined
        patterns are of several kinds, each kind's run is a group and the step's kind is a tuple that
        ``Match.lastindex`` picks from. A pattern with groups of its own stays alone: joined, its group
        numbers would shift and its names could clash.
        """
        found = self._steps.get(indices)
        if found is None:
            runs: list[list[tuple[str, str]]] = []  # each run: (kind, source) of joinable neighbours
            for index in indices:
                kind, source = self._entries[index]
                if runs and _groupless(source) and _groupless(runs[-1][-1][1]):
                    runs[-1].append((kind, source))
                else:
                    runs.append([(kind, source)])
            found = self._steps[indices] = tuple(_joined_step(run) for run in runs)
        return found


_Steps = tuple[tuple["str | tuple[str, ...]", re.Pattern[str]], ...]


def _joined_step(run: list[tuple[str, str]]) -> tuple[str | tuple[str, ...], re.Pattern[str]]:
    """One (kind, pattern) step trying the (kind, source) pairs of ``run`` in order."""
    kinds: list[str] = []
    by_kind: list[list[str]] = []
    for kind, source in run:
        if kinds and kinds[-1] == kind:
            by_kind[-1].append(source)
        else:
            kinds.append(kind)
            by_kind.append([source])
    if len(kinds) == 1:
        return kinds[0], _compile_joined(by_kind[0])
    # Groups numbered 1, 2, ... in kind order: the match's lastindex names the kind that matched.
    joined = "|".join("(" + "|".join(f"(?:{source})" for source in sources) + ")" for sources in by_kind)
    return tuple(kinds), _compile_joined([joined])


_COMPILED: dict[str, re.Pattern[str]] = {}


def _groupless(source: str) -> bool:
    return _compile_joined([source]).groups == 0


def _compile_joined(sources: list[str]) -> re.Pattern[str]:
    """One compiled pattern trying ``sources`` in order, shared by every lexicon and key that joins the same."""
    joined = sources[0] if len(sources) == 1 else "|".join(f"(?:{source})" for source in sources)
    pattern = _COMPILED.get(joined)
    if pattern is None:
        pattern = _COMPILED[joined] = re.compile(joined)
    return pattern


# --- which lexicon patterns can start at a word -----------------------------------------------------
#
# Every lexicon registers its patterns' possible first words here, so a message's words are looked up
# once for all lexicons (``_probe``) instead of once per lexicon. A pattern whose first words can be
# spelled out is listed by whole word (and by the prefixes of words it leaves open, as "relax" of
# "relax\w*"); one that cannot (digits: "[0-9]+") is listed by the first three letters of the word.

_LEXICONS: list[Lexicon] = []
# Each listing ends with the words that may come second, or None when any word (or none) may.
_Seconds = frozenset[str] | None
_BY_WORD: dict[str, list[tuple[int, int, _Seconds]]] = {}  # a whole first word -> (slot, index, seconds)
_BY_KEY: dict[str, list[tuple[str, int, int, _Seconds]]] = {}  # first three letters -> (prefix, slot, ...)
_SHORT: list[tuple[str, int, int, _Seconds]] = []  # (prefix shorter than three letters, slot, index, seconds)
_BITS = count()  # the bits of a probe's mask: one per lexicon gate and one per set of hints
_GATES: dict[str, int] = {}  # a gate key -> mask of the bits of the lexicons it opens
# The bits of the lexicons without a gate, set in every message's gates: "is the gate open" is then one test.
_UNGATED = 0
_HINT_BITS: list[tuple[int, tuple[str, ...]]] = []  # (bit, hints within a word) for each set of hints
# What a word can start: for each lexicon slot with a pattern that can start there, the steps to try, in order
# (one (slot, kind, pattern) per step). They may depend on the next word (a pattern that needs another next
# word is left out), so a probe lists them for each next word that changes them, and for any other next word.
_SlotStep = tuple[int, "str | tuple[str, ...]", re.Pattern[str]]  # (slot, kind, pattern)
_Starts = tuple[_SlotStep, ...]
_Probe = tuple[int, dict[str | None, _Starts], _Starts]  # (mask, next word -> starts, starts otherwise)


class _Probes(dict[str, _Probe]):
    """Word -> what it can start: a word not seen before is probed (``_probe``) when it is looked up."""

    __slots__ = ()

    def __missing__(self, word: str) -> _Probe:
        return _probe(word)


_PROBES = _Probes()  # word -> what it can start
_Candidate = tuple[int, "str | tuple[str, ...]", re.Pattern[str]]  # (position, kind, pattern): a step to try
_PROBES_LIMIT = 50_000  # words remembered; beyond this the memo starts over (it is only a shortcut)


def _register(lex: Lexicon) -> int:
    """Give ``lex`` a slot and list its patterns' first words; refuse a pattern that cannot start a word."""
    slot = len(_LEXICONS)
    for index, (_, source) in enumerate(lex.sources):
        for first, is_prefix, seconds in _first_words(source):
            if not is_prefix:
                _BY_WORD.setdefault(first, []).append((slot, index, seconds))
            elif len(first) >= KEY_LENGTH:
                _BY_KEY.setdefault(first[:KEY_LENGTH], []).append((first, slot, index, seconds))
            else:
                _SHORT.append((first, slot, index, seconds))
    for key in lex.gate or ():
        _GATES[key] = _GATES.get(key, 0) | lex._mask
    global _UNGATED
    if lex.gate is None:
        _UNGATED |= lex._mask
    _LEXICONS.append(lex)
    _PROBES.clear()  # worked out without this lexicon
    return slot


def _first_words(source: str) -> list[tuple[str, bool, _Seconds]]:
    """How a match of ``source`` can begin: (first word, whether only its beginning, words that may follow).

    Spelled out as far as can be, since the more exact the words, the fewer the tries: whole first and
    second words where the pattern allows, else whole first words, else first three letters.
    """
    for length in (WORD_LENGTH, 10, 6):
        pairs = two_words_of(source, length=length)
        if pairs is not None:
            seconds = _seconds_of(pairs)
            # With a second word's digits spelled out, "since" or "the" lists the years that may follow
            # ("since 2019") instead of leaving every next word open. Kept only where it narrows the next
            # words of the same first words: spelling more can also overflow and leave them open.
            open_next = None in seconds.values()
            with_digits = two_words_of(source, length=length, digits=True) if open_next else None
            if with_digits is not None:
                narrower = _seconds_of(with_digits)
                if narrower.keys() == seconds.keys() and all(
                    seconds[key] is None or (words is not None and words <= seconds[key])  # type: ignore[operator]
                    for key, words in narrower.items()
                ):
                    seconds = narrower
            return [(first, is_prefix, words) for (first, is_prefix), words in seconds.items()]
    for length in (WORD_LENGTH, 10, 6, KEY_LENGTH):
        anchors = anchors_of(source, length=length)
        if anchors is not None:
            return [(key, len(key) >= length, None) for key in anchors.keys] + [
                (prefix, True, None) for prefix in anchors.open_prefixes
            ]
    raise ValueError(f"a lexicon pattern must start with a word: {source[:60]!r}")


def _seconds_of(pairs: list[TwoWords]) -> dict[tuple[str, bool], _Seconds]:
    """For each (first word, whether only its beginning): the words that may follow, or None for any."""
    seconds: dict[tuple[str, bool], set[str] | None] = {}
    for pair in pairs:
        key = (pair.first, pair.first_open)
        known = seconds.get(key, set())
        if known is None or pair.second is None or pair.second_open:
            seconds[key] = None  # some way of matching leaves the next word open
        else:
            seconds[key] = known | {pair.second}
    return {key: None if words is None else frozenset(words) for key, words in seconds.items()}


def _probe(word: str) -> _Probe:
    """The gates a word opens and the hints it holds (a mask), and the steps to try at it for each lexicon.

    A pattern that needs a particular next word is left out of the steps for any other next word, so a
    word after which most of a lexicon's patterns cannot match tries only the others.
    """
    found: dict[tuple[int, int], _Seconds] = {}

    def add(slot: int, index: int, seconds: _Seconds) -> None:
        known = found.get((slot, index), frozenset())
        found[(slot, index)] = None if known is None or seconds is None else known | seconds

    for slot, index, seconds in _BY_WORD.get(word, ()):
        add(slot, index, seconds)
    for prefix, slot, index, seconds in _BY_KEY.get(word[:KEY_LENGTH], ()):
        if word.startswith(prefix):
            add(slot, index, seconds)
    for prefix, slot, index, seconds in _SHORT:
        if word.startswith(prefix):
            add(slot, index, seconds)
    by_slot: dict[int, list[tuple[int, _Seconds]]] = {}
    for (slot, index), seconds in sorted(found.items()):
        by_slot.setdefault(slot, []).append((index, seconds))
    # Per slot: the pattern indices to try after a next word it lists, and after any other next word.
    chosen: list[tuple[int, dict[str, tuple[int, ...]], tuple[int, ...]]] = []
    for slot, patterns in by_slot.items():
        nexts = set().union(*(seconds for _, seconds in patterns if seconds is not None))
        table = {
            following: tuple(index for index, seconds in patterns if seconds is None or following in seconds)
            for following in nexts
        }
        chosen.append((slot, table, tuple(index for index, seconds in patterns if seconds is None)))

    def starts(following: str | None) -> _Starts:
        indices = ((slot, table.get(following, otherwise)) for slot, table, otherwise in chosen)  # type: ignore[arg-type]
        return tuple(
            (slot, kind, pattern) for slot, found in indices if found for kind, pattern in _LEXICONS[slot].steps(found)
        )

    listed = set().union(*(table for _, table, _ in chosen))
    mask = _GATES.get(word[:KEY_LENGTH], 0)
    for bit, hints in _HINT_BITS:
        if any(hint in word for hint in hints):
            mask |= 1 << bit
    probe = (mask, {following: starts(following) for following in listed}, starts(None))
    if len(_PROBES) >= _PROBES_LIMIT:
        _PROBES.clear()
    _PROBES[word] = probe
    return probe


def lexicon(
    *alternatives: str, gate: tuple[str, ...] | None = None, **kinds: str | tuple[str, ...] | list[str]
) -> Lexicon:
    """A ``Lexicon`` of plain alternatives (kind ``""``) and of named kinds, in the order given."""
    entries = [("", alternative) for alternative in alternatives]
    for kind, sources in kinds.items():
        entries.extend((kind, source) for source in ((sources,) if isinstance(sources, str) else sources))
    return Lexicon(entries, frozenset(gate) if gate is not None else None)


class Hints:
    """Substrings of which a reader needs at least one somewhere in the message (``Document.mentions``).

    A hint made only of word characters lies inside one word of any message that holds it, so it is
    looked for once per word seen (in ``_probe``, as a bit of the word's mask) rather than in every
    message; a hint with other characters ("x-ray", "both sides") is looked for in the message itself.
    """

    __slots__ = ("_bit", "_mask", "spanning")

    def __init__(self, *hints: str) -> None:
        within = tuple(hint for hint in hints if _within_a_word(hint))
        self.spanning = tuple(hint for hint in hints if hint not in within)
        self._bit = next(_BITS)
        self._mask = 1 << self._bit
        _HINT_BITS.append((self._bit, within))
        _PROBES.clear()  # worked out without these hints


def _within_a_word(text: str) -> bool:
    """Whether ``text`` is a run of word characters (as ``_words`` splits them) in any message."""
    return text != "" and text.isascii() and all(char.isalnum() or char == "_" for char in text)


def starts(*items: str) -> tuple[str, ...]:
    """Gate keys: the first three letters of each word given (the whole word when shorter)."""
    return tuple(item[:3] for item in items)


def words(*items: str) -> str:
    """A regex alternation of whole words or phrases (spaces match any run of whitespace)."""
    return r"\b(?:" + "|".join(item.replace(" ", r"\s+") for item in items) + r")\b"


# Sentence ends: whole runs of sentence punctuation (a run is never split), kept only when they really end a
# sentence. One regex does the choosing, so a message costs one C call per end rather than a Python test
# per run: a run ending in ";", "|", a bullet or a line break always ends one; a run ending in "-" only as
# a dash ("--", or "-" between spaces, not a hyphen); a run ending in ".", "!" or "?" only before a space, a
# closing quote or bracket, or the end of the message (not "101.5" or "e.g.x").
_SENTENCE_END = re.compile(
    # The first character, not preceded by another (a class first lets the engine skip to candidates fast).
    r"[.!?;\n\r\u2022|-](?<![.!?;\n\r\u2022|-]{2})(?>[.!?;\n\r\u2022|-]*)"
    r"(?:(?<=[;\n\r\u2022|])|(?<=[.!?;\n\r\u2022|-]-)|(?<= -)(?= )|(?<=[.!?])(?=[\s\"')\]]|\Z))"
)
_CLAUSE_PUNCTUATION = re.compile(r"[,:()]")

# A regex search reads tens of instructions a character even when its pattern starts with a character class,
# so the two searches of a whole message (sentence ends and clause punctuation) would cost as much as its
# word index. In a plain-ASCII message the characters they start at are found by ``bytes.translate`` and
# ``split`` instead (C loops of a few instructions a character); see ``_ascii_marks``.
_SENTENCE_MARKS = ".!?;\n\r|-"  # the characters of ``_SENTENCE_END``'s runs that are ASCII
_CLAUSE_MARKS = ",:()"  # ``_CLAUSE_PUNCTUATION``


def _marks_table(marks: str) -> bytes:
    return bytes(ord(",") if chr(code) in marks else ord("a") for code in range(256))


_SENTENCE_TABLE = _marks_table(_SENTENCE_MARKS)
_CLAUSE_TABLE = _marks_table(_CLAUSE_MARKS)


def _ascii_marks(low: str, table: bytes) -> list[int]:
    """The offsets, in order, of the characters of the plain-ASCII ``low`` that ``table`` maps to ","."""
    marks = []
    mark = -1
    # Each part but the last is followed by one mark. (A loop: a message has a few marks, and for a few
    # the iterator chain of ``accumulate`` costs more.)
    for part in low.encode("ascii").translate(table).split(b","):
        mark += len(part) + 1
        marks.append(mark)
    marks.pop()
    return marks


def _sentence_bounds(low: str) -> tuple[list[int], list[int]]:
    """Where the sentences of ``low`` start and end: around the matches of ``_SENTENCE_END``."""
    if not low.isascii():
        found = list(_SENTENCE_END.finditer(low))
        return [0, *map(re.Match.end, found)], [*map(re.Match.start, found), len(low)]
    # The matches are the runs of sentence marks that ``_run_ends_sentence``: a match starts only at the
    # first mark of a run (its lookbehind), takes the whole run (its atomic group) and then only looks.
    starts, ends = [0], []
    run_start = previous = -2
    for mark in _ascii_marks(low, _SENTENCE_TABLE):
        if mark != previous + 1:  # a new run: the previous one, if any, has ended
            if previous >= 0 and _run_ends_sentence(low, run_start, previous + 1):
                ends.append(run_start)
                starts.append(previous + 1)
            run_start = mark
        previous = mark
    if previous >= 0 and _run_ends_sentence(low, run_start, previous + 1):
        ends.append(run_start)
        starts.append(previous + 1)
    ends.append(len(low))
    return starts, ends


def _run_ends_sentence(low: str, start: int, end: int) -> bool:
    """``_SENTENCE_END``'s choice for the whole run of ASCII sentence marks ``low[start:end]``."""
    last = low[end - 1]
    if last in ";\n\r|":
        return True
    after = low[end : end + 1]
    if last == "-":  # a dash ("--", "?-" or " - "), not a hyphen
        return end - start > 1 or (low[start - 1 : start] == " " and after == " ")
    # ".", "!" or "?": before a space (``\s`` is ``str.isspace``), a closing quote or bracket, or the end
    return not after or after.isspace() or after in "\"')]"


_CLAUSE_WORDS = lexicon(
    words("but", "however", "although", "though", "whereas", "while", "except", "because", "so"),
    r"\band\s+(?=(?:i|i'm|i've|my|it|it's|now|then|since|he|she|they|we|there|this|that|also|still|suddenly"
    r"|yesterday|today|last|the\s+pain)\b)",
)

# Negation cues that may govern a red flag or a true value. Deliberately narrow: "can't", "couldn't" and
# "unable" are left out because they usually belong to the symptom itself ("can't feel when I wipe").
_STRICT_CUES = (
    words("no", "not", "never", "without", "none", "nor", "neither", "nothing", "zero", "free of", "negative for")
    + r"|\bden(?:y|ies|ied|ying)\b|\b(?:do|does|did|have|has|had|is|are|was|were|ai)n't\b"
    + r"|\bruled?\s+out\b|\babsence\s+of\b"
)
# Cues that negate an activity, a severity phrase or an onset word, which carry no safety risk.
_BROAD_EXTRA = r"\b(?:ca|could|wo|would|should)n't\b|\bcannot\b|\bunable\b|\bavoid\w*|\bstopped\b"
# Words that look like a negation but leave the matter open or imply it was there ("no longer").
_HEDGES = (
    r"\bnot\s+(?:sure|certain|convinced|just|only)\b|\bunsure\b|\bno\s+(?:idea|longer|more\s+than)\b"
    r"|\bnot\s+any\s*more\b|\bnot\s+that\s+i\s+know|\b(?:do|does|did)n't\s+(?:know|think|remember|believe|recall)\b"
    r"|\b(?:ca|could)n't\s+(?:tell|say|remember)\b|\bcannot\s+(?:tell|say)\b|\bdoesn't\s+seem\b"
)
_CUES = lexicon(hedge=_HEDGES, cue=_STRICT_CUES, broad_cue=_BROAD_EXTRA)

# Between a cue and the phrase it would negate, any of these starts a new clause and ends the negation:
# "no injury, just bent down to lift", "I don't know why but I can't control my bladder".
_SCOPE_BREAK = lexicon(
    words(
        "but",
        "however",
        "although",
        "though",
        "except",
        "besides",
        "aside",
        "apart",
        "other than",
        "because",
        "cause",
        "since",
        "so",
        "then",
        "now",
        "until",
        "till",
        "unless",
        "while",
        "whereas",
        "when",
        "whenever",
        "which",
        "who",
        "only",
        "just",
        "also",
        "plus",
        "still",
        "yet",
        "after",
        "before",
        "with",
        "i",
        "i'm",
        "i've",
        "i'd",
        "i'll",
        "me",
    ),
    r"\band\s+(?:my|it|it's|he|she|they|we|there|this|that|the|then|now)\b",
)
# After a comma inside a negated list the next item must itself be a symptom ("no fever, chills or sweats");
# anything else ("no fever, my legs are numb") starts a new clause.
_LIST_ITEM = re.compile(
    r"\s*(?:(?:and|or|nor|no|not|any)\s+)*(?:"
    + "|".join(
        (
            r"fevers?",
            r"chills",
            r"night",
            r"sweat\w*",
            r"numb\w*",
            r"tingl\w*",
            r"pins",
            r"weak\w*",
            r"bladder",
            r"bowels?",
            r"urin\w*",
            r"incontinen\w*",
            r"fecal",
            r"faecal",
            r"stool",
            r"retention",
            r"legs?",
            r"saddle",
            r"groin",
            r"weight",
            r"unexplained",
            r"unintentional",
            r"cancer",
            r"trauma",
            r"injur\w*",
            r"falls?",
            r"accidents?",
            r"history",
            r"pain",
            r"problems?",
            r"issues?",
            r"trouble",
            r"changes?",
            r"loss",
            r"steroids?",
            r"drugs?",
            r"iv",
            r"foot",
            r"feet",
            r"difficulty",
            r"symptoms?",
            r"red",
            r"shooting",
            r"radiating",
            r"sciatica",
            r"leak\w*",
            r"tumou?rs?",
            r"chemo\w*",
            r"hiv",
            r"immun\w*",
            r"transplant\w*",
            r"imaging",
            r"scans?",
            r"mri",
            r"x-?rays?",
            r"relax\w*",
        )
    )
    + r")\b"
)
_LIST_CLOSER = re.compile(r"\b(?:or|nor)\b")
_POST_NEGATION = rx(
    r"\s*[:=?-]\s*(?:no|nope|none|negative|denied|nil|absent)\b", r"\s*-?\s*(?:negative|denied|absent)\b"
)

# The characters a match of ``_POST_NEGATION`` can begin with after its leading spaces.
_POST_NEGATION_FIRST = frozenset(":=?-nda")


def _may_negate_after(low: str, end: int) -> bool:
    """False where ``_POST_NEGATION`` cannot match at ``end`` (most phrases): a test that costs less than a try."""
    after = low[end : end + 1]
    if after == " ":  # one space (the usual case): the character after it decides, unless it is a space too
        after = low[end + 1 : end + 2]
    return after in _POST_NEGATION_FIRST or after.isspace()


_RELATIVE_WORDS = (
    "mother",
    "mom",
    "mum",
    "mommy",
    "mam",
    "father",
    "dad",
    "daddy",
    "papa",
    "parent",
    "parents",
    "sister",
    "brother",
    "sibling",
    "siblings",
    "wife",
    "husband",
    "spouse",
    "partner",
    "son",
    "daughter",
    "kid",
    "kids",
    "child",
    "children",
    "aunt",
    "auntie",
    "uncle",
    "grandmother",
    "grandfather",
    "grandma",
    "grandpa",
    "grandparent",
    "grandparents",
    "granny",
    "gran",
    "cousin",
    "niece",
    "nephew",
    "friend",
    "friends",
    "boyfriend",
    "girlfriend",
    "fiance",
    "fiancee",
    "neighbor",
    "neighbour",
    "coworker",
    "co-worker",
    "colleague",
    "boss",
    "family",
    "relative",
    "relatives",
    "in-law",
    "in-laws",
)
_RELATIVE = lexicon(words(*_RELATIVE_WORDS, "he", "she", "him", "her", "his"))
_FIRST_PERSON = lexicon(
    words("i", "i'm", "i've", "i'd", "i'll", "me", "myself"), r"\bmy\b(?!\s+" + words(*_RELATIVE_WORDS) + ")"
)
_FAMILY_AFTER = rx(
    r"\s+(?:\w+\s+){0,2}?(?:runs?|ran)\s+in\s+(?:my|the|our)\s+family", r"\s+in\s+(?:my|the|our)\s+family"
)

_SPECULATION = lexicon(
    words(
        "worried",
        "worry",
        "worries",
        "afraid",
        "scared",
        "fear",
        "fears",
        "fearing",
        "concerned",
        "concern",
        "wonder",
        "wondering",
        "suspect",
        "suspected",
        "suspicion",
        "possible",
        "possibly",
        "probable",
        "probably",
        "maybe",
        "perhaps",
        "might",
        "may be",
        "may have",
        "could be",
        "could have",
        "likely",
        "potential",
        "query",
        "whether",
        "if",
        "rule out",
        "check for",
        "checked for",
        "checking for",
        "test for",
        "tested for",
        "testing for",
        "screen for",
        "screened for",
        "screening for",
        "look for",
        "looking for",
        "make sure",
        "what if",
        "chance",
        "risk",
        "possibility",
        "sign of",
        "signs of",
        "symptom of",
        "symptoms of",
        "think",
        "thinks",
        "thought",
        "guess",
        "wants to",
        "want to",
        "going to",
        "need to",
        "needs to",
        "to see",
    ),
    r"\b(?:is|was|can|could)\s+(?:it|this|that)\b",
)
_SPECULATION_BREAK = lexicon(
    words("but", "because", "since", "as", "although", "though", "however", "and i", "and i've")
)


PHRASE_TRIM = " \t\r\n,.;:!?-()\"'"  # what ``Document.phrase`` trims from either end of a phrase


class _Scan:
    """A scoping lexicon's matches in the whole message, found from the left only as far as asked.

    ``Document.last`` asks for the matches that start before a phrase; most phrases that need scoping come
    early or not at all, so the rest of the message is often never tried. The matches are those of
    ``Document.find``: the same candidates, tried by the same rules (see ``find_ungated``).
    """

    __slots__ = ("_candidates", "_next", "_resume", "hits", "starts", "upto")

    def __init__(self, candidates: list[_Candidate]) -> None:
        self._candidates = candidates
        self._next = 0  # the first candidate not yet tried or skipped
        self._resume = 0  # where the last match ended
        self.starts: list[int] = []
        self.hits: list[tuple[str, re.Match[str]]] = []
        self.upto = 0  # every match starting before this offset is found

    def advance(self, low: str, end: int) -> None:
        """Find the matches that start before ``end``."""
        candidates, index, resume = self._candidates, self._next, self._resume
        while index < len(candidates) and candidates[index][0] < end:
            pos, kind, pattern = candidates[index]
            index += 1
            if pos < resume:
                continue
            match = pattern.match(low, pos)
            if match is not None:
                resume = match.end()
                if resume == pos:
                    resume += 1
                self.starts.append(pos)
                self.hits.append((kind if kind.__class__ is str else kind[match.lastindex - 1], match))
        self._next, self._resume = index, resume
        self.upto = max(self.upto, end)


class Document:
    """A message prepared for reading: the original, its folded copy, and its sentences and clauses."""

    __slots__ = (
        "_candidates",
        "_clause_breaks",
        "_found",
        "_gates",
        "_scoping",
        "_sentence_ends",
        "_sentence_starts",
        "low",
        "raw",
    )

    def __init__(self, raw: str) -> None:
        self.raw = raw
        self.low = low = fold(raw)
        starts, ends = _sentence_bounds(low)
        self._sentence_starts = starts
        self._sentence_ends = ends
        self._clause_breaks: list[tuple[int, int]] | None = None
        self._candidates: list[list[_Candidate]] | None = None
        self._gates = 0
        self._found: dict[int, list[tuple[str, re.Match[str]]]] = {}
        self._scoping: dict[int, _Scan] = {}

    # --- finding phrases ----------------------------------------------------------------------------

    def find(self, lex: Lexicon, start: int = 0, end: int | None = None) -> list[tuple[str, re.Match[str]]]:
        """Each (kind, match) of ``lex`` between ``start`` and ``end``, leftmost first and not overlapping."""
        if start or end is not None:
            return self.find_ungated(lex, start, end) if self._gate_open(lex) else []
        # Several readers search the whole message with the same lexicon; find it once per message.
        slot = lex._slot
        found = self._found.get(slot)
        if found is not None:
            return list(found)
        # The search of ``find_ungated`` over the whole message, written out here: most of a message's
        # ~25 searches are first searches of a lexicon, and the calls and checks around the loop
        # (``_gate_open``, ``find_ungated``) cost as much as the loop itself for a lexicon with few candidates.
        index = self._candidates if self._candidates is not None else self._index()
        found = self._found[slot] = []
        if self._gates & lex._mask:  # (a lexicon without a gate has its bit set in every message)
            try:
                candidates = index[slot]
            except IndexError:
                candidates = []  # a lexicon made after this message was indexed (none is, outside tests)
            low = self.low
            resume = 0
            for pos, kind, pattern in candidates:
                if pos < resume:
                    continue
                match = pattern.match(low, pos)
                if match is not None:
                    resume = match.end()
                    if resume == pos:
                        resume += 1
                    found.append((kind if kind.__class__ is str else kind[match.lastindex - 1], match))
        return list(found)

    def _gate_open(self, lex: Lexicon) -> bool:
        """Whether the message has a word beginning in the lexicon's gate (or the lexicon has none)."""
        if self._candidates is None:
            self._index()
        return self._gates & lex._mask != 0

    def mentions(self, hints: Hints) -> bool:
        """Whether the message holds any of ``hints`` anywhere, even inside a word ("leg" in "college")."""
        if self._candidates is None:
            self._index()
        return self._gates & hints._mask != 0 or any(map(self.low.__contains__, hints.spanning))

    def find_ungated(self, lex: Lexicon, start: int = 0, end: int | None = None) -> list[tuple[str, re.Match[str]]]:
        """``find`` without the lexicon's gate (the tests use it to check that gates lose nothing)."""
        index = self._candidates if self._candidates is not None else self._index()
        try:
            candidates = index[lex._slot]
        except IndexError:
            return []  # a lexicon made after this message was indexed (none is, outside tests)
        low = self.low
        hits: list[tuple[str, re.Match[str]]] = []
        resume = start
        # Candidates are the steps to try at each word start, in word order and, at a word, in step order.
        # After a match the next step to try is the first at or after its end, and after an empty match
        # the first at a later word: the other steps at its word are not tried, as the first match wins.
        if end is None:  # the whole message (most searches): no end to check, matching to the last character
            for pos, kind, pattern in candidates:
                if pos < resume:
                    continue
                match = pattern.match(low, pos)
                if match is not None:
                    resume = match.end()
                    if resume == pos:
                        resume += 1
                    # A step joining several kinds has a group per kind (see ``Lexicon.steps``).
                    hits.append((kind if kind.__class__ is str else kind[match.lastindex - 1], match))
            return hits
        for pos, kind, pattern in candidates:
            if pos < resume:
                continue
            if pos >= end:
                break
            match = pattern.match(low, pos, end)
            if match is not None:
                resume = match.end()
                if resume == pos:
                    resume += 1
                hits.append((kind if kind.__class__ is str else kind[match.lastindex - 1], match))
        return hits

    def _index(self) -> list[list[_Candidate]]:
        """Look every word up once (``_probe``): the words each lexicon can match at, the gates and hints."""
        # (position, kind, pattern) in word order, per lexicon slot: a list per slot, so adding costs no lookup
        candidates: list[list[_Candidate]] = [[] for _ in _LEXICONS]
        gates = _UNGATED
        starts, words = _words(self.low)
        # Each word's probe, remembered or worked out (``_Probes.__missing__``) as the loop goes.
        probes = map(_PROBES.__getitem__, words)
        following = iter(words)
        next(following, None)
        # The word after each word, None after the last (and an unused None for a message without words).
        # Most words open no gate and have the same steps whatever the next word: the tests skip an
        # ``|`` that would make a new (many-bit) int and a ``get`` that would find nothing.
        for pos, (gate, by_next, otherwise), second in zip(starts, probes, chain(following, (None,)), strict=False):
            if gate:
                gates |= gate
            for slot, kind, pattern in by_next.get(second, otherwise) if by_next else otherwise:
                candidates[slot].append((pos, kind, pattern))
        self._gates = gates
        self._candidates = candidates
        return candidates

    def first(self, lex: Lexicon, start: int = 0, end: int | None = None) -> tuple[str, re.Match[str]] | None:
        """The first (kind, match) of ``lex``, or None."""
        hits = self.find(lex, start, end)
        return hits[0] if hits else None

    def last(self, lex: Lexicon, start: int, end: int, skip: str | None = None) -> tuple[str, re.Match[str]] | None:
        """The last (kind, match) of ``lex`` lying wholly between ``start`` and ``end``, ignoring kind ``skip``."""
        scan = self._scoping.get(lex._slot)
        if scan is None or scan.upto < end:
            scan = self._scan(lex, end)
        starts, hits = scan.starts, scan.hits
        index = bisect_left(starts, end) - 1
        while index >= 0 and starts[index] >= start:
            if hits[index][1].end() <= end and hits[index][0] != skip:
                return hits[index]
            index -= 1
        return None

    def _scan(self, lex: Lexicon, end: int) -> _Scan:
        """The scan of a scoping lexicon (cues, breaks, relatives, topics), carried on to ``end``."""
        scan = self._scoping.get(lex._slot)
        if scan is None:
            index = self._candidates if self._candidates is not None else self._index()
            usable = self._gate_open(lex) and lex._slot < len(index)  # (not a lexicon made after indexing)
            scan = self._scoping[lex._slot] = _Scan(index[lex._slot] if usable else [])
        scan.advance(self.low, end)
        return scan

    def between(self, lex: Lexicon, start: int, end: int) -> bool:
        """Whether ``lex`` matches wholly between ``start`` and ``end``."""
        return self.last(lex, start, end) is not None

    # --- sentences and clauses ------------------------------------------------------------------------

    def sentence(self, pos: int) -> tuple[int, int]:
        """The span of the sentence holding offset ``pos``."""
        index = bisect_right(self._sentence_starts, pos) - 1
        if index < 0:
            index = 0  # a negative offset reads as the first sentence
        return self._sentence_starts[index], self._sentence_ends[index]

    def clause(self, pos: int) -> tuple[int, int]:
        """The span of the clause holding offset ``pos``: its sentence cut at commas and conjunctions."""
        breaks = self._clause_breaks
        if breaks is None:
            low = self.low
            if low.isascii():
                found = [(mark, mark + 1) for mark in _ascii_marks(low, _CLAUSE_TABLE)]
            else:
                found = [(m.start(), m.end()) for m in _CLAUSE_PUNCTUATION.finditer(low)]
            found += [m.span() for _, m in self.find(_CLAUSE_WORDS)]
            breaks = self._clause_breaks = sorted(found)
        start, end = self.sentence(pos)
        index = bisect_right(breaks, (pos, len(self.low) + 1))
        if index and breaks[index - 1][1] > start:
            start = min(max(start, breaks[index - 1][1]), pos)
        if index < len(breaks) and breaks[index][0] < end:
            end = breaks[index][0]
        return start, end

    def phrase(self, start: int, end: int) -> str:
        """The original words between two offsets, trimmed of spaces and punctuation at either end."""
        return self.raw[start:end].strip(PHRASE_TRIM)

    # --- negation, other people, hedging --------------------------------------------------------------

    def negation(self, start: int, end: int | None = None, *, broad: bool = False) -> int | None:
        """The offset of the negation cue governing the phrase at ``start``..``end``, or None.

        A cue governs the phrase when it comes earlier in the same clause or negated list. Hedges ("not
        sure", "don't think", "no longer") are not negations: an uncertain symptom counts as present.
        With ``end``, a trailing "X: no" or "X negative" also negates.
        """
        low = self.low
        if end is not None and _may_negate_after(low, end) and _POST_NEGATION.match(low, end):
            return start
        sentence_start, sentence_end = self.sentence(start)
        found = self.last(_CUES, max(sentence_start, start - 120), start, skip=None if broad else "broad_cue")
        if found is None or found[0] == "hedge":
            return None
        cue = found[1]
        if self.between(_SCOPE_BREAK, cue.end(), start):
            return None
        comma = low.find(",", cue.end(), start)
        # A comma list is negated as a whole only when it reads as one ("no fever, chills or sweats");
        # "no fever, numbness in both legs" may be a new statement, and a red flag in doubt stands.
        if comma >= 0 and not _LIST_CLOSER.search(low, cue.end(), min(sentence_end, (end or start) + 40)):
            return None
        while comma >= 0:
            if not _LIST_ITEM.match(low, comma + 1):
                return None
            comma = low.find(",", comma + 1, start)
        return cue.start()

    def about_someone_else(self, start: int, end: int) -> bool:
        """Whether the phrase is about a relative or friend ("my mother had cancer"), not the patient."""
        if _FAMILY_AFTER.match(self.low, end):
            return True
        relative = self.last(_RELATIVE, max(self.sentence(start)[0], start - 100), start)
        return relative is not None and not self.between(_FIRST_PERSON, relative[1].end(), start)

    def speculative(self, start: int) -> bool:
        """Whether the phrase is a worry or a possibility ("worried it's cancer", "might be a disc")."""
        cue = self.last(_SPECULATION, max(self.sentence(start)[0], start - 80), start)
        return cue is not None and not self.between(_SPECULATION_BREAK, cue[1].end(), start)
