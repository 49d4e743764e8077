"""NUL and other control characters: refused with a 422 naming the field, in every text a client sends.

A NUL in a PostgreSQL text column fails the query (a 500), and a NUL kept in a stored JSON payload breaks
every ``->>`` read of it. Tab, line feed and carriage return stay allowed in free text (the message, a
reason, a note). Each case runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json

import pytest
from marshmallow import fields

from routing.adapters.db.models import Inquiry
from schemas import admin, inquiry, scheduler_event
from schemas.text import InputSchema, Text
from tests.http.admin_helpers import bearer, etag_of, make_token, new_inquiry
from tests.http.intake_helpers import PATIENT, add_slots, count
from tests.http.intake_helpers import inquiry as body_of

PROBLEM = "application/problem+json"
NUL_AT = "Contains U+0000, a control character, at character {}; remove it."
FREE_TEXT = " Tab and line breaks are allowed here."


@pytest.fixture
def slots(app):
    add_slots(app, "consult", [26, 27])
    return app


@pytest.fixture
def admin_token(app) -> dict:
    return bearer(make_token(app, "Ada Admin", "admin"))


def errors_of(response) -> dict:
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.content_type == PROBLEM
    return response.get_json()["errors"]


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (body_of("back pain\x00 since monday"), {"message": [NUL_AT.format(10) + FREE_TEXT]}),
        (
            {"patient": {**PATIENT, "first_name": "A\x00na"}, "message": "sore back"},
            {"patient.first_name": [NUL_AT.format(2)]},
        ),
        (
            {"patient": {**PATIENT, "email": '"\x01"@example.org'}, "message": "sore back"},
            {"patient.email": ["Contains U+0001, a control character, at character 2; remove it."]},
        ),
        (
            {"patient": {**PATIENT, "phone": "555\x1c0100 22"}, "message": "sore back"},
            {"patient.phone": ["Contains U+001C, a control character, at character 4; remove it."]},
        ),
        (body_of(preferred_times=["mornings", "after\x005"]), {"preferred_times.1": [NUL_AT.format(6)]}),
        (body_of(**{"\x00": 1}), {"\\u0000": ["This field name: " + NUL_AT.format(1)]}),
        (body_of(extra={"nested": ["ok", "x\x00"]}), {"extra.nested.1": [NUL_AT.format(2) + FREE_TEXT]}),
        (
            {"patient": {**PATIENT, "nickname": "\x7f"}, "message": "sore back"},
            {"patient.nickname": ["Contains U+007F, a control character, at character 1; remove it." + FREE_TEXT]},
        ),
        (
            body_of("back pain \ud800 since monday"),
            {"message": ["Contains U+D800, an unpaired surrogate (not text), at character 11; remove it." + FREE_TEXT]},
        ),
    ],
    ids=[
        "message",
        "first name",
        "quoted email",
        "phone",
        "list item",
        "unknown key",
        "unknown nested value",
        "unknown patient field",
        "lone surrogate",
    ],
)
def test_a_control_character_anywhere_in_an_intake_body_is_a_422_naming_the_field(client, slots, body, errors):
    raw = json.dumps(body).encode("utf-8", "surrogatepass")

    response = client.post("/v1/inquiries", data=raw, content_type="application/json")

    assert errors_of(response) == errors
    assert count(slots, Inquiry) == 0


def test_tab_and_line_breaks_are_allowed_in_the_message_and_stored_as_sent(client, slots, admin_token):
    message = "Lifted a couch.\r\n\tPain about 6/10 in my lower back."

    response = client.post("/v1/inquiries", json=body_of(message))

    assert response.status_code == 201
    detail = client.get(f"/v1/admin/inquiries/{response.get_json()['id']}", headers=admin_token).get_json()
    assert detail["message"] == message


def test_a_line_break_in_a_name_is_refused(client, slots):
    response = client.post("/v1/inquiries", json={"patient": {**PATIENT, "last_name": "Di\naz"}, "message": "sore"})

    assert errors_of(response) == {
        "patient.last_name": ["Contains U+000A, a control character, at character 3; remove it."]
    }


def test_a_control_character_in_a_form_body_is_a_422_naming_the_field(client, slots):
    form = {"first_name": "Ana", "last_name": "Di\x00az", "email": "ana@example.org", "message": "sore back"}

    response = client.post("/v1/inquiries", data=form)

    assert errors_of(response) == {"patient.last_name": [NUL_AT.format(3)]}
    assert count(slots, Inquiry) == 0


def test_a_control_character_in_the_delivery_key_is_a_422_naming_the_header(client, slots):
    response = client.post("/v1/inquiries", json=body_of(), headers={"Idempotency-Key": "key\x00one"})

    assert errors_of(response) == {"Idempotency-Key": [NUL_AT.format(4)]}
    assert count(slots, Inquiry) == 0


def test_the_dry_run_refuses_control_characters_the_same_way(client, app):
    response = client.post("/v1/triage", json=body_of("sore\x00"), headers=bearer(make_token(app, "Sam", "staff")))

    assert errors_of(response) == {"message": [NUL_AT.format(5) + FREE_TEXT]}


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        ("actor=%00", {"actor": [NUL_AT.format(1)]}),
        ("action=token.%01create", {"action": ["Contains U+0001, a control character, at character 7; remove it."]}),
        ("actor=Ada%00&action=x%00", {"actor": [NUL_AT.format(4)], "action": [NUL_AT.format(2)]}),
        ("other%00=1", {"other\\u0000": ["This field name: " + NUL_AT.format(6)]}),
    ],
)
def test_a_control_character_in_an_audit_filter_is_a_422_not_a_500(client, admin_token, query, errors):
    response = client.get(f"/v1/admin/audit?{query}", headers=admin_token)

    assert errors_of(response) == errors


def test_queue_filters_name_every_bad_parameter_at_once(client, admin_token):
    response = client.get("/v1/admin/inquiries?status=%00&page=0&received_after=yesterday", headers=admin_token)

    assert errors_of(response) == {
        "status": [NUL_AT.format(1)],
        "page": ["Must be greater than or equal to 1 and less than or equal to 1000000."],
        "received_after": ["Not a valid datetime."],
    }


def test_a_control_character_in_a_staff_reason_is_a_422(client, slots, admin_token):
    inquiry_id = new_inquiry(client)
    headers = {**admin_token, "If-Match": etag_of(client, admin_token["Authorization"][7:], inquiry_id)}

    response = client.post(
        f"/v1/admin/inquiries/{inquiry_id}/override",
        json={"route": "teleport", "reason": "asked\x00 for MRI", "slot_id": "s\x00"},
        headers=headers,
    )

    assert errors_of(response) == {
        "route": ["Must be one of: urgent_review, consult, imaging, injection."],
        "reason": [NUL_AT.format(6) + FREE_TEXT],
        "slot_id": [NUL_AT.format(2)],
    }


def test_a_control_character_in_a_token_name_is_a_422(client, admin_token):
    response = client.post("/v1/admin/tokens", json={"name": "Sam\x00", "role": "staff"}, headers=admin_token)

    assert errors_of(response) == {"name": [NUL_AT.format(4)]}


def test_a_control_character_in_a_scheduler_event_is_a_422(client):
    response = client.post(
        "/v1/scheduling/events",
        json={"type": "appointment.cancelled", "appointment": "Appointment/1\x00", "reason": "ok\r\nfine"},
        headers={"webhook-id": "evt_nul"},
    )

    assert errors_of(response) == {"appointment": [NUL_AT.format(14)]}


#: Every schema that reads client input.
INPUT_SCHEMAS = [
    inquiry.InquiryRequestSchema,
    inquiry.PatientSchema,
    inquiry.SymptomsSchema,
    scheduler_event.SchedulerEventSchema,
    admin.QueueQuerySchema,
    admin.AuditQuerySchema,
    admin.SlotQuerySchema,
    admin.OverrideRequestSchema,
    admin.CancelRequestSchema,
    admin.CallbackRequestSchema,
    admin.TokenRequestSchema,
]


@pytest.mark.parametrize("schema", INPUT_SCHEMAS, ids=lambda schema: schema.__name__)
def test_every_input_schema_checks_its_text_in_the_one_place(schema):
    assert issubclass(schema, InputSchema)
    for name, field in schema().fields.items():
        inner = field.inner if isinstance(field, fields.List) else field
        if isinstance(inner, fields.String):
            assert isinstance(inner, Text), f"{schema.__name__}.{name} is a String, not a Text"
