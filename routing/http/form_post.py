"""Posts from the served patient form: what the intake checks beyond the API's own rules.

A post says it came from our form by carrying a ``form_token`` field (urlencoded or multipart; JSON bodies
never do). Only such posts are checked here, so JSON clients and a clinic's own HTML form (which carry no
token) are exactly as before: signed when ``ROUTING_WEBHOOK_SECRET`` is set, from ``ROUTING_CORS_ORIGINS`` for
browsers' scripts, and counted by the intake's rate limits like every post. For a post from our form:

- the token must be one we signed (else 400 ``invalid-form-token``) and not expired (400
  ``expired-form-token``); a valid token stands in for the webhook signature, since a patient's browser
  cannot sign;
- the honeypot must be empty and the form must have been open at least ``ROUTING_FORM_MIN_SECONDS``; a post
  that fails either is refused (400 ``form-not-sent``) and nothing is stored. A person who somehow trips one
  sees the form again with their answers and a fresh token, never a false "thank you" (a patient in pain
  must not believe the clinic has a message it does not have);
- consent must be ticked (a 422 field error like any other).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Request

from routing.config import FormSettings
from routing.domain.patient_form import HONEYPOT_FIELD, TOKEN_FIELD
from routing.http import form_token
from routing.http.problems import Problem
from routing.http.webhook_delivery import FORM_TYPES
from routing.observability import events

#: What a ticked consent box may send (the form sends ``true``).
CONSENTED = frozenset({"true", "on", "yes", "1"})
#: The problem types of a refused form post: the browser answer shows the form again for these.
REFUSED_SLUGS = ("invalid-form-token", "expired-form-token", "form-not-sent")


@dataclass(frozen=True)
class FormPost:
    """A post from our form whose token was good: what the token says, and the form's own field errors."""

    token: form_token.FormToken
    errors: dict[str, list[str]]


def check(request: Request, settings: FormSettings, secret: str, now: float) -> FormPost | None:
    """The post's form checks: None when it does not come from our form; raises a 400 Problem when refused."""
    if not settings.enabled or (request.mimetype or "").lower() not in FORM_TYPES:
        return None
    sent = request.form.getlist(TOKEN_FIELD)
    if not sent:
        return None
    token = form_token.read(secret, sent[-1])
    if token is None:
        _refuse("invalid-form-token", "The form_token was not issued by this service. Load GET /form again.")
    if now - token.issued_at > settings.token_max_age_hours * 3600:
        _refuse("expired-form-token", "The form_token has expired. Load GET /form again.")
    if request.form.get(HONEYPOT_FIELD, "").strip():
        _refuse("form-not-sent", "Nothing was stored: the post did not pass the form's checks.", reason="honeypot")
    if now - token.first_served_at < settings.min_fill_seconds:
        _refuse("form-not-sent", "Nothing was stored: the post did not pass the form's checks.", reason="too_fast")
    consented = request.form.get("consent", "").strip().lower() in CONSENTED
    return FormPost(token, {} if consented else {"consent": ["Required on the form: tick it (send consent=true)."]})


def _refuse(slug: str, detail: str, *, reason: str | None = None) -> None:
    events.form_refused(reason or slug)
    raise Problem(400, detail, slug=slug)
