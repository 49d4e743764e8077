"""``/console``: the staff console, server-rendered pages over the same services as the admin API.

Staff sign in with their token, which is exchanged for a signed, HTTP-only, SameSite=Strict session
cookie holding only a random session secret. The session itself is kept on the server
(:mod:`routing.services.console_sessions`): signing out, idling past ROUTING_CONSOLE_IDLE_MINUTES,
ROUTING_CONSOLE_MAX_HOURS after sign-in, or the token's revocation or expiry end it for every copy of the
cookie. Every form carries a CSRF token (Flask-WTF); every change sends back the ETag the page was
rendered with, so two people cannot overwrite each other.
"""

from __future__ import annotations

import math
import secrets
import uuid
from dataclasses import replace
from datetime import datetime, timedelta

from flask import Blueprint, Flask, Request, Response, flash, g, redirect, render_template, request, session, url_for
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, CSRFProtect
from marshmallow import ValidationError

from routing.adapters.db.types import utcnow
from routing.adapters.scheduling.interface import SchedulingError
from routing.config import Settings
from routing.domain.triage import triage
from routing.domain.vocabulary import InquiryStatus, Route, Urgency
from routing.http import console_locations, console_rulebooks, console_waitlist, console_webhooks
from routing.http.console_forms import PER_PAGE, parse_queue_query
from routing.http.console_text import (
    LABELS,
    duration,
    fact_value,
    highlight,
    label,
    local,
    reason_text,
    rule_text,
)
from routing.http.deps import request_session, wiring
from routing.http.problems import flatten_errors
from routing.services import console_sessions, locations, schedule, staff_actions, staff_queue
from routing.services.staff_tokens import TokenExpired, authenticate
from schemas.admin import AcknowledgeRequestSchema, CallbackRequestSchema, CancelRequestSchema, OverrideRequestSchema
from schemas.inquiry import InquiryRequestSchema

bp = Blueprint("console", __name__, url_prefix="/console")
# Admins' pages (webhooks, deliveries): under /console, behind the same sign-in, CSRF check and policy.
bp.register_blueprint(console_webhooks.bp)
# The waitlist per route, and staff's changes to it.
bp.register_blueprint(console_waitlist.bp)
# The rulebook's versions: drafts, diffs, impact previews, approval and activation.
bp.register_blueprint(console_rulebooks.bp)
# The practice's sites: everyone reads them, admins change them.
bp.register_blueprint(console_locations.bp)
csrf = CSRFProtect()

#: Pages need nothing from elsewhere and run no script: the strictest policy that still shows them.
POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SLOT_TYPES = ("consult", "imaging", "injection")
_PUBLIC = {"console.login", "console.sign_in"}
_request_schema = InquiryRequestSchema()


class ConsoleSessions(SecureCookieSessionInterface):
    """Signed cookie sessions for the console's pages only.

    Flask opens the session of every request, which builds a signing serializer each time: about 4 % of
    an intake request's CPU. API requests carry no cookie session and get Flask's null session.
    """

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """The console's session; None (Flask's null session) for every other path."""
        if not request.path.startswith(bp.url_prefix):
            return None
        return super().open_session(app, request)


def init_app(app: Flask, settings: Settings) -> None:
    """Sessions and CSRF for the console; the API's own endpoints are left alone."""
    key = settings.secret_key
    if key is None:
        # Sessions then last as long as the process, and each process signs its own: set the key in
        # production (several workers must share it).
        app.logger.warning(
            "ROUTING_SECRET_KEY is not set: console sessions and patients' own links (/my/...) stop working when the "
            "process restarts, and each worker signs its own"
        )
        key = secrets.token_urlsafe(48)
    app.config.update(
        SECRET_KEY=key,
        SESSION_COOKIE_NAME="routing_console",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=settings.cookie_secure,
        SESSION_COOKIE_SAMESITE="Strict",
        # The browser drops the cookie when the server-side session would end anyway.
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.console_max_hours),
        # Only console forms are checked (below): the API's clients are servers, not browsers.
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=None,
    )
    app.session_interface = ConsoleSessions()
    csrf.init_app(app)
    app.jinja_env.filters["local"] = lambda moment: local(moment, settings.timezone)
    app.jinja_env.filters["label"] = label
    app.jinja_env.filters["reason_text"] = reason_text
    app.jinja_env.filters["rule_text"] = rule_text
    app.jinja_env.filters["duration"] = duration
    app.register_blueprint(bp)


