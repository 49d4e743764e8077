"""The intake's fields as data, read off the request schema: what the Questionnaire asks and what a form
builder's fields may be mapped to.

Walking :class:`~schemas.inquiry.InquiryRequestSchema` itself, rather than keeping a second list, means a field
added to the intake (or a code added to a fact's vocabulary) reaches the published Questionnaire and the mapping
checks without another edit.
"""

from __future__ import annotations

from dataclasses import dataclass

from marshmallow import Schema, fields, validate

from schemas.inquiry import InquiryRequestSchema
from schemas.text import Text

#: The kinds of answer a field takes (named as FHIR R4 Questionnaire item types).
STRING, TEXT, DATE, INTEGER, BOOLEAN, CHOICE = "string", "text", "date", "integer", "boolean", "choice"


@dataclass(frozen=True)
class IntakeField:
    """One question of the intake: where it goes in the request body and what it takes."""

    #: The dotted path in the request body (``patient.first_name``, ``symptoms.red_flags``, ``message``).
    path: str
    #: One of STRING, TEXT (free text), DATE, INTEGER, BOOLEAN, CHOICE (codes).
    kind: str
    #: Whether it takes a list (several codes, several strings).
    repeats: bool = False
    #: The codes a CHOICE takes, in the schema's order.
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    #: The longest text it takes (STRING and TEXT), when the schema limits it.
    max_length: int | None = None
    required: bool = False

    @property
    def name(self) -> str:
        """The field's own name, without its group (``first_name``); the labels table's key for its question."""
        return self.path.rpartition(".")[2]

    @property
    def group(self) -> str | None:
        """The group the field belongs to (``patient``, ``symptoms``), or None at the top level."""
        group, _, _ = self.path.rpartition(".")
        return group or None


def _kind(field: fields.Field) -> tuple[str, tuple[str, ...]]:
    for validator in field.validators:
        if isinstance(validator, validate.OneOf):
            return CHOICE, tuple(validator.choices)
    if isinstance(field, fields.Boolean):
        return BOOLEAN, ()
    if isinstance(field, fields.Integer):
        return INTEGER, ()
    if isinstance(field, fields.Date):
        return DATE, ()
    if isinstance(field, Text) and field.multiline:
        return TEXT, ()
    if isinstance(field, fields.String):
        return STRING, ()
    raise TypeError(f"the intake schema has a field of a type the questionnaire cannot ask: {type(field).__name__}")


def _bounds(field: fields.Field) -> tuple[int | None, int | None]:
    for validator in field.validators:
        if isinstance(validator, validate.Range):
            return validator.min, validator.max
    return None, None


def _max_length(field: fields.Field) -> int | None:
    return next((v.max for v in field.validators if isinstance(v, validate.Length) and v.max is not None), None)


def _walk(schema: Schema, prefix: str = "") -> list[IntakeField]:
    found = []
    for name, field in schema.fields.items():
        path = f"{prefix}{name}"
        if isinstance(field, fields.Nested):
            found.extend(_walk(field.schema, f"{path}."))
            continue
        repeats = isinstance(field, fields.List)
        inner = field.inner if repeats else field
        kind, choices = _kind(inner)
        minimum, maximum = _bounds(inner)
        found.append(IntakeField(path, kind, repeats, choices, minimum, maximum, _max_length(inner), field.required))
    return found


#: Every field of the intake's request body, in the schema's order (groups: ``patient``, ``symptoms``).
INTAKE_FIELDS: tuple[IntakeField, ...] = tuple(_walk(InquiryRequestSchema()))
#: The same, by path.
BY_PATH = {field.path: field for field in INTAKE_FIELDS}
#: The groups, in the order their first field comes.
GROUPS: tuple[str, ...] = tuple(dict.fromkeys(field.group for field in INTAKE_FIELDS if field.group))
