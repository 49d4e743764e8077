"""Where in a message a pattern can start, so the reader tries it only there.

Python's regex engine tries every alternative of a pattern at every character, which for a lexicon of
hundreds of phrases costs far more than the reading itself. Every lexicon pattern starts at the start of
a word, so this module works out, once at import, the possible first (up to three) letters of that word
for each pattern. A message is indexed by the first three letters of each of its words, and a pattern is
then tried only at the words whose beginning it can match; the matches are exactly those of
``pattern.finditer``. A pattern whose start cannot be worked out (``anchors_of`` gives None) cannot be
part of a lexicon; ``text_scope.Lexicon`` refuses it at import.
"""

from __future__ import annotations

from dataclasses import dataclass

try:  # the parser is internal to ``re``; without it every pattern is scanned in full, which is still correct
    from re import _constants as sre_constants  # type: ignore[attr-defined]
    from re import _parser as sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - other Python versions
    sre_parse = sre_constants = None

KEY_LENGTH = 3
WORD_LENGTH = 24  # with ``length=WORD_LENGTH``, ``anchors_of`` spells whole first words out up to this length
_SPELLED_CLASS = 5  # characters of a class spelled out one by one when whole words are spelled out
_LIMIT = 4000  # prefixes per pattern; beyond this the pattern is scanned in full
_GO, _CLOSED, _OPEN = 0, 1, 2  # a prefix that may grow, one whose word has ended, one that continues unknown
# Spelling two words: after the first word, between the words; then the second word growing. A two-word
# text is "first second" (the space stands for any non-word characters; "first " leaves the second open).
_SEP, _GO2 = 3, 4
_GROWING = (_GO, _SEP, _GO2)
# What is spelled (the ``two`` of the helpers below): one word; two words; two words, with a wide class of
# digits in the second word spelled out too ("since 2019": "since" then the years, not "since" then any word).
_ONE, _TWO, _TWO_DIGITS = 0, 1, 2
_DIGITS = frozenset("0123456789")


@dataclass(frozen=True)
class Anchors:
    """The word beginnings a pattern can start at: exact keys, and shorter beginnings of longer words."""

    keys: frozenset[str]
    open_prefixes: tuple[str, ...]


class _Unknown(Exception):
    """The start of the pattern cannot be enumerated."""


def _word_char(char: str) -> bool:
    return char.isalnum()


def _class_chars(items: list) -> list[str] | None:
    """The characters a character class can match, or None when it is too broad to list."""
    chars: list[str] = []
    for op, av in items:
        if op is sre_constants.LITERAL:
            chars.append(chr(av))
        elif op is sre_constants.RANGE:
            low, high = av
            if high - low > 40:
                return None
            chars.extend(chr(code) for code in range(low, high + 1))
        elif op is sre_constants.CATEGORY and av is sre_constants.CATEGORY_DIGIT:
            chars.extend("0123456789")
        elif op is sre_constants.CATEGORY and av is sre_constants.CATEGORY_SPACE:
            chars.append(" ")
        else:
            return None
    return chars


def _add_chars(partials: set[tuple[str, int]], chars: list[str] | None, length: int, two: int) -> set[tuple[str, int]]:
    out: set[tuple[str, int]] = set()
    # Spelling whole words out, a wide class ("[0-9]+") would multiply the prefixes past the limit: the
    # word is left open there instead, and a word it starts begins with any one of its characters.
    wide = chars is not None and length > KEY_LENGTH and len(chars) > _SPELLED_CLASS
    spell_second = not wide or (two == _TWO_DIGITS and _DIGITS.issuperset(chars))  # type: ignore[arg-type]
    for text, state in partials:
        if state != _GO:
            out |= _add_second(text, state, chars if spell_second else None, length)
            continue
        if chars is None or (wide and text):
            if not text:
                raise _Unknown
            out.add((text, _OPEN))
            continue
        if wide:
            if not all(_word_char(char) for char in chars):
                raise _Unknown  # a match could start at punctuation or space
            out.update((char, _OPEN) for char in chars)
            continue
        for char in chars:
            if not _word_char(char):
                if not text:
                    raise _Unknown  # a match could start at punctuation or space
                out.add((text + " ", _SEP) if two else (text, _CLOSED))
            else:
                grown = text + char
                out.add((grown, _OPEN if len(grown) >= length else _GO))
    return out


def _add_second(text: str, state: int, chars: list[str] | None, length: int) -> set[tuple[str, int]]:
    """A two-word text after its first word (``_SEP`` or ``_GO2``) taking one character of ``chars``."""
    if chars is None:
        return {(text, _OPEN)}  # the second word (or what is left of it) is not spelled out
    out: set[tuple[str, int]] = set()
    for char in chars:
        if not _word_char(char):
            out.add((text, _SEP if state == _SEP else _CLOSED))
        else:
            grown = text + char
            out.add((grown, _OPEN if len(grown) - grown.index(" ") > length else _GO2))
    return out


