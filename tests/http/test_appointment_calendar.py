"""GET /v1/inquiries/{id}/appointment.ics: the booked appointment as a calendar file, and nothing about the patient."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from tests.http.intake_helpers import PATIENT, add_slots, inquiry


@pytest.fixture
def slots(app):
    return add_slots(app, "consult", [26, 27])


def _unfolded(text: str) -> dict[str, str]:
    lines = text.replace("\r\n ", "").split("\r\n")
    return dict(line.split(":", 1) for line in lines if line)


def test_a_booked_appointment_downloads_as_an_icalendar_event_in_utc(app, client, slots):
    created = client.post("/v1/inquiries", json=inquiry()).get_json()

    response = client.get(f"/v1/inquiries/{created['id']}/appointment.ics")

    text = response.get_data(as_text=True)
    fields = _unfolded(text)
    start = datetime.fromisoformat(created["appointment"]["start"]).astimezone(UTC)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="appointment.ics"'
    assert text.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n")
    assert text.endswith("END:VEVENT\r\nEND:VCALENDAR\r\n")
    assert fields["UID"] == f"{created['appointment']['id']}@routing"
    assert fields["DTSTART"] == start.strftime("%Y%m%dT%H%M%SZ")
    assert fields["DTSTART"] == slots[0].strftime("%Y%m%dT%H%M%SZ")
    assert fields["SUMMARY"] == "pain-management consultation at Riverside Spine & Pain Clinic (demo)"
    assert (
        fields["LOCATION"] == "Riverside Spine & Pain Clinic (demo)\\, 100 Example Avenue\\, Suite 200\\, Springfield"
    )
    assert fields["DESCRIPTION"] == (
        "Your pain-management consultation at Riverside Spine & Pain Clinic (demo). To change or cancel it\\, "
        "call (555) 010-0142."
    )
    for private in PATIENT.values():
        assert private not in text


def test_the_calendar_file_is_in_the_inquiry_s_language(client, slots):
    created = client.post("/v1/inquiries", json=inquiry(language="es")).get_json()

    fields = _unfolded(client.get(f"/v1/inquiries/{created['id']}/appointment.ics").get_data(as_text=True))

    assert fields["SUMMARY"] == "consulta de manejo del dolor en Riverside Spine & Pain Clinic (demo)"


def test_without_a_booked_appointment_there_is_no_calendar_file(client):
    held = client.post("/v1/inquiries", json=inquiry()).get_json()  # no slots: held for staff

    unbooked = client.get(f"/v1/inquiries/{held['id']}/appointment.ics")
    unknown = client.get(f"/v1/inquiries/{uuid.uuid4()}/appointment.ics")

    assert held["status"] == "needs_review"
    for response in (unbooked, unknown):
        assert response.status_code == 404
        assert response.mimetype == "application/problem+json"


def test_the_calendar_file_is_documented(client):
    spec = client.get("/openapi.json").get_json()

    get = spec["paths"]["/v1/inquiries/{inquiry_id}/appointment.ics"]["get"]
    assert set(get["responses"]["200"]["content"]) == {"text/calendar"}
    assert "404" in get["responses"]
