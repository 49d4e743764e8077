"""The patient channels end to end: an inquiry taken by the intake, then the outbox's questions to the email and
SMS channels (who is told, then the delivery) answered against a real SMTP server and a Twilio-shaped API."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from routing import create_app
from routing.adapters.db.models import Appointment, AuditEvent, Inquiry
from routing.adapters.notify.sms_http import TwilioSms
from routing.adapters.notify.smtp import SmtpMailer
from routing.config import SmsSettings, SmtpSettings, load_settings
from routing.domain.clinic import ClinicProfile
from routing.domain.patient_messages import local_time
from routing.services import opt_outs
from routing.services.outbox import DeliveryResult, OutboundEvent
from routing.services.patient_notifications import EmailChannel, SmsChannel, build_patient_channels
from tests.conftest import settings_for
from tests.http.intake_helpers import STRAIN, add_slots, inquiry
from tests.notify.conftest import ACCOUNT_SID, AUTH_TOKEN
from tests.notify.servers import free_port

NEW_YORK = ZoneInfo("America/New_York")
CLINIC = ClinicProfile("Hudson Back Clinic", "+1 212-555-0100", "12 Pine Street, New York")
PUBLIC_URL = "https://routing.hudson.example.org"
SECRET_KEY = "s" * 40
SENDER = "appointments@hudson.example.org"


def _link(inquiry_id: uuid.UUID, _now: datetime) -> str:
    return f"{PUBLIC_URL}/p/{inquiry_id.hex[:12]}"


def email_channel(port: int, link_for=_link) -> EmailChannel:
    mailer = SmtpMailer(SmtpSettings("127.0.0.1", port, "none", SENDER, timeout=5.0))
    return EmailChannel(
        mailer, public_url=PUBLIC_URL, secret_key=SECRET_KEY, clinic=CLINIC, tz=NEW_YORK, link_for=link_for
    )


def sms_channel(base_url: str, link_for=_link) -> SmsChannel:
    sender = TwilioSms(SmsSettings(ACCOUNT_SID, AUTH_TOKEN, "+12125550199", base_url, "1", 5.0))
    return SmsChannel(sender, clinic=CLINIC, tz=NEW_YORK, link_for=link_for)


def submit(client, **extra) -> uuid.UUID:
    """Send an inquiry through the intake; consent is given unless ``consent`` says otherwise (None: left out)."""
    fields = {"consent": True, **extra}
    body = inquiry(**{name: value for name, value in fields.items() if value is not None})
    body["patient"]["phone"] = "(212) 555-0123"
    response = client.post("/v1/inquiries", json=body)
    assert response.status_code in (200, 201), response.get_json()
    return uuid.UUID(response.get_json()["id"])


def event(kind: str, inquiry_id: uuid.UUID, **data) -> OutboundEvent:
    return OutboundEvent(uuid.uuid4(), kind, inquiry_id, datetime.now(UTC), data)


def targets(app, channel, outbound: OutboundEvent) -> list[str]:
    with app.extensions["routing"].db.session() as session, session.begin():
        return channel.targets(session, outbound)


def deliver(app, channel, outbound: OutboundEvent) -> DeliveryResult:
    with app.extensions["routing"].db.session() as session:
        return channel.deliver(session, outbound, "patient")


def appointment_of(app, inquiry_id: uuid.UUID) -> Appointment:
    with app.extensions["routing"].db.session() as session:
        return session.scalars(select(Appointment).where(Appointment.inquiry_id == inquiry_id)).one()


def without_latency(result: DeliveryResult) -> tuple[bool, bool, str]:
    assert result.latency_ms >= 0
    return result.ok, result.retry, result.detail


@pytest.fixture
def booked(app, client):
    """A booked consult for a patient who consented (email and phone given, no preference)."""
    add_slots(app, "consult", [30])
    return submit(client)


def test_a_booking_is_emailed_to_a_patient_who_consented_with_time_place_link_and_unsubscribe(app, booked, smtp_server):
    server = smtp_server()
    channel = email_channel(server.port)
    outbound = event("appointment.booked", booked)
    when = local_time(appointment_of(app, booked).start, NEW_YORK)

    assert targets(app, channel, outbound) == ["patient"]
    assert without_latency(deliver(app, channel, outbound)) == (True, False, "smtp 250 accepted")

    [received] = server.received
    assert received.rcpt_tos == ["ana@example.org"]
    message = received.message
    token = opt_outs.unsubscribe_token(SECRET_KEY, booked, "email", "en")
    assert message["Subject"] == "Your appointment at Hudson Back Clinic is booked"
    assert message["Message-ID"] == f"<{outbound.id}.booked@hudson.example.org>"
    assert message["List-Unsubscribe"] == f"<{PUBLIC_URL}/unsubscribe/{token}>"
    assert message.get_body(("plain",)).get_content() == (
        "Your appointment at Hudson Back Clinic is booked.\n\n"
        f"When: {when}\n"
        "Where: Hudson Back Clinic, 12 Pine Street, New York\n\n"
        "Your own page, to see your appointment, cancel it or ask for another time:\n"
        f"{PUBLIC_URL}/p/{booked.hex[:12]}\n\n"
        "Questions? Call us on +1 212-555-0100.\n\n"
        "-- \n"
        "You get this email because you asked Hudson Back Clinic for an appointment and agreed to be contacted "
        "about it. Please do not reply to it: call us instead.\n"
        f"Stop these emails: {PUBLIC_URL}/unsubscribe/{token}\n"
    )


def test_a_patient_who_chose_text_messages_is_texted_at_their_number_in_e164(app, client, smtp_server, sms_api):
    add_slots(app, "consult", [30])
    inquiry_id = submit(client, contact_preference="sms")
    by_email, by_sms = email_channel(smtp_server().port), sms_channel(sms_api.url)
    outbound = event("appointment.booked", inquiry_id)
    when = local_time(appointment_of(app, inquiry_id).start, NEW_YORK)

    assert (targets(app, by_email, outbound), targets(app, by_sms, outbound)) == ([], ["patient"])
    assert without_latency(deliver(app, by_sms, outbound)) == (
        True,
        False,
        "sms 201 SM00000000000000000000000000000001",
    )
    assert sms_api.messages == [
        {
            "To": "+12125550123",
            "From": "+12125550199",
            "Body": f"Hudson Back Clinic: appointment booked for {when}, 12 Pine Street, New York. "
            f"Details: {PUBLIC_URL}/p/{inquiry_id.hex[:12]} Call +1 212-555-0100. Reply STOP to opt out.",
        }
    ]


def test_no_email_or_text_carries_the_patients_name_contact_or_what_they_wrote(app, client, smtp_server, sms_api):
    add_slots(app, "consult", [30, 31])
    by_email_id = submit(client)
    by_sms_id = submit(client, contact_preference="sms", message=STRAIN + " Second form.")
    server = smtp_server()

    deliver(app, email_channel(server.port), event("appointment.booked", by_email_id))
    deliver(app, sms_channel(sms_api.url), event("appointment.booked", by_sms_id))

    [email] = server.received
    [text] = sms_api.messages
    body = email.message.get_body(("plain",)).get_content() + email.message.get_body(("html",)).get_content()
    for private in ("Ana", "Diaz", "ana@example.org", "555-0123", "couch", "spasm", "6/10", "consultation"):
        assert private not in body
        assert private not in text["Body"]


@pytest.mark.parametrize(
    ("extra", "email_targets", "sms_targets"),
    [
        ({"consent": False}, [], []),
        ({"consent": None}, [], []),
        ({"contact_preference": "phone"}, [], []),
        ({"contact_preference": "email"}, ["patient"], []),
        ({"contact_preference": "sms"}, [], ["patient"]),
        ({}, ["patient"], []),
    ],
)
def test_only_a_consenting_patient_is_told_and_only_on_the_channel_they_chose(
    app, client, extra, email_targets, sms_targets
):
    add_slots(app, "consult", [30])
    inquiry_id = submit(client, **extra)
    outbound = event("appointment.booked", inquiry_id)

    got = (
        targets(app, email_channel(free_port()), outbound),
        targets(app, sms_channel("http://127.0.0.1:9"), outbound),
    )

    assert got == (email_targets, sms_targets)


@pytest.mark.parametrize("kind", ["inquiry.received", "inquiry.routed", "inquiry.urgent_review", "other.thing"])
def test_events_patients_are_not_told_about_go_to_no_patient(app, booked, kind):
    assert targets(app, email_channel(free_port()), event(kind, booked)) == []


def test_an_opted_out_address_is_not_targeted_and_a_delivery_already_queued_is_skipped(app, booked, smtp_server):
    server = smtp_server()
    channel = email_channel(server.port)
    outbound = event("appointment.booked", booked)
    with app.extensions["routing"].db.session() as session, session.begin():
        opt_outs.set_opt_out(
            session, "email", "ana@example.org", opted_out=True, source="unsubscribe_link", now=datetime.now(UTC)
        )

    assert targets(app, channel, outbound) == []
    assert without_latency(deliver(app, channel, outbound)) == (True, False, "not sent: the patient opted out")
    assert server.received == []


def test_a_number_the_provider_says_opted_out_is_recorded_audited_and_not_texted_again(app, client, sms_api):
    add_slots(app, "consult", [30])
    inquiry_id = submit(client, contact_preference="sms")
    channel = sms_channel(sms_api.url)
    sms_api.answers = [(400, {"code": 21610, "message": "Attempt to send to unsubscribed recipient", "status": 400})]

    result = deliver(app, channel, event("appointment.booked", inquiry_id))

    assert without_latency(result) == (False, False, "sms 400 error 21610 (recipient opted out)")
    assert targets(app, channel, event("appointment.reminder_due", inquiry_id)) == []
    with app.extensions["routing"].db.session() as session:
        [audit] = session.scalars(select(AuditEvent).where(AuditEvent.action == "contact.opted_out")).all()
        assert (audit.actor_name, audit.inquiry_id, audit.details) == (
            "sms provider",
            inquiry_id,
            {"channel": "sms", "contact": "…0123", "source": "provider"},
        )


def test_a_mail_server_that_is_down_is_a_delivery_to_retry(app, booked):
    result = deliver(app, email_channel(free_port()), event("appointment.booked", booked))

    assert without_latency(result) == (False, True, "smtp connection failed (ConnectionRefusedError)")


def test_a_confirmation_or_reminder_for_an_appointment_cancelled_since_is_not_sent(app, booked, smtp_server):
    server = smtp_server()
    appointment = appointment_of(app, booked)
    with app.extensions["routing"].db.session() as session, session.begin():
        session.get(Appointment, appointment.id).status = "cancelled"

    results = [
        without_latency(
            deliver(app, email_channel(server.port), event(kind, booked, appointment_id=str(appointment.id)))
        )
        for kind in ("appointment.booked", "appointment.reminder_due")
    ]

    assert results == [(True, False, "not sent: the appointment is no longer as the event says")] * 2
    assert server.received == []


def test_a_cancellation_names_the_cancelled_appointments_time(app, booked, smtp_server):
    server = smtp_server()
    appointment = appointment_of(app, booked)
    with app.extensions["routing"].db.session() as session, session.begin():
        session.get(Appointment, appointment.id).status = "cancelled"
    when = local_time(appointment.start, NEW_YORK)

    result = deliver(app, email_channel(server.port), event("appointment.cancelled", booked))

    assert without_latency(result) == (True, False, "smtp 250 accepted")
    message = server.received[0].message
    assert message["Subject"] == "Your appointment at Hudson Back Clinic is cancelled"
    assert (
        message.get_body(("plain",))
        .get_content()
        .startswith(f"Your appointment at Hudson Back Clinic on {when} has been cancelled.\n\n")
    )


def test_a_patient_held_for_staff_hears_that_we_will_call_in_spanish(app, client, smtp_server):
    inquiry_id = submit(client, language="es", message="Me duele la espalda desde ayer al levantar una caja.")
    server = smtp_server()
    with app.extensions["routing"].db.session() as session:
        assert session.get(Inquiry, inquiry_id).status == "needs_review"  # no slot to book

    result = deliver(app, email_channel(server.port, link_for=None), event("inquiry.held", inquiry_id))

    assert without_latency(result) == (True, False, "smtp 250 accepted")
    message = server.received[0].message
    assert (message["Subject"], message["Content-Language"]) == ("Hudson Back Clinic ha recibido su solicitud", "es")
    assert (
        message.get_body(("plain",))
        .get_content()
        .startswith(
            "Hemos recibido su solicitud. Una persona de Hudson Back Clinic le llamará para darle la cita adecuada, "
            "normalmente dentro de un día hábil.\n\nSi se siente mucho peor antes de nuestra llamada, vaya a la "
            "sala de emergencias más cercana o llame al 911.\n\n¿Preguntas? Llámenos al +1 212-555-0100.\n\n"
        )
    )


def test_the_settings_turn_on_the_channels_they_configure():
    base = {"ROUTING_PUBLIC_URL": PUBLIC_URL, "ROUTING_SECRET_KEY": SECRET_KEY}
    email = {"ROUTING_SMTP_HOST": "localhost", "ROUTING_SMTP_SECURITY": "none", "ROUTING_SMTP_FROM": SENDER}
    sms = {
        "ROUTING_SMS_ACCOUNT_SID": ACCOUNT_SID,
        "ROUTING_SMS_AUTH_TOKEN": AUTH_TOKEN,
        "ROUTING_SMS_FROM": "+12125550199",
    }

    names = [
        [channel.name for channel in build_patient_channels(load_settings(environ=environ))]
        for environ in (base, {**base, **email}, {**base, **sms}, {**base, **email, **sms})
    ]

    assert names == [[], ["email"], ["sms"], ["email", "sms"]]


def test_the_configured_email_carries_the_patients_own_link_and_it_opens_their_page(migrated_url, smtp_server):
    server = smtp_server()
    application = create_app(
        settings_for(
            migrated_url,
            ROUTING_PUBLIC_URL="http://localhost",
            ROUTING_SECRET_KEY=SECRET_KEY,
            ROUTING_SMTP_HOST="127.0.0.1",
            ROUTING_SMTP_PORT=str(server.port),
            ROUTING_SMTP_SECURITY="none",
            ROUTING_SMTP_FROM=SENDER,
        )
    )
    try:
        add_slots(application, "consult", [30])
        client = application.test_client()
        inquiry_id = submit(client)
        [channel] = build_patient_channels(application.extensions["routing"].settings)

        result = deliver(application, channel, event("appointment.booked", inquiry_id))

        text = server.received[0].message.get_body(("plain",)).get_content()
        link = next(line for line in text.splitlines() if line.startswith("http://localhost/my/"))
        page = client.get(link.removeprefix("http://localhost"))
    finally:
        application.extensions["routing"].db.dispose()

    assert without_latency(result) == (True, False, "smtp 250 accepted")
    assert page.status_code == 200
    assert "Your appointment is booked" in page.get_data(as_text=True)
