"""The PHI scan: no patient data in any log line, whatever happens; every request logged with its id.

Every flow runs with recognisable patient data while all log output is captured at DEBUG, through the
service's JSON formatter (a handler on the root logger) and through pytest's ``caplog``; then no line may
contain any of the patient's values.
"""

from __future__ import annotations

import json
import logging
import re
import uuid

import pytest

from routing import create_app
from routing.adapters.scheduling.embedded import EmbeddedScheduler
from routing.adapters.scheduling.interface import SchedulerUnavailable
from routing.observability.json_logs import JsonFormatter
from tests.conftest import settings_for
from tests.fake_scheduler import FakeScheduler
from tests.http.admin_helpers import bearer, make_token
from tests.http.intake_helpers import add_slots
from tests.http.patient_link_helpers import action_token_of

FIRST, LAST = "Quintessa", "Marlowe-Fairbanks"
EMAIL = "quintessa.marlowe@example.net"
PHONE = "+1 (555) 013-4477"
DOB = "1961-07-23"
SENTENCE = "My lower back seized while I was repotting the blue hydrangeas on Tuesday, pain about 6/10."
CRASH = "patient Ana Diaz ana@example.org"
#: Substrings that must never appear in a log line: every patient value, and recognisable parts of each.
PHI = (
    FIRST,
    LAST,
    "Marlowe",
    EMAIL,
    "quintessa.marlowe",
    PHONE,
    "013-4477",
    "0134477",
    DOB,
    "1961",
    SENTENCE,
    SENTENCE[:20],
    "hydrangeas",
    "repotting",
    "Ana Diaz",
    "ana@example.org",
)
GENERATED_ID = re.compile(r"[0-9a-f]{32}")


def patient_body(**patient) -> dict:
    return {
        "patient": {"first_name": FIRST, "last_name": LAST, "email": EMAIL, "phone": PHONE, "date_of_birth": DOB}
        | patient,
        "message": SENTENCE,
    }


class JsonLines(logging.Handler):
    """Keeps every record as the service's JSON formatter renders it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def parsed(self) -> list[dict]:
        return [json.loads(line) for line in self.lines]


@pytest.fixture
def json_lines():
    handler = JsonLines()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def app(migrated_url, json_lines):
    application = create_app(settings_for(migrated_url, LOG_LEVEL="DEBUG"))
    add_slots(application, "consult", [26, 27, 28])
    add_slots(application, "imaging", [72, 96], minutes=60)
    yield application
    application.extensions["routing"].db.dispose()


def down_scheduler() -> FakeScheduler:
    """Unreachable, with patient data in its exception text (which must not be logged)."""
    return FakeScheduler("fhir").failing("find_free_slots", SchedulerUnavailable(f"down while booking {FIRST} {LAST}"))


def crashing_scheduler() -> FakeScheduler:
    """A bug: the exception text carries patient data."""
    return FakeScheduler("fhir").failing("find_free_slots", RuntimeError(CRASH))


def with_scheduler(app, scheduler, call):
    wiring = app.extensions["routing"]
    wiring.scheduler = scheduler
    try:
        return call()
    finally:
        wiring.scheduler = EmbeddedScheduler()


def run_every_flow(app, client) -> list:
    """Every kind of request with the patient's data; the responses, in order."""
    token = make_token(app, "Sam Staff", "staff")
    responses = []

    def send(response, status):
        assert response.status_code == status, response.get_data(as_text=True)
        responses.append(response)
        return response

    first_headers = {"Idempotency-Key": "json-1", "X-Request-ID": "rq-1"}
    created = send(client.post("/v1/inquiries", json=patient_body(), headers=first_headers), 201)
    inquiry_id = created.get_json()["id"]
    form = {
        "patient.first_name": FIRST,
        "patient.last_name": LAST,
        "patient.email": EMAIL,
        "patient.phone": PHONE,
        "patient.date_of_birth": DOB,
        "message": SENTENCE,
    }
    send(client.post(f"/v1/inquiries?name={FIRST}&email={EMAIL}", data=form, headers={"Idempotency-Key": "f"}), 201)
    send(client.post("/v1/inquiries", json=patient_body(email=f"{EMAIL}@", date_of_birth="1961-13-45")), 422)
    conflict = patient_body(phone="+1 555 013 9999")
    send(client.post("/v1/inquiries", json=conflict, headers={"Idempotency-Key": "json-1"}), 409)
    send(with_scheduler(app, down_scheduler(), lambda: client.post("/v1/inquiries", json=patient_body())), 202)
    body = patient_body(phone="+1 555 013 0000")
    send(with_scheduler(app, crashing_scheduler(), lambda: client.post("/v1/inquiries", json=body)), 202)
    slots = "/v1/admin/slots?slot_type=consult"
    send(with_scheduler(app, crashing_scheduler(), lambda: client.get(slots, headers=bearer(token))), 500)

    send(client.get(f"/v1/admin/inquiries?status=booked&q={LAST}", headers=bearer(token)), 200)
    detail = send(client.get(f"/v1/admin/inquiries/{inquiry_id}", headers=bearer(token)), 200)
    override = {"route": "imaging", "reason": f"{FIRST} {LAST} asked for an MRI ({PHONE})"}
    headers = {**bearer(token), "If-Match": detail.headers["ETag"]}
    send(client.post(f"/v1/admin/inquiries/{inquiry_id}/override", json=override, headers=headers), 200)
    send(client.post("/v1/triage", json=patient_body(), headers=bearer(token)), 200)
    send(client.get(f"/v1/patients/{FIRST}-{LAST}/{DOB}"), 404)
    send(client.get(f"/v1/inquiries/{uuid.uuid4()}?email={EMAIL}"), 401)
    send(client.get(f"/v1/inquiries/{uuid.uuid4()}?email={EMAIL}", headers=bearer(token)), 404)
    # The patient's own link: their page, their preferred times (in their words), a cancel.
    link = created.get_json()["patient_link"]
    send(client.get(link), 200)
    times = {"preferred_times": f"{FIRST} {LAST} here, call {PHONE} on weekday mornings"}
    asked = send(client.get(f"{link}/another-time"), 200)
    send(client.post(f"{link}/another-time", data={**times, "action_token": action_token_of(asked)}), 303)
    confirm = send(client.get(f"{link}/cancel"), 200)
    send(client.post(f"{link}/cancel", data={"action_token": action_token_of(confirm)}), 303)
    send(client.get(f"/my/{FIRST}-{EMAIL}"), 404)
    return responses


