"""``GET /``: where to go from here. A small page for browsers, the same links as JSON for API clients.

Which one is chosen by the ``Accept`` header (JSON when nothing is asked for, as for the rest of the API).
The page runs no script and loads nothing, so it gets the API's strictest Content-Security-Policy.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template, request

from routing import __version__
from routing.http.security import API_POLICY

bp = Blueprint("landing", __name__)

#: What the service offers a visitor, in the order shown.
LINKS = {
    "docs": ("/docs", "API documentation (OpenAPI, try it out)"),
    "console": ("/console", "Staff console (sign in with a staff token)"),
    "health": ("/healthz", "Health (liveness); /readyz for readiness"),
}


@bp.get("/")
def landing() -> Response:
    """Links to the API docs, the staff console and health, as HTML or JSON by ``Accept``."""
    if request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html":
        response = Response(render_template("landing.html", links=LINKS.values(), version=__version__))
        response.headers["Content-Security-Policy"] = API_POLICY
        return response
    return jsonify(service="routing", version=__version__, links={name: href for name, (href, _) in LINKS.items()})
