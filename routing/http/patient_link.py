"""``/my/<token>``: the patient's own page, in their language, without script or cookies.

- ``GET /my/<token>``: where their request stands in plain words, what the clinic will do, the appointment
  (what, when in the clinic's time, where) with its calendar file, and the changes they may make;
- ``GET /my/<token>/appointment.ics``: the calendar file;
- ``GET``/``POST /my/<token>/cancel``: a confirmation step, then the cancel (303 back to the page);
- ``GET``/``POST /my/<token>/another-time``: which times suit them, sent to staff (303 back to the page);
- ``GET``/``POST /my/<token>/offer/accept`` and ``/offer/decline``: a confirmation step, then the answer to the
  waitlist's open offer (303 back to the page; a page saying the time is no longer available, 409, when the
  offer is not open any more; "try again in a few minutes", 503, when the scheduling system is unreachable);
- ``GET``/``POST /my/<token>/unavailable-times``: the days or times that do not suit them while on the
  waitlist (303 back to the page).

Every link that does not open a page (forged, cut short, signed for something else, expired, its inquiry
closed or unknown, its appointment long past) gets the same 404 page, in every language we write, saying to
call the clinic: nothing tells whether an inquiry exists. A change is posted with the action token of the
step the patient saw (:mod:`routing.services.patient_link`); the link itself is the only credential.

The pages are not in the API's OpenAPI document (they are pages, like ``/form`` and ``/console``); they may not
be framed (the cancel button must not be clickjacked), ask search engines not to index them, and are rate
limited per client address (``ROUTING_RATE_LIMIT_PATIENT_LINK``).
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from marshmallow import ValidationError
from sqlalchemy.exc import OperationalError

from routing.adapters.db.types import utcnow
from routing.domain import patient_messages
from routing.domain.labels import LABELS
from routing.domain.patient_form import reference
from routing.domain.vocabulary import InquiryStatus
from routing.http.browser_answers import tel_href
from routing.http.calendar_download import calendar_file
from routing.http.deps import request_session, wiring
from routing.http.form_page import LANGUAGES, Texts, language_of
from routing.http.problems import Problem
from routing.services import patient_actions, patient_link, patient_page
from routing.services.patient_page import PatientView
from routing.services.staff_actions import ActionRefused
from routing.services.waitlist_answers import OfferClosed, OfferUnavailable
from schemas.patient_link import TIMES_MAX, AnotherTimeSchema, ConfirmSchema, UnavailableTimesSchema

bp = Blueprint("patient_link", __name__, url_prefix="/my")

#: No script, nothing from elsewhere, posts only to ourselves, never framed.
POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
#: The two answers to a waitlist offer: the action (its token's name) and the service that gives it.
_ANSWERS = {
    "accept": (patient_actions.ACCEPT_OFFER, patient_actions.accept_offer),
    "decline": (patient_actions.DECLINE_OFFER, patient_actions.decline_offer),
}
_confirm = ConfirmSchema()
_another_time = AnotherTimeSchema()
_unavailable_times = UnavailableTimesSchema()


@bp.get("/<token>")
def page(token: str):
    """The patient's page: status, what happens next, the appointment, what they may change."""
    view = _open(token)
    if view is None:
        return _missing()
    t = _texts(view)
    notice = _done(view, request.args.get("done"))
    html = render_template(
        "my/page.html",
        t=t,
        language=view.language,
        title=t(f"my.status_{view.status}"),
        notice=t(notice) if notice else None,
        patient_message=view.patient_message,
        appointment=_appointment(view, token),
        offer=_offer(view, token),
        waitlist=_waitlist(view, token),
        cancel_url=url_for(".confirm_cancel", token=token) if view.can_cancel else None,
        ask_url=url_for(".another_time_form", token=token) if view.can_ask else None,
        phone_href=tel_href(wiring().clinic.phone),
        reference=reference(str(view.inquiry_id)),
    )
    return _page(html)


