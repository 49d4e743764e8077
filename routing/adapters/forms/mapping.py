"""One form's mapping: which of the intake's fields each of a form builder's fields fills, as a TOML data file.

A clinic writes one file per form in the folder ``ROUTING_FORM_MAPPINGS`` names; the file's name is the form's
name in its webhook URL (``typeform-intake.toml`` answers ``POST /v1/forms/typeform-intake``)::

    builder = "typeform"                  # typeform | jotform | json | form
    secret_env = "TYPEFORM_INTAKE_SECRET" # the variable holding the secret (several, space-separated, to rotate)
    ignore = ["readable_ref_legal"]       # builder fields that are no answer for the intake (glob patterns)

    [fields]
    first_name_ref = "patient.first_name" # a builder field -> an intake field
    pain_ref = "symptoms.pain_score"

    [fields.warning_signs_ref]            # with a table when the builder's answers need words of their own
    to = "symptoms.red_flags"
    values = { "Trouble controlling my bladder" = "bladder_bowel_dysfunction", "None of these" = [] }

Every file is checked when the service starts (:func:`load_mappings`), each message naming the file and the
entry: an unknown intake field, a value that is not one of the field's codes, an intake field no builder
field fills that the intake needs, a secret that is missing or too short. Applying a mapping to a submission
(:func:`to_intake_body`) never raises anything but :class:`UnmappedAnswers`, naming each builder field whose
answer it could not map, and never quoting the answer: builders keep webhook answers in delivery logs.
"""

from __future__ import annotations

import fnmatch
import json
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any

from routing.domain.labels import LABELS
from schemas.intake_fields import BOOLEAN, BY_PATH, CHOICE, DATE, INTEGER, IntakeField

#: The builders a mapping may be for.
BUILDERS = ("typeform", "jotform", "json", "form")
#: Builders that sign each delivery (the secret is an HMAC key); the others carry a token in the URL.
SIGNING_BUILDERS = ("typeform",)
#: What a form's name (its file's stem, in its webhook URL) may look like.
FORM_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]{0,127}")
#: A token sent in a URL: URL-safe characters only, long enough to be a secret.
URL_TOKEN = re.compile(r"[A-Za-z0-9_~.-]{32,256}")
#: The shortest signing secret accepted (Typeform's guide makes 40 hex characters).
MIN_SIGNING_SECRET = 16
_FILE_KEYS = ("builder", "secret_env", "submission_id", "language", "ignore", "fields")
_ENTRY_KEYS = ("to", "values")
#: Answers a patient may give to a yes/no question in words, when the mapping gives no values of its own.
_YES_NO = {"yes": True, "true": True, "sí": True, "si": True, "1": True, "no": False, "false": False, "0": False}


class MappingError(ValueError):
    """A mapping file is invalid; the message names the file and the entry."""


class UnmappedAnswers(ValueError):
    """Answers the mapping cannot carry into the intake, by the builder's field name."""

    def __init__(self, errors: Mapping[str, list[str]]) -> None:
        super().__init__("; ".join(errors))
        self.errors = dict(errors)


@dataclass(frozen=True)
class FieldMap:
    """One builder field and the intake field it fills."""

    #: The builder's field (a Typeform ref or id, a Jotform ``q3_name``, a JSON path, a form field name).
    source: str
    target: IntakeField
    #: The builder's answers (choice labels, yes/no words) and what each means for the intake field.
    values: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class FormMapping:
    """A form's mapping, checked: where its webhook is, how it is authenticated, and its fields."""

    name: str
    builder: str
    #: The signing secrets (typeform) or URL tokens (the others); several while one is rotated.
    secrets: tuple[str, ...] = field(repr=False)
    fields: Mapping[str, FieldMap]
    ignore: tuple[str, ...] = ()
    #: Where a ``json`` or ``form`` builder puts its own submission id (a dotted path, a field name).
    submission_id: str | None = None
    #: The language of a form in one language, when no answer says it.
    language: str | None = None

    @property
    def signed(self) -> bool:
        """Whether deliveries are signed (the secret is an HMAC key), rather than carrying a URL token."""
        return self.builder in SIGNING_BUILDERS

    def sources(self, path: str) -> list[str]:
        """The builder fields that fill the intake field at ``path``, in the file's order."""
        return [entry.source for entry in self.fields.values() if entry.target.path == path]

    def ignores(self, names: Iterable[str]) -> bool:
        """Whether the mapping says a field of any of these names is no answer for the intake."""
        return any(fnmatch.fnmatchcase(name, pattern) for name in names for pattern in self.ignore)


@dataclass(frozen=True)
class Answer:
    """One answer of a submission, by the builder's field name(s)."""

    #: Its names, the first the one errors show (Typeform: the field's ref, then its id).
    names: tuple[str, ...]
    value: Any
    #: True for values that are no question's answer (Typeform hidden fields): used when mapped, never an error.
    optional: bool = False


