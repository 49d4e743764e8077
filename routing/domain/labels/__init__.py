"""The words for every stored code, one table for everyone: the console, the API's descriptions and the patient
messages all read them from here, so they never disagree.

The words are data: one TOML file per language in this folder (see ``en.toml`` for the format). ``[staff.KIND]``
tables are what staff read (English); ``[patient.KIND]`` tables are what a patient reads, in every language a
patient is written to; ``[page.SECTION]`` tables are the other texts of the pages patients see (the form and its
answers), by key. The files are checked when this module is imported, so a bad edit stops the service at
start with a message naming the file, the table and the code: an unknown kind, a code that is not one of its
vocabulary's, a code of the vocabulary left out, a patient word or page text missing in one language, a page
text whose ``{placeholders}`` differ from English's.
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from routing.domain.triage.engine import HOLD_LANGUAGE, HOLD_POSSIBLE_RED_FLAG
from routing.domain.triage.facts import (
    CONDITIONS,
    EPISODES,
    FACT_KINDS,
    LOCATIONS,
    ONSETS,
    RED_FLAGS,
    RELAXANT_EFFECTS,
    TRIGGERS,
)
from routing.domain.triage.rulebook import LIKELY_CAUSES
from routing.domain.vocabulary import (
    AppointmentStatus,
    ContactPreference,
    InquiryStatus,
    OfferStatus,
    Route,
    RulebookState,
    SlotType,
    Urgency,
    WaitlistStatus,
)

LABELS_DIR = Path(__file__).parent
#: The language staff read, and every patient reads when their language has no file.
ENGLISH = "en"

#: The facts a patient answers by picking words (a choice or a set of codes): each is a patient kind of its own.
ANSWER_KINDS = tuple(name for name, (kind, _) in FACT_KINDS.items() if kind in ("choice", "set"))
#: The codes each kind must name, where its vocabulary is a domain's (a listed kind may name only these).
#: The other kinds (call-back outcomes, audit actions, reason sources, ...) are checked by the tests.
VOCABULARIES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "status": tuple(InquiryStatus),
        "route": tuple(Route),
        "urgency": tuple(Urgency),
        "likely_cause": LIKELY_CAUSES,
        "hold": (HOLD_LANGUAGE, HOLD_POSSIBLE_RED_FLAG),
        "fact": tuple(FACT_KINDS),
        "red_flag": RED_FLAGS,
        "onset": ONSETS,
        "episodes": EPISODES,
        "trigger": TRIGGERS,
        "location": LOCATIONS,
        "muscle_relaxants": RELAXANT_EFFECTS,
        "condition": CONDITIONS,
        "slot_type": tuple(SlotType),
        "appointment": tuple(AppointmentStatus),
        "contact_preference": tuple(ContactPreference),
        "waitlist": tuple(WaitlistStatus),
        "offer": tuple(OfferStatus),
        "rulebook_state": tuple(RulebookState),
        # A patient picks the answers of the choice and set facts in words (the intake's questions).
        **{name: FACT_KINDS[name][1] for name in ANSWER_KINDS},
    }
)
#: Every kind of code staff may see in words.
STAFF_KINDS = (
    "status",
    "route",
    "urgency",
    "likely_cause",
    "outcome",
    "hold",
    "fact",
    "red_flag",
    "source",
    "slot_type",
    "appointment",
    "action",
    "reason_rule",
    "language",
    "session_ended",
    "waitlist",
    "offer",
    "rulebook_state",
)
#: The kinds of code patients read in words (the patient messages; the intake's questions, their answers and
#: the languages); every language file names all their codes.
PATIENT_KINDS = ("slot_type", "question", *ANSWER_KINDS, "language", "contact_preference")


class LabelsError(ValueError):
    """A labels file is invalid; the message names the file, the table and what is wrong."""


@dataclass(frozen=True)
class Labels:
    """The words for codes: ``staff[kind][code]`` in English, ``patient[language][kind][code]``."""

    staff: Mapping[str, Mapping[str, str]]
    patient: Mapping[str, Mapping[str, Mapping[str, str]]]
    #: ``pages[language][section][key]``: the patient pages' other texts (``[page.SECTION]``).
    pages: Mapping[str, Mapping[str, Mapping[str, str]]] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages patients are written to (English first)."""
        return tuple(self.patient)

    def staff_words(self, kind: str, code: str) -> str:
        """What staff read for ``code`` of ``kind``; an unlisted code reads as itself, spaced."""
        return self.staff[_known(kind, STAFF_KINDS)].get(code) or _spaced(code)

    def patient_words(self, kind: str, code: str, language: str | None) -> str:
        """What a patient reads for ``code`` of ``kind`` in ``language`` (English when it has no file)."""
        tables = self.patient.get(language or ENGLISH) or self.patient[ENGLISH]
        return tables[_known(kind, PATIENT_KINDS)].get(code) or _spaced(code)

    def page_text(self, section: str, key: str, language: str | None, **values: object) -> str:
        """The page text ``key`` of ``[page.section]`` in ``language`` (English when it has no file), with its
        ``{placeholders}`` filled from ``values``; raises KeyError for a text no file has."""
        texts = self.pages.get(language or ENGLISH) or self.pages[ENGLISH]
        text = texts[section][key]
        return text.format(**values) if values else text

    def described(self, kind: str, lead: str = "", only: Iterable[str] | None = None) -> str:
        """An API description of a field holding a ``kind`` of code (or ``only`` those codes): ``lead``, then
        each code with its staff words (``"Where the inquiry goes. `consult`: consultation; `imaging`: ..."``).
        """
        table = self.staff[_known(kind, STAFF_KINDS)]
        codes = table if only is None else list(only)
        listed = "; ".join(f"`{code}`: {self.staff_words(kind, code)}" for code in codes)
        return f"{lead} {listed}." if lead else f"{listed}."