def _done(view: PatientView, done: str | None) -> str | None:
    """What ``?done=`` after a change says (a text's key), when the page agrees it happened."""
    if done == "cancelled" and view.appointment is None:
        return "my.cancelled_notice"
    if done == "asked" and view.status == InquiryStatus.NEEDS_REVIEW:
        return "my.asked_notice_waitlist" if view.waitlist else "my.asked_notice"
    if done == "accepted" and view.status == InquiryStatus.BOOKED and view.appointment is not None:
        return "my.accepted_notice"
    if done == "declined" and view.waitlist is not None:
        return "my.declined_notice"
    if done == "unavailable" and view.waitlist is not None:
        return "my.unavailable_notice"
    return None


@bp.get("/<token>/appointment.ics")
def calendar(token: str):
    """The appointment as a calendar file."""
    view = _open(token)
    if view is None or view.appointment is None:
        return _missing()
    shown = view.appointment
    clinic = wiring().routing.clinic_at(shown.location)
    return calendar_file(shown.id, shown.slot_type, shown.start, shown.end, view.language, clinic)


@bp.get("/<token>/cancel")
def confirm_cancel(token: str):
    """The confirmation step of a cancel: the appointment, and the button that cancels it."""
    view = _open(token)
    if view is None:
        return _missing()
    if not view.can_cancel:
        return redirect(url_for(".page", token=token), 303)
    t = _texts(view)
    action = patient_link.action_token(
        current_app.secret_key, view.inquiry_id, patient_actions.CANCEL, utcnow(), view.appointment.id
    )
    html = render_template(
        "my/cancel.html",
        t=t,
        language=view.language,
        appointment=_appointment(view, token),
        action=url_for(".cancel", token=token),
        action_token=action,
        back_url=url_for(".page", token=token),
    )
    return _page(html)


@bp.post("/<token>/cancel")
def cancel(token: str):
    """Cancel the appointment shown at the confirmation step; back to the page."""
    view = _open(token)
    if view is None:
        return _missing()
    try:
        sent = _confirm.load(request.form)
        patient_actions.cancel(
            request_session(), wiring().routing, current_app.secret_key, view, sent["action_token"], utcnow()
        )
    except (ValidationError, patient_actions.NotConfirmed):
        return _problem(view, token, "not_confirmed", 400)
    except ActionRefused as refused:
        return _problem(view, token, "unavailable" if refused.status == 503 else "changed", refused.status)
    return redirect(url_for(".page", token=token, done="cancelled"), 303)


@bp.get("/<token>/another-time")
def another_time_form(token: str):
    """The form for the times that suit the patient."""
    view = _open(token)
    if view is None:
        return _missing()
    if not view.can_ask:
        return redirect(url_for(".page", token=token), 303)
    return _times_form(view, token)


@bp.post("/<token>/another-time")
def another_time(token: str):
    """Send the patient's preferred times to staff; back to the page."""
    view = _open(token)
    if view is None:
        return _missing()
    try:
        sent = _another_time.load(request.form)
    except ValidationError as error:
        if "action_token" in error.messages:
            return _problem(view, token, "not_confirmed", 400)
        value = request.form.get("preferred_times", "").strip()
        return _times_form(view, token, value, "times_too_long" if len(value) > TIMES_MAX else "times_missing")
    try:
        patient_actions.ask_for_another_time(
            request_session(),
            wiring().routing,
            current_app.secret_key,
            view,
            sent["action_token"],
            sent["preferred_times"],
            utcnow(),
        )
    except patient_actions.NotConfirmed:
        return _problem(view, token, "not_confirmed", 400)
    except ActionRefused:
        return _problem(view, token, "not_now", 409)
    return redirect(url_for(".page", token=token, done="asked"), 303)


@bp.get("/<token>/offer/<answer>")
def confirm_answer(token: str, answer: str):
    """The confirmation step of an answer to the waitlist's offer: the offered time, and the button that answers."""
    view = _open(token)
    if view is None or answer not in _ANSWERS:
        return _missing()
    if view.offer is None:
        return _offer_closed(view, token)
    t = _texts(view)
    action = patient_link.action_token(
        current_app.secret_key, view.inquiry_id, _ANSWERS[answer][0], utcnow(), view.offer.id
    )
    html = render_template(
        "my/offer.html",
        t=t,
        language=view.language,
        answer=answer,
        offer=_offer(view, token),
        action=url_for(".answer_offer", token=token, answer=answer),
        action_token=action,
        back_url=url_for(".page", token=token),
    )
    return _page(html)


