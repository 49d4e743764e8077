"""Every staff route by {no token, bad token, revoked token, staff, admin}: 401, 403 or success.

The routes come from the app's URL map: a new route under /v1/admin (or the dry run) without an auth
check, or without a valid example request here, fails this test.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from routing import create_app
from routing.adapters.db.models import OutboxDelivery, StaffToken
from routing.services import outbox_dispatch, staff_tokens
from tests.conftest import settings_for
from tests.http.admin_helpers import RED_FLAG, bearer, etag_of, make_token, new_inquiry
from tests.http.intake_helpers import add_slots, inquiry
from tests.http.preview_helpers import add_version, draft_28_days
from tests.http.rulebook_helpers import approved_version, create_draft, document

STAFF_PREFIXES = ("/v1/admin", "/v1/triage")


class Context:
    """The app, a client, and the tokens of each identity."""

    def __init__(self, app):
        self.app = app
        self.client = app.test_client()
        self.staff = make_token(app, "Sam Staff", "staff")
        self.admin = make_token(app, "Ada Admin", "admin")
        self.revoked = make_token(app, "Rex Revoked", "staff", revoked=True)

    def booked(self) -> str:
        return new_inquiry(self.client)

    def urgent(self) -> str:
        return new_inquiry(self.client, RED_FLAG)


# A valid request for every staff route: (method, rule) -> builder(ctx, token) -> (url, request kwargs).
Builder = Callable[[Context, str], tuple[str, dict]]


def _changing(path: str, body: dict, inquiry: Callable[[Context], str] = Context.booked) -> Builder:
    def build(ctx: Context, token: str) -> tuple[str, dict]:
        inquiry_id = inquiry(ctx)
        headers = {"If-Match": etag_of(ctx.client, ctx.admin, inquiry_id)}
        return f"/v1/admin/inquiries/{inquiry_id}{path}", {"json": body, "headers": headers}

    return build


def _revocable(ctx: Context, token: str) -> tuple[str, dict]:
    with ctx.app.extensions["routing"].db.session() as session:
        from routing.services.staff_tokens import list_tokens

        spare = make_token(ctx.app, "Spare", "staff")
        assert spare
        row = next(t for t in list_tokens(session) if t.name == "Spare" and t.revoked_at is None)
    return f"/v1/admin/tokens/{row.id}", {}


def _subscription(ctx: Context) -> str:
    body = {"description": "EHR inbox", "url": "https://ehr.example.org/hooks", "event_types": ["inquiry.received"]}
    response = ctx.client.post("/v1/admin/webhooks", json=body, headers=bearer(ctx.admin))
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _subscribed(path: str, method_body: dict | None = None) -> Builder:
    def build(ctx: Context, token: str) -> tuple[str, dict]:
        return f"/v1/admin/webhooks/{_subscription(ctx)}{path}", {"json": method_body} if method_body else {}

    return build


def _dead_delivery(path: str) -> Builder:
    """A webhook delivery dead-lettered (a replay's subject)."""

    def build(ctx: Context, token: str) -> tuple[str, dict]:
        _subscription(ctx)
        ctx.booked()
        wiring = ctx.app.extensions["routing"]
        with wiring.db.session() as session:
            outbox_dispatch.fan_out(session, wiring.channels, wiring.outbox_policy, datetime.now(UTC))
        with wiring.db.session() as session, session.begin():
            delivery_id = session.scalars(select(OutboxDelivery.id).order_by(OutboxDelivery.created_at.desc())).first()
            session.execute(update(OutboxDelivery).where(OutboxDelivery.id == delivery_id).values(status="dead"))
        return f"/v1/admin/deliveries/{delivery_id}{path}", {}

    return build


def _waitlisted(ctx: Context) -> str:
    """A waitlist entry's id: a booked inquiry whose appointment staff cancelled, put back on the list by hand."""
    inquiry_id = ctx.booked()
    headers = {**bearer(ctx.admin), "If-Match": etag_of(ctx.client, ctx.admin, inquiry_id)}
    cancelled = ctx.client.post(f"/v1/admin/inquiries/{inquiry_id}/cancel", json={"reason": "clash"}, headers=headers)
    assert cancelled.status_code == 200, cancelled.get_json()
    return inquiry_id


def _added(ctx: Context) -> str:
    body = {"inquiry_id": _waitlisted(ctx), "reason": "wants the next free slot"}
    response = ctx.client.post("/v1/admin/waitlist", json=body, headers=bearer(ctx.admin))
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _draft(ctx: Context) -> int:
    """A new draft by staff (so either admin may approve it)."""
    return create_draft(ctx.client, ctx.staff, f"draft-{uuid.uuid4().hex[:8]}")["id"]


def _approved(ctx: Context) -> int:
    """A version staff wrote and an admin approved."""
    return approved_version(ctx.client, ctx.staff, ctx.admin, f"approved-{uuid.uuid4().hex[:8]}")


def _activated_once(ctx: Context) -> None:
    """An approved version activated, so the shipped one is retired and a rollback has somewhere to go."""
    headers = bearer(ctx.admin)
    response = ctx.client.post(f"/v1/admin/rulebooks/{_approved(ctx)}/activate", json={}, headers=headers)
    assert response.status_code == 200, response.get_json()


def _version(ctx: Context) -> int:
    """A draft of its own (a preview of each), stored as it is."""
    return add_version(ctx.app, draft_28_days(f"preview-{uuid.uuid4().hex[:8]}"))


def _previewed(path: str) -> Builder:
    """A queued impact preview of a new draft."""

    def build(ctx: Context, token: str) -> tuple[str, dict]:
        version_id = _version(ctx)
        response = ctx.client.post(f"/v1/admin/rulebooks/{version_id}/previews", json={}, headers=bearer(ctx.admin))
        assert response.status_code == 202, response.get_json()
        return f"/v1/admin/rulebooks/{version_id}/previews/{response.get_json()['id']}{path}", {}

    return build


def _site(ctx: Context) -> str:
    """A second active site (so one may be deactivated)."""
    body = {"id": f"site-{uuid.uuid4().hex[:8]}", "name": "Second site", "slot_types": ["consult"]}
    response = ctx.client.post("/v1/admin/locations", json=body, headers=bearer(ctx.admin))
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


EXAMPLES: dict[tuple[str, str], Builder] = {
    ("GET", "/v1/admin/inquiries"): lambda ctx, token: ("/v1/admin/inquiries?status=booked", {}),
    ("GET", "/v1/admin/inquiries/<uuid:inquiry_id>"): lambda ctx, token: (f"/v1/admin/inquiries/{ctx.booked()}", {}),
    ("POST", "/v1/admin/inquiries/<uuid:inquiry_id>/override"): _changing(
        "/override", {"route": "imaging", "reason": "MRI first, per Dr Lee"}
    ),
    ("POST", "/v1/admin/inquiries/<uuid:inquiry_id>/cancel"): _changing("/cancel", {"reason": "patient asked"}),
    ("POST", "/v1/admin/inquiries/<uuid:inquiry_id>/callback"): _changing(
        "/callback", {"outcome": "no_answer"}, Context.urgent
    ),
    ("POST", "/v1/admin/inquiries/<uuid:inquiry_id>/acknowledge"): _changing(
        "/acknowledge", {"note": "on her way to the ER"}, Context.urgent
    ),
    ("POST", "/v1/admin/inquiries/<uuid:inquiry_id>/retriage"): lambda ctx, token: (
        f"/v1/admin/inquiries/{ctx.booked()}/retriage",
        {},
    ),
    ("POST", "/v1/admin/inquiries/<uuid:inquiry_id>/retriage/apply"): _changing("/retriage/apply", {}),
    ("GET", "/v1/admin/slots"): lambda ctx, token: ("/v1/admin/slots?slot_type=consult", {}),
    ("GET", "/v1/admin/rulebook"): lambda ctx, token: ("/v1/admin/rulebook", {}),
    ("GET", "/v1/admin/audit"): lambda ctx, token: ("/v1/admin/audit", {}),
    ("GET", "/v1/admin/tokens"): lambda ctx, token: ("/v1/admin/tokens", {}),
    ("POST", "/v1/admin/tokens"): lambda ctx, token: ("/v1/admin/tokens", {"json": {"name": "New", "role": "staff"}}),
    ("DELETE", "/v1/admin/tokens/<uuid:token_id>"): _revocable,
    ("POST", "/v1/triage"): lambda ctx, token: ("/v1/triage", {"json": inquiry()}),
    ("GET", "/v1/admin/webhooks"): lambda ctx, token: ("/v1/admin/webhooks", {}),
    ("POST", "/v1/admin/webhooks"): lambda ctx, token: (
        "/v1/admin/webhooks",
        {"json": {"description": "CRM", "url": "https://crm.example.org/in", "event_types": ["appointment.booked"]}},
    ),
    ("GET", "/v1/admin/webhooks/<uuid:subscription_id>"): _subscribed(""),
    ("PATCH", "/v1/admin/webhooks/<uuid:subscription_id>"): _subscribed("", {"enabled": False}),
    ("DELETE", "/v1/admin/webhooks/<uuid:subscription_id>"): _subscribed(""),
    ("POST", "/v1/admin/webhooks/<uuid:subscription_id>/rotate-secret"): _subscribed("/rotate-secret"),
    ("GET", "/v1/admin/waitlist"): lambda ctx, token: ("/v1/admin/waitlist?slot_type=consult", {}),
    ("POST", "/v1/admin/waitlist"): lambda ctx, token: (
        "/v1/admin/waitlist",
        {"json": {"inquiry_id": _waitlisted(ctx), "reason": "wants the next free slot"}},
    ),
    ("PATCH", "/v1/admin/waitlist/<uuid:entry_id>"): lambda ctx, token: (
        f"/v1/admin/waitlist/{_added(ctx)}",
        {"json": {"priority": 5, "reason": "pain worse"}},
    ),
    ("DELETE", "/v1/admin/waitlist/<uuid:entry_id>"): lambda ctx, token: (
        f"/v1/admin/waitlist/{_added(ctx)}",
        {"json": {"reason": "booked elsewhere"}},
    ),
    ("POST", "/v1/admin/rulebooks/<int:version_id>/previews"): lambda ctx, token: (
        f"/v1/admin/rulebooks/{_version(ctx)}/previews",
        {"json": {"period_start": "2026-09-01T00:00:00+00:00"}},
    ),
    ("GET", "/v1/admin/rulebooks/<int:version_id>/previews"): lambda ctx, token: ("/v1/admin/rulebooks/1/previews", {}),
    ("GET", "/v1/admin/rulebooks/<int:version_id>/previews/<uuid:preview_id>"): _previewed(""),
    ("POST", "/v1/admin/rulebooks/<int:version_id>/previews/<uuid:preview_id>/cancel"): _previewed("/cancel"),
    ("GET", "/v1/admin/deliveries"): lambda ctx, token: ("/v1/admin/deliveries?status=dead", {}),
    ("GET", "/v1/admin/deliveries/<uuid:delivery_id>"): _dead_delivery(""),
    ("POST", "/v1/admin/deliveries/<uuid:delivery_id>/replay"): _dead_delivery("/replay"),
    ("GET", "/v1/admin/rulebooks"): lambda ctx, token: ("/v1/admin/rulebooks", {}),
    ("POST", "/v1/admin/rulebooks"): lambda ctx, token: (
        "/v1/admin/rulebooks",
        {"json": {"document": document(f"upload-{uuid.uuid4().hex[:8]}"), "note": "a copy", "based_on": 1}},
    ),
    ("GET", "/v1/admin/rulebooks/<int:version_id>"): lambda ctx, token: (f"/v1/admin/rulebooks/{_draft(ctx)}", {}),
    ("POST", "/v1/admin/rulebooks/<int:version_id>/approve"): lambda ctx, token: (
        f"/v1/admin/rulebooks/{_draft(ctx)}/approve",
        {"json": {"acknowledge_urgent_review_exits": True}},
    ),
    ("POST", "/v1/admin/rulebooks/<int:version_id>/activate"): lambda ctx, token: (
        f"/v1/admin/rulebooks/{_approved(ctx)}/activate",
        {"json": {"reason": "new thresholds"}},
    ),
    ("GET", "/v1/admin/locations"): lambda ctx, token: ("/v1/admin/locations", {}),
    ("POST", "/v1/admin/locations"): lambda ctx, token: (
        "/v1/admin/locations",
        {"json": {"id": f"site-{uuid.uuid4().hex[:8]}", "name": "North side", "slot_types": ["consult"]}},
    ),
    ("GET", "/v1/admin/locations/<string:location_id>"): lambda ctx, token: ("/v1/admin/locations/main", {}),
    ("PATCH", "/v1/admin/locations/<string:location_id>"): lambda ctx, token: (
        "/v1/admin/locations/main",
        {"json": {"phone": "(555) 010-0199"}},
    ),
    ("DELETE", "/v1/admin/locations/<string:location_id>"): lambda ctx, token: (
        f"/v1/admin/locations/{_site(ctx)}",
        {},
    ),
    ("POST", "/v1/admin/rulebooks/rollback"): lambda ctx, token: (
        _activated_once(ctx) or "/v1/admin/rulebooks/rollback",
        {"json": {"reason": "back to the previous rules"}},
    ),
}


def _staff_routes() -> list[tuple[str, str, str | None]]:
    app = create_app({"DATABASE_URL": "sqlite://"})
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(STAFF_PREFIXES):
            continue
        role = getattr(app.view_functions[rule.endpoint], "_staff_role", None)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((method, rule.rule, role))
    return routes


STAFF_ROUTES = _staff_routes()


def test_every_staff_route_declares_a_role_and_has_an_example():
    assert STAFF_ROUTES, "no staff routes found"
    for method, rule, role in STAFF_ROUTES:
        assert role in ("staff", "admin"), f"{method} {rule} has no staff_required check"
        assert (method, rule) in EXAMPLES, f"{method} {rule}: add a valid example request to EXAMPLES"


@pytest.fixture
def ctx(migrated_url):
    app = create_app(settings_for(migrated_url))
    add_slots(app, "consult", [26 + n for n in range(12)])
    add_slots(app, "imaging", [72 + n for n in range(12)], minutes=60)
    yield Context(app)
    app.extensions["routing"].db.dispose()


@pytest.mark.parametrize(("method", "rule", "role"), STAFF_ROUTES, ids=[f"{m} {r}" for m, r, _ in STAFF_ROUTES])
def test_each_identity_gets_the_answer_its_role_allows(ctx, method, rule, role):
    build = EXAMPLES[(method, rule)]
    identities = [
        ("no token", {}, 401),
        ("bad token", bearer("rt_not-a-real-token"), 401),
        ("revoked token", bearer(ctx.revoked), 401),
        ("staff", bearer(ctx.staff), 403 if role == "admin" else "ok"),
        ("admin", bearer(ctx.admin), "ok"),
    ]
    for name, auth, expected in identities:
        url, kwargs = build(ctx, auth.get("Authorization", ""))
        headers = {**kwargs.pop("headers", {}), **auth}
        response = ctx.client.open(url, method=method, headers=headers, **kwargs)
        if expected == "ok":
            assert 200 <= response.status_code < 300, (name, response.status_code, response.get_json())
        else:
            assert response.status_code == expected, (name, response.status_code, response.get_json())
            assert response.content_type == "application/problem+json"
            if expected == 401:
                assert response.headers["WWW-Authenticate"].startswith("Bearer")


# --- token expiry and last use ----------------------------------------------------------------------------


def _token_row(app, token: str) -> StaffToken:
    with app.extensions["routing"].db.session() as session:
        return session.scalar(select(StaffToken).where(StaffToken.token_hash == staff_tokens.hash_token(token)))


def _expiring_token(app, name: str, created: datetime, lifetime: timedelta) -> str:
    with app.extensions["routing"].db.session() as session, session.begin():
        _, token = staff_tokens.create_token(session, name, "staff", now=created, expires_in=lifetime)
    return token


def test_an_expired_token_is_refused_with_a_problem_saying_it_expired(ctx):
    expired = _expiring_token(ctx.app, "Old Temp", datetime(2026, 1, 1, tzinfo=UTC), timedelta(days=30))
    live = _expiring_token(ctx.app, "New Temp", datetime.now(UTC), timedelta(days=30))

    refused = ctx.client.get("/v1/admin/inquiries", headers=bearer(expired))
    accepted = ctx.client.get("/v1/admin/inquiries", headers=bearer(live))

    assert refused.status_code == 401
    assert refused.content_type == "application/problem+json"
    assert refused.get_json()["detail"] == (
        "This token expired at 2026-01-31T00:00:00+00:00; ask an admin for a new one."
    )
    assert refused.get_json()["type"] == "urn:routing:problem:token-expired"
    assert refused.headers["WWW-Authenticate"] == 'Bearer realm="routing", error="invalid_token"'
    assert accepted.status_code == 200


def test_a_request_records_when_the_token_was_last_used(ctx):
    assert _token_row(ctx.app, ctx.staff).last_used_at is None
    before = datetime.now(UTC)

    ctx.client.get("/v1/admin/inquiries", headers=bearer(ctx.staff))

    used = _token_row(ctx.app, ctx.staff).last_used_at
    assert used is not None
    assert before <= used <= datetime.now(UTC)
    assert _token_row(ctx.app, ctx.admin).last_used_at is None


def test_last_use_is_written_at_most_once_a_minute(ctx):
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    db = ctx.app.extensions["routing"].db
    seen = []
    for seconds in (0, 30, 59, 60, 61, 150):
        with db.session() as session:
            staff_tokens.authenticate(session, ctx.staff, now=start + timedelta(seconds=seconds))
        seen.append(_token_row(ctx.app, ctx.staff).last_used_at - start)

    assert seen == [timedelta(seconds=s) for s in (0, 0, 0, 60, 60, 150)]


def test_staff_create_with_expires_in_makes_a_token_that_expires(ctx):
    before = datetime.now(UTC)

    result = ctx.app.test_cli_runner().invoke(args=["staff", "create", "Tess Temp", "--expires-in", "30d"])

    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    row = _token_row(ctx.app, token)
    assert before + timedelta(days=30) <= row.expires_at <= datetime.now(UTC) + timedelta(days=30)
    assert f"valid until {row.expires_at:%Y-%m-%d %H:%M} UTC" in result.output


def test_staff_create_refuses_a_nonsense_expiry(ctx):
    result = ctx.app.test_cli_runner().invoke(args=["staff", "create", "Tess Temp", "--expires-in", "soon"])

    assert result.exit_code == 2
    assert "'soon' is not a duration; use a whole number and a unit: 90m, 12h, 30d or 2w" in result.output


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90m", timedelta(minutes=90)),
        ("12h", timedelta(hours=12)),
        ("30d", timedelta(days=30)),
        ("2W", timedelta(weeks=2)),
    ],
)
def test_durations_read_as_a_number_and_a_unit(text, expected):
    assert staff_tokens.parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "0d", "-1d", "1.5h", "30", "d", "30y"])
def test_durations_without_a_positive_whole_number_and_a_unit_are_refused(text):
    with pytest.raises(ValueError, match="is not a duration; use a whole number and a unit"):
        staff_tokens.parse_duration(text)
