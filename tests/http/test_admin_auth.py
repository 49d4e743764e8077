"""Every staff route by {no token, bad token, revoked token, staff, admin}: 401, 403 or success.

The routes come from the app's URL map: a new route under /v1/admin (or the dry run) without an auth
check, or without a valid example request here, fails this test.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from routing import create_app
from tests.conftest import settings_for
from tests.http.admin_helpers import RED_FLAG, bearer, etag_of, make_token, new_inquiry
from tests.http.intake_helpers import add_slots, inquiry

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
