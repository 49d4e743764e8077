"""A waitlist offer reaches the patient by email or SMS, in their language, against a real SMTP server and a
Twilio-shaped API: when the earlier slot is, until when it is kept, where to answer, and that doing nothing
changes nothing. The offer is read when the notice goes out: one answered or run out since is not sent."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from routing import create_app
from routing.adapters.db.models import OutboxEvent, WaitlistOffer
from routing.domain.patient_messages import local_clock, local_time
from routing.domain.patient_notices import gsm_letters
from routing.services import waitlist_answers
from routing.services.outbox import OutboundEvent
from tests.conftest import settings_for
from tests.notify.test_patient_channels import (
    NEW_YORK,
    PUBLIC_URL,
    SECRET_KEY,
    SENDER,
    deliver,
    email_channel,
    sms_channel,
    targets,
    without_latency,
)
from tests.outbox.helpers import worker
from tests.waitlist.helpers import ROUTINE_IMAGING, URGENT_IMAGING, cancel, later, offer_id, one_slot, submit, wiring

PHONE = "(212) 555-0123"


def waiting_patient(client, **extra) -> uuid.UUID:
    """An urgent imaging patient who finds nothing free and joins the waitlist; consent given."""
    return submit(client, URGENT_IMAGING, consent=True, patient=_patient(), **extra)


def _patient() -> dict:
    return {"first_name": "Ana", "last_name": "Diaz", "email": "ana@example.org", "phone": PHONE}


@pytest.fixture
def offered(app, client):
    """One imaging slot booked by a first patient, an urgent patient on the waitlist (by email), the first
    cancels: the slot is offered. (waiting inquiry id, the offer row as read back)."""
    one_slot(app, 30)
    first = submit(client, ROUTINE_IMAGING)
    waiting = waiting_patient(client)
    cancel(app, first)
    return waiting, _offer(app, waiting)


def _offer(app, inquiry_id: uuid.UUID) -> WaitlistOffer:
    with wiring(app).db.session() as session:
        return session.get(WaitlistOffer, offer_id(app, inquiry_id))


def offered_event(app, inquiry_id: uuid.UUID) -> OutboundEvent:
    """The ``waitlist.offered`` event the offer recorded, as the outbox worker hands it to the channels."""
    with wiring(app).db.session() as session:
        row = session.scalars(
            select(OutboxEvent).where(OutboxEvent.inquiry_id == inquiry_id, OutboxEvent.type == "waitlist.offered")
        ).one()
        return OutboundEvent(row.id, row.type, row.inquiry_id, row.occurred_at, dict(row.data))


def test_the_offer_is_emailed_with_its_time_until_when_it_is_kept_and_the_link_to_answer(app, offered, smtp_server):
    waiting, offer = offered
    server = smtp_server()
    channel = email_channel(server.port)
    outbound = offered_event(app, waiting)

    assert targets(app, channel, outbound) == ["patient"]
    assert without_latency(deliver(app, channel, outbound)) == (True, False, "smtp 250 accepted")

    [received] = server.received
    message = received.message
    assert received.rcpt_tos == ["ana@example.org"]
    assert message["Subject"] == "An earlier appointment at Hudson Back Clinic"
    assert message["Message-ID"] == f"<{outbound.id}.offered@hudson.example.org>"
    text = message.get_body(("plain",)).get_content()
    assert text.split("\n-- \n")[0] == (
        "An earlier appointment has come free at Hudson Back Clinic. We are keeping it for you until "
        f"{local_time(offer.expires_at, NEW_YORK)}.\n\n"
        f"When: {local_time(offer.start, NEW_YORK)}\n"
        "Where: Hudson Back Clinic, 12 Pine Street, New York\n\n"
        "Accept it or say no on your own page:\n"
        f"{PUBLIC_URL}/p/{waiting.hex[:12]}\n\n"
        "If you do nothing, your current plan stands and the time goes to someone else.\n\n"
        "Questions? Call us on +1 212-555-0100.\n"
    )


def test_the_offer_is_texted_in_spanish_to_a_patient_who_chose_text_messages(app, client, smtp_server, sms_api):
    one_slot(app, 30)
    first = submit(client, ROUTINE_IMAGING)
    waiting = waiting_patient(client, language="es", contact_preference="sms")
    cancel(app, first)
    offer = _offer(app, waiting)
    outbound = offered_event(app, waiting)
    by_email, by_sms = email_channel(smtp_server().port), sms_channel(sms_api.url)

    assert (targets(app, by_email, outbound), targets(app, by_sms, outbound)) == ([], ["patient"])
    assert without_latency(deliver(app, by_sms, outbound))[:2] == (True, False)
    when, until = local_time(offer.start, NEW_YORK, "es"), local_clock(offer.expires_at, NEW_YORK)
    assert [message["Body"] for message in sms_api.messages] == [
        gsm_letters(
            f"Hudson Back Clinic: hay una cita libre antes, el {when}, 12 Pine Street, New York; se la guardamos "
            f"hasta las {until}. Acepte o rechace: {PUBLIC_URL}/p/{waiting.hex[:12]} Si no responde, nada cambia. "
            "Tel. +1 212-555-0100. Para no recibir SMS: STOP"
        )
    ]


def test_the_offers_event_carries_ids_and_times_only(app, offered):
    waiting, offer = offered

    data = offered_event(app, waiting).data

    assert sorted(data) == ["expires_at", "inquiry_id", "offer_id", "slot_type", "start"]
    assert (data["offer_id"], data["slot_type"]) == (str(offer.id), "imaging")


def test_an_offer_declined_before_its_notice_goes_out_is_not_sent(app, offered, smtp_server):
    waiting, offer = offered
    server = smtp_server()
    with wiring(app).db.session() as session:
        waitlist_answers.decline(session, wiring(app).routing, offer.id, waiting, later(0), actor="patient")

    result = deliver(app, email_channel(server.port), offered_event(app, waiting))

    assert without_latency(result) == (True, False, "not sent: the offer is no longer open")
    assert server.received == []


def test_an_offer_that_ran_out_before_its_notice_goes_out_is_not_sent(app, offered, smtp_server):
    waiting, offer = offered
    server = smtp_server()
    with wiring(app).db.session() as session, session.begin():
        session.execute(
            update(WaitlistOffer)
            .where(WaitlistOffer.id == offer.id)
            .values(expires_at=offer.offered_at - timedelta(minutes=1))
        )

    result = deliver(app, email_channel(server.port), offered_event(app, waiting))

    assert without_latency(result) == (True, False, "not sent: the offer is no longer open")
    assert server.received == []


def test_the_worker_emails_the_offer_once_then_the_booking_once_it_is_accepted(migrated_url, smtp_server):
    server = smtp_server()
    app = create_app(
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
        client = app.test_client()
        one_slot(app, 30)
        first = submit(client, ROUTINE_IMAGING)  # no consent: told nothing
        waiting = waiting_patient(client)
        worker(app).drain()
        cancel(app, first)
        worker(app).drain()
        text = server.received[-1].message.get_body(("plain",)).get_content()
        link = next(line for line in text.splitlines() if line.startswith("http://localhost/my/"))
        page = client.get(link.removeprefix("http://localhost"))
        with wiring(app).db.session() as session:
            routing = wiring(app).routing
            waitlist_answers.accept(session, routing, offer_id(app, waiting), waiting, later(0), actor="patient")
        worker(app).drain()
    finally:
        app.extensions["routing"].db.dispose()

    clinic = "Riverside Spine & Pain Clinic (demo)"
    assert [received.message["Subject"] for received in server.received] == [
        f"{clinic} has your request",
        f"An earlier appointment at {clinic}",
        f"Your appointment at {clinic} is booked",
    ]
    assert page.status_code == 200
    assert "An earlier time is free" in page.get_data(as_text=True)