def _boundary(text: str, state: int, two: int) -> tuple[str, int]:
    """A text where the pattern asserts a word boundary (``\\b``)."""
    if not text or state == _SEP:
        return text, state  # before the first word, or between the words: nothing ends here
    if state == _GO2:
        return text, _CLOSED
    return (text + " ", _SEP) if two else (text, _CLOSED)


def _expand(items: list, partials: set[tuple[str, int]], length: int, two: int) -> set[tuple[str, int]]:
    for op, av in items:
        growing = {p for p in partials if p[1] in _GROWING}
        if not growing:
            break
        done = partials - growing
        partials = done | _step(op, av, growing, length, two)
        if len(partials) > _LIMIT:
            raise _Unknown
    return partials


def _step(op, av, partials: set[tuple[str, int]], length: int, two: int) -> set[tuple[str, int]]:
    c = sre_constants
    if op is c.LITERAL:
        return _add_chars(partials, [chr(av)], length, two)
    if op is c.IN:
        return _add_chars(partials, _class_chars(av), length, two)
    if op is c.AT and av is c.AT_BOUNDARY:
        # After a letter, a word boundary means the word ends here.
        return {_boundary(text, state, two) for text, state in partials}
    if op in (c.AT, c.ASSERT, c.ASSERT_NOT):
        return partials  # zero width
    if op is c.SUBPATTERN:
        return _expand(av[-1].data, partials, length, two)
    if op is c.ATOMIC_GROUP:
        return _expand(av.data, partials, length, two)
    if op is c.BRANCH:
        out: set[tuple[str, int]] = set()
        for branch in av[1]:
            out |= _expand(branch.data, partials, length, two)
        return out
    if op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
        low, high, item = av
        out = set(partials) if low == 0 else set()
        current = partials
        for count in range(1, min(high, length + 2) + 1):
            previous, current = current, _expand(item.data, current, length, two)
            if current == previous or not any(p[1] in _GROWING for p in current):
                out |= current  # complete prefixes, or a run of spaces: more repetitions change nothing
                break
            if count >= low:
                out |= current
        else:
            if high > length + 2:
                out |= {(text, _OPEN) for text, state in current if state in _GROWING}
        return out
    return _add_chars(partials, None, length, two)


def _spell(pattern: str, flags: int, length: int, two: int) -> set[tuple[str, int]] | None:
    if sre_parse is None:
        return None
    try:
        partials = _expand(sre_parse.parse(pattern, flags).data, {("", _GO)}, length, two)
    except (_Unknown, RecursionError, AttributeError, TypeError):
        return None
    if any(not text for text, _ in partials):
        return None  # the pattern can match without a word at its start
    return partials


def anchors_of(pattern: str, flags: int = 0, length: int = KEY_LENGTH) -> Anchors | None:
    """The word beginnings ``pattern`` can start at, or None when it must be scanned in full.

    Keys are the first ``length`` letters of the first word (the whole word when shorter and closed);
    open prefixes are shorter beginnings after which the word may go on in ways not spelled out.
    """
    partials = _spell(pattern, flags, length, two=_ONE)
    if partials is None:
        return None
    keys: set[str] = set()
    open_prefixes: set[str] = set()
    for text, state in partials:
        if state == _CLOSED or len(text) >= length:
            keys.add(text)
        else:
            open_prefixes.add(text)
    return Anchors(frozenset(keys), tuple(sorted(open_prefixes)))


@dataclass(frozen=True)
class TwoWords:
    """One way a pattern's match can begin: its first word, and the word after it when that is known.

    A word is whole unless its ``*_open`` flag says it is only a beginning; ``second`` is None when the
    pattern leaves the next word open (any word, or none, may follow).
    """

    first: str
    first_open: bool
    second: str | None
    second_open: bool


def two_words_of(
    pattern: str, flags: int = 0, length: int = WORD_LENGTH, digits: bool = False
) -> list[TwoWords] | None:
    """The first two words ``pattern`` can match, each spelled out up to ``length`` letters, or None.

    With ``digits``, digits the second word must start with ("[0-9]+") are spelled out as well; that can
    give many more beginnings (and None past the limit), so it is asked for only where it may pay.
    """
    partials = _spell(pattern, flags, length, two=_TWO_DIGITS if digits else _TWO)
    if partials is None:
        return None
    found: list[TwoWords] = []
    for text, state in partials:
        first, gap, second = text.partition(" ")
        if not gap:  # the pattern left the first word open or ended inside it
            found.append(TwoWords(first, True, None, False))
        elif not second or state == _SEP:
            found.append(TwoWords(first, False, None, False))
        else:
            found.append(TwoWords(first, False, second, state != _CLOSED or len(second) >= length))
    return found