def load_labels(directory: Path = LABELS_DIR) -> Labels:
    """Every ``*.toml`` in ``directory``, checked; raises :class:`LabelsError` naming what is wrong."""
    files = sorted(directory.glob("*.toml"))
    read = {path.stem: _read(path) for path in files}
    if ENGLISH not in read:
        raise LabelsError(f"{directory}: no {ENGLISH}.toml; staff words and every patient word start there")
    staff: dict[str, Mapping[str, str]] = {}
    patient: dict[str, Mapping[str, Mapping[str, str]]] = {}
    pages: dict[str, Mapping[str, Mapping[str, str]]] = {}
    for language in [ENGLISH, *sorted(set(read) - {ENGLISH})]:
        data, where = read[language], f"{language}.toml"
        if data.get("language") != language:
            raise LabelsError(f"{where}: language = {data.get('language')!r}; it must be {language!r}, the file's name")
        unknown = sorted(set(data) - {"language", "staff", "patient", "page"})
        if unknown:
            raise LabelsError(f"{where}: unknown entries {', '.join(unknown)} (known: language, staff, patient, page)")
        if language == ENGLISH:
            staff = _tables(data.get("staff"), STAFF_KINDS, f"{where} [staff")
        elif "staff" in data:
            raise LabelsError(f"{where}: [staff.*] tables belong in {ENGLISH}.toml; staff read English")
        tables = _tables(data.get("patient"), PATIENT_KINDS, f"{where} [patient")
        if language != ENGLISH:
            _same_codes(tables, patient[ENGLISH], where)
        patient[language] = tables
        pages[language] = _page_texts(data.get("page"), pages.get(ENGLISH), where)
    return Labels(staff=MappingProxyType(staff), patient=MappingProxyType(patient), pages=MappingProxyType(pages))


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise LabelsError(f"{path.name}: cannot be read: {exc}") from exc


