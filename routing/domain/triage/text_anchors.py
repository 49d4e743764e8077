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


def _add_chars(partials: set[tuple[str, int]], chars: list[str] | None, length: int) -> set[tuple[str, int]]:
    out: set[tuple[str, int]] = set()
    # Spelling whole words out, a wide class ("[0-9]+") would multiply the prefixes past the limit: the
    # word is left open there instead, and a word it starts begins with any one of its characters.
    wide = chars is not None and length > KEY_LENGTH and len(chars) > _SPELLED_CLASS
    for text, _ in partials:
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
                out.add((text, _CLOSED))
            else:
                grown = text + char
                out.add((grown, _OPEN if len(grown) >= length else _GO))
    return out


def _expand(items: list, partials: set[tuple[str, int]], length: int) -> set[tuple[str, int]]:
    for op, av in items:
        growing = {p for p in partials if p[1] == _GO}
        if not growing:
            break
        done = partials - growing
        partials = done | _step(op, av, growing, length)
        if len(partials) > _LIMIT:
            raise _Unknown
    return partials


def _step(op, av, partials: set[tuple[str, int]], length: int) -> set[tuple[str, int]]:
    c = sre_constants
    if op is c.LITERAL:
        return _add_chars(partials, [chr(av)], length)
    if op is c.IN:
        return _add_chars(partials, _class_chars(av), length)
    if op is c.AT and av is c.AT_BOUNDARY:
        # After a letter, a word boundary means the word ends here.
        return {(text, _CLOSED) if text else (text, state) for text, state in partials}
    if op in (c.AT, c.ASSERT, c.ASSERT_NOT):
        return partials  # zero width
    if op is c.SUBPATTERN:
        return _expand(av[-1].data, partials, length)
    if op is c.ATOMIC_GROUP:
        return _expand(av.data, partials, length)
    if op is c.BRANCH:
        out: set[tuple[str, int]] = set()
        for branch in av[1]:
            out |= _expand(branch.data, partials, length)
        return out
    if op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
        low, high, item = av
        out = set(partials) if low == 0 else set()
        current = partials
        for count in range(1, min(high, length + 2) + 1):
            current = _expand(item.data, current, length)
            if not any(p[1] == _GO for p in current):
                out |= current  # complete prefixes: more repetitions cannot change them
                break
            if count >= low:
                out |= current
        else:
            if high > length + 2:
                out |= {(text, _OPEN) for text, state in current if state == _GO}
        return out
    return _add_chars(partials, None, length)


def anchors_of(pattern: str, flags: int = 0, length: int = KEY_LENGTH) -> Anchors | None:
    """The word beginnings ``pattern`` can start at, or None when it must be scanned in full.

    Keys are the first ``length`` letters of the first word (the whole word when shorter and closed);
    open prefixes are shorter beginnings after which the word may go on in ways not spelled out.
    """
    if sre_parse is None:
        return None
    try:
        parsed = sre_parse.parse(pattern, flags)
        partials = _expand(parsed.data, {("", _GO)}, length)
    except (_Unknown, RecursionError, AttributeError, TypeError):
        return None
    keys: set[str] = set()
    open_prefixes: set[str] = set()
    for text, state in partials:
        if not text:
            return None  # the pattern can match without a word at its start
        if state == _CLOSED or len(text) >= length:
            keys.add(text)
        else:
            open_prefixes.add(text)
    return Anchors(frozenset(keys), tuple(sorted(open_prefixes)))