@bp.before_request
def _guard():
    if request.method == "POST":
        csrf.protect()  # a form without its token is refused with 400
    if request.endpoint in _PUBLIC:
        return None
    secret = session.get("sid")
    if not secret:
        session.clear()  # also drops a cookie from before sessions were kept on the server
        return redirect(url_for("console.login"), 303)
    db = request_session()
    try:
        g.staff = console_sessions.resume(db, secret, _timeouts())
    except console_sessions.SessionEnded as ended:
        session.clear()
        flash(_ended_message(ended.reason), "error")
        return redirect(url_for("console.login"), 303)
    return None


@bp.errorhandler(CSRFError)
def _expired_form(_error: CSRFError):
    # A person sees this, not a program: explain in a page, not in problem+json.
    return render_template("console/refused.html"), 400


@bp.context_processor
def _new_since_last_look() -> dict:
    """How many inquiries arrived since this person last opened the queue, for the header of every page.

    Counted when a page is opened, never by a timed reload: nothing moves the keyboard focus, and the
    count clears only when the person opens the queue (and so sees them).
    """
    last_seen = _parse(session.get("last_seen")) if getattr(g, "staff", None) else None
    if last_seen is None:
        return {"arrived": None}
    return {"arrived": staff_queue.received_since(request_session(), last_seen)}


