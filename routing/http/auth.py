"""Staff authentication for the admin API: a bearer token, checked against its stored hash, expiry and role."""

from __future__ import annotations

import functools
from collections.abc import Callable

from flask import g, request

from routing.domain.vocabulary import StaffRole
from routing.http.deps import request_session
from routing.http.problems import Problem
from routing.services.staff_tokens import Staff, TokenExpired, authenticate


def staff_required(role: str = StaffRole.STAFF) -> Callable:
    """Decorate a view: 401 without a live staff token, 403 when its role is not ``role`` (admin passes)."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            staff = _authenticated()
            if not staff.may(role):
                raise Problem(403, f"This action needs the '{role}' role; your token has '{staff.role}'.")
            g.staff = staff
            return view(*args, **kwargs)

        wrapper._staff_role = role  # read by the route-matrix test and the OpenAPI docs
        return wrapper

    return decorate


def staff_if_authenticated() -> Staff | None:
    """The staff member when the request sends an Authorization header (401 if it is not valid), else None.

    For routes that answer everyone, but staff with more.
    """
    if "Authorization" not in request.headers:
        return None
    return _authenticated()


def current_staff() -> Staff:
    """The staff member making this request (inside a ``staff_required`` view)."""
    return g.staff


def _authenticated() -> Staff:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Problem(
            401,
            "Send a staff token: 'Authorization: Bearer <token>' (create one with 'flask --app wsgi staff create').",
            slug="unauthenticated",
            headers={"WWW-Authenticate": 'Bearer realm="routing"'},
        )
    try:
        staff = authenticate(request_session(), token.strip())
    except TokenExpired as expired:
        raise Problem(
            401,
            f"This token expired at {expired.expired_at.isoformat()}; ask an admin for a new one.",
            slug="token-expired",
            headers={"WWW-Authenticate": 'Bearer realm="routing", error="invalid_token"'},
        ) from None
    if staff is None:
        raise Problem(
            401,
            "This token is not valid or has been revoked; ask an admin for a new one.",
            slug="unauthenticated",
            headers={"WWW-Authenticate": 'Bearer realm="routing", error="invalid_token"'},
        )
    return staff
