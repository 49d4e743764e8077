"""An appointment as an iCalendar file (RFC 5545), for a patient's "add to calendar".

One event, times in UTC (every calendar shows them in the device's own zone, so no time-zone block is
needed), the clinic as the place, and nothing about the patient: the file may be forwarded or synced.
"""

from __future__ import annotations

from datetime import UTC, datetime

#: RFC 5545 3.1: lines longer than 75 octets are folded (CRLF and one space).
_LINE_OCTETS = 75


def appointment_ics(
    *, uid: str, start: datetime, end: datetime, summary: str, location: str, description: str, now: datetime
) -> str:
    """The iCalendar text of one appointment (CRLF line ends, folded, text values escaped)."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//routing//patient appointment//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:{_text(uid)}",
        f"DTSTAMP:{_utc(now)}",
        f"DTSTART:{_utc(start)}",
        f"DTEND:{_utc(end)}",
        f"SUMMARY:{_text(summary)}",
        f"LOCATION:{_text(location)}",
        f"DESCRIPTION:{_text(description)}",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "".join(_fold(line) + "\r\n" for line in lines)


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _text(value: str) -> str:
    """A TEXT value escaped (RFC 5545 3.3.11): backslash, semicolon, comma, and line breaks as ``\\n``."""
    escaped = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return escaped.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")


def _fold(line: str) -> str:
    """Fold at 75 octets without cutting a UTF-8 character in two."""
    pieces: list[str] = []
    current, size = "", 0
    limit = _LINE_OCTETS
    for char in line:
        octets = len(char.encode("utf-8"))
        if size + octets > limit:
            pieces.append(current)
            current, size = "", 0
            limit = _LINE_OCTETS - 1  # continuation lines start with a space
        current += char
        size += octets
    pieces.append(current)
    return "\r\n ".join(pieces)