@bp.after_request
def _policy(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = POLICY
    return response


# --- signing in and out ---------------------------------------------------------------------------------


@bp.get("/login")
def login():
    """The sign-in page."""
    return render_template("console/login.html")


@bp.post("/login")
def sign_in():
    """Exchange a staff token for a session (kept on the server; the cookie holds its secret)."""
    db = request_session()
    try:
        staff = authenticate(db, (request.form.get("token") or "").strip())
    except TokenExpired as expired:
        return render_template("console/login.html", refused="expired", expired_at=expired.expired_at), 401
    if staff is None:
        return render_template("console/login.html", refused="invalid"), 401
    secret = console_sessions.start(db, staff, _timeouts())
    session.clear()
    session.permanent = True
    session["sid"] = secret
    return redirect(url_for("console.queue"), 303)


@bp.post("/logout")
def sign_out():
    """End the session on the server, so a copy of the cookie stops working too."""
    console_sessions.end(request_session(), session["sid"])
    session.clear()
    flash("You have signed out.", "success")
    return redirect(url_for("console.login"), 303)


# --- pages ------------------------------------------------------------------------------------------------


@bp.get("/")
def queue():
    """The queue, a page at a time, with the admin API's filters and a count of what is new since the last look."""
    tz = wiring().settings.timezone
    query = parse_queue_query(request.args.to_dict(), tz)
    db = request_session()
    found = staff_queue.queue_page(db, query.filters, page=query.page, per_page=PER_PAGE)
    items, total = found.items, found.total
    # Counting stops at keyset.COUNT_LIMIT: past it the last page is not known, and "next" follows the rows.
    pages = max(1, math.ceil(total / PER_PAGE))
    if found.next_cursor:
        pages = max(pages, query.page + 1)
    if query.page > pages and not found.total_capped:
        return redirect(url_for("console.queue", **query.args, page=pages), 303)
    now = utcnow()
    last_seen = _parse(session.get("last_seen"))
    new, new_total = set(), None
    if last_seen is not None:  # the first view has nothing to compare with
        new = {item["id"] for item in items if datetime.fromisoformat(item["received_at"]) > last_seen}
        since = max(last_seen, query.filters.received_after or last_seen)
        _, new_total = staff_queue.queue(db, replace(query.filters, received_after=since), page=1, per_page=1)
    session["last_seen"] = now.isoformat()
    if query.rejected:
        flash(f"Not understood, so ignored: {', '.join(n.replace('_', ' ') for n in query.rejected)}.", "error")
    return render_template(
        "console/queue.html",
        items=items,
        total=total,
        total_capped=found.total_capped,
        page=query.page,
        pages=pages,
        per_page=PER_PAGE,
        args=query.args,
        filters=query.args,
        new=new,
        new_total=new_total,
        last_seen=last_seen,
        timezone=tz.key,
        statuses=[s.value for s in InquiryStatus],
        urgencies=[u.value for u in Urgency],
        routes=[r.value for r in Route],
        sites=_site_names(db),
    )


@bp.get("/inquiries/<uuid:inquiry_id>")
def inquiry(inquiry_id: uuid.UUID, preview: dict | None = None):
    """One inquiry: patient, highlighted message, decision and reasons, appointments, audit; the actions."""
    detail = staff_queue.detail(
        request_session(), inquiry_id, wiring().routing, text_days=wiring().settings.retention.text_days
    )
    if detail is None:
        return render_template("console/missing.html"), 404
    phrases = [e.get("phrase") for e in detail["evidence"] if e.get("source") == "text"]
    patient = detail["patient"]
    name = " ".join(str(patient.get(key) or "") for key in ("first_name", "last_name")).strip()
    decision = detail["decision"]
    sites = _site_names(request_session())
    return render_template(
        "console/inquiry.html",
        inquiry=detail,
        patient_name=name or "unknown patient",
        # An open emergency: "call now" on the page and in its title, until handled.
        call_now=bool(decision and decision["urgency"] == Urgency.EMERGENCY and not detail["handled"]),
        message=highlight(detail["message"] or "", phrases),
        fact_value=lambda fact, value: fact_value(fact, value, wiring().rulebook.source.get("labels") or {}),
        timezone=wiring().settings.timezone.key,
        slots=_free_slots(),
        routes=[r.value for r in Route],
        urgencies=[u.value for u in Urgency if u != Urgency.EMERGENCY],
        outcomes=staff_actions.CALLBACK_OUTCOMES,
        waitlist_routes=SLOT_TYPES,
        preview=preview,
        sites=sites,
        # The override's site choice: the active sites, when there are several to choose from.
        bookable_sites=_bookable_sites(),
    )


@bp.post("/inquiries/<uuid:inquiry_id>/override")
def override(inquiry_id: uuid.UUID):
    """Change the route (book new, then cancel old), with a reason."""
    body, problem = _form(_override_form)
    if problem:
        return _back(inquiry_id, problem, ok=False)
    change = staff_actions.Override(**body)
    return _act(
        inquiry_id,
        lambda db, tag: staff_actions.override_route(db, wiring().routing, g.staff, inquiry_id, tag, change),
        f"Route changed to {label(change.route, 'route')}.",
    )


@bp.post("/inquiries/<uuid:inquiry_id>/cancel")
def cancel(inquiry_id: uuid.UUID):
    """Cancel the appointment, with a reason."""
    body, problem = _form(_cancel_form)
    if problem:
        return _back(inquiry_id, problem, ok=False)
    return _act(
        inquiry_id,
        lambda db, tag: staff_actions.cancel_appointment(
            db, wiring().routing, g.staff, inquiry_id, tag, body["reason"]
        ),
        "Appointment cancelled.",
    )


@bp.post("/inquiries/<uuid:inquiry_id>/callback")
def callback(inquiry_id: uuid.UUID):
    """Record a call-back outcome on an urgent_review inquiry."""
    body, problem = _form(_callback_form)
    if problem:
        return _back(inquiry_id, problem, ok=False)
    return _act(
        inquiry_id,
        lambda db, tag: staff_actions.record_callback(db, g.staff, inquiry_id, tag, body["outcome"], body.get("note")),
        "Call-back recorded.",
    )


@bp.post("/inquiries/<uuid:inquiry_id>/acknowledge")
def acknowledge(inquiry_id: uuid.UUID):
    """Mark an open emergency or urgent review as handled (for example, called from another phone)."""
    body, problem = _form(_acknowledge_form)
    if problem:
        return _back(inquiry_id, problem, ok=False)
    return _act(
        inquiry_id,
        lambda db, tag: staff_actions.acknowledge(db, g.staff, inquiry_id, tag, body.get("note")),
        "Marked as handled.",
    )


# The console's forms are read by the admin API's own schemas: the same rules and the same messages.
_override_form = OverrideRequestSchema()
_cancel_form = CancelRequestSchema()
_callback_form = CallbackRequestSchema()
_acknowledge_form = AcknowledgeRequestSchema()
_NOT_FIELDS = ("csrf_token", "etag")


def _form(schema) -> tuple[dict, str | None]:
    """The posted form loaded by ``schema`` (blank fields left out), or a message naming each bad field."""
    raw = {name: value.strip() for name, value in request.form.items() if name not in _NOT_FIELDS and value.strip()}
    try:
        return schema.load(raw), None
    except ValidationError as error:
        problems = flatten_errors(error.messages)
        return {}, " ".join(f"{name.replace('_', ' ').capitalize()}: {' '.join(problems[name])}" for name in problems)


@bp.post("/inquiries/<uuid:inquiry_id>/retriage")
def retriage(inquiry_id: uuid.UUID):
    """Show what the current rulebook decides, next to the decision in force (nothing changes)."""
    try:
        preview = staff_actions.preview_retriage(request_session(), wiring().routing, inquiry_id)
    except staff_actions.NotFound:
        return render_template("console/missing.html"), 404
    return inquiry(inquiry_id, preview=preview)


@bp.post("/inquiries/<uuid:inquiry_id>/retriage/apply")
def retriage_apply(inquiry_id: uuid.UUID):
    """Put the current rulebook's decision in force."""
    return _act(
        inquiry_id,
        lambda db, tag: staff_actions.apply_retriage(db, wiring().routing, g.staff, inquiry_id, tag),
        "The new decision is in force. Bookings were not changed; override the route if needed.",
    )


@bp.get("/rulebook")
def rulebook():
    """The rules in force, in order, and a box to try a message."""
    return _rulebook_page()


@bp.post("/rulebook/try")
def try_message():
    """Run the rulebook on a typed message (and form answers), storing nothing."""
    message = (request.form.get("message") or "").strip()[:10_000]
    try:
        data = _request_schema.load(
            {"patient": {"first_name": "Test", "last_name": "Only", "email": "test@example.org"}, "message": message}
        )
    except ValidationError:
        return _rulebook_page(message=message, error="Type a message to try."), 422
    w = wiring()
    today = utcnow().astimezone(w.settings.timezone).date()
    symptoms, message = data.get("symptoms") or {}, data.get("message")
    decision = triage(symptoms, message, today, w.rulebook, reader=w.reader)
    return _rulebook_page(message=message, result=decision.to_dict())


# --- helpers ----------------------------------------------------------------------------------------------


def _timeouts() -> console_sessions.Timeouts:
    settings = wiring().settings
    return console_sessions.Timeouts(
        idle=timedelta(minutes=settings.console_idle_minutes), max_age=timedelta(hours=settings.console_max_hours)
    )


def _ended_message(reason: console_sessions.EndReason) -> str:
    settings = wiring().settings
    return LABELS["session_ended"][reason].format(
        idle=settings.console_idle_minutes, max_age=settings.console_max_hours
    )


def _act(inquiry_id: uuid.UUID, action, success: str) -> Response:
    try:
        action(request_session(), request.form.get("etag"))
    except staff_actions.NotFound:
        return render_template("console/missing.html"), 404
    except staff_actions.StaleVersion:
        return _back(
            inquiry_id, "Someone changed this inquiry since you opened it. Check it again, then decide.", ok=False
        )
    except staff_actions.ActionRefused as refused:
        return _back(inquiry_id, str(refused), ok=False)
    return _back(inquiry_id, success)


def _back(inquiry_id: uuid.UUID, message: str, ok: bool = True) -> Response:
    flash(message, "success" if ok else "error")
    return redirect(url_for("console.inquiry", inquiry_id=inquiry_id), 303)


def _site_names(db) -> dict[str, str]:
    """Every site's name by id (inactive ones marked), to show and filter by; empty with one site or none."""
    rows = locations.list_all(db)
    if len(rows) < 2:
        return {}
    return {row["id"]: row["name"] + ("" if row["active"] else " (inactive)") for row in rows}


def _bookable_sites() -> list:
    directory = wiring().locations
    sites = directory.sites() if directory is not None else ()
    return list(sites) if len(sites) > 1 else []


def _free_slots() -> dict[str, list]:
    scheduler, now, db = wiring().scheduler, utcnow(), request_session()
    try:
        return {slot_type: schedule.next_free_slots(db, scheduler, slot_type, now, 5) for slot_type in SLOT_TYPES}
    except SchedulingError:
        return {}  # the page says the scheduling system cannot be reached


def _rulebook_page(**extra):
    source = wiring().rulebook.source
    return render_template(
        "console/rulebook.html",
        version=source.get("version"),
        policy=source.get("policy"),
        rules=source.get("rules") or [],
        modifiers=_modifier_steps(source.get("modifiers")),
        windows=source.get("urgency_windows_days") or {},
        **extra,
    )


def _modifier_steps(modifiers) -> list:
    # The rulebook keeps its modifiers as {"never_for_routes": [...], "steps": [...]}; older ones as a list.
    return modifiers.get("steps") or [] if isinstance(modifiers, dict) else modifiers or []


def _parse(moment: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(moment) if moment else None
    except ValueError:
        return None


__all__ = ["bp", "init_app"]
