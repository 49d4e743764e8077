"""``GET /form``: the patient form, ready to link to or embed, in English or Spanish.

``?lang=es`` (or ``en``) chooses the language; without it the browser's ``Accept-Language`` does. The form
posts to ``POST /v1/inquiries``, the one intake, which answers a browser with a page in the patient's
language (:mod:`routing.http.browser_answers`). Off (404) when ``ROUTING_FORM=off``.
"""

from __future__ import annotations

from flask import Blueprint, request

from routing.http.deps import wiring
from routing.http.form_page import language_of, render_form
from routing.http.problems import Problem

bp = Blueprint("served_form", __name__)


@bp.get("/form")
def form():
    """The empty form, in the language asked for."""
    settings = wiring().settings
    if not settings.form.enabled:
        raise Problem(404, "The patient form is switched off here (ROUTING_FORM=off).")
    return render_form(settings, language=language_of(request))
