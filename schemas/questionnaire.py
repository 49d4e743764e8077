"""The intake as a FHIR R4 Questionnaire (``GET /fhir/Questionnaire/back-pain-intake``), built from data.

Every item comes from the intake's request schema (:mod:`schemas.intake_fields`): its linkId is the field's
path in the request body (``patient.first_name``, ``symptoms.red_flags``), its type and limits are the
schema's, and a coded answer's options are the fact's vocabulary, each with the patient's words from the
labels table. The texts are English, with the Spanish as the standard ``translation`` extension, so one
resource serves a form filler in either language. A :class:`QuestionnaireResponse
<schemas.questionnaire_response>` to it maps back onto the same request body by linkId.
"""

from __future__ import annotations

from typing import Any

from routing.domain.labels import ENGLISH, LABELS
from schemas.intake_fields import CHOICE, GROUPS, INTAKE_FIELDS, IntakeField

QUESTIONNAIRE_ID = "back-pain-intake"
#: The Questionnaire's R4 resource name (a computer-friendly name, as the spec asks).
NAME = "BackPainIntake"
#: Where a canonical base lives when the clinic has no https website of its own (example.org: for examples).
DEFAULT_BASE = "https://clinic.example.org/fhir"
#: The code system of the language answer: BCP 47 tags, as FHIR codes languages everywhere.
LANGUAGE_SYSTEM = "urn:ietf:bcp:47"
TRANSLATION = "http://hl7.org/fhir/StructureDefinition/translation"
MIN_VALUE = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE = "http://hl7.org/fhir/StructureDefinition/maxValue"


def canonical_base(website: str | None) -> str:
    """Where the Questionnaire and its code systems are named: ``<clinic website>/fhir`` for an https website.

    The clinic owns these names; a clinic without an https website gets the documentation's example base.
    """
    if website and website.startswith("https://"):
        return website.rstrip("/") + "/fhir"
    return DEFAULT_BASE


def questionnaire_url(base: str) -> str:
    """The Questionnaire's canonical URL, which a QuestionnaireResponse names in ``questionnaire``."""
    return f"{base}/Questionnaire/{QUESTIONNAIRE_ID}"


def code_system(base: str, field: IntakeField) -> str:
    """The system of a coded answer's codes: ``<base>/CodeSystem/<fact>`` (BCP 47 for the language)."""
    return LANGUAGE_SYSTEM if field.path == "language" else f"{base}/CodeSystem/{field.name}"


def build_questionnaire(base: str, version: str) -> dict[str, Any]:
    """The intake Questionnaire (FHIR R4 JSON) under canonical ``base``, at ``version``."""
    items: list[dict[str, Any]] = []
    groups: dict[str, dict[str, Any]] = {}
    for field in INTAKE_FIELDS:
        item = _item(base, field)
        if field.group is None:
            items.append(item)
            continue
        if field.group not in groups:
            groups[field.group] = {"linkId": field.group, **_text("text", "question", field.group), "type": "group"}
            groups[field.group]["item"] = []
            items.append(groups[field.group])
        groups[field.group]["item"].append(item)
    assert tuple(groups) == GROUPS  # every group made, in the schema's order
    return {
        "resourceType": "Questionnaire",
        "id": QUESTIONNAIRE_ID,
        "url": questionnaire_url(base),
        "version": version,
        "name": NAME,
        **_text("title", "question", "intake"),
        "status": "active",
        "subjectType": ["Patient"],
        "language": ENGLISH,
        "item": items,
    }


def _item(base: str, field: IntakeField) -> dict[str, Any]:
    item: dict[str, Any] = {"linkId": field.path, **_text("text", "question", field.name), "type": field.kind}
    if field.required:
        item["required"] = True
    if field.repeats:
        item["repeats"] = True
    if field.max_length is not None:
        item["maxLength"] = field.max_length
    if field.kind == CHOICE:
        item["answerOption"] = [{"valueCoding": _coding(base, field, code)} for code in field.choices]
    extensions = [
        {"url": url, "valueInteger": bound}
        for url, bound in ((MIN_VALUE, field.minimum), (MAX_VALUE, field.maximum))
        if bound is not None
    ]
    if extensions:
        item["extension"] = extensions
    return item


def _coding(base: str, field: IntakeField, code: str) -> dict[str, Any]:
    return {"system": code_system(base, field), "code": code, **_text("display", field.name, code)}


def _text(element: str, kind: str, code: str) -> dict[str, Any]:
    """``{element: English words, _element: the other languages as translation extensions}``.

    Read from the tables directly, not with ``patient_words``: a missing question must fail loudly here
    rather than be asked as its code.
    """
    english = LABELS.patient[ENGLISH][kind][code]
    translations = [
        {
            "url": TRANSLATION,
            "extension": [
                {"url": "lang", "valueCode": language},
                {"url": "content", "valueString": LABELS.patient[language][kind][code]},
            ],
        }
        for language in LABELS.languages
        if language != ENGLISH
    ]
    return {element: english, f"_{element}": {"extension": translations}} if translations else {element: english}