@bp.post("/<token>/offer/<answer>")
def answer_offer(token: str, answer: str):
    """Accept or decline the offer shown at the confirmation step; back to the page."""
    view = _open(token)
    if view is None or answer not in _ANSWERS:
        return _missing()
    try:
        sent = _confirm.load(request.form)
        _ANSWERS[answer][1](
            request_session(), wiring().routing, current_app.secret_key, view, sent["action_token"], utcnow()
        )
    except (ValidationError, patient_actions.NotConfirmed):
        return _problem(view, token, "not_confirmed", 400)
    except OfferClosed:
        # Read again: what closed the offer may have changed the rest (a settled inquiry left the waitlist).
        return _offer_closed(_open(token) or view, token)
    except OfferUnavailable:
        return _problem(view, token, "unavailable", 503)
    return redirect(url_for(".page", token=token, done="accepted" if answer == "accept" else "declined"), 303)


@bp.get("/<token>/unavailable-times")
def unavailable_times_form(token: str):
    """The form for the days or times that do not suit a patient on the waitlist."""
    view = _open(token)
    if view is None:
        return _missing()
    if view.waitlist is None:
        return redirect(url_for(".page", token=token), 303)
    return _unavailable_form(view, token, "\n".join(view.waitlist.unavailable_times))


@bp.post("/<token>/unavailable-times")
def unavailable_times(token: str):
    """Store the days or times that do not suit the patient; back to the page."""
    view = _open(token)
    if view is None:
        return _missing()
    try:
        sent = _unavailable_times.load(request.form)
    except ValidationError as error:
        if "action_token" in error.messages:
            return _problem(view, token, "not_confirmed", 400)
        return _unavailable_form(view, token, request.form.get("unavailable_times", ""), t_key="unavailable_too_long")
    try:
        patient_actions.set_unavailable_times(
            request_session(),
            wiring().routing,
            current_app.secret_key,
            view,
            sent["action_token"],
            sent["unavailable_times"],
            utcnow(),
        )
    except patient_actions.NotConfirmed:
        return _problem(view, token, "not_confirmed", 400)
    except patient_actions.TimesUnread as unread:
        value = request.form.get("unavailable_times", "")
        return _unavailable_form(view, token, value, t_key="unavailable_unread", line=unread.line)
    except ActionRefused:
        return _problem(view, token, "not_now", 409)
    return redirect(url_for(".page", token=token, done="unavailable"), 303)


