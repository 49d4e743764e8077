"""Patient emails through an SMTP server, with the standard library (``smtplib``, ``email``).

One connection per email: notices are few (a handful per inquiry), and a connection held between them would
break at the server's idle timeout anyway. The connection is encrypted as ``ROUTING_SMTP_SECURITY`` says
(STARTTLS, or TLS from the first byte; plain only for a relay on this machine, see ``routing.config``), the
server's certificate always verified, and STARTTLS refused rather than skipped when the server does not offer it.

Errors are classified for the outbox: a 5xx about the recipient or the message is permanent (the same email
will be refused again); a 4xx, a network fault, a certificate or sign-in failure may pass (the last two once a
setting is fixed), so they are retried. The detail names the status code or the error's kind, never the
server's text, which often quotes the address back.
"""

from __future__ import annotations

import smtplib
import ssl
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr, parseaddr

from routing.adapters.notify import Sent
from routing.config import SmtpSettings


class SmtpMailer:
    """Composes and sends patient emails with the configured server."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        name, address = parseaddr(settings.sender)
        self._sender_name = name or None
        self._sender_address = address
        self._domain = address.rpartition("@")[2]
        self._context = ssl.create_default_context()
        if settings.ca_file is not None:
            self._context.load_verify_locations(cafile=str(settings.ca_file))

    def compose(
        self,
        *,
        to: str,
        subject: str,
        text: str,
        html: str,
        language: str,
        message_id: str,
        unsubscribe_url: str,
        now: datetime,
        sender_name: str | None = None,
    ) -> EmailMessage:
        """The email: plain text with an HTML alternative, UTF-8, and the headers mail systems look for.

        ``message_id`` (without brackets or domain) should be the same on every attempt at one notice, so a
        receiving system can tell a retry from a second email. ``sender_name`` (the clinic's) is shown as the
        From name unless ``ROUTING_SMTP_FROM`` names one.
        """
        message = EmailMessage(policy=SMTP)
        name = self._sender_name or sender_name
        message["From"] = formataddr((name, self._sender_address)) if name else self._sender_address
        message["To"] = Address(addr_spec=to)
        message["Subject"] = subject
        message["Date"] = format_datetime(now)
        message["Message-ID"] = f"<{message_id}@{self._domain}>"
        # RFC 3834: an automatic message (no out-of-office replies to it); RFC 2369 and 8058: the unsubscribe
        # link mail programs show as a button, and may use with a single POST.
        message["Auto-Submitted"] = "auto-generated"
        message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        message.set_content(text, charset="utf-8", cte="quoted-printable")
        message.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
        # After the parts: making the message multipart moves every Content-* header into its first part.
        message["Content-Language"] = language
        return message

    def send(self, message: EmailMessage) -> Sent:
        """Hand ``message`` to the server; never raises."""
        try:
            with self._connect() as smtp:
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            return _by_code(min(codes) if codes else 550, "recipient refused")
        except smtplib.SMTPAuthenticationError as error:
            return Sent(
                False,
                True,
                f"smtp {error.smtp_code} sign-in refused (check ROUTING_SMTP_USER and ROUTING_SMTP_PASSWORD)",
            )
        except smtplib.SMTPNotSupportedError:
            # STARTTLS not offered (we never fall back to plain text), or an address needing SMTPUTF8.
            return Sent(False, True, "smtp server lacks a required extension (STARTTLS or SMTPUTF8)")
        except smtplib.SMTPResponseException as error:
            return _by_code(error.smtp_code, "refused")
        except ssl.SSLCertVerificationError:
            return Sent(
                False, True, "smtp TLS certificate not trusted (check ROUTING_SMTP_HOST and ROUTING_SMTP_CA_FILE)"
            )
        except (smtplib.SMTPException, OSError) as error:
            # Refused or dropped connections, timeouts, TLS failures: the server may be back later.
            return Sent(False, True, f"smtp connection failed ({type(error).__name__})")
        return Sent(True, False, "smtp 250 accepted")

    def _connect(self) -> smtplib.SMTP:
        settings = self.settings
        # EHLO names the sender's domain: socket.getfqdn() may wait seconds on a DNS lookup.
        common = {"timeout": settings.timeout, "local_hostname": self._domain}
        if settings.security == "tls":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port, context=self._context, **common)
        else:
            smtp = smtplib.SMTP(settings.host, settings.port, **common)
        try:
            smtp.ehlo()
            if settings.security == "starttls":
                smtp.starttls(context=self._context)
                smtp.ehlo()
            if settings.user is not None and settings.password is not None:
                smtp.login(settings.user, settings.password)
        except BaseException:
            smtp.close()
            raise
        return smtp


def _by_code(code: int, what: str) -> Sent:
    """A server's answer by its status: 4xx is a passing condition (retry), 5xx is final."""
    return Sent(False, not 500 <= code < 600, f"smtp {code} {what}")
