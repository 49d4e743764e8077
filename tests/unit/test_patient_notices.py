"""The emails and text messages patients get: exact words in English and Spanish, nothing about their health."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from routing.domain import patient_notices
from routing.domain.clinic import DEMO_CLINIC, ClinicProfile
from routing.domain.labels import ANSWER_KINDS, LABELS
from routing.domain.patient_notices import Notice, channels_for, email, gsm_letters, sms, sms_segments
from routing.domain.phone_numbers import e164, masked

NEW_YORK = ZoneInfo("America/New_York")
CLINIC = ClinicProfile(
    "Hudson Back Clinic", "+1 212-555-0100", "12 Pine Street, New York", "https://hudson.example.org"
)
MONDAY_9AM = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
#: Until when an offered slot is kept: two hours after the offer was made, the Friday before.
FRIDAY_11_30AM = datetime(2026, 11, 27, 16, 30, tzinfo=UTC)
LINK = "https://routing.hudson.example.org/p/abc123"
UNSUBSCRIBE = "https://routing.hudson.example.org/unsubscribe/tok"
KINDS = ("booked", "held", "rebooked", "cancelled", "reminder", "offered")


def notice(kind: str, language: str | None = "en", *, link: str | None = LINK, clinic=CLINIC, start=MONDAY_9AM):
    until = start - timedelta(days=2, hours=21, minutes=30) if kind == "offered" else None
    return Notice(kind, language, clinic, NEW_YORK, start=None if kind == "held" else start, until=until, link=link)


# --- email ------------------------------------------------------------------------------------------------------


def test_the_booking_email_names_time_place_link_and_phone_in_plain_text():
    message = email(notice("booked"), UNSUBSCRIBE)

    assert message.subject == "Your appointment at Hudson Back Clinic is booked"
    assert message.language == "en"
    assert message.text == (
        "Your appointment at Hudson Back Clinic is booked.\n\n"
        "When: Monday 30 November at 9:00 AM EST\n"
        "Where: Hudson Back Clinic, 12 Pine Street, New York\n\n"
        "Your own page, to see your appointment, cancel it or ask for another time:\n"
        "https://routing.hudson.example.org/p/abc123\n\n"
        "Questions? Call us on +1 212-555-0100.\n\n"
        "-- \n"
        "You get this email because you asked Hudson Back Clinic for an appointment and agreed to be contacted "
        "about it. Please do not reply to it: call us instead.\n"
        "Stop these emails: https://routing.hudson.example.org/unsubscribe/tok\n"
    )


def test_the_booking_email_in_html_says_the_same_escaped():
    message = email(notice("booked", clinic=ClinicProfile("Spine & Joint <Clinic>", "555-0100", "1 Main St")), "u")

    assert message.html == (
        '<!doctype html>\n<html lang="en">\n<head><meta charset="utf-8">'
        "<title>Your appointment at Spine &amp; Joint &lt;Clinic&gt; is booked</title></head>\n<body>\n"
        "<p>Your appointment at Spine &amp; Joint &lt;Clinic&gt; is booked.</p>\n"
        "<p><strong>When:</strong> Monday 30 November at 9:00 AM EST<br>\n"
        "<strong>Where:</strong> Spine &amp; Joint &lt;Clinic&gt;, 1 Main St</p>\n"
        "<p>Your own page, to see your appointment, cancel it or ask for another time:<br>\n"
        '<a href="https://routing.hudson.example.org/p/abc123">https://routing.hudson.example.org/p/abc123</a></p>\n'
        "<p>Questions? Call us on 555-0100.</p>\n"
        "<hr>\n<p><small>You get this email because you asked Spine &amp; Joint &lt;Clinic&gt; for an appointment "
        "and agreed to be contacted about it. Please do not reply to it: call us instead.<br>\n"
        '<a href="u">Stop these emails</a></small></p>\n</body>\n</html>\n'
    )


def test_the_spanish_booking_email_is_in_spanish_with_the_time_in_spanish():
    message = email(notice("booked", "es"), UNSUBSCRIBE)

    assert message.subject == "Su cita en Hudson Back Clinic está reservada"
    assert message.language == "es"
    assert message.text == (
        "Su cita en Hudson Back Clinic está reservada.\n\n"
        "Cuándo: lunes 30 de noviembre a las 9:00 AM EST\n"
        "Dónde: Hudson Back Clinic, 12 Pine Street, New York\n\n"
        "Su propia página, para ver su cita, cancelarla o pedir otra hora:\n"
        "https://routing.hudson.example.org/p/abc123\n\n"
        "¿Preguntas? Llámenos al +1 212-555-0100.\n\n"
        "-- \n"
        "Recibe este correo porque pidió una cita a Hudson Back Clinic y aceptó que le contactaran sobre ella. "
        "No responda a este correo: llámenos.\n"
        "No recibir más correos: https://routing.hudson.example.org/unsubscribe/tok\n"
    )


def test_an_offer_email_says_an_earlier_appointment_is_kept_until_when_and_that_doing_nothing_changes_nothing():
    message = email(notice("offered"), UNSUBSCRIBE)

    assert message.subject == "An earlier appointment at Hudson Back Clinic"
    assert message.text == (
        "An earlier appointment has come free at Hudson Back Clinic. We are keeping it for you until Friday "
        "27 November at 11:30 AM EST.\n\n"
        "When: Monday 30 November at 9:00 AM EST\n"
        "Where: Hudson Back Clinic, 12 Pine Street, New York\n\n"
        "Accept it or say no on your own page:\n"
        "https://routing.hudson.example.org/p/abc123\n\n"
        "If you do nothing, your current plan stands and the time goes to someone else.\n\n"
        "Questions? Call us on +1 212-555-0100.\n\n"
        "-- \n"
        "You get this email because you asked Hudson Back Clinic for an appointment and agreed to be contacted "
        "about it. Please do not reply to it: call us instead.\n"
        "Stop these emails: https://routing.hudson.example.org/unsubscribe/tok\n"
    )
    assert (
        "<p>Accept it or say no on your own page:<br>\n"
        '<a href="https://routing.hudson.example.org/p/abc123">https://routing.hudson.example.org/p/abc123</a></p>\n'
        "<p>If you do nothing, your current plan stands and the time goes to someone else.</p>\n"
    ) in message.html


def test_the_spanish_offer_email_is_in_spanish_and_without_the_link_says_to_call_before_it_runs_out():
    message = email(notice("offered", "es", link=None), UNSUBSCRIBE)

    assert (message.subject, message.language) == ("Una cita más pronto en Hudson Back Clinic", "es")
    assert message.text == (
        "Se ha liberado una cita más pronto en Hudson Back Clinic. Se la guardamos hasta el viernes 27 de "
        "noviembre a las 11:30 AM EST.\n\n"
        "Cuándo: lunes 30 de noviembre a las 9:00 AM EST\n"
        "Dónde: Hudson Back Clinic, 12 Pine Street, New York\n\n"
        "Para aceptarla, llámenos al +1 212-555-0100 antes del viernes 27 de noviembre a las 11:30 AM EST.\n\n"
        "Si no hace nada, su plan actual se mantiene y la hora pasará a otra persona.\n\n"
        "¿Preguntas? Llámenos al +1 212-555-0100.\n\n"
        "-- \n"
        "Recibe este correo porque pidió una cita a Hudson Back Clinic y aceptó que le contactaran sobre ella. "
        "No responda a este correo: llámenos.\n"
        "No recibir más correos: https://routing.hudson.example.org/unsubscribe/tok\n"
    )


@pytest.mark.parametrize(
    ("kind", "language", "subject", "opening"),
    [
        (
            "held",
            "en",
            "Hudson Back Clinic has your request",
            "We have your request. A member of staff at Hudson Back Clinic will call you to arrange the right "
            "appointment, usually within one working day.\n\nIf you feel much worse before we call, go to the "
            "nearest emergency department or call 911.\n\n",
        ),
        (
            "held",
            "es",
            "Hudson Back Clinic ha recibido su solicitud",
            "Hemos recibido su solicitud. Una persona de Hudson Back Clinic le llamará para darle la cita adecuada, "
            "normalmente dentro de un día hábil.\n\nSi se siente mucho peor antes de nuestra llamada, vaya a la "
            "sala de emergencias más cercana o llame al 911.\n\n",
        ),
        (
            "rebooked",
            "en",
            "Your appointment at Hudson Back Clinic has changed",
            "Your appointment at Hudson Back Clinic has moved to a new time.\n\n"
            "When: Monday 30 November at 9:00 AM EST\nWhere: Hudson Back Clinic, 12 Pine Street, New York\n\n",
        ),
        (
            "rebooked",
            "es",
            "Su cita en Hudson Back Clinic ha cambiado",
            "Su cita en Hudson Back Clinic ha cambiado de hora.\n\n"
            "Cuándo: lunes 30 de noviembre a las 9:00 AM EST\nDónde: Hudson Back Clinic, 12 Pine Street, New York\n\n",
        ),
        (
            "cancelled",
            "en",
            "Your appointment at Hudson Back Clinic is cancelled",
            "Your appointment at Hudson Back Clinic on Monday 30 November at 9:00 AM EST has been cancelled.\n\n",
        ),
        (
            "cancelled",
            "es",
            "Su cita en Hudson Back Clinic está cancelada",
            "Su cita en Hudson Back Clinic del lunes 30 de noviembre a las 9:00 AM EST ha sido cancelada.\n\n",
        ),
        (
            "reminder",
            "en",
            "Reminder: your appointment at Hudson Back Clinic",
            "This is a reminder of your appointment at Hudson Back Clinic.\n\n"
            "When: Monday 30 November at 9:00 AM EST\nWhere: Hudson Back Clinic, 12 Pine Street, New York\n\n",
        ),
        (
            "reminder",
            "es",
            "Recordatorio: su cita en Hudson Back Clinic",
            "Le recordamos su cita en Hudson Back Clinic.\n\n"
            "Cuándo: lunes 30 de noviembre a las 9:00 AM EST\nDónde: Hudson Back Clinic, 12 Pine Street, New York\n\n",
        ),
    ],
)
def test_each_email_opens_with_what_happened_in_the_patients_language(kind, language, subject, opening):
    message = email(notice(kind, language), UNSUBSCRIBE)

    assert (message.subject, message.text[: len(opening)]) == (subject, opening)


def test_a_language_we_do_not_write_in_gets_english():
    assert email(notice("booked", "fr"), UNSUBSCRIBE) == email(notice("booked", "en"), UNSUBSCRIBE)


def test_without_the_patients_link_the_email_leaves_its_paragraph_out():
    message = email(notice("cancelled", link=None), UNSUBSCRIBE)

    assert message.text == (
        "Your appointment at Hudson Back Clinic on Monday 30 November at 9:00 AM EST has been cancelled.\n\n"
        "Questions? Call us on +1 212-555-0100.\n\n"
        "-- \n"
        "You get this email because you asked Hudson Back Clinic for an appointment and agreed to be contacted "
        "about it. Please do not reply to it: call us instead.\n"
        "Stop these emails: https://routing.hudson.example.org/unsubscribe/tok\n"
    )
    assert "<a href" in message.html
    assert "Your own page" not in message.html


def test_a_notice_about_an_appointment_needs_its_start():
    with pytest.raises(ValueError, match="names the appointment's start"):
        Notice("booked", "en", CLINIC, NEW_YORK, start=None)
    with pytest.raises(ValueError, match="names the slot's start and until when it is kept"):
        Notice("offered", "en", CLINIC, NEW_YORK, start=MONDAY_9AM)
    with pytest.raises(ValueError, match="no notice of kind"):
        Notice("urgent", "en", CLINIC, NEW_YORK)


# --- SMS ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "language", "text"),
    [
        (
            "booked",
            "en",
            "Hudson Back Clinic: appointment booked for Monday 30 November at 9:00 AM EST, 12 Pine Street, New York. "
            "Details: https://routing.hudson.example.org/p/abc123 Call +1 212-555-0100. Reply STOP to opt out.",
        ),
        (
            "booked",
            "es",
            "Hudson Back Clinic: cita reservada el lunes 30 de noviembre a las 9:00 AM EST, 12 Pine Street, New York. "
            "Info: https://routing.hudson.example.org/p/abc123 Tel. +1 212-555-0100. Para no recibir SMS: STOP",
        ),
        (
            "held",
            "en",
            "Hudson Back Clinic: we have your request. Our staff will call you to arrange an appointment. "
            "Details: https://routing.hudson.example.org/p/abc123 Call +1 212-555-0100. Reply STOP to opt out.",
        ),
        (
            "held",
            "es",
            "Hudson Back Clinic: recibimos su solicitud. Nuestro personal le va a llamar para darle cita. "
            "Info: https://routing.hudson.example.org/p/abc123 Tel. +1 212-555-0100. Para no recibir SMS: STOP",
        ),
        (
            "rebooked",
            "en",
            "Hudson Back Clinic: appointment moved to Monday 30 November at 9:00 AM EST, 12 Pine Street, New York. "
            "Details: https://routing.hudson.example.org/p/abc123 Call +1 212-555-0100. Reply STOP to opt out.",
        ),
        (
            "rebooked",
            "es",
            "Hudson Back Clinic: su cita cambia al lunes 30 de noviembre a las 9:00 AM EST, 12 Pine Street, New York. "
            "Info: https://routing.hudson.example.org/p/abc123 Tel. +1 212-555-0100. Para no recibir SMS: STOP",
        ),
        (
            "cancelled",
            "en",
            "Hudson Back Clinic: your appointment on Monday 30 November at 9:00 AM EST is cancelled. "
            "Details: https://routing.hudson.example.org/p/abc123 Call +1 212-555-0100. Reply STOP to opt out.",
        ),
        (
            "cancelled",
            "es",
            "Hudson Back Clinic: su cita del lunes 30 de noviembre a las 9:00 AM EST ha sido cancelada. "
            "Info: https://routing.hudson.example.org/p/abc123 Tel. +1 212-555-0100. Para no recibir SMS: STOP",
        ),
        (
            "reminder",
            "en",
            "Reminder from Hudson Back Clinic: appointment on Monday 30 November at 9:00 AM EST, 12 Pine Street, "
            "New York. Details: https://routing.hudson.example.org/p/abc123 Call +1 212-555-0100. "
            "Reply STOP to opt out.",
        ),
        (
            "reminder",
            "es",
            "Hudson Back Clinic: recuerde su cita el lunes 30 de noviembre a las 9:00 AM EST, 12 Pine Street, "
            "New York. Info: https://routing.hudson.example.org/p/abc123 Tel. +1 212-555-0100. "
            "Para no recibir SMS: STOP",
        ),
        (
            "offered",
            "en",
            "Hudson Back Clinic: an earlier appointment is free on Monday 30 November at 9:00 AM EST, 12 Pine "
            "Street, New York, kept for you until 11:30 AM EST. Accept or decline: "
            "https://routing.hudson.example.org/p/abc123 If you do nothing, your plan stands. Call +1 212-555-0100. "
            "Reply STOP to opt out.",
        ),
        (
            "offered",
            "es",
            "Hudson Back Clinic: hay una cita libre antes, el lunes 30 de noviembre a las 9:00 AM EST, 12 Pine "
            "Street, New York; se la guardamos hasta las 11:30 AM EST. Acepte o rechace: "
            "https://routing.hudson.example.org/p/abc123 Si no responde, nada cambia. Tel. +1 212-555-0100. "
            "Para no recibir SMS: STOP",
        ),
    ],
)
def test_each_text_message_says_what_happened_with_link_phone_and_how_to_stop(kind, language, text):
    assert sms(notice(kind, language)) == text


def test_a_spanish_text_message_drops_accents_outside_the_gsm_alphabet_and_keeps_those_inside():
    saturday = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)
    clinic = ClinicProfile("Clínica Núñez", "555-0100", "Calle Mayor 1")
    text = sms(notice("booked", "es", start=saturday, clinic=clinic))

    # í, á and ú are not in the GSM alphabet, ñ is: the 180 characters take two GSM segments, not three UCS-2 ones.
    assert text.startswith("Clinica Nuñez: cita reservada el sabado 28 de noviembre")
    assert (len(text), sms_segments(text)) == (180, 2)


# A patient's own link as the service makes it: the public address, /my/ and a signed token (129 characters for
# https://routing.example-clinic.org); a little longer here for a longer address.
LONG_LINK = "https://routing.example-clinic.org/my/" + "x" * 101


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("kind", KINDS)
def test_every_text_message_fits_two_segments_any_day_of_the_year_with_the_patients_link(kind, language):
    for link in (LONG_LINK, None):
        for day in range(366):
            start = datetime(2026, 1, 1, 17, 30, tzinfo=UTC) + timedelta(days=day)  # 12:30 PM: the longest hour
            text = sms(notice(kind, language, link=link, clinic=DEMO_CLINIC, start=start))
            assert sms_segments(text) <= 2, text


def test_the_address_is_left_out_of_a_text_only_when_it_would_not_fit_two_segments():
    short = sms(notice("reminder", clinic=DEMO_CLINIC))
    long = sms(notice("reminder", clinic=DEMO_CLINIC, link=LONG_LINK))

    assert (DEMO_CLINIC.address in short, sms_segments(short)) == (True, 2)
    assert long == (
        "Reminder from Riverside Spine & Pain Clinic (demo): appointment on Monday 30 November at 9:00 AM EST. "
        f"Details: {LONG_LINK} Call (555) 010-0142. Reply STOP to opt out."
    )
    assert sms_segments(long) == 2


@pytest.mark.parametrize(
    ("language", "text"),
    [
        (
            "en",
            "Hudson Back Clinic: an earlier appointment is free on Monday 30 November at 9:00 AM EST, 12 Pine "
            "Street, New York, kept for you until 11:30 AM EST. To take it, call +1 212-555-0100 by 11:30 AM EST. "
            "If you do nothing, your plan stands. Reply STOP to opt out.",
        ),
        (
            "es",
            "Hudson Back Clinic: hay una cita libre antes, el lunes 30 de noviembre a las 9:00 AM EST, 12 Pine "
            "Street, New York; se la guardamos hasta las 11:30 AM EST. Para aceptarla, llame al +1 212-555-0100 "
            "antes de las 11:30 AM EST. Si no responde, nada cambia. Para no recibir SMS: STOP",
        ),
    ],
)
def test_an_offer_texted_without_the_patients_link_says_to_call_before_it_runs_out(language, text):
    assert sms(notice("offered", language, link=None)) == text


@pytest.mark.parametrize(
    ("language", "text"),
    [
        (
            "en",
            "Riverside Spine & Pain Clinic (demo): earlier appointment free, kept for you until 11:30 AM EST. "
            "Accept or decline: {link} If you do nothing, your plan stands. Reply STOP to opt out.",
        ),
        (
            "es",
            "Riverside Spine & Pain Clinic (demo): cita libre antes, se la guardamos hasta las 11:30 AM EST. "
            "Acepte o rechace: {link} Si no responde, nada cambia. Para no recibir SMS: STOP",
        ),
    ],
)
def test_an_offer_texted_with_a_long_link_leaves_the_time_and_phone_to_the_page_and_keeps_the_rest(language, text):
    # The demo clinic's name and a link as long as the service makes them (129 characters).
    link = "https://routing.example-clinic.org/my/" + "x" * 91
    message = sms(notice("offered", language, link=link, clinic=DEMO_CLINIC))

    assert (message, sms_segments(message)) == (text.format(link=link), 2)


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # an extension character takes two septets
        ("€" * 81, 2),
        ("á" * 70, 1),  # outside GSM: UCS-2
        ("á" * 71, 2),
        ("á" * 134, 2),
        ("😀" * 35, 1),  # two UTF-16 code units each
    ],
)
def test_segments_are_counted_as_carriers_count_them(text, segments):
    assert sms_segments(text) == segments


def test_gsm_letters_keeps_gsm_accents_folds_others_and_keeps_what_has_no_letter():
    assert gsm_letters("¿Mañana, sábado? Él: \u201csí\u201d \u2013 ok 😀") == '¿Mañana, sabado? Él: "si" - ok 😀'


# --- nothing about the patient's health --------------------------------------------------------------------------


def _health_words() -> set[str]:
    """Every word for a symptom, a finding, a condition or a kind of appointment, in both languages and staff's."""
    words = set()
    for language in LABELS.languages:
        for kind in (*ANSWER_KINDS, "slot_type"):
            words.update(LABELS.patient[language][kind].values())
    # Not the urgencies: every held patient is told where the emergency department is, whatever their case.
    for kind in ("red_flag", "likely_cause", "route", "slot_type", "hold"):
        words.update(LABELS.staff[kind].values())
    return {word.lower() for word in words if len(word) > 4}


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("kind", KINDS)
def test_no_notice_names_a_symptom_a_condition_a_triage_result_or_the_kind_of_appointment(kind, language):
    rendered = email(notice(kind, language), UNSUBSCRIBE)
    texts = [rendered.subject, rendered.text, rendered.html, sms(notice(kind, language))]

    named = sorted({word for word in _health_words() for text in texts if word in text.lower()})
    assert named == []