#: Random ids in a line (request ids, inquiry ids) can spell a digit run by chance ("...19615b..." holds
#: the birth year): they are taken out before looking for patient data.
RANDOM_IDS = re.compile(r"[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def assert_no_phi(lines: list[str]) -> None:
    without_ids = [RANDOM_IDS.sub("<id>", line.lower()) for line in lines]
    leaks = [(value, line) for line in without_ids for value in PHI if value.lower() in line]
    assert not leaks, f"patient data in the log: {leaks[:3]}"


def test_no_patient_data_reaches_any_log_line(app, client, json_lines, caplog):
    caplog.set_level(logging.DEBUG)

    run_every_flow(app, client)

    assert len(json_lines.lines) > 20
    assert_no_phi(json_lines.lines)
    assert_no_phi([caplog.text])
    assert_no_phi([record.getMessage() for record in caplog.records])
    crash = [line for line in json_lines.parsed() if "RuntimeError" in json.dumps(line)]
    assert crash, "the crash and the failed booking are logged, by exception type"


def test_every_request_logs_one_json_line_with_the_id_its_response_carried(app, client, json_lines):
    responses = run_every_flow(app, client)

    request_lines = [line for line in json_lines.parsed() if line.get("event") == "http.request"]
    assert len(request_lines) == len(responses)
    by_id = {line["request_id"]: line for line in request_lines}
    for response in responses:
        line = by_id[response.headers["X-Request-ID"]]
        assert line["status"] == response.status_code
        assert line["duration_ms"] >= 0
        assert "?" not in line["route"]
        assert FIRST not in line["route"]
    routes = {line["route"] for line in request_lines}
    assert {"/v1/inquiries", "/v1/admin/inquiries/<uuid:inquiry_id>", "<unmatched>"} <= routes
    assert responses[0].headers["X-Request-ID"] == "rq-1"
    # Every line our code wrote during a request carries that request's id (start-up warnings from
    # create_app, logged by the app's own "routing" logger outside any request, have none).
    ours = [line for line in json_lines.parsed() if line["logger"].startswith("routing.")]
    assert ours
    assert all(line.get("request_id") in by_id for line in ours)
    events = {line.get("event") for line in ours}
    assert {"inquiry.stored", "inquiry.routed", "booking.failed", "staff.action", "patient.action"} <= events


def test_domain_event_lines_carry_ids_and_states_only(app, client, json_lines):
    response = client.post("/v1/inquiries", json=patient_body())
    inquiry_id = response.get_json()["id"]

    routed = [line for line in json_lines.parsed() if line.get("event") == "inquiry.routed"]
    assert len(routed) == 1
    line = routed[0]
    assert line["inquiry_id"] == inquiry_id
    assert {"status", "route", "urgency"} <= line.keys()
    assert line["request_id"] == response.headers["X-Request-ID"]


#: X-Request-ID values sent, and whether each is sane enough to be echoed.
REQUEST_IDS = [
    ("abc-123_DEF.9", True),
    ("x" * 128, True),
    ("x" * 129, False),
    ("has spaces in it", False),
    (f"{FIRST};{EMAIL}", False),
    ("", False),
]


def test_a_sane_request_id_is_echoed_and_anything_else_replaced(client):
    for sent, echoed in REQUEST_IDS:
        returned = client.get("/healthz", headers={"X-Request-ID": sent}).headers["X-Request-ID"]

        if echoed:
            assert returned == sent
        else:
            assert GENERATED_ID.fullmatch(returned), (sent, returned)


def test_a_request_id_is_generated_when_none_is_sent_even_on_errors(client):
    ids = [client.get("/healthz").headers["X-Request-ID"], client.get("/nope").headers["X-Request-ID"]]

    assert all(GENERATED_ID.fullmatch(rid) for rid in ids)
    assert ids[0] != ids[1]


def test_libraries_at_debug_still_cannot_leak_through_the_formatter(app, client, json_lines, caplog):
    # Even if someone turns SQLAlchemy's statement echo (bound parameters) and werkzeug on, the
    # formatter redacts library arguments; the configured levels keep them off in the first place.
    noisy = [logging.getLogger(name) for name in ("sqlalchemy", "werkzeug", "urllib3")]
    levels = [logger.level for logger in noisy]
    for logger in noisy:
        logger.setLevel(logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    try:
        app.extensions["routing"].db.dispose()  # new connections pick up the echo setting
        response = client.post("/v1/inquiries", json=patient_body())
    finally:
        for logger, level in zip(noisy, levels, strict=True):
            logger.setLevel(level)

    assert response.status_code == 201
    # The echo really did carry the patient's data; only the formatter kept it out of our lines.
    echoed = [record.getMessage() for record in caplog.records if record.name.startswith("sqlalchemy")]
    assert any(SENTENCE[:20] in message for message in echoed)
    assert_no_phi(json_lines.lines)


def test_the_formatter_drops_exception_text_untrusted_arguments_and_unknown_extras():
    formatter = JsonFormatter()
    try:
        raise ValueError(f"bad value {EMAIL}")
    except ValueError as error:
        caught = error
    records = [
        logging.LogRecord("routing.x", logging.ERROR, __file__, 1, "failed: %s", (caught,), (ValueError, caught, None)),
        logging.LogRecord("somelib", logging.INFO, __file__, 2, "GET %s -> %d", (f"/p?email={EMAIL}", 200), None),
        logging.LogRecord("somelib", logging.INFO, __file__, 3, "%(who)s", ({"who": FIRST},), None),
        logging.LogRecord("routing.x", logging.ERROR, __file__, 4, caught, (), None),
    ]
    records[0].exc_text = f"Traceback ... ValueError: bad value {EMAIL}"
    records[0].stack_info = f"Stack: {EMAIL}"
    records[1].patient_email = EMAIL  # an extra field nobody vetted
    lines = [formatter.format(record) for record in records]

    assert_no_phi(lines)
    first = json.loads(lines[0])
    assert first["msg"] == "failed: ValueError"
    assert first["exc"]["type"] == "ValueError"
    assert first["exc"]["frames"][0].startswith(f"{__file__}:")
    assert json.loads(lines[1])["msg"] == "GET <redacted> -> 200"
    assert json.loads(lines[3])["msg"] == "<ValueError>"
