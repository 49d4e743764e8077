"""``/console``: the staff console, server-rendered pages over the same services as the admin API.

Staff sign in with their token, which is exchanged for a signed, HTTP-only, SameSite=Strict session
cookie holding only the token's id (revoking the token ends the session at the next request). Every
form carries a CSRF token (Flask-WTF); every change sends back the ETag the page was rendered with, so
two people cannot overwrite each other.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta

from flask import Blueprint, Flask, Request, Response, flash, g, redirect, render_template, request, session, url_for
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, CSRFProtect
from marshmallow import ValidationError

from routing.adapters.db.models import StaffToken
from routing.adapters.db.types import utcnow
from routing.adapters.scheduling.interface import SchedulingError
from routing.config import Settings
from routing.domain.triage import triage
from routing.domain.vocabulary import InquiryStatus, Route, Urgency
from routing.http.console_text import highlight, local
from routing.http.deps import request_session, wiring
from routing.services import staff_actions, staff_queue
from routing.services.booking import PROPOSAL_HORIZON
from routing.services.staff_tokens import Staff, authenticate
from schemas.inquiry import InquiryRequestSchema

bp = Blueprint("console", __name__, url_prefix="/console")
csrf = CSRFProtect()

#: Pages need nothing from elsewhere and run no script: the strictest policy that still shows them.
POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
REFRESH_SECONDS = 60
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
        app.logger.warning("ROUTING_SECRET_KEY is not set: console sessions end when the process restarts")
        key = secrets.token_urlsafe(48)
    app.config.update(
        SECRET_KEY=key,
        SESSION_COOKIE_NAME="routing_console",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=settings.cookie_secure,
        SESSION_COOKIE_SAMESITE="Strict",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=10),
        # Only console forms are checked (below): the API's clients are servers, not browsers.
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=None,
    )
    app.session_interface = ConsoleSessions()
    csrf.init_app(app)
    app.jinja_env.filters["local"] = lambda moment: local(moment, settings.timezone)
    app.register_blueprint(bp)


@bp.before_request
def _guard():
    if request.method == "POST":
        csrf.protect()  # a form without its token is refused with 400
    if request.endpoint in _PUBLIC:
        return None
    staff = _signed_in()
    if staff is None:
        return redirect(url_for("console.login"), 303)
    g.staff = staff
    return None


@bp.errorhandler(CSRFError)
def _expired_form(_error: CSRFError):
    # A person sees this, not a program: explain in a page, not in problem+json.
    return render_template("console/refused.html"), 400


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
    """Exchange a staff token for a session cookie."""
    staff = authenticate(request_session(), (request.form.get("token") or "").strip())
    request_session().rollback()
    if staff is None:
        return render_template("console/login.html", refused=True), 401
    session.clear()
    session.permanent = True
    session["staff_id"] = str(staff.id)
    return redirect(url_for("console.queue"), 303)


@bp.post("/logout")
def sign_out():
    """End the session."""
    session.clear()
    return redirect(url_for("console.login"), 303)


# --- pages ------------------------------------------------------------------------------------------------


@bp.get("/")
def queue():
    """The inquiries needing attention first, with filters and a count of what is new since the last look."""
    filters = {
        "status": _one_of(request.args.get("status"), [s.value for s in InquiryStatus]),
        "urgency": _one_of(request.args.get("urgency"), [u.value for u in Urgency]),
        "route": _one_of(request.args.get("route"), [r.value for r in Route]),
    }
    db = request_session()
    items, total = staff_queue.queue(db, staff_queue.QueueFilter(**filters), page=1, per_page=100)
    now = utcnow()
    last_seen = _parse(session.get("last_seen")) or now
    new = [item["id"] for item in items if datetime.fromisoformat(item["received_at"]) > last_seen]
    session["last_seen"] = now.isoformat()
    db.rollback()
    return render_template(
        "console/queue.html",
        items=items,
        total=total,
        filters=filters,
        new=set(new),
        last_seen=last_seen,
        refresh=REFRESH_SECONDS,
        statuses=[s.value for s in InquiryStatus],
        urgencies=[u.value for u in Urgency],
        routes=[r.value for r in Route],
    )


@bp.get("/inquiries/<uuid:inquiry_id>")
def inquiry(inquiry_id: uuid.UUID, preview: dict | None = None):
    """One inquiry: patient, highlighted message, decision and reasons, appointments, audit; the actions."""
    db = request_session()
    detail = staff_queue.detail(db, inquiry_id)
    db.rollback()
    if detail is None:
        return render_template("console/missing.html"), 404
    phrases = [e.get("phrase") for e in detail["evidence"] if e.get("source") == "text"]
    return render_template(
        "console/inquiry.html",
        inquiry=detail,
        message=highlight(detail["message"] or "", phrases),
        slots=_free_slots(),
        routes=[r.value for r in Route],
        urgencies=[u.value for u in Urgency if u != Urgency.EMERGENCY],
        outcomes=staff_actions.CALLBACK_OUTCOMES,
        preview=preview,
    )


@bp.post("/inquiries/<uuid:inquiry_id>/override")
def override(inquiry_id: uuid.UUID):
    """Change the route (book new, then cancel old), with a reason."""
    route = request.form.get("route", "")
    reason = (request.form.get("reason") or "").strip()
    if route not in {r.value for r in Route}:
        return _back(inquiry_id, "Choose a route.", ok=False)
    if len(reason) < 3:
        return _back(inquiry_id, "Give a reason (it goes into the audit trail).", ok=False)
    change = staff_actions.Override(
        route=route,
        reason=reason[:1000],
        slot_id=request.form.get("slot_id") or None,
        urgency=_one_of(request.form.get("urgency"), [u.value for u in Urgency if u != Urgency.EMERGENCY]),
    )
    return _act(
        inquiry_id,
        lambda db, tag: staff_actions.override_route(db, wiring().routing, g.staff, inquiry_id, tag, change),
        f"Route changed to {route}.",
    )


@bp.post("/inquiries/<uuid:inquiry_id>/cancel")
def cancel(inquiry_id: uuid.UUID):
    """Cancel the appointment, with a reason."""
    reason = (request.form.get("reason") or "").strip()
    if len(reason) < 3:
        return _back(inquiry_id, "Give a reason for the cancellation.", ok=False)
    return _act(
        inquiry_id,
        lambda db, tag: staff_actions.cancel_appointment(db, wiring().routing, g.staff, inquiry_id, tag, reason),
        "Appointment cancelled.",
    )


@bp.post("/inquiries/<uuid:inquiry_id>/callback")
def callback(inquiry_id: uuid.UUID):
    """Record a call-back outcome on an urgent_review inquiry."""
    outcome = _one_of(request.form.get("outcome"), list(staff_actions.CALLBACK_OUTCOMES))
    if outcome is None:
        return _back(inquiry_id, "Choose the call-back's outcome.", ok=False)
    note = (request.form.get("note") or "").strip()[:1000] or None
    return _act(
        inquiry_id,
        lambda db, tag: staff_actions.record_callback(db, g.staff, inquiry_id, tag, outcome, note),
        "Call-back recorded.",
    )


@bp.post("/inquiries/<uuid:inquiry_id>/retriage")
def retriage(inquiry_id: uuid.UUID):
    """Show what the current rulebook decides, next to the decision in force (nothing changes)."""
    db = request_session()
    try:
        preview = staff_actions.preview_retriage(db, wiring().routing, inquiry_id)
    except staff_actions.NotFound:
        return render_template("console/missing.html"), 404
    finally:
        db.rollback()
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


def _signed_in() -> Staff | None:
    raw = session.get("staff_id")
    if not raw:
        return None
    try:
        token_id = uuid.UUID(raw)
    except ValueError:
        return None
    db = request_session()
    row = db.get(StaffToken, token_id)
    staff = Staff(row.id, row.name, row.role) if row is not None and row.revoked_at is None else None
    db.rollback()
    if staff is None:
        session.clear()
    return staff


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


def _free_slots() -> dict[str, list]:
    w = wiring()
    now = utcnow()
    db = request_session()
    slots: dict[str, list] = {}
    try:
        for slot_type in SLOT_TYPES:
            slots[slot_type] = w.scheduler.find_free_slots(db, slot_type, now, now + PROPOSAL_HORIZON, 5)
    except SchedulingError:
        slots = {}  # the page says the scheduling system cannot be reached
    finally:
        db.rollback()
    return slots


def _rulebook_page(**extra):
    source = wiring().rulebook.source
    return render_template(
        "console/rulebook.html",
        version=source.get("version"),
        policy=source.get("policy"),
        rules=source.get("rules") or [],
        modifiers=source.get("modifiers") or [],
        windows=source.get("urgency_windows_days") or {},
        **extra,
    )


def _one_of(value: str | None, allowed: list[str]) -> str | None:
    return value if value in allowed else None


def _parse(moment: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(moment) if moment else None
    except ValueError:
        return None


__all__ = ["bp", "init_app"]