# --- who gets what -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("consent", "preference", "email_address", "phone", "channels"),
    [
        (False, "email", "a@example.org", "+12125550100", ()),
        (True, "email", "a@example.org", "+12125550100", ("email",)),
        (True, "email", None, "+12125550100", ()),
        (True, "sms", "a@example.org", "+12125550100", ("sms",)),
        (True, "sms", "a@example.org", None, ()),
        (True, "phone", "a@example.org", "+12125550100", ()),
        (True, None, "a@example.org", "+12125550100", ("email",)),
        (True, None, None, "+12125550100", ()),
    ],
)
def test_a_patient_is_told_only_with_consent_on_the_channel_they_chose_and_gave(
    consent, preference, email_address, phone, channels
):
    assert channels_for(consent=consent, preference=preference, email=email_address, phone=phone) == channels


def test_the_outbox_events_patients_hear_about():
    assert dict(patient_notices.NOTICES) == {
        "appointment.booked": "booked",
        "inquiry.held": "held",
        "appointment.rebooked": "rebooked",
        "appointment.cancelled": "cancelled",
        "appointment.reminder_due": "reminder",
        "waitlist.offered": "offered",
    }


# --- phone numbers -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "country", "number"),
    [
        ("212 555 0100", "1", "+12125550100"),
        ("(212) 555-0100", "1", "+12125550100"),
        ("1-212-555-0100", "1", "+12125550100"),
        ("+1 212 555 0100", "1", "+12125550100"),
        ("+34 612 345 678", "1", "+34612345678"),
        ("0034 612 345 678", "1", "+34612345678"),
        ("612 345 678", "34", "+34612345678"),
        ("07700 900123", "44", "+447700900123"),
        ("555 0100", "1", None),  # seven digits: no area code
        ("212 555 01000", "1", None),
        ("call me", "1", None),
        ("212 555 0100 ext 12", "1", None),
        ("+1234567890123456", "1", None),  # sixteen digits
        ("", "1", None),
        (None, "1", None),
    ],
)
def test_a_written_number_becomes_e164_or_nothing(written, country, number):
    assert e164(written, country) == number


def test_staff_see_only_the_last_four_digits_of_a_number():
    assert masked("+12125550100") == "…0100"
