"""Through the webhook: the patient's preferred times choose the slot, and the patient is told how it went."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.http.intake_helpers import add_slots, inquiry

NEW_YORK = ZoneInfo("America/New_York")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
WEEKDAYS_ES = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")


@pytest.fixture
def consults(app):
    """Consults 26, 50 and 74 hours from now: three different days."""
    return app, add_slots(app, "consult", [26, 50, 74])


def test_the_slot_on_the_day_the_patient_asked_for_is_booked(client, consults):
    _, starts = consults
    wanted = starts[2].astimezone(NEW_YORK)

    body = client.post("/v1/inquiries", json=inquiry(preferred_times=[WEEKDAYS[wanted.weekday()]])).get_json()

    assert datetime.fromisoformat(body["appointment"]["start"]) == starts[2]
    assert "It is at one of the times you told us suit you." in body["patient_message"]


def test_a_spanish_day_books_that_day(client, consults):
    _, starts = consults
    wanted = starts[1].astimezone(NEW_YORK)
    body = inquiry("me lastimé la espalda levantando una caja hace 3 dias", language="es")

    answer = client.post("/v1/inquiries", json={**body, "preferred_times": [WEEKDAYS_ES[wanted.weekday()]]})

    assert datetime.fromisoformat(answer.get_json()["appointment"]["start"]) == starts[1]
    assert "Es uno de los horarios que nos indicó." in answer.get_json()["patient_message"]


def test_when_no_slot_suits_the_earliest_is_booked_and_the_patient_told(client, consults):
    _, starts = consults
    taken = {start.astimezone(NEW_YORK).weekday() for start in starts}
    other_day = next(day for day in range(7) if day not in taken)

    body = client.post("/v1/inquiries", json=inquiry(preferred_times=[WEEKDAYS[other_day]])).get_json()

    assert datetime.fromisoformat(body["appointment"]["start"]) == starts[0]
    assert "matched the times you gave, so we booked the earliest one." in body["patient_message"]
