"""Every error leaves as RFC 9457 problem+json, and server errors leak nothing."""

from __future__ import annotations

import logging

import pytest
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

PROBLEM = "application/problem+json"


def _assert_problem(response, status):
    assert response.status_code == status
    assert response.content_type == PROBLEM
    body = response.get_json()
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == status
    return body


def test_unknown_path_is_a_problem_404(client):
    body = _assert_problem(client.get("/v1/no-such-thing"), 404)

    assert body["title"] == "Not Found"
    assert body["instance"] == "/v1/no-such-thing"


def test_wrong_method_is_a_problem_405_with_allow_header(client):
    response = client.delete("/healthz")

    _assert_problem(response, 405)
    assert "GET" in response.headers["Allow"]


@pytest.fixture
def crashing_client(migrated_url, caplog):
    from routing import create_app
    from tests.conftest import settings_for

    app = create_app(settings_for(migrated_url))

    @app.get("/crash")
    def crash():
        raise RuntimeError("patient Ana Diaz ana@example.org has saddle numbness")

    yield app.test_client()
    app.extensions["routing"].db.dispose()


def test_a_crash_is_a_problem_500_without_the_exception_text(crashing_client, caplog):
    with caplog.at_level(logging.ERROR):
        response = crashing_client.get("/crash")

    body = _assert_problem(response, 500)
    text = response.get_data(as_text=True)
    assert "Ana" not in text
    assert "RuntimeError" not in text
    assert "Traceback" not in text
    assert body["error_id"]
    # The log says where it broke and carries the error id, but not what the patient wrote.
    assert body["error_id"] in caplog.text
    assert "RuntimeError" in caplog.text
    assert "Ana Diaz" not in caplog.text
    assert "saddle" not in caplog.text


class _EchoSchema(Schema):
    email = fields.Email(required=True)
    pain_score = fields.Integer(validate=validate.Range(0, 10))


@pytest.fixture
def validating_client(migrated_url):
    from routing import create_app
    from tests.conftest import settings_for

    app = create_app(settings_for(migrated_url))
    bp = Blueprint("echo", __name__)

    @bp.post("/echo")
    @bp.arguments(_EchoSchema)
    def echo(data):
        return data

    app.extensions["routing.api"].register_blueprint(bp)
    yield app.test_client()
    app.extensions["routing"].db.dispose()


def test_invalid_fields_are_a_problem_422_with_field_messages(validating_client):
    response = validating_client.post("/echo", json={"email": "not-an-email", "pain_score": 14})

    body = _assert_problem(response, 422)
    assert set(body["errors"]) == {"email", "pain_score"}
    assert body["errors"]["pain_score"] == ["Must be greater than or equal to 0 and less than or equal to 10."]


def test_malformed_json_is_a_problem_400(validating_client):
    response = validating_client.post("/echo", data="{not json", content_type="application/json")

    _assert_problem(response, 400)


def test_oversized_body_is_a_problem_413(validating_client):
    response = validating_client.post("/echo", data="x" * (65 * 1024), content_type="application/json")

    _assert_problem(response, 413)
