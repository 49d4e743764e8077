"""Patient emails through a real SMTP server on loopback: plain, STARTTLS and TLS, signing in, and refusals."""

from __future__ import annotations

from datetime import UTC, datetime

from routing.adapters.notify import Sent
from routing.adapters.notify.smtp import SmtpMailer
from routing.config import SmtpSettings
from tests.notify.servers import free_port

SENT_AT = datetime(2026, 11, 27, 15, 4, 5, tzinfo=UTC)
UNSUBSCRIBE = "https://routing.example.org/unsubscribe/tok123"


def mailer(port: int, security: str = "none", *, ca_file=None, user=None, password=None, sender=None) -> SmtpMailer:
    return SmtpMailer(
        SmtpSettings(
            host="127.0.0.1",
            port=port,
            security=security,
            sender=sender or "appointments@hudson.example.org",
            user=user,
            password=password,
            timeout=5.0,
            ca_file=ca_file,
        )
    )


def compose(m: SmtpMailer, to: str = "ana@example.org"):
    return m.compose(
        to=to,
        subject="Su cita en Clínica Hudson está reservada",
        text="Su cita está reservada.\n\nCuándo: lunes 30 de noviembre a las 9:00 AM EST\n",
        html="<p>Su cita está reservada.</p>\n",
        language="es",
        message_id="0b5f6a3e-event.email",
        unsubscribe_url=UNSUBSCRIBE,
        now=SENT_AT,
        sender_name="Clínica Hudson",
    )


def test_an_email_arrives_with_text_and_html_in_utf8_and_the_headers_mail_systems_read(smtp_server):
    server = smtp_server("none")
    m = mailer(server.port)

    result = m.send(compose(m))

    assert result == Sent(True, False, "smtp 250 accepted")
    [received] = server.received
    assert (received.mail_from, received.rcpt_tos, received.encrypted) == (
        "appointments@hudson.example.org",
        ["ana@example.org"],
        False,
    )
    message = received.message
    assert {name: str(message[name]) for name in message if name != "Content-Type"} == {
        "From": "Clínica Hudson <appointments@hudson.example.org>",
        "To": "ana@example.org",
        "Subject": "Su cita en Clínica Hudson está reservada",
        "Date": "Fri, 27 Nov 2026 15:04:05 +0000",
        "Message-ID": "<0b5f6a3e-event.email@hudson.example.org>",
        "Content-Language": "es",
        "Auto-Submitted": "auto-generated",
        "List-Unsubscribe": "<https://routing.example.org/unsubscribe/tok123>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "MIME-Version": "1.0",
    }
    assert message.get_content_type() == "multipart/alternative"
    plain, html = message.iter_parts()
    assert (plain.get_content_type(), plain.get_content_charset(), plain.get_content()) == (
        "text/plain",
        "utf-8",
        "Su cita está reservada.\n\nCuándo: lunes 30 de noviembre a las 9:00 AM EST\n",
    )
    assert (html.get_content_type(), html.get_content_charset(), html.get_content()) == (
        "text/html",
        "utf-8",
        "<p>Su cita está reservada.</p>\n",
    )


def test_the_from_name_in_the_setting_wins_over_the_clinics(smtp_server):
    server = smtp_server("none")
    m = mailer(server.port, sender="Hudson Appointments <appointments@hudson.example.org>")

    m.send(compose(m))

    assert str(server.received[0].message["From"]) == "Hudson Appointments <appointments@hudson.example.org>"


def test_starttls_with_the_servers_certificate_trusted_encrypts_and_signs_in(smtp_server, certificate):
    server = smtp_server("starttls", users={"clinic": "s3cret-password"})
    m = mailer(server.port, "starttls", ca_file=certificate[0], user="clinic", password="s3cret-password")

    result = m.send(compose(m))

    assert result == Sent(True, False, "smtp 250 accepted")
    [received] = server.received
    assert (received.encrypted, received.login, received.rcpt_tos) == (True, "clinic", ["ana@example.org"])


def test_tls_from_the_first_byte_encrypts(smtp_server, certificate):
    server = smtp_server("tls")
    m = mailer(server.port, "tls", ca_file=certificate[0])

    result = m.send(compose(m))

    assert result == Sent(True, False, "smtp 250 accepted")
    assert [received.encrypted for received in server.received] == [True]


def test_a_certificate_nobody_vouches_for_is_refused_and_nothing_is_sent(smtp_server):
    server = smtp_server("starttls")
    m = mailer(server.port, "starttls")  # no CA file: the self-signed certificate is not trusted

    result = m.send(compose(m))

    assert result == Sent(
        False, True, "smtp TLS certificate not trusted (check ROUTING_SMTP_HOST and ROUTING_SMTP_CA_FILE)"
    )
    assert server.received == []


def test_a_server_without_starttls_gets_nothing_in_clear_text(smtp_server):
    server = smtp_server("none")
    m = mailer(server.port, "starttls")

    result = m.send(compose(m))

    assert result == Sent(False, True, "smtp server lacks a required extension (STARTTLS or SMTPUTF8)")
    assert server.received == []


def test_a_wrong_password_is_retried_and_says_which_settings_to_check(smtp_server, certificate):
    server = smtp_server("starttls", users={"clinic": "s3cret-password"})
    m = mailer(server.port, "starttls", ca_file=certificate[0], user="clinic", password="wrong")

    result = m.send(compose(m))

    assert result == Sent(False, True, "smtp 535 sign-in refused (check ROUTING_SMTP_USER and ROUTING_SMTP_PASSWORD)")
    assert server.received == []


def test_a_recipient_refused_for_good_is_permanent_and_for_now_is_retried(smtp_server):
    server = smtp_server("none")
    server.handler.refuse = {
        "gone@example.org": "550 5.1.1 <gone@example.org>: mailbox unavailable",
        "full@example.org": "452 4.2.2 <full@example.org>: mailbox full",
    }
    m = mailer(server.port)

    gone = m.send(compose(m, "gone@example.org"))
    full = m.send(compose(m, "full@example.org"))

    # The server's words (which quote the address) never reach the detail.
    assert (gone, full) == (
        Sent(False, False, "smtp 550 recipient refused"),
        Sent(False, True, "smtp 452 recipient refused"),
    )
    assert server.received == []


def test_a_server_that_is_not_there_is_retried():
    m = mailer(free_port())

    assert m.send(compose(m)) == Sent(False, True, "smtp connection failed (ConnectionRefusedError)")
