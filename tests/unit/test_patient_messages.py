"""What patients read: times in the clinic's zone, in words a patient understands."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from routing.domain.patient_messages import booked, local_time

NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("utc", "reads"),
    [
        (datetime(2026, 11, 26, 14, 5, tzinfo=UTC), "Thursday 26 November at 9:05 AM EST"),
        (datetime(2026, 11, 26, 17, 0, tzinfo=UTC), "Thursday 26 November at 12:00 PM EST"),
        (datetime(2026, 11, 27, 5, 30, tzinfo=UTC), "Friday 27 November at 12:30 AM EST"),
        (datetime(2026, 11, 27, 20, 45, tzinfo=UTC), "Friday 27 November at 3:45 PM EST"),
        (datetime(2026, 7, 1, 13, 0, tzinfo=UTC), "Wednesday 1 July at 9:00 AM EDT"),
    ],
)
def test_a_time_reads_in_the_clinics_zone_on_a_twelve_hour_clock(utc, reads):
    assert local_time(utc, NEW_YORK) == reads


def test_a_booking_message_names_the_appointment_and_its_time():
    message = booked("consult", datetime(2026, 11, 30, 14, 0, tzinfo=UTC), NEW_YORK)

    assert message.startswith("Your pain-management consultation is booked for Monday 30 November at 9:00 AM EST.")
