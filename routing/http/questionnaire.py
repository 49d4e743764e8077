"""``/fhir/Questionnaire/back-pain-intake``: the intake published as a FHIR R4 Questionnaire.

An SDC form filler (or an EHR's patient portal) renders it; the patient's answers come back as a
QuestionnaireResponse, ``POST /v1/inquiries`` with ``Content-Type: application/fhir+json``.
"""

from __future__ import annotations

import json

from flask import Response
from flask_smorest import Blueprint

from routing import __version__
from routing.http.deps import wiring
from schemas.questionnaire import QUESTIONNAIRE_ID, build_questionnaire, canonical_base

bp = Blueprint("questionnaire", __name__, url_prefix="/fhir", description="The intake as a FHIR R4 Questionnaire")

FHIR_JSON = "application/fhir+json"
_QUESTIONNAIRE = {"type": "object", "description": "A FHIR R4 Questionnaire resource."}


@bp.get(f"/Questionnaire/{QUESTIONNAIRE_ID}")
@bp.doc(responses={200: {"description": "The Questionnaire", "content": {FHIR_JSON: {"schema": _QUESTIONNAIRE}}}})
def show():
    """The intake Questionnaire: every question of the intake, coded answers with their options.

    Texts are English with Spanish ``translation`` extensions; linkIds are the intake's field paths
    (``symptoms.red_flags``). Its ``url`` is ``<ROUTING_CLINIC_WEBSITE>/fhir/Questionnaire/back-pain-intake``
    (for an https website), which a QuestionnaireResponse names in ``questionnaire``.
    """
    settings = wiring().settings
    resource = build_questionnaire(canonical_base(settings.clinic.website), __version__)
    # Public and the same for everyone: caches may keep it (the default for our answers is no-store).
    return Response(
        json.dumps(resource, ensure_ascii=False),
        mimetype=FHIR_JSON,
        headers={"Cache-Control": "public, max-age=3600"},
    )
