"""The calendar file: RFC 5545 lines (CRLF, folded at 75 octets), escaped text, times in UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from routing.domain.calendar_file import appointment_ics

NEW_YORK = ZoneInfo("America/New_York")


def _file(**changes) -> str:
    values = {
        "uid": "a1@routing",
        "start": datetime(2026, 11, 26, 9, 0, tzinfo=NEW_YORK),
        "end": datetime(2026, 11, 26, 9, 30, tzinfo=NEW_YORK),
        "summary": "Consult",
        "location": "Clinic",
        "description": "Call us.",
        "now": datetime(2026, 11, 20, 12, 0, tzinfo=UTC),
        **changes,
    }
    return appointment_ics(**values)


def test_one_event_with_its_times_in_utc():
    text = _file()

    assert text == (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//routing//patient appointment//EN\r\nCALSCALE:GREGORIAN\r\n"
        "METHOD:PUBLISH\r\nBEGIN:VEVENT\r\nUID:a1@routing\r\nDTSTAMP:20261120T120000Z\r\n"
        "DTSTART:20261126T140000Z\r\nDTEND:20261126T143000Z\r\nSUMMARY:Consult\r\nLOCATION:Clinic\r\n"
        "DESCRIPTION:Call us.\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def test_text_values_are_escaped():
    text = _file(location="Suite 2, Main St; back door\\side\nsecond line")

    assert "LOCATION:Suite 2\\, Main St\\; back door\\\\side\\nsecond line\r\n" in text


def test_long_lines_are_folded_at_75_octets_without_cutting_a_character():
    summary = "Cita para una inyección (por ejemplo un bloqueo de las articulaciones facetarias) en Clínica Ñandú"

    text = _file(summary=summary)

    lines = text.split("\r\n")
    assert max(len(line.encode("utf-8")) for line in lines) <= 75
    assert [line for line in lines if line.startswith(" ")] != []  # it was long enough to fold
    assert f"\r\nSUMMARY:{summary}\r\n" in text.replace("\r\n ", "")  # unfolding gives it back whole