@bp.errorhandler(Problem)
def _refused(problem: Problem):
    # The rate limit's 429, before the link is read: a page in the browser's language, Retry-After kept.
    t = Texts(language_of(request), wiring().clinic)
    wait = problem.headers.get("Retry-After", "")
    minutes = max(1, -(-int(wait) // 60)) if wait.isdigit() else 1
    key = "too_many" if problem.status == 429 else "not_now"
    html = render_template(
        "my/problem.html",
        t=t,
        language=t.language,
        message=t(f"my.{key}", minutes=minutes),
        phone_href=tel_href(wiring().clinic.phone),
        back_url=None,
    )
    return _page(html, problem.status, problem.headers)


@bp.errorhandler(OperationalError)
def _database_down(_error: OperationalError):
    t = Texts(language_of(request), wiring().clinic)
    html = render_template(
        "my/problem.html",
        t=t,
        language=t.language,
        message=t("my.unavailable"),
        phone_href=tel_href(wiring().clinic.phone),
        back_url=None,
    )
    return _page(html, 503, {"Retry-After": "30"})


# --- helpers ---------------------------------------------------------------------------------------------


def _open(token: str) -> PatientView | None:
    settings = wiring().settings
    return patient_page.open_link(
        request_session(),
        current_app.secret_key,
        token,
        utcnow(),
        timedelta(days=settings.patient_link_days),
        settings.clinic,
    )


def _texts(view: PatientView) -> Texts:
    return Texts(view.language, wiring().clinic)


def _appointment(view: PatientView, token: str) -> dict[str, str] | None:
    shown = view.appointment
    if shown is None:
        return None
    routing = wiring().routing
    clinic = routing.clinic_at(shown.location)
    return {
        "what": LABELS.patient_words("slot_type", shown.slot_type, view.language),
        "when": patient_messages.local_time(shown.start, routing.tz_at(shown.location), view.language),
        "where": f"{clinic.name}, {clinic.address}",
        "ics_url": url_for(".calendar", token=token),
    }


def _offer(view: PatientView, token: str) -> dict[str, str] | None:
    offer = view.offer
    if offer is None:
        return None
    w = wiring()
    tz = w.settings.timezone
    return {
        "what": LABELS.patient_words("slot_type", offer.slot_type, view.language),
        "when": patient_messages.local_time(offer.start, tz, view.language),
        "where": f"{w.clinic.name}, {w.clinic.address}",
        "until": patient_messages.local_time(offer.until, tz, view.language),
        "accept_url": url_for(".confirm_answer", token=token, answer="accept"),
        "decline_url": url_for(".confirm_answer", token=token, answer="decline"),
    }


def _waitlist(view: PatientView, token: str) -> dict[str, object] | None:
    entry = view.waitlist
    if entry is None:
        return None
    return {
        "kind": LABELS.patient_words("slot_type", entry.slot_type, view.language),
        "times": list(entry.unavailable_times),
        "change_url": url_for(".unavailable_times_form", token=token),
    }


def _offer_closed(view: PatientView, token: str) -> Response:
    """The offer is not open any more: nothing was booked; what happens next depends on the waitlist."""
    return _problem(view, token, "offer_closed_waiting" if view.waitlist else "offer_closed", 409)


def _unavailable_form(
    view: PatientView, token: str, value: str, *, t_key: str | None = None, line: str = ""
) -> Response:
    t = _texts(view)
    action = patient_link.action_token(
        current_app.secret_key, view.inquiry_id, patient_actions.UNAVAILABLE_TIMES, utcnow()
    )
    html = render_template(
        "my/unavailable.html",
        t=t,
        language=view.language,
        action=url_for(".unavailable_times", token=token),
        action_token=action,
        value=value,
        error=t(f"my.{t_key}", line=line) if t_key else None,
        max_length=TIMES_MAX,
        back_url=url_for(".page", token=token),
    )
    return _page(html, 422 if t_key else 200)


def _times_form(view: PatientView, token: str, value: str = "", error: str | None = None) -> Response:
    t = _texts(view)
    action = patient_link.action_token(current_app.secret_key, view.inquiry_id, patient_actions.ANOTHER_TIME, utcnow())
    html = render_template(
        "my/another_time.html",
        t=t,
        language=view.language,
        intro=t("my.another_intro_kept" if view.appointment else "my.another_intro"),
        action=url_for(".another_time", token=token),
        action_token=action,
        value=value,
        error=t(f"my.{error}") if error else None,
        max_length=TIMES_MAX,
        back_url=url_for(".page", token=token),
    )
    return _page(html, 422 if error else 200)


def _problem(view: PatientView, token: str, key: str, status: int) -> Response:
    t = _texts(view)
    html = render_template(
        "my/problem.html",
        t=t,
        language=view.language,
        message=t(f"my.{key}"),
        phone_href=tel_href(wiring().clinic.phone),
        back_url=url_for(".page", token=token),
    )
    return _page(html, status)


def _missing() -> Response:
    clinic = wiring().clinic
    sections = [{"language": code, "t": Texts(code, clinic)} for code in LANGUAGES]
    html = render_template("my/missing.html", sections=sections, phone_href=tel_href(clinic.phone))
    return _page(html, 404)


def _page(html: str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    response = Response(html, status=status, mimetype="text/html")
    response.headers.update(headers or {})
    response.headers["Content-Security-Policy"] = POLICY
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.vary.add("Accept-Language")
    return response
