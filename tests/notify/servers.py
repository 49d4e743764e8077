"""Real servers on loopback for the notification tests: an SMTP server (aiosmtpd, optionally with STARTTLS or
TLS from the first byte, with a certificate made for the test) and a Twilio-shaped SMS API (an HTTP server that
checks the Basic credentials and records each message)."""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import socket
import ssl
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for localhost and 127.0.0.1, signed by its own key: (certificate PEM, key PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def free_port() -> int:
    """A TCP port free on loopback now (aiosmtpd's controller cannot be started on port 0)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Received:
    """One email as the server received it."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    #: Whether the session was encrypted (STARTTLS or TLS) when the email was sent.
    encrypted: bool
    #: Who signed in, if anyone.
    login: str | None

    @property
    def message(self) -> EmailMessage:
        """The email parsed (headers decoded, SMTP's CRLF line ends read as newlines)."""
        return message_from_bytes(self.raw.replace(b"\r\n", b"\n"), policy=policy.default)


@dataclass
class SmtpHandler:
    """Records each email; refuses recipients as told (address -> SMTP reply)."""

    received: list[Received] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        # Encrypted by STARTTLS or from the first byte: either way the transport is TLS.
        encrypted = server.transport.get_extra_info("ssl_object") is not None
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content, encrypted, login))
        return "250 OK"


class SmtpServer:
    """aiosmtpd on 127.0.0.1 in a thread: ``security`` none, starttls (required) or tls; with ``users``, signing
    in is required (over TLS)."""

    def __init__(
        self, security: str = "none", *, cert: tuple[Path, Path] | None = None, users: dict[str, str] | None = None
    ):
        self.handler = SmtpHandler()
        self.port = free_port()
        kwargs: dict = {}
        if security != "none":
            assert cert is not None
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*map(str, cert))
            if security == "starttls":
                kwargs.update(tls_context=context, require_starttls=True)
            else:
                kwargs.update(ssl_context=context)
        if users is not None:

            def authenticate(server, session, envelope, mechanism, auth_data):
                ok = isinstance(auth_data, LoginPassword) and users.get(auth_data.login.decode()) == (
                    auth_data.password.decode()
                )
                return AuthResult(success=ok, handled=False, auth_data=auth_data)

            kwargs.update(authenticator=authenticate, auth_required=True)
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **kwargs)

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


# --- a Twilio-shaped SMS API -------------------------------------------------------------------------------------


@dataclass
class SmsRequest:
    """One POST to the Messages resource as received."""

    path: str
    authorization: str | None
    form: dict[str, list[str]]


class SmsApi:
    """A local stand-in for Twilio's Messages resource: checks HTTP Basic auth (account SID and auth token) and
    the account in the path, records every request, and answers as told (default: 201 with a Message)."""

    def __init__(self, account_sid: str, auth_token: str) -> None:
        self.account_sid, self.auth_token = account_sid, auth_token
        self.requests: list[SmsRequest] = []
        #: Answers to give, in order, before falling back to 201: (status, JSON body).
        self.answers: list[tuple[int, dict]] = []
        self._lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode(), keep_blank_values=True)
                with api._lock:
                    api.requests.append(SmsRequest(self.path, self.headers.get("Authorization"), form))
                    status, body = api._answer(self.path, self.headers.get("Authorization"), form)
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def _answer(self, path: str, authorization: str | None, form: dict[str, list[str]]) -> tuple[int, dict]:
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if authorization != expected:
            return 401, {"code": 20003, "message": "Authenticate", "more_info": "", "status": 401}
        if path != f"/2010-04-01/Accounts/{self.account_sid}/Messages.json":
            return 404, {"code": 20404, "message": "The requested resource was not found", "status": 404}
        if self.answers:
            return self.answers.pop(0)
        sid = f"SM{len(self.requests):032x}"
        return 201, {"sid": sid, "status": "queued", "to": form.get("To", [""])[0], "body": form.get("Body", [""])[0]}

    @property
    def messages(self) -> list[dict[str, str]]:
        """Each request's form fields (single values), in the order received."""
        return [
            {name: values[0] for name, values in request.form.items()}
            for request in self.requests
            if request.path.endswith("/Messages.json")
        ]

    def start(self) -> SmsApi:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
