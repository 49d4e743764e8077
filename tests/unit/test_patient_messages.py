"""What patients read: times in the clinic's zone, in words a patient understands."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from routing.domain import patient_messages
from routing.domain.clinic import DEMO_CLINIC, ClinicProfile
from routing.domain.patient_messages import booked, local_time
from routing.domain.time_preferences import PreferenceResult

NEW_YORK = ZoneInfo("America/New_York")
CLINIC = ClinicProfile(
    "Hudson Back Clinic", "+1 212-555-0100", "12 Pine Street, New York", "https://hudson.example.org"
)
MONDAY_9AM = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)


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


def test_a_booking_message_names_the_appointment_its_time_and_the_clinic_with_its_number():
    message = booked("consult", MONDAY_9AM, NEW_YORK, clinic=CLINIC)

    assert message == (
        "Your pain-management consultation at Hudson Back Clinic, 12 Pine Street, New York, is booked for "
        "Monday 30 November at 9:00 AM EST. If that time does not suit you, call us on +1 212-555-0100 and we "
        "will find another."
    )


def test_a_spanish_booking_message_names_the_clinic_and_its_number():
    message = booked("consult", MONDAY_9AM, NEW_YORK, "es", clinic=CLINIC)

    assert message == (
        "Su consulta de manejo del dolor en Hudson Back Clinic, 12 Pine Street, New York, está reservada para el "
        "lunes 30 de noviembre a las 9:00 AM EST. Si ese horario no le conviene, llame al +1 212-555-0100 y le "
        "buscaremos otro."
    )


def test_without_a_profile_the_demo_clinic_is_named_never_no_number():
    message = booked("consult", MONDAY_9AM, NEW_YORK)

    assert message.endswith(f"call us on {DEMO_CLINIC.phone} and we will find another.")
    assert DEMO_CLINIC.name.endswith("(demo)")


def test_a_booking_that_fits_the_preferred_times_says_so():
    message = booked("consult", MONDAY_9AM, NEW_YORK, clinic=CLINIC, preference=PreferenceResult(fitted=True))

    assert "is booked for Monday 30 November at 9:00 AM EST. It is at one of the times you told us suit you. If" in (
        message
    )


def test_a_booking_outside_the_preferred_times_says_none_matched_and_the_earliest_was_booked():
    message = booked("consult", MONDAY_9AM, NEW_YORK, clinic=CLINIC, preference=PreferenceResult(fitted=False))

    assert message.split("EST. ")[1] == (
        "None of the free times within the time frame your case needs matched the times you gave, so we booked "
        "the earliest one. If that time does not suit you, call us on +1 212-555-0100 and we will find another."
    )


def test_a_spanish_booking_outside_the_preferred_times_says_so_in_spanish():
    message = booked("consult", MONDAY_9AM, NEW_YORK, "es", clinic=CLINIC, preference=PreferenceResult(fitted=False))

    assert message.split("EST. ")[1] == (
        "Ningún horario libre en el plazo que su caso necesita coincidía con los que nos indicó, así que "
        "reservamos el primero disponible. Si ese horario no le conviene, llame al +1 212-555-0100 y le "
        "buscaremos otro."
    )


@pytest.mark.parametrize(
    ("language", "note"),
    [
        ("en", "We could not read some of the times you gave for certain; the clinic will try to accommodate them."),
        ("es", "No pudimos leer con seguridad alguno de los horarios que nos indicó; la clínica intentará tenerlo "
         "en cuenta."),
    ],
)  # fmt: skip
def test_an_unreadable_preference_is_not_guessed_and_the_clinic_will_try_to_accommodate_it(language, note):
    message = booked("consult", MONDAY_9AM, NEW_YORK, language, clinic=CLINIC, preference=PreferenceResult(unread=True))

    assert message.split("EST. ")[1].startswith(f"{note} ")


@pytest.mark.parametrize(
    ("message", "phone_says"),
    [
        (patient_messages.urgent_review("emergency", "en", clinic=CLINIC), "you can call us on +1 212-555-0100."),
        (patient_messages.urgent_review("urgent", "en", clinic=CLINIC), "call us on +1 212-555-0100."),
        (patient_messages.urgent_review("emergency", "es", clinic=CLINIC), "puede llamarnos al +1 212-555-0100."),
        (patient_messages.urgent_review("urgent", "es", clinic=CLINIC), "llámenos al +1 212-555-0100."),
        (patient_messages.held_for_staff("consult", None, NEW_YORK, clinic=CLINIC), "call us on +1 212-555-0100."),
        (patient_messages.held_for_staff("consult", MONDAY_9AM, NEW_YORK, "es", clinic=CLINIC),
         "llamarnos al +1 212-555-0100."),
        (patient_messages.held_for_reading("en", clinic=CLINIC), "call us on +1 212-555-0100."),
        (patient_messages.held_for_reading("es", clinic=CLINIC), "llamarnos al +1 212-555-0100."),
        (patient_messages.pending("en", clinic=CLINIC), "call us on +1 212-555-0100 (https://hudson.example.org)."),
        (patient_messages.pending("es", clinic=CLINIC), "llámenos al +1 212-555-0100 (https://hudson.example.org)."),
    ],
)  # fmt: skip
def test_every_message_that_leaves_the_patient_waiting_names_the_clinic_and_its_number(message, phone_says):
    assert "Hudson Back Clinic" in message
    assert phone_says in message
    assert "call the clinic" not in message


def test_the_pending_message_names_the_clinic_and_its_number():
    assert patient_messages.pending("en", clinic=CLINIC) == (
        "We have received your message. Hudson Back Clinic will contact you to confirm your appointment. If you "
        "have questions, call us on +1 212-555-0100 (https://hudson.example.org)."
    )
    assert patient_messages.pending("es", clinic=CLINIC) == (
        "Hemos recibido su mensaje. Hudson Back Clinic se comunicará con usted para confirmar su cita. Si tiene "
        "preguntas, llámenos al +1 212-555-0100 (https://hudson.example.org)."
    )


# --- on the waitlist -----------------------------------------------------------------------------------------


EMERGENCY_EN = patient_messages.EMERGENCY_SIGNS["en"]
EMERGENCY_ES = patient_messages.EMERGENCY_SIGNS["es"]


@pytest.mark.parametrize(
    ("language", "proposed", "channels", "message"),
    [
        (
            "en",
            MONDAY_9AM,
            ("email",),
            "We could not find a free MRI scan (diagnostic imaging) as soon as we would like; the earliest we can "
            "offer now is Monday 30 November at 9:00 AM EST. You are on our waitlist for an earlier MRI scan "
            "(diagnostic imaging): if one frees up, we will offer it to you by email and on your own page. "
            "Otherwise staff at Hudson Back Clinic will call you to arrange one. You can also call us on "
            f"+1 212-555-0100. {EMERGENCY_EN}",
        ),
        (
            "en",
            None,
            ("sms",),
            "We could not find a free MRI scan (diagnostic imaging) soon enough. You are on our waitlist for an "
            "earlier MRI scan (diagnostic imaging): if one frees up, we will offer it to you by text message and on "
            "your own page. Otherwise staff at Hudson Back Clinic will call you to arrange one. You can also call "
            f"us on +1 212-555-0100. {EMERGENCY_EN}",
        ),
        (
            "en",
            None,
            (),
            "We could not find a free MRI scan (diagnostic imaging) soon enough. You are on our waitlist for an "
            "earlier MRI scan (diagnostic imaging): if one frees up, we will offer it to you on your own page. "
            "Otherwise staff at Hudson Back Clinic will call you to arrange one. You can also call us on "
            f"+1 212-555-0100. {EMERGENCY_EN}",
        ),
        (
            "es",
            MONDAY_9AM,
            ("sms",),
            "No encontramos una resonancia magnética (estudio de imagen) libre tan pronto como quisiéramos; lo más "
            "pronto que podemos ofrecerle ahora es el lunes 30 de noviembre a las 9:00 AM EST. Está en nuestra "
            "lista de espera para una resonancia magnética (estudio de imagen) más pronto: si se libera una, se la "
            "ofreceremos por mensaje de texto y en su propia página. Si no, el personal de Hudson Back Clinic le "
            f"llamará para programarla. También puede llamarnos al +1 212-555-0100. {EMERGENCY_ES}",
        ),
        (
            "es",
            None,
            ("email",),
            "No encontramos una resonancia magnética (estudio de imagen) libre con la prontitud necesaria. Está en "
            "nuestra lista de espera para una resonancia magnética (estudio de imagen) más pronto: si se libera "
            "una, se la ofreceremos por correo electrónico y en su propia página. Si no, el personal de Hudson Back "
            f"Clinic le llamará para programarla. También puede llamarnos al +1 212-555-0100. {EMERGENCY_ES}",
        ),
    ],
)
def test_a_patient_on_the_waitlist_is_told_an_earlier_slot_will_be_offered_on_their_channel_or_staff_call(
    language, proposed, channels, message
):
    held = patient_messages.held_for_staff("imaging", proposed, NEW_YORK, language, clinic=CLINIC, waitlist=channels)

    assert held == message


def test_without_the_waitlist_the_held_message_is_as_before():
    assert patient_messages.held_for_staff("consult", None, NEW_YORK, clinic=CLINIC) == (
        "We could not find a free pain-management consultation soon enough. Staff at Hudson Back Clinic will call "
        f"you to arrange one. You can also call us on +1 212-555-0100. {EMERGENCY_EN}"
    )
