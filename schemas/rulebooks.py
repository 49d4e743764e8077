"""Rulebook versions' request and response shapes (``/v1/admin/rulebooks``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from routing.domain.labels import LABELS
from schemas.text import InputSchema, Text, control_character_error, printable

#: How deeply a rulebook's containers may nest (the shipped one: 8 levels); deeper is refused before it is read.
MAX_DEPTH = 32
RULEBOOK_STATE = LABELS.described("rulebook_state", "Where the version stands.")
_ACKNOWLEDGE = (
    "Required as true when the draft's latest finished impact preview shows inquiries leaving urgent_review, or "
    "when no finished preview says (the answer is then a 422 naming this field, with urgent_review_exits)."
)


class _Document(fields.Dict):
    """A rulebook as JSON (an object); no key or text in it may hide a control character."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> Any:
        document = super()._deserialize(value, attr, data, **kwargs)
        if _deeper_than(document, MAX_DEPTH):
            # Validating, storing and showing a document all recurse through it: bound the depth first.
            raise ValidationError(f"Nested more than {MAX_DEPTH} levels deep; no rulebook is.")
        errors: dict[str, list[str]] = {}
        _check_text(errors, "", document)
        if errors:
            raise ValidationError(errors)
        return document


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether containers nest more than ``limit`` levels in ``value`` (without recursion)."""
    level = [(value, 1)]
    while level:
        item, depth = level.pop()
        if isinstance(item, Mapping | list | tuple):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, Mapping) else item
            level.extend((child, depth + 1) for child in children)
    return False


def _check_text(errors: dict[str, list[str]], path: str, value: Any) -> None:
    # The document is stored as sent: a NUL in it cannot be stored in PostgreSQL, and the others corrupt screens.
    if isinstance(value, str):
        if problem := control_character_error(value, multiline=True):
            errors.setdefault(path or "_schema", []).append(problem)
    elif isinstance(value, Mapping):
        for key, nested in value.items():
            name = str(key)
            where = f"{path}.{printable(name)}" if path else printable(name)
            if problem := control_character_error(name):
                errors.setdefault(where, []).append(f"This field name: {problem}")
            else:
                _check_text(errors, where, nested)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_text(errors, f"{path}.{index}" if path else str(index), item)


class DraftRequestSchema(InputSchema):
    """A new draft: a whole rulebook, as the file holds it (copy a version's ``document`` and edit it)."""

    document = _Document(
        required=True,
        metadata={
            "description": "The rulebook as JSON, validated as the file is at start (the same messages). Its "
            "`version` must be new: it is stored with every decision the version makes (at most 40 characters).",
            "example": {"version": "2026-12-07.1", "rules": ["..."], "modifiers": {}, "needs_review": {}},
        },
    )
    note = Text(
        multiline=True,
        validate=validate.Length(1, 2000),
        metadata={"description": "What changes and why, for the approver; kept in the audit trail"},
    )
    based_on = fields.Integer(
        strict=True,
        validate=validate.Range(1, 2**31 - 1),
        metadata={"description": "The version this draft was copied from", "example": 1},
    )


class ApproveRequestSchema(InputSchema):
    """Approve a draft (an admin other than its author)."""

    acknowledge_urgent_review_exits = fields.Boolean(load_default=False, metadata={"description": _ACKNOWLEDGE})


class ActivateRequestSchema(InputSchema):
    """Activate a version (or roll back); the body is optional."""

    reason = Text(
        multiline=True,
        validate=validate.Length(1, 1000),
        metadata={"description": "Why now; kept in the audit trail", "example": "Persistent pain from 4 weeks"},
    )


class ApprovalSchema(Schema):
    """What approving a draft needs now."""

    preview_id = fields.String(allow_none=True, metadata={"description": "The latest finished impact preview"})
    urgent_review_exits = fields.Integer(
        allow_none=True,
        metadata={"description": "Inquiries that would leave urgent_review, per that preview; null: not known"},
    )
    acknowledgement_required = fields.Boolean(
        metadata={"description": "Approve with acknowledge_urgent_review_exits: true"}
    )
    why = fields.String(allow_none=True, metadata={"description": "Why the acknowledgement is required"})


class RulebookVersionSchema(Schema):
    """A rulebook version (without its document)."""

    id = fields.Integer(metadata={"description": "The version number", "example": 2})
    label = fields.String(
        metadata={"description": "The rulebook's own `version`, stored with each decision", "example": "2026-12-07.1"}
    )
    state = fields.String(metadata={"description": RULEBOOK_STATE})
    based_on = fields.Integer(allow_none=True, metadata={"description": "The version it was copied from"})
    note = fields.String(allow_none=True)
    sha256 = fields.String(metadata={"description": "SHA-256 of the document (canonical JSON; version 1: the file)"})
    created_at = fields.String()
    created_by = fields.String()
    approved_at = fields.String(allow_none=True)
    approved_by = fields.String(allow_none=True)
    activated_at = fields.String(allow_none=True, metadata={"description": "Its latest activation"})
    activated_by = fields.String(allow_none=True)


class RulebookVersionDetailSchema(RulebookVersionSchema):
    """A rulebook version with its document and, for a draft, what approving it needs."""

    document = fields.Dict(metadata={"description": "The rulebook as JSON, as validated"})
    approval = fields.Nested(ApprovalSchema, allow_none=True, metadata={"description": "Drafts only; else null"})
