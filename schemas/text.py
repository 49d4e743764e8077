"""Text input that is safe to store: the one place control characters are refused.

A NUL byte cannot be stored in a PostgreSQL text column (the query fails: a 500), and inside a stored JSON
payload it breaks every ``->>`` read of that payload; other control characters (and unpaired surrogates,
which are not text at all) corrupt logs, CSV exports and screens. So every string a client sends is
checked here: declared fields through :class:`Text` (or :class:`Email`), and everything else a request
schema receives (unknown fields, which intake keeps in the stored payload, and every key) through
:class:`InputSchema`. Tab, line feed and carriage return are allowed in free text (``multiline=True``)
and in unknown fields (a form may have textareas we do not read); nowhere else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

#: C0 controls, DEL, C1 controls and unpaired surrogates.
_ANY_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
#: The same, but tab, line feed and carriage return are text.
_CONTROL_BUT_LINE_BREAKS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def control_character_error(value: str, *, multiline: bool = False) -> str | None:
    """Why ``value`` may not be stored, naming the first bad character, or None when it is clean."""
    found = (_CONTROL_BUT_LINE_BREAKS if multiline else _ANY_CONTROL).search(value)
    if found is None:
        return None
    char = found.group()
    kind = "an unpaired surrogate (not text)" if "\ud800" <= char <= "\udfff" else "a control character"
    allowed = " Tab and line breaks are allowed here." if multiline else ""
    return f"Contains U+{ord(char):04X}, {kind}, at character {found.start() + 1}; remove it.{allowed}"


def printable(name: str) -> str:
    """``name`` with each control character written as ``\\uXXXX``, to name a bad field in an answer."""
    return _ANY_CONTROL.sub(lambda found: f"\\u{ord(found.group()):04x}", name)


class Text(fields.String):
    """A string without control characters; ``multiline=True`` also allows tab, LF and CR (free text)."""

    def __init__(self, *, multiline: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.multiline = multiline

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        error = control_character_error(text, multiline=self.multiline)
        if error:
            raise ValidationError(error)
        return text


class Email(Text):
    """An email address (marshmallow's check), without control characters: its quoted form allows them."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validators.insert(0, validate.Email(error="Not a valid email address."))


class InputSchema(Schema):
    """The base of every request schema: unknown fields are ignored, but no key or value may hide a control
    character; and every problem of a body is reported at once (no validator skips on field errors)."""

    class Meta:
        unknown = EXCLUDE

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _no_control_characters_outside_declared_fields(self, _data, original_data, **_kwargs):
        if not isinstance(original_data, Mapping):
            return  # marshmallow has already said "Invalid input type."
        errors: dict[str, list[str]] = {}
        declared = {field.data_key or name for name, field in self.load_fields.items()}
        for key in original_data:
            name = str(key)
            error = control_character_error(name)
            if error:
                errors.setdefault(printable(name), []).append(f"This field name: {error}")
            elif name not in declared:
                _check_unknown(errors, name, original_data[key])
        if errors:
            raise ValidationError(errors)


def _check_unknown(errors: dict[str, list[str]], path: str, value: Any) -> None:
    # Unknown values are kept as sent (intake stores its whole payload), so every string in them counts.
    if isinstance(value, str):
        error = control_character_error(value, multiline=True)
        if error:
            errors.setdefault(path, []).append(error)
    elif isinstance(value, Mapping):
        for key, nested in value.items():
            error = control_character_error(str(key))
            if error:
                errors.setdefault(f"{path}.{printable(str(key))}", []).append(f"This field name: {error}")
            else:
                _check_unknown(errors, f"{path}.{key}", nested)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_unknown(errors, f"{path}.{index}", item)
