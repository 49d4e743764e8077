"""``GET /v1/inquiries/{id}/appointment.ics``: a booked appointment as a calendar file ("add to calendar").

It is the patient's view of the inquiry (``GET /v1/inquiries/{id}``) in another format and opens with the same
key, the inquiry's whole random id: it tells what that view tells (the kind of appointment, its times) plus the
clinic's name, address and phone, and nothing about the patient.
"""

from __future__ import annotations

import uuid

from flask import Response
from flask_smorest import Blueprint

from routing.adapters.db.types import utcnow
from routing.domain.calendar_file import appointment_ics
from routing.domain.labels import LABELS
from routing.http.api import documents_problems
from routing.http.deps import request_session, wiring
from routing.http.problems import Problem
from routing.services.intake import get_outcome

bp = Blueprint("calendar", __name__, url_prefix="/v1", description="Calendar files for patients")


@bp.get("/inquiries/<uuid:inquiry_id>/appointment.ics")
@bp.doc(
    security=[{}],
    responses={
        "200": {
            "description": "The booked appointment as an iCalendar file (RFC 5545), in the inquiry's language",
            "content": {"text/calendar": {"schema": {"type": "string"}}},
        }
    },
)
@documents_problems(bp, {404: "No such inquiry, or nothing is booked for it"})
def appointment(inquiry_id: uuid.UUID):
    """The inquiry's booked appointment as a calendar file; no patient data in it."""
    w = wiring()
    outcome = get_outcome(session=request_session(), inquiry_id=inquiry_id)
    if outcome is None or outcome.appointment is None:
        raise Problem(404, "There is no booked appointment for this inquiry.")
    slot, clinic = outcome.appointment, w.settings.clinic
    language = outcome.language if outcome.language in LABELS.languages else "en"
    words = {
        "kind": LABELS.patient_words("slot_type", slot.slot_type, language),
        "clinic": clinic.name,
        "phone": clinic.phone,
    }
    text = appointment_ics(
        uid=f"{slot.id}@routing",
        start=slot.start,
        end=slot.end,
        summary=LABELS.page_text("calendar", "summary", language, **words),
        location=f"{clinic.name}, {clinic.address}",
        description=LABELS.page_text("calendar", "description", language, **words),
        now=utcnow(),
    )
    return Response(
        text,
        mimetype="text/calendar",
        headers={"Content-Disposition": 'attachment; filename="appointment.ics"'},
    )
