"""Human answers from the intake to a browser: pages instead of JSON, in the patient's language.

A request whose ``Accept`` ranks ``text/html`` above JSON (what a browser sends when a form is submitted) gets:

- after a stored inquiry, a confirmation page: what happens next, the appointment in the clinic's time with an
  "add to calendar" file, the patient's own link (``/my/<token>``, to come back to), the clinic's phone, and
  the emergency advice first when the answers call for it;
  or, with ``ROUTING_FORM_THANKS_URL`` set, a ``303`` to that page with only a short reference in the query
  (never for an urgent or emergency outcome: the patient must see the advice, which the clinic's page cannot
  know about);
- after invalid answers, the form again (422) with each message beside its field and every answer kept;
  after a refused form post (a forged or expired token, the spam checks), the form again (400) with a fresh
  token and the answers kept;
- after any other problem (too large, too many posts, the database down, ...), a short page saying what to
  do, with the clinic's phone.

This is a rendering of the answer the API gives anyway: it runs after the intake view and its error
handlers, and reads their JSON. A client that does not prefer HTML gets exactly what it got before.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from flask import Response, current_app, render_template, request, url_for
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException

from routing.config import Settings
from routing.domain import patient_messages
from routing.domain.labels import LABELS
from routing.domain.patient_form import EMERGENCY_RED_FLAGS, TOKEN_FIELD, reference
from routing.domain.vocabulary import InquiryStatus, Urgency
from routing.http import form_token
from routing.http.deps import wiring
from routing.http.form_page import Texts, language_of, page_response, render_form
from routing.http.form_post import REFUSED_SLUGS
from routing.http.problems import PROBLEM_JSON
from routing.http.webhook_delivery import FORM_TYPES

#: The endpoint whose answers are shown to people (the intake's POST).
INTAKE = "intake.receive"
_NOT_DIGITS = re.compile(r"\D")
#: Which text of ``[page.problem]`` explains each status to a patient.
_PROBLEM_TEXTS = {409: "conflict", 413: "too_large", 429: "too_many", 500: "server_error", 503: "unavailable"}


def wants_html() -> bool:
    """Whether the client ranks ``text/html`` above JSON (a browser's form submission does; API clients,
    which send ``application/json``, ``*/*`` or no ``Accept``, do not)."""
    return request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"


def for_browsers(response: Response) -> Response:
    """The intake's answer as a page for a browser; every other answer unchanged (an ``after_request`` hook)."""
    if request.endpoint != INTAKE or not wants_html():
        return response
    settings = wiring().settings
    if response.mimetype == PROBLEM_JSON:
        return _problem_page(response, settings)
    if response.status_code in (200, 201, 202) and response.is_json:
        return _confirmation(response, settings)
    return response


def _form_answers() -> MultiDict | None:
    """The posted form fields, when the post was a form (urlencoded or multipart) that could be read."""
    if (request.mimetype or "").lower() not in FORM_TYPES:
        return None
    try:
        return request.form
    except HTTPException:
        return None  # a body too large to read (413): there are no answers to keep


def _token() -> form_token.FormToken | None:
    """What the post's form token says, when it carries a good one."""
    answers = _form_answers()
    sent = answers.get(TOKEN_FIELD) if answers is not None else None
    return form_token.read(current_app.secret_key, sent) if sent else None


# --- problems --------------------------------------------------------------------------------------------


def _problem_page(response: Response, settings: Settings) -> Response:
    body = response.get_json(silent=True) or {}
    status = response.status_code
    slug = str(body.get("type", "")).rpartition(":")[2]
    answers, token = _form_answers(), _token()
    # The language the form was read in (our token, or the ?lang= of a clinic form's action), then the one chosen.
    language = language_of(
        request,
        token.language if token else None,
        request.args.get("lang"),
        answers.get("language") if answers is not None else None,
    )
    if answers is not None and (status == 422 or slug in REFUSED_SLUGS):
        return render_form(
            settings,
            language=language,
            answers=answers,
            errors=body.get("errors") or {},
            not_sent=status != 422,
            status=status,
            # The fill time counts from when the form was first served (a forged or expired token: from now).
            first_served_at=token.first_served_at if token else None,
        )
    t = Texts(language, settings.clinic)
    key = _PROBLEM_TEXTS.get(status, "server_error" if status >= 500 else "not_accepted")
    wait = response.headers.get("Retry-After", "")
    minutes = max(1, -(-int(wait) // 60)) if wait.isdigit() else 1
    html = render_template(
        "form/problem.html",
        t=t,
        language=language,
        message=t(f"problem.{key}", minutes=minutes),
        phone_href=tel_href(settings.clinic.phone),
        form_url=url_for("served_form.form", lang=language),
    )
    headers = {name: value for name, value in response.headers.items() if name in ("Retry-After",)}
    return page_response(html, status, settings, headers)


# --- the confirmation -------------------------------------------------------------------------------------


def _confirmation(response: Response, settings: Settings) -> Response:
    answer = response.get_json()
    answers, token = _form_answers() or MultiDict(), _token()
    language = language_of(request, answer.get("language"), token.language if token else None)
    urgency = (answer.get("triage") or {}).get("urgency")
    ticked = {*answers.getlist("red_flags"), *answers.getlist("symptoms.red_flags"), *answers.getlist("red_flags[]")}
    emergency = urgency == Urgency.EMERGENCY or bool(ticked & set(EMERGENCY_RED_FLAGS))
    urgent = answer.get("status") == InquiryStatus.URGENT_REVIEW
    ref = reference(answer["id"])
    if settings.form.thanks_url and not (emergency or urgent):
        target = settings.form.thanks_url.format(lang=language)
        joiner = "&" if "?" in target else "?"
        return Response(status=303, headers={"Location": f"{target}{joiner}{urlencode({'ref': ref})}"})
    t = Texts(language, settings.clinic)
    html = render_template(
        "form/answer.html",
        t=t,
        language=language,
        title=t(f"answer.title_{_title(answer.get('status'), emergency, urgent)}"),
        emergency=emergency,
        urgent=urgent and not emergency,
        patient_message=answer.get("patient_message", ""),
        appointment=_appointment(answer, language, settings),
        own_link=answer.get("patient_link"),
        reference=ref,
        phone_href=tel_href(settings.clinic.phone),
        form_url=url_for("served_form.form", lang=language),
    )
    headers = {"Location": response.headers["Location"]} if "Location" in response.headers else {}
    return page_response(html, response.status_code, settings, headers)


def _title(status: str | None, emergency: bool, urgent: bool) -> str:
    if emergency:
        return "emergency"
    if urgent:
        return "urgent"
    return {InquiryStatus.BOOKED: "booked", InquiryStatus.PENDING_BOOKING: "pending"}.get(status, "review")


def _appointment(answer: dict[str, Any], language: str, settings: Settings) -> dict[str, str] | None:
    slot = answer.get("appointment")
    if answer.get("status") != InquiryStatus.BOOKED or not slot:
        return None
    start = datetime.fromisoformat(slot["start"])
    return {
        "what": LABELS.patient_words("slot_type", slot["slot_type"], language),
        "when": patient_messages.local_time(start, settings.timezone, language),
        "where": f"{settings.clinic.name}, {settings.clinic.address}",
        # On the patient's own link: the inquiry's id alone opens nothing.
        "ics_url": f"{answer['patient_link']}/appointment.ics",
    }


def tel_href(phone: str) -> str:
    """A ``tel:`` link (RFC 3966) for the clinic's number: its digits, a leading +, and any extension."""
    main, *extension = re.split(r"(?i)\s*(?:ext\.?|x)\s*", phone, maxsplit=1)
    digits = ("+" if main.strip().startswith("+") else "") + _NOT_DIGITS.sub("", main)
    return f"tel:{digits}" + (f";ext={_NOT_DIGITS.sub('', extension[0])}" if extension else "")
