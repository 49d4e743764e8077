"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

from flask_smorest import Blueprint

from routing.http.deps import wiring
from routing.http.problems import PROBLEM_JSON, Problem
from routing.services.health import check_readiness
from schemas.health import HealthSchema, ReadinessSchema
from schemas.problem import ProblemSchema

bp = Blueprint("health", __name__, description="Liveness and readiness probes")
#: When a probe (or a client told to wait) should ask again: a restarting database or a migration takes seconds.
RETRY_AFTER_SECONDS = 5


@bp.get("/healthz")
@bp.response(200, HealthSchema)
def healthz():
    """The process is up (it checks nothing else)."""
    return {"status": "ok"}


@bp.get("/readyz")
@bp.response(200, ReadinessSchema)
@bp.alt_response(
    503,
    schema=ProblemSchema,
    content_type=PROBLEM_JSON,
    description="A dependency is down or the schema is not migrated; Retry-After says when to ask again",
    headers={"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
)
def readyz():
    """The database answers and its schema is at the newest migration; 503 otherwise."""
    w = wiring()
    readiness = check_readiness(db=w.db, head_revision=w.head_revision)
    migration_state = {"current": readiness.current_revision, "head": readiness.head_revision}
    if not readiness.ready:
        raise Problem(
            503,
            " ".join(readiness.problems),
            slug="not-ready",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            database=readiness.database,
            migrations=migration_state,
        )
    return {"status": "ready", "database": readiness.database, "migrations": migration_state}