@dataclass(frozen=True)
class Submission:
    """What a builder's payload says: its own submission id and the patient's answers."""

    id: str | None
    answers: tuple[Answer, ...]


# --- loading ---------------------------------------------------------------------------------------------------


def load_mappings(directory: Path, environ: Mapping[str, str]) -> dict[str, FormMapping]:
    """Every ``*.toml`` in ``directory``, checked, by form name; raises :class:`MappingError` naming the problem.

    ``environ`` holds the secrets the files name (the service's environment).
    """
    if not directory.is_dir():
        raise MappingError(f"{directory} is not a folder; give the folder holding one <form-name>.toml per form")
    mappings = {path.stem: load_mapping(path, environ) for path in sorted(directory.glob("*.toml"))}
    if not mappings:
        raise MappingError(f"{directory} holds no <form-name>.toml; add one per form, or unset the variable")
    return mappings


def load_mapping(path: Path, environ: Mapping[str, str]) -> FormMapping:
    """One mapping file, checked; raises :class:`MappingError` naming the file and the entry."""
    where = path.name
    if not FORM_NAME.fullmatch(path.stem):
        raise MappingError(f"{where}: the name must be lowercase letters, digits and dashes (it goes in the URL)")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise MappingError(f"{where}: cannot be read: {error}") from None
    unknown = [key for key in data if key not in _FILE_KEYS]
    if unknown:
        raise MappingError(f"{where}: unknown entry {unknown[0]!r} (known: {', '.join(_FILE_KEYS)})")
    builder = data.get("builder")
    if builder not in BUILDERS:
        raise MappingError(f"{where}: builder = {builder!r}; use one of: {', '.join(BUILDERS)}")
    secrets = _secrets(where, builder, data.get("secret_env"), environ)
    submission_id = data.get("submission_id")
    if submission_id is not None and (builder not in ("json", "form") or not _is_text(submission_id)):
        raise MappingError(
            f"{where}: submission_id names where a json or form builder puts its submission id (a field name "
            "or dotted path); Typeform's and Jotform's are read from their own payloads"
        )
    language = data.get("language")
    languages = BY_PATH["language"].choices
    if language is not None and language not in languages:
        raise MappingError(f"{where}: language = {language!r}; use one of: {', '.join(languages)}")
    ignore = data.get("ignore", [])
    if not isinstance(ignore, list) or not all(_is_text(pattern) for pattern in ignore):
        raise MappingError(f"{where}: ignore must be a list of builder field names (glob patterns allowed)")
    fields = data.get("fields")
    if not isinstance(fields, dict) or not fields:
        raise MappingError(f"{where}: [fields] is missing; map each of the form's fields to an intake field")
    entries = {source: _entry(where, source, spec) for source, spec in fields.items()}
    _no_field_filled_twice(where, entries.values())
    mapping = FormMapping(
        name=path.stem,
        builder=builder,
        secrets=secrets,
        fields=MappingProxyType(entries),
        ignore=tuple([*ignore, submission_id] if submission_id else ignore),
        submission_id=submission_id,
        language=language,
    )
    _fills_what_the_intake_needs(where, mapping)
    return mapping


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _secrets(where: str, builder: str, variable: Any, environ: Mapping[str, str]) -> tuple[str, ...]:
    what = "signing secret" if builder in SIGNING_BUILDERS else "URL token"
    if not isinstance(variable, str) or not _ENV_NAME.fullmatch(variable):
        raise MappingError(
            f"{where}: secret_env must name the environment variable holding the form's {what} "
            '(capital letters, digits and _), e.g. secret_env = "TYPEFORM_INTAKE_SECRET"'
        )
    secrets = tuple((environ.get(variable) or "").split())
    if not secrets:
        raise MappingError(f"{where}: {variable} is not set; it must hold the form's {what}")
    if builder in SIGNING_BUILDERS:
        if any(len(secret) < MIN_SIGNING_SECRET for secret in secrets):
            raise MappingError(f"{where}: {variable} must be at least {MIN_SIGNING_SECRET} characters of random text")
    elif not all(URL_TOKEN.fullmatch(secret) for secret in secrets):
        raise MappingError(
            f"{where}: {variable} must be 32 or more URL-safe characters (letters, digits, - _ . ~), e.g. the "
            "output of python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    return secrets


def _entry(where: str, source: str, spec: Any) -> FieldMap:
    here = f"{where}: [fields] {source!r}"
    if isinstance(spec, str):
        spec = {"to": spec}
    if not isinstance(spec, dict):
        raise MappingError(f'{here} must name an intake field ("patient.first_name") or be a table with to =')
    unknown = [key for key in spec if key not in _ENTRY_KEYS]
    if unknown:
        raise MappingError(f"{here}: unknown entry {unknown[0]!r} (known: {', '.join(_ENTRY_KEYS)})")
    target = BY_PATH.get(spec.get("to"))
    if target is None:
        raise MappingError(f"{here}: to = {spec.get('to')!r} is not an intake field; use one of: {', '.join(BY_PATH)}")
    values = spec.get("values")
    if values is None:
        return FieldMap(source, target)
    if not isinstance(values, dict) or not values:
        raise MappingError(f"{here}: values must be a table of the builder's answers and what each means")
    for answer, meaning in values.items():
        error = _meaning_error(target, meaning)
        if error:
            raise MappingError(f"{here}: values {answer!r} = {meaning!r}: {error}")
    return FieldMap(source, target, MappingProxyType(dict(values)))


def _meaning_error(target: IntakeField, meaning: Any) -> str | None:
    """Why ``meaning`` cannot be a value of ``target`` (None when it can)."""
    if target.kind == CHOICE:
        codes = meaning if isinstance(meaning, list) and target.repeats else [meaning]
        bad = [code for code in codes if code not in target.choices]
        if bad or not all(isinstance(code, str) for code in codes):
            many = " (or a list of them, [] for none)" if target.repeats else ""
            return f"must be one of the {target.path} codes{many}: {', '.join(target.choices)}"
        return None
    if target.kind == BOOLEAN:
        return None if isinstance(meaning, bool) else "must be true or false"
    if target.kind == INTEGER:
        low, high = target.minimum, target.maximum
        inside = isinstance(meaning, int) and not isinstance(meaning, bool)
        inside = inside and (low is None or meaning >= low) and (high is None or meaning <= high)
        return None if inside else f"must be a whole number from {low} to {high}"
    return None if isinstance(meaning, str) else "must be text"


def _no_field_filled_twice(where: str, entries: Iterable[FieldMap]) -> None:
    # Lists gather every answer and the message joins them; any other field takes one answer.
    seen: dict[str, str] = {}
    for entry in entries:
        path = entry.target.path
        if entry.target.repeats or path == "message":
            continue
        if path in seen:
            raise MappingError(
                f"{where}: [fields] {seen[path]!r} and {entry.source!r} both fill {path}, which takes one answer"
            )
        seen[path] = entry.source


def _fills_what_the_intake_needs(where: str, mapping: FormMapping) -> None:
    filled = {entry.target.path for entry in mapping.fields.values()}
    needs = [
        ("patient.first_name",),
        ("patient.last_name",),
        ("patient.email", "patient.phone"),
        ("message", *(path for path in BY_PATH if path.startswith("symptoms."))),
    ]
    for choices in needs:
        if not filled & set(choices):
            wanted = choices[0] if len(choices) == 1 else f"{choices[0]} or {choices[1]}"
            wanted += " (or a symptoms.* question)" if len(choices) > 2 else ""
            raise MappingError(f"{where}: no field fills {wanted}, which every inquiry needs")


# --- applying --------------------------------------------------------------------------------------------------


def to_intake_body(mapping: FormMapping, submission: Submission) -> dict[str, Any]:
    """The intake request body the submission's answers make; raises :class:`UnmappedAnswers`.

    An answer the mapping does not name is an error unless it is empty or ``ignore`` lists it; an answer that is
    an object (a Jotform name or date) may be mapped whole or by its parts (``q3_name.first``).
    """
    body: dict[str, Any] = {}
    messages: list[str] = []
    errors: dict[str, list[str]] = {}
    pending = list(submission.answers)
    while pending:
        answer = pending.pop(0)
        entry = next((mapping.fields[name] for name in answer.names if name in mapping.fields), None)
        if entry is not None:
            if _empty(answer.value):
                continue
            try:
                value = _convert(entry, answer.value)
            except ValueError as error:
                errors.setdefault(answer.names[0], []).append(f"{entry.target.path}: {error}")
                continue
            if entry.target.path == "message":
                messages.append(value)
            else:
                _put(body, entry.target, value)
        elif answer.optional or mapping.ignores(answer.names):
            continue
        elif isinstance(answer.value, Mapping) and answer.value:
            parts = [_part(answer, str(key), value) for key, value in answer.value.items()]
            pending[:0] = parts
        elif isinstance(answer.value, list) and any(isinstance(item, Mapping) for item in answer.value):
            pending[:0] = [_part(answer, str(index), value) for index, value in enumerate(answer.value)]
        elif not _empty(answer.value):
            errors.setdefault(answer.names[0], []).append(
                f"Not in the mapping {mapping.name}.toml: map it to an intake field under [fields], or list it "
                "in ignore."
            )
    if errors:
        raise UnmappedAnswers(errors)
    if messages:
        body["message"] = "\n\n".join(messages)
    if mapping.language and "language" not in body:
        body["language"] = mapping.language
    return body


def intake_errors_by_builder_field(mapping: FormMapping, errors: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """The intake's validation errors (by body path) named by the builder field that fills each path.

    ``symptoms.pain_score: ...`` becomes ``{"pain_ref": ["symptoms.pain_score: ..."]}``; a path no builder
    field fills keeps its own name.
    """
    named: dict[str, list[str]] = {}
    for path, messages in errors.items():
        target = next((p for p in BY_PATH if path == p or path.startswith(f"{p}.")), None)
        # A whole group missing (no patient answer at all) is named by a field that fills the group.
        target = target or next((p for p in BY_PATH if p.startswith(f"{path}.") and mapping.sources(p)), None)
        sources = mapping.sources(target) if target else []
        key = sources[0] if sources else path
        prefix = f"{path}: " if sources else ""
        named.setdefault(key, []).extend(f"{prefix}{message}" for message in messages)
    return named


def _part(answer: Answer, key: str, value: Any) -> Answer:
    return Answer(tuple(f"{name}.{key}" for name in answer.names), value, answer.optional)


def _empty(value: Any) -> bool:
    """An unanswered question: nothing, blank text, an empty list, or an object of nothing but those."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list):
        return all(_empty(item) for item in value)
    if isinstance(value, Mapping):
        return all(_empty(item) for item in value.values())
    return False


def _put(body: dict[str, Any], target: IntakeField, value: Any) -> None:
    *groups, name = target.path.split(".")
    node = body
    for group in groups:
        node = node.setdefault(group, {})
    if target.repeats:
        items = node.setdefault(name, [])
        items.extend(item for item in value if item not in items)
    else:
        node[name] = value


def _convert(entry: FieldMap, value: Any) -> Any:
    """The builder's answer as the intake field's value; ValueError says why it cannot be."""
    target = entry.target
    items = [item for item in (value if isinstance(value, list) else [value]) if not _empty(item)]
    if entry.values is not None:
        meant: list[Any] = []
        for item in items:
            key = item if isinstance(item, str) else json.dumps(item, ensure_ascii=False)
            if key not in entry.values:
                known = ", ".join(repr(answer) for answer in entry.values)
                raise ValueError(f"The answer is not one the mapping knows (known: {known}).")
            meaning = entry.values[key]
            meant.extend(meaning if isinstance(meaning, list) else [meaning])
        items = meant
    if target.repeats:
        return [_one(target, item) for item in items]
    if len(items) != 1:
        raise ValueError(f"Takes one answer, not {len(items)}.")
    return _one(target, items[0])


def _one(target: IntakeField, item: Any) -> Any:
    if target.kind == CHOICE:
        return _code(target, item)
    if target.kind == BOOLEAN:
        if isinstance(item, bool):
            return item
        if isinstance(item, str) and item.strip().casefold() in _YES_NO:
            return _YES_NO[item.strip().casefold()]
        raise ValueError("Must be yes or no; give values = { ... = true/false } for other words.")
    if target.kind == INTEGER:
        return _whole_number(item)
    if target.kind == DATE:
        return _date(item)
    if isinstance(item, bool | int | float):
        return str(item)
    if not isinstance(item, str):
        raise ValueError("Must be text.")
    return item


def _code(target: IntakeField, item: Any) -> str:
    if isinstance(item, str):
        if item in target.choices:
            return item
        # A choice labelled with the patient's words of a code (in any language) means that code.
        words = item.strip().casefold()
        kind = target.name if target.name in LABELS.patient["en"] else None
        for code in target.choices:
            if kind and any(LABELS.patient[lang][kind].get(code, "").casefold() == words for lang in LABELS.languages):
                return code
    raise ValueError(
        f"The answer is not one of the {target.path} codes ({', '.join(target.choices)}) nor their words; "
        "give values = { ... } for the form's own words."
    )


def _whole_number(item: Any) -> int:
    if isinstance(item, bool):
        raise ValueError("Must be a whole number.")
    if isinstance(item, int):
        return item
    if isinstance(item, float) and item.is_integer():
        return int(item)
    if isinstance(item, str) and re.fullmatch(r"\s*-?\d{1,9}\s*", item):
        return int(item)
    raise ValueError("Must be a whole number.")


def _date(item: Any) -> str:
    """A date as YYYY-MM-DD, from that text or from an object of year, month and day (Jotform's)."""
    try:
        if isinstance(item, str):
            return date.fromisoformat(item.strip()).isoformat()
        if isinstance(item, Mapping):
            return date(int(item["year"]), int(item["month"]), int(item["day"])).isoformat()
    except (KeyError, TypeError, ValueError):
        pass
    raise ValueError("Must be a date (YYYY-MM-DD, or year, month and day).")
