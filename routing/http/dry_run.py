"""``POST /v1/triage``: run the rulebook on an intake body without storing or booking (staff only)."""

from __future__ import annotations

from flask import request
from flask_smorest import Blueprint

from routing.adapters.db.types import utcnow
from routing.domain.triage import triage
from routing.http.api import BEARER, documents_problems
from routing.http.auth import staff_required
from routing.http.deps import wiring
from routing.http.problems import load_all_or_422
from routing.http.webhook_delivery import parse_body
from schemas.admin import DryRunSchema
from schemas.inquiry import InquiryRequestSchema

bp = Blueprint("dry_run", __name__, url_prefix="/v1", description="Try the rulebook")
inquiry_request = InquiryRequestSchema()
_ERRORS = {
    400: "Malformed body",
    401: "No staff token, or a revoked or unknown one",
    403: "The token's role does not allow this",
    415: "Unsupported Content-Type",
    422: "Invalid fields",
    429: "Too many dry runs from this address; wait for Retry-After",
}


def _documented(view):
    view = bp.doc(
        security=[BEARER],
        requestBody={"required": True, "content": {"application/json": {"schema": "InquiryRequest"}}},
    )(view)
    return documents_problems(bp, _ERRORS)(view)


@bp.post("/triage")
@staff_required()
@bp.response(200, DryRunSchema)
@_documented
def dry_run():
    """The decision the rulebook makes for this body (same shape as intake); nothing is stored or booked."""
    payload = parse_body(request, request.get_data(cache=True))
    data = load_all_or_422(inquiry_request, payload)
    w = wiring()
    today = utcnow().astimezone(w.settings.timezone).date()
    symptoms, message = data.get("symptoms") or {}, data.get("message")
    decision = triage(symptoms, message, today, w.rulebook, reader=w.reader)
    facts = decision.facts
    evidence = [
        {
            "fact": e.fact,
            "value": sorted(e.value) if isinstance(e.value, frozenset) else e.value,
            "source": e.source,
            "phrase": e.phrase,
        }
        for e in facts.evidence
    ]
    return {"triage": decision.to_dict(), "facts": facts.to_dict(), "evidence": evidence}
