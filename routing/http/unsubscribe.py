"""``/unsubscribe/<token>``: the link at the foot of every patient email.

``GET`` only shows what the button will do (mail scanners and link previews open links; opening one must change
nothing); ``POST`` records the opt-out. The same ``POST`` is the RFC 8058 one-click unsubscribe mail programs
send from the ``List-Unsubscribe-Post`` header, so it needs nothing but the token. The pages are in the language
the email was written in, and say nothing about whose address it is.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for

from routing.adapters.db.types import utcnow
from routing.http.deps import request_session, wiring
from routing.http.form_page import Texts, language_of, page_response
from routing.services.opt_outs import UnsubscribeRequest, read_unsubscribe_token, unsubscribe

bp = Blueprint("unsubscribe", __name__)


@bp.get("/unsubscribe/<token>")
def confirm(token: str):
    """What the button does, and the button."""
    found = _request(token)
    if found is None:
        return _invalid()
    t = _texts(found.language)
    return _page(
        t,
        t("unsubscribe.title"),
        [t("unsubscribe.question"), t("unsubscribe.explain")],
        action=url_for("unsubscribe.stop", token=token),
        button=t("unsubscribe.confirm"),
    )


@bp.post("/unsubscribe/<token>")
def stop(token: str):
    """Record the opt-out (again is fine), then say so."""
    found = _request(token)
    if found is None:
        return _invalid()
    w = wiring()
    country_code = w.settings.sms.country_code if w.settings.sms is not None else "1"
    unsubscribe(request_session(), found, country_code, utcnow())
    t = _texts(found.language)
    return _page(t, t("unsubscribe.done_title"), [t("unsubscribe.done_text")])


def _request(token: str) -> UnsubscribeRequest | None:
    settings = wiring().settings
    if settings.email is None or settings.secret_key is None:
        return None
    return read_unsubscribe_token(settings.secret_key, token)


def _texts(language: str) -> Texts:
    return Texts(language_of(request, language), wiring().settings.clinic)


def _invalid():
    t = _texts("")
    return _page(t, t("unsubscribe.invalid_title"), [t("unsubscribe.invalid_text")], status=404)


def _page(t: Texts, title: str, paragraphs: list[str], *, status: int = 200, action=None, button=None):
    html = render_template(
        "notify/unsubscribe.html",
        language=t.language,
        t=t,
        title=title,
        paragraphs=paragraphs,
        action=action,
        button=button,
    )
    return page_response(html, status, wiring().settings)
