"""Which addresses the service may send events to: https anywhere, plain http only to this machine.

Events (and, for a subscription that opted in, a patient's name and contact) must not cross a network in
clear text, so a receiver elsewhere must be https. Plain http is allowed to a loopback address only
(``localhost``, ``127.0.0.0/8``, ``::1``): a relay beside the service, a development machine, the tests;
nothing sent there leaves the machine. Credentials in the URL are refused (the signature authenticates
us), as is a fragment (never sent).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2000
_LOOPBACK_NAMES = frozenset({"localhost"})


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot receive events (one sentence), or None when it can."""
    if len(url) > MAX_URL_LENGTH:
        return f"The URL is longer than {MAX_URL_LENGTH} characters."
    if not url.isprintable() or any(char.isspace() for char in url):
        return "The URL must not contain spaces or control characters."
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "This is not a valid URL."
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "Use an https:// URL (plain http:// only to this machine: localhost, 127.0.0.1 or [::1])."
    if parts.username is not None or parts.password is not None:
        return "Leave credentials out of the URL; receivers check the webhook-signature instead."
    if parts.fragment:
        return "A URL sent to has no #fragment."
    if port == 0:
        return "Port 0 is not a port to send to."
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        return "Plain http:// is allowed only to this machine (localhost, 127.0.0.1, [::1]); use https:// elsewhere."
    return None


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IP addresses (not for names that merely resolve to one)."""
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url``: what audit events and logs name (a path may hold a token)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