def _tables(section: Any, kinds: Iterable[str], where: str) -> Mapping[str, Mapping[str, str]]:
    """The ``[section.KIND]`` tables of one file: every kind present, known, and each a table of words."""
    kinds = tuple(kinds)
    section = section or {}
    if not isinstance(section, dict):
        raise LabelsError(f"{where}]: must be tables of words, one per kind of code")
    unknown = sorted(set(section) - set(kinds))
    if unknown:
        raise LabelsError(f"{where}.{unknown[0]}]: not a kind of code (known: {', '.join(kinds)})")
    tables = {}
    for kind in kinds:
        table, here = section.get(kind), f"{where}.{kind}]"
        if not isinstance(table, dict) or not table:
            raise LabelsError(f"{here}: missing; give the words for every {kind} code")
        for code, words in table.items():
            if not isinstance(words, str) or not words.strip():
                raise LabelsError(f"{here}: {code} must be words (a non-empty string), not {words!r}")
        vocabulary = VOCABULARIES.get(kind)
        if vocabulary is not None:
            extra = [code for code in table if code not in vocabulary]
            if extra:
                raise LabelsError(f"{here}: {extra[0]} is not one of the {kind} codes (known: {', '.join(vocabulary)})")
            missing = [code for code in vocabulary if code not in table]
            if missing:
                raise LabelsError(f"{here}: no words for {', '.join(missing)}")
        tables[kind] = MappingProxyType(dict(table))
    return MappingProxyType(tables)


def _same_codes(tables: Mapping[str, Mapping[str, str]], english: Mapping[str, Mapping[str, str]], where: str):
    """A patient table in another language names exactly the codes its English table names."""
    for kind, table in tables.items():
        missing = [code for code in english[kind] if code not in table]
        if missing:
            raise LabelsError(f"{where} [patient.{kind}]: no words for {', '.join(missing)} (the patient reads them)")
        extra = [code for code in table if code not in english[kind]]
        if extra:
            raise LabelsError(f"{where} [patient.{kind}]: {extra[0]} is not in {ENGLISH}.toml's [patient.{kind}]")


def _page_texts(
    section: Any, english: Mapping[str, Mapping[str, str]] | None, where: str
) -> Mapping[str, Mapping[str, str]]:
    """The ``[page.SECTION]`` tables of one file: texts by key; another language has exactly English's keys,
    each with the same ``{placeholders}`` (a translation that drops ``{phone}`` would lose the clinic's number)."""
    section = section or {}
    if not isinstance(section, dict) or not all(isinstance(table, dict) for table in section.values()):
        raise LabelsError(f"{where} [page]: must be tables of texts, one per page section")
    for name, table in section.items():
        for key, text in table.items():
            if not isinstance(text, str) or not text.strip():
                raise LabelsError(f"{where} [page.{name}]: {key} must be a text (a non-empty string), not {text!r}")
            try:
                _placeholders(text)
            except ValueError:
                raise LabelsError(f"{where} [page.{name}]: {key} has a {{ or }} without its pair") from None
    if english is not None:
        for name in sorted(set(english) | set(section)):
            mine, theirs = section.get(name, {}), english.get(name, {})
            missing = [key for key in theirs if key not in mine]
            if missing:
                raise LabelsError(f"{where} [page.{name}]: no text for {', '.join(missing)} (the patient reads it)")
            extra = [key for key in mine if key not in theirs]
            if extra:
                raise LabelsError(f"{where} [page.{name}]: {extra[0]} is not in {ENGLISH}.toml's [page.{name}]")
            for key, text in mine.items():
                if _placeholders(text) != _placeholders(theirs[key]):
                    raise LabelsError(
                        f"{where} [page.{name}]: {key} must use the placeholders of {ENGLISH}.toml's, "
                        f"{sorted(_placeholders(theirs[key])) or 'none'}"
                    )
    return MappingProxyType({name: MappingProxyType(dict(table)) for name, table in section.items()})


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def _known(kind: str, kinds: tuple[str, ...]) -> str:
    if kind not in kinds:
        raise KeyError(f"{kind!r} is not a kind of code with words (known: {', '.join(kinds)})")
    return kind


def _spaced(code: Any) -> str:
    return str(code).replace("_", " ")


#: The table, loaded and checked once, at import.
LABELS = load_labels()
