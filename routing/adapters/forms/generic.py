"""Any other builder: a JSON body or form fields, read by the names the mapping gives them.

JSON: each top-level key is an answer; an object is mapped whole or by its parts' dotted paths
(``Name.first``), a list of objects by index (``items.0.value``). Form fields (urlencoded or multipart): each
field name is an answer, a repeated field a list. The builder's own submission id, if it sends one, is read from
the ``submission_id`` the mapping names (a dotted path, a field name); without one, the delivery is known by
its content.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from werkzeug.datastructures import MultiDict

from routing.adapters.forms.mapping import Answer, Submission, UnmappedAnswers


def read_json(payload: Any, submission_id: str | None) -> Submission:
    """The submission in a JSON body; raises UnmappedAnswers when it is no object or lacks its id."""
    if not isinstance(payload, Mapping):
        raise UnmappedAnswers({"_schema": ["The body must be a JSON object of the form's answers."]})
    answers = tuple(Answer((str(key),), value) for key, value in payload.items())
    return Submission(_id(_at(payload, submission_id), submission_id), answers)


def read_form(fields: MultiDict, submission_id: str | None) -> tuple[dict[str, Any], Submission]:
    """The payload (field -> value, or list of values when repeated) and the submission in form fields."""
    payload: dict[str, Any] = {}
    for name in fields:
        values = fields.getlist(name)
        payload[name] = values if len(values) > 1 else values[0]
    answers = tuple(Answer((name,), value) for name, value in payload.items())
    return payload, Submission(_id(payload.get(submission_id) if submission_id else None, submission_id), answers)


def _at(payload: Mapping[str, Any], path: str | None) -> Any:
    if path is None:
        return None
    node: Any = payload
    for part in path.split("."):
        if isinstance(node, Mapping):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def _id(value: Any, where: str | None) -> str | None:
    if where is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip():
        raise UnmappedAnswers({where: ["Missing: the mapping's submission_id names it as the submission's id."]})
    return str(value).strip()
