"""Fixtures for the notification tests: a certificate made for the test, and real local servers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.notify.servers import SmsApi, SmtpServer, self_signed_certificate

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "f" * 32


@pytest.fixture(scope="session")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for localhost and 127.0.0.1: (certificate PEM, key PEM)."""
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def smtp_server(certificate) -> Iterator[Callable[..., SmtpServer]]:
    """Starts SMTP servers (``smtp_server("starttls", users={...})``); all stopped after the test."""
    started: list[SmtpServer] = []

    def start(security: str = "none", *, users: dict[str, str] | None = None) -> SmtpServer:
        server = SmtpServer(security, cert=certificate, users=users).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def sms_api() -> Iterator[SmsApi]:
    """A Twilio-shaped Messages API on loopback, for ACCOUNT_SID and AUTH_TOKEN."""
    api = SmsApi(ACCOUNT_SID, AUTH_TOKEN).start()
    yield api
    api.stop()
