"""Sending patients their notices: email over SMTP (``smtp``) and text messages over a provider's HTTP API
(``sms_http``). Each send answers a :class:`Sent`: never an exception, never a server's own words (they can quote
the address or number back)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sent:
    """How one send went: delivered to the provider, or why not and whether trying again may help."""

    ok: bool
    #: Whether a later attempt may succeed (a busy server, a network fault, a setting to fix).
    retry: bool
    #: What staff see in the delivery log: a status, an error code, an error's kind; no patient data.
    detail: str
    #: The provider says the recipient opted out of our messages: record it, and send them no more.
    opted_out: bool = False
