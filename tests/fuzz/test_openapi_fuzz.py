"""Schemathesis against our own ``/openapi.json``, in process: every documented answer, and only those.

The document is read from the app over WSGI, then each operation of intake, the dry run and the staff API
gets generated requests (coverage cases from the spec, then a bounded, seeded number of fuzzed ones) sent
to a migrated SQLite app with free slots, staff tokens and inquiries in known states. Every response must
not be a 5xx, and its status code, content type, headers and body must be the ones the spec documents.

Requests carry an admin bearer token (admin passes every staff route). For the routes on one inquiry, a
stable share of the cases is pointed at a seeded inquiry (and the change routes get its current ETag in
If-Match), so the fuzzer reaches past the 404 and 428 answers into real detail, override, cancel,
call-back and re-triage work.
"""

from __future__ import annotations

import zlib

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    is_unexpected_http_status_case,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.engine import make_url

from routing import create_app
from tests.fuzz.conftest import fuzz_settings


def status_code_listed(ctx, response, case):
    """The status is one the operation lists itself, not only flask-smorest's catch-all ``default``.

    Every operation in our spec has a ``default`` problem response, which makes schemathesis'
    ``status_code_conformance`` accept any status. Clients read the listed ones, so answers must be among
    them (the coverage phase's probes with other methods, answered 405, are left to that check).
    """
    if is_unexpected_http_status_case(case):
        return
    listed = set(case.operation.definition.raw["responses"]) - {"default"}
    if str(response.status_code) not in listed:
        raise AssertionError(
            f"{case.operation.label} answered {response.status_code}, which its responses do not list "
            f"(listed: {', '.join(sorted(listed))})"
        )
    return


#: Generated cases per operation in the fuzzing phase (coverage cases come on top, a bounded set).
MAX_EXAMPLES = 25
SEED = 20261125
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    status_code_listed,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
#: Intake, its read-back, the dry run and the staff API. Probes and scheduler events are out of scope.
OPERATIONS = r"^/v1/(inquiries|triage|admin/)"
#: Routes that change an inquiry and need If-Match with its ETag.
CHANGES = ("/override", "/cancel", "/callback", "/retriage/apply")

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "generation": {"deterministic": True, "max-examples": MAX_EXAMPLES, "database": "none"},
        "phases": {"stateful": {"enabled": False}},
    }
)


def _load_schema():
    # The spec only needs the app's routes and schemas: an in-memory database is never touched here.
    # The fuzzed requests go to the migrated app of the ``fuzz_app`` fixture (``app=`` in each call).
    spec_app = create_app(fuzz_settings(make_url("sqlite://")))
    return schemathesis.openapi.from_wsgi("/openapi.json", spec_app, config=CONFIG).include(path_regex=OPERATIONS)


schema = _load_schema()


def _aim_at_seeded_inquiry(case, client, seeded) -> None:
    """Point three in four cases on one inquiry at a seeded one (stable per case), with its ETag."""
    if "inquiry_id" not in (case.path_parameters or {}):
        return
    pick = zlib.crc32(repr(sorted(case.path_parameters.items())).encode()) % 4
    if pick == 0:
        return  # keep the generated id: the 404 path
    inquiry_id = seeded.inquiry_ids[pick - 1]
    case.path_parameters["inquiry_id"] = inquiry_id
    if case.path.endswith(CHANGES):
        detail = client.get(f"/v1/admin/inquiries/{inquiry_id}", headers=seeded.admin_headers)
        assert detail.status_code == 200, detail.get_json()
        case.headers = {**(case.headers or {}), "If-Match": detail.headers["ETag"]}


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
def test_operations_answer_only_as_documented(case, fuzz_app, seeded):
    _aim_at_seeded_inquiry(case, fuzz_app.test_client(), seeded)
    case.call_and_validate(app=fuzz_app, headers=seeded.admin_headers, checks=CHECKS)
