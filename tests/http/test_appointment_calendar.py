"""The booked appointment as a calendar file at the patient's own link, and nothing about the patient; the old
address by inquiry id is retired."""

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

    response = client.get(f"{created['patient_link']}/appointment.ics")

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

    fields = _unfolded(client.get(f"{created['patient_link']}/appointment.ics").get_data(as_text=True))

    assert fields["SUMMARY"] == "consulta de manejo del dolor en Riverside Spine & Pain Clinic (demo)"


def test_without_a_booked_appointment_the_link_has_no_calendar_file(client):
    held = client.post("/v1/inquiries", json=inquiry()).get_json()  # no slots: held for staff

    unbooked = client.get(f"{held['patient_link']}/appointment.ics")

    assert held["status"] == "needs_review"
    assert unbooked.status_code == 404
    assert unbooked.mimetype == "text/html"


@pytest.mark.parametrize("kind", ["known", "unknown", "malformed"])
def test_the_calendar_file_by_inquiry_id_is_retired_for_every_id(client, slots, kind):
    inquiry_id = {
        "known": lambda: client.post("/v1/inquiries", json=inquiry()).get_json()["id"],
        "unknown": lambda: str(uuid.uuid4()),
        "malformed": lambda: "true",
    }[kind]()

    response = client.get(f"/v1/inquiries/{inquiry_id}/appointment.ics")

    body = response.get_json()
    assert response.status_code == 410
    assert response.mimetype == "application/problem+json"
    assert body["type"] == "urn:routing:problem:moved-to-patient-link"
    assert body["detail"] == (
        "This address is retired: an inquiry's id does not open patient information. The calendar file is on the "
        "patient's own page, /my/<token>/appointment.ics; the link is on the confirmation page after the form, in "
        "the clinic's messages to the patient, and in the POST /v1/inquiries answer (patient_link)."
    )
    assert "BEGIN:VCALENDAR" not in response.get_data(as_text=True)


def test_the_retired_address_is_documented_as_deprecated(client):
    spec = client.get("/openapi.json").get_json()

    get = spec["paths"]["/v1/inquiries/{inquiry_id}/appointment.ics"]["get"]
    assert get["deprecated"] is True
    assert set(get["responses"]) == {"410", "default"}
