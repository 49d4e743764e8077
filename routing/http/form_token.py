"""The served form's token: proof that a post came from a form this service served, and when.

Patients are anonymous and the form sets no cookie, so cross-site request forgery has no session to ride
on; what the token guards is the intake itself. It is signed with the application's secret (itsdangerous,
``ROUTING_SECRET_KEY``), so it cannot be made up; it expires (``ROUTING_FORM_TOKEN_HOURS``); and it says when
the form was first served, so a post sent sooner than a person could fill the form in
(``ROUTING_FORM_MIN_SECONDS``) is taken for a bot's. It holds nothing about the patient: the form's
language and two times.
"""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer

#: Keeps these signatures apart from every other use of the secret (the console's cookie).
SALT = "routing.patient-form.v1"


@dataclass(frozen=True)
class FormToken:
    """What a valid token says: the form's language, when this copy was served, when the form was first served."""

    language: str
    issued_at: float
    first_served_at: float


def issue(secret: str, language: str, now: float, first_served_at: float | None = None) -> str:
    """A token for a form served ``now`` in ``language``; ``first_served_at`` carries over from a form sent back
    with errors, so the time spent on the first copy counts towards the fill time."""
    first = now if first_served_at is None else min(first_served_at, now)
    return URLSafeSerializer(secret, salt=SALT).dumps({"l": language, "t": int(now), "f": int(first)})


def read(secret: str, token: str) -> FormToken | None:
    """The token's content, or None when it is not one we signed (or is not a token at all)."""
    try:
        data = URLSafeSerializer(secret, salt=SALT).loads(token)
    except BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    language, issued, first = data.get("l"), data.get("t"), data.get("f")
    if not isinstance(language, str) or not all(isinstance(value, int) for value in (issued, first)):
        return None
    return FormToken(language, float(issued), float(first))
