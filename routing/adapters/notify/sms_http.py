"""Patient text messages through an SMS provider's HTTP API; Twilio's Messages resource is the shape spoken.

Sending is ``POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json`` with the form fields ``To``, ``Body``
and ``From`` (or ``MessagingServiceSid``), signed in with HTTP Basic auth as the account SID and its auth token;
``201 Created`` answers a Message whose ``sid`` we keep in the delivery log. Any provider that offers the same
shape (several do, under their own base URL) works by setting ``ROUTING_SMS_BASE_URL``.

A refusal is classified for the outbox: Twilio's error 21610 (the recipient replied STOP) is final and means
the patient opted out, which the caller records; another 4xx is final (the request itself is wrong: a bad
number, a message too long); 429 and 5xx are retried, and so are 401/403 (credentials: retried so that the
messages go once the setting is fixed, not lost). A timeout after the request was sent may have sent the
message: the retry can then send it twice, which the outbox's at-least-once promise allows.

Twilio signs what it posts to us (an incoming message) with the same auth token: :func:`valid_signature`
checks ``X-Twilio-Signature`` as Twilio's own helper libraries do.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit, urlunsplit

import requests

from routing.adapters.notify import Sent
from routing.config import SmsSettings

#: The provider's error code for "the recipient has opted out (replied STOP)".
UNSUBSCRIBED = 21610
# A Message SID (SM..., MM...): the only thing of the answer's body the delivery log keeps.
_MESSAGE_SID = re.compile(r"[A-Z]{2}[0-9a-fA-F]{32}")
_MESSAGING_SERVICE = re.compile(r"MG[0-9a-fA-F]{32}")


class TwilioSms:
    """Sends text messages with the configured account."""

    def __init__(self, settings: SmsSettings, http: requests.Session | None = None) -> None:
        self.settings = settings
        self._http = http or requests.Session()
        self._url = f"{settings.base_url}/2010-04-01/Accounts/{settings.account_sid}/Messages.json"
        sender_field = "MessagingServiceSid" if _MESSAGING_SERVICE.fullmatch(settings.sender) else "From"
        self._sender = {sender_field: settings.sender}

    def send(self, to: str, body: str) -> Sent:
        """Send ``body`` to ``to`` (E.164); never raises."""
        settings = self.settings
        try:
            response = self._http.post(
                self._url,
                data={"To": to, **self._sender, "Body": body},
                auth=(settings.account_sid, settings.auth_token),
                timeout=(min(3.05, settings.timeout), settings.timeout),
                allow_redirects=False,
            )
        except requests.Timeout:
            return Sent(False, True, "sms timeout")
        except requests.RequestException as error:
            return Sent(False, True, f"sms connection failed ({type(error).__name__})")
        status = response.status_code
        body_json = _json(response)
        if 200 <= status < 300:
            sid = body_json.get("sid")
            return Sent(
                True,
                False,
                f"sms {status} {sid}" if isinstance(sid, str) and _MESSAGE_SID.fullmatch(sid) else f"sms {status}",
            )
        code = body_json.get("code")
        detail = f"sms {status} error {code}" if isinstance(code, int) else f"sms {status}"
        if code == UNSUBSCRIBED:
            return Sent(False, False, f"{detail} (recipient opted out)", opted_out=True)
        if status in (401, 403):
            return Sent(False, True, f"{detail} (check ROUTING_SMS_ACCOUNT_SID and ROUTING_SMS_AUTH_TOKEN)")
        return Sent(False, status == 429 or status >= 500, detail)


def _json(response: requests.Response) -> dict:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def signature(auth_token: str, url: str, params: Iterable[tuple[str, list[str]]]) -> str:
    """Twilio's request signature: base64 HMAC-SHA1, keyed with the auth token, of the full URL followed by each
    POST parameter's name and value, by name (and a repeated name's values in order), with nothing between."""
    signed = url + "".join(name + value for name, values in sorted(params) for value in sorted(values))
    return base64.b64encode(hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()).decode()


def valid_signature(auth_token: str, url: str, params: Mapping[str, list[str]], given: str | None) -> bool:
    """Whether ``given`` (the ``X-Twilio-Signature`` header) signs this request; as Twilio's libraries do, the URL
    is tried with and without its default port, since Twilio's own signing has differed on that."""
    if not given:
        return False
    items = list(params.items())
    candidates = {url, _with_port(url), _without_port(url)}
    # Every candidate is compared, each in constant time.
    matched = False
    for candidate in candidates:
        matched |= hmac.compare_digest(signature(auth_token, candidate, items).encode(), given.encode())
    return matched


def _with_port(url: str) -> str:
    parts = urlsplit(url)
    if parts.port is not None or not parts.hostname:
        return url
    port = 443 if parts.scheme == "https" else 80
    return urlunsplit(parts._replace(netloc=f"{parts.netloc}:{port}"))


def _without_port(url: str) -> str:
    parts = urlsplit(url)
    if parts.port is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit(":", 1)[0]))
