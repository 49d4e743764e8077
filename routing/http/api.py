"""The flask-smorest API object: OpenAPI generation and problem+json error documentation."""

from __future__ import annotations

import http
from typing import Any

from flask import Request
from flask_smorest import Api, Blueprint
from flask_smorest.utils import prepare_response
from webargs.core import missing
from webargs.flaskparser import FlaskParser, is_json_request

from routing.http import problems
from routing.http.json_body import load_json
from schemas.problem import ProblemSchema


class RoutingApi(Api):
    """flask-smorest's Api with RFC 9457 errors, in responses and in the spec."""

    ERROR_SCHEMA = ProblemSchema

    def handle_http_exception(self, error):
        """Answer every HTTP error (404, 405, webargs' 422, ...) as problem+json."""
        return problems.handle_http_exception(error)

    def _register_responses(self):
        # flask-smorest documents errors as application/json; ours are application/problem+json.
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            content_type = problems.PROBLEM_JSON if status >= 400 else self.DEFAULT_RESPONSE_CONTENT_TYPE
            prepare_response(response, self.spec, content_type)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Error", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, problems.PROBLEM_JSON)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)


class StrictJsonParser(FlaskParser):
    """webargs' parser reading JSON bodies as the service's other endpoints do (``load_json``): a body nested
    past Python's recursion limit, or holding NaN, is a 400 problem, never a 500."""

    def _raw_load_json(self, req: Request) -> Any:
        if not is_json_request(req):
            return missing
        return load_json(req.get_data(cache=True))


class StrictBlueprint(Blueprint):
    """A flask-smorest blueprint whose ``arguments`` read JSON with :class:`StrictJsonParser`."""

    ARGUMENTS_PARSER = StrictJsonParser()


def openapi_settings(api_version: str) -> dict:
    """Flask config keys for flask-smorest: spec at /openapi.json, Swagger UI at /docs (served locally)."""
    return {
        "API_TITLE": "routing",
        "API_VERSION": api_version,
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "/docs",
        # Assets come from the swagger-ui-bundle package, so the docs work without internet access.
        "OPENAPI_SWAGGER_UI_URL": "/docs/assets/",
        "API_SPEC_OPTIONS": {
            "info": {
                "description": "Appointment routing and referrals for a pain-management practice: intake "
                "webhook, explainable triage, booking, and staff administration. Errors are RFC 9457 "
                "problem details (application/problem+json).",
            },
        },
    }


#: What any staff endpoint may answer before it does anything: no valid token, or a role that may not.
STAFF_AUTH_ERRORS = {401: "No staff token, or a revoked or unknown one", 403: "The token's role does not allow this"}
#: The bearer-token security requirement of staff endpoints (the OpenAPI scheme ``bearerAuth``).
BEARER = {"bearerAuth": []}


def documents_staff_endpoint(bp, *statuses: dict[int, str], auth_errors: dict[int, str] = STAFF_AUTH_ERRORS):
    """A view decorator for a staff endpoint: bearer security, the auth errors, then each ``statuses`` table."""

    def decorate(view):
        view = bp.doc(security=[BEARER])(view)
        for errors in (auth_errors, *statuses):
            view = documents_problems(bp, errors)(view)
        return view

    return decorate


def documents_problems(bp, errors: dict[int, str]):
    """A view decorator documenting each ``status: description`` in ``errors`` as a problem+json answer."""

    def decorate(view):
        for status, description in errors.items():
            document = bp.alt_response(
                status, schema=ProblemSchema, content_type=problems.PROBLEM_JSON, description=description
            )
            view = document(view)
        return view

    return decorate
