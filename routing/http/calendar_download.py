"""A booked appointment as a calendar file ("add to calendar"), and the retired address it used to have.

The file is served at the patient's own link, ``/my/<token>/appointment.ics`` (:mod:`routing.http.patient_link`):
it tells the kind of appointment, its times and the clinic's name, address and phone, and nothing about the
patient. ``GET /v1/inquiries/{id}/appointment.ics`` opened with the inquiry's id alone, which is not a secret
(it is in logs, the ``Location`` header, staff's screens); it now answers ``410 Gone`` for every id, pointing
to the patient's own link, without looking anything up.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from flask import Response
from flask_smorest import Blueprint

from routing.adapters.db.types import utcnow
from routing.domain.calendar_file import appointment_ics
from routing.domain.clinic import ClinicProfile
from routing.domain.labels import LABELS
from routing.http.api import documents_problems
from routing.http.problems import Problem

bp = Blueprint("calendar", __name__, url_prefix="/v1", description="Calendar files for patients")

RETIRED = (
    "This address is retired: an inquiry's id does not open patient information. The calendar file is on the "
    "patient's own page, /my/<token>/appointment.ics; the link is on the confirmation page after the form, in "
    "the clinic's messages to the patient, and in the POST /v1/inquiries answer (patient_link)."
)


@bp.get("/inquiries/<inquiry_id>/appointment.ics")  # any id, well-formed or not: the same 410
@bp.doc(security=[{}], deprecated=True)
@documents_problems(bp, {410: "Always: the calendar file moved to the patient's own link"})
def appointment(inquiry_id: str):
    """Retired: the calendar file is served at the patient's own link, ``/my/<token>/appointment.ics``."""
    raise Problem(410, RETIRED, slug="moved-to-patient-link")


def calendar_file(
    appointment_id: uuid.UUID | str,
    slot_type: str,
    start: datetime,
    end: datetime,
    language: str | None,
    clinic: ClinicProfile,
) -> Response:
    """The appointment as an iCalendar download in ``language`` (English when we do not write it)."""
    language = language if language in LABELS.languages else "en"
    words = {
        "kind": LABELS.patient_words("slot_type", slot_type, language),
        "clinic": clinic.name,
        "phone": clinic.phone,
    }
    text = appointment_ics(
        uid=f"{appointment_id}@routing",
        start=start,
        end=end,
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
