"""Building a QuestionnaireResponse the way a form filler does: from the published Questionnaire's items."""

from __future__ import annotations

from typing import Any

FHIR_JSON = "application/fhir+json"
QUESTIONNAIRE_PATH = "/fhir/Questionnaire/back-pain-intake"

#: The answer element of each item type.
_ELEMENT = {
    "string": "valueString",
    "text": "valueString",
    "date": "valueDate",
    "integer": "valueInteger",
    "boolean": "valueBoolean",
    "choice": "valueCoding",
}


def respond(questionnaire: dict[str, Any], answers: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A completed QuestionnaireResponse answering ``answers`` (linkId -> value, a list for repeating items).

    Coded answers are given as codes and sent as the item's own answerOption coding (system, code, display),
    as a form filler copies it; groups are kept as the Questionnaire nests them, unanswered items left out.
    """
    items = [item for item in (_answer(item, answers) for item in questionnaire["item"]) if item]
    return {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": questionnaire["url"],
        "status": "completed",
        "item": items,
        **extra,
    }


def _answer(item: dict[str, Any], answers: dict[str, Any]) -> dict[str, Any] | None:
    if item["type"] == "group":
        children = [child for child in (_answer(child, answers) for child in item["item"]) if child]
        return {"linkId": item["linkId"], "item": children} if children else None
    if item["linkId"] not in answers:
        return None
    value = answers[item["linkId"]]
    values = value if isinstance(value, list) else [value]
    element = _ELEMENT[item["type"]]
    if item["type"] == "choice":
        options = {option["valueCoding"]["code"]: option["valueCoding"] for option in item["answerOption"]}
        values = [options[code] for code in values]
    return {"linkId": item["linkId"], "answer": [{element: one} for one in values]}
