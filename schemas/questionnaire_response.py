"""Reading a QuestionnaireResponse to the intake Questionnaire into the intake's request body.

The resource is first checked as FHIR R4 with ``fhir.resources`` (the 4.0.1 structure definitions), then
item by item against the Questionnaire: every linkId must be one of its items, each answer of the item's
type (a coded answer one of its options), one answer unless the item repeats. What is wrong is reported by
linkId, all at once. The body it gives is then validated by the intake's own schema, whose field paths are
the same linkIds, so every error names the item the patient answered.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fhir.resources.questionnaireresponse import QuestionnaireResponse, QuestionnaireResponseItem
from pydantic import ValidationError

from schemas.intake_fields import BOOLEAN, BY_PATH, CHOICE, DATE, GROUPS, INTEGER, IntakeField
from schemas.questionnaire import code_system, questionnaire_url

#: The statuses of a response whose answers are final (``in-progress`` and ``stopped`` are not).
FINAL_STATUSES = ("completed", "amended")
#: The answer element each item type takes.
VALUE_ELEMENT = {BOOLEAN: "valueBoolean", CHOICE: "valueCoding", DATE: "valueDate", INTEGER: "valueInteger"}
#: The languages a response's own ``language`` may choose for the patient when no item does.
LANGUAGES = BY_PATH["language"].choices


class ResponseErrors(ValueError):
    """The response cannot be read; ``errors`` says why, by linkId (or by element outside the items)."""

    def __init__(self, errors: Mapping[str, list[str]]) -> None:
        super().__init__("; ".join(f"{where}: {' '.join(messages)}" for where, messages in errors.items()))
        self.errors = dict(errors)


def read_response(resource: Any, base: str) -> dict[str, Any]:
    """The intake request body a QuestionnaireResponse (parsed JSON) gives, or :class:`ResponseErrors`.

    ``base`` is the canonical base the Questionnaire is published under (its ``url`` and code systems).
    """
    if not isinstance(resource, Mapping) or resource.get("resourceType") != "QuestionnaireResponse":
        raise ResponseErrors({"resourceType": ["Must be QuestionnaireResponse."]})
    try:
        response = QuestionnaireResponse.parse_obj(resource)
    except ValidationError as error:
        raise ResponseErrors(_structure_errors(resource, error)) from None
    errors: dict[str, list[str]] = {}
    if response.status not in FINAL_STATUSES:
        errors["status"] = [f"Is {response.status!r}; send the response once it is completed."]
    url = questionnaire_url(base)
    if (response.questionnaire or "").partition("|")[0] != url:
        errors["questionnaire"] = [f"Must be {url}, the Questionnaire at GET /fhir/Questionnaire/back-pain-intake."]
    body: dict[str, Any] = {}
    seen: set[str] = set()
    for item in response.item or ():
        _read_item(item, base, body, seen, errors)
    if errors:
        raise ResponseErrors(errors)
    if "language" not in body and response.language:
        language = response.language.split("-")[0].lower()
        if language in LANGUAGES:
            body["language"] = language
    return body


def _read_item(
    item: QuestionnaireResponseItem, base: str, body: dict[str, Any], seen: set[str], errors: dict[str, list[str]]
) -> None:
    link_id = item.linkId
    if link_id in seen:
        errors.setdefault(link_id, []).append("Answered twice; give each item once.")
        return
    seen.add(link_id)
    if link_id in GROUPS:
        if item.answer:
            errors.setdefault(link_id, []).append("Is a group: its items hold the answers, not the group.")
        for child in item.item or ():
            _read_item(child, base, body, seen, errors)
        return
    field = BY_PATH.get(link_id)
    if field is None:
        errors.setdefault(link_id, []).append("Is not an item of the Questionnaire.")
        return
    if item.item:
        errors.setdefault(link_id, []).append("Has nested items; this question has none.")
    answers = item.answer or []
    if len(answers) > 1 and not field.repeats:
        errors.setdefault(link_id, []).append(f"Has {len(answers)} answers; this question takes one.")
        return
    values = []
    for index, answer in enumerate(answers):
        try:
            values.append(_value(answer, field, base))
        except ValueError as error:
            errors.setdefault(link_id, []).append(f"answer[{index}]: {error}")
        if answer.item:
            errors.setdefault(link_id, []).append(f"answer[{index}]: Has nested items; this question has none.")
    if values:
        _put(body, field.path, values if field.repeats else values[0])


def _value(answer: Any, field: IntakeField, base: str) -> Any:
    element = VALUE_ELEMENT.get(field.kind, "valueString")
    given = [
        name
        for name in answer.__fields__
        if name.startswith("value") and not name.endswith("__ext") and getattr(answer, name) is not None
    ]
    if given != [element]:
        raise ValueError(f"Must be a {element} (the item is of type {field.kind}), not {', '.join(given) or 'empty'}.")
    value = getattr(answer, element)
    if field.kind == DATE:
        return value.isoformat()
    if field.kind == CHOICE:
        system = code_system(base, field)
        if value.system is not None and value.system != system:
            raise ValueError(f"The coding's system must be {system}, not {value.system}.")
        if value.code not in field.choices:
            raise ValueError(f"The code must be one of: {', '.join(field.choices)}; not {value.code!r}.")
        return value.code
    return value


def _put(body: dict[str, Any], path: str, value: Any) -> None:
    *groups, name = path.split(".")
    node = body
    for group in groups:
        node = node.setdefault(group, {})
    node[name] = value


def _structure_errors(resource: Mapping[str, Any], error: ValidationError) -> dict[str, list[str]]:
    """fhir.resources' errors keyed by the linkId of the item they are in (else by element path)."""
    errors: dict[str, list[str]] = {}
    for problem in error.errors():
        where, rest = _locate(resource, problem["loc"])
        detail = _fhirpath(rest)
        errors.setdefault(where, []).append(f"{detail}: {problem['msg']}" if detail else problem["msg"])
    return errors


def _locate(resource: Mapping[str, Any], loc: tuple) -> tuple[str, tuple]:
    """The linkId of the innermost item ``loc`` runs through, and the rest of ``loc`` after that item."""
    node: Any = resource
    where, rest = None, loc
    for position, part in enumerate(loc):
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
        if position and loc[position - 1] == "item" and isinstance(node, Mapping):
            link_id = node.get("linkId")
            if isinstance(link_id, str) and link_id:
                where, rest = link_id, loc[position + 1 :]
    if where is None:
        return _fhirpath(loc) or "_schema", ()
    return where, rest


def _fhirpath(loc: tuple) -> str:
    """A pydantic location as a FHIRPath-like element path: ``answer[0].valueInteger``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part != "__root__":
            path += f".{part}" if path else str(part)
    return path
