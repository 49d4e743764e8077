"""POST /v1/inquiries end to end: stored, triaged, routed and booked, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import event, select
from sqlalchemy.engine import make_url

from routing import create_app
from routing.adapters.db.models import Inquiry, Slot, TriageDecision
from routing.adapters.db.types import utcnow
from routing.domain.triage.facts import RED_FLAGS
from routing.services import patient_link
from tests.conftest import settings_for
from tests.fake_scheduler import FakeScheduler
from tests.http.admin_helpers import bearer, make_token
from tests.http.intake_helpers import PATIENT, STRAIN, add_slots, busy_slots, count, counts, inquiry

PROBLEM = "application/problem+json"


@pytest.fixture
def slots(app):
    """Consults tomorrow and the day after, an MRI in 3 days, an injection in 30 days."""
    add_slots(app, "consult", [26, 27, 50])
    add_slots(app, "imaging", [72], minutes=60)
    add_slots(app, "injection", [24 * 30], minutes=60)
    return app


def test_a_strain_is_booked_into_the_earliest_consult_in_clinic_time(client, slots):
    response = client.post("/v1/inquiries", json=inquiry())

    assert response.status_code == 201
    body = response.get_json()
    assert response.headers["Location"] == f"/v1/inquiries/{body['id']}"
    assert body["status"] == "booked"
    assert body["triage"]["route"] == "consult"
    assert body["triage"]["rule"] == "R10"
    assert body["triage"]["reasons"][0]["rule"] == "R10"
    assert body["triage"]["rulebook_version"] == "2026-12-06.4+2"
    appointment = body["appointment"]
    assert appointment["slot_type"] == "consult"
    start = datetime.fromisoformat(appointment["start"])
    assert start.utcoffset().total_seconds() in (-5 * 3600, -4 * 3600)  # America/New_York
    assert body["patient_message"].startswith("Your pain-management consultation at Riverside Spine & Pain Clinic")
    assert busy_slots(slots) == 1


def test_json_urlencoded_and_multipart_deliveries_get_the_same_decision(client, slots):
    add_slots(slots, "consult", [28, 29])
    form = {
        "patient.first_name": "Ana",
        "last_name": "Diaz",
        "email": "ana@example.org",
        "message": STRAIN,
        "symptoms.onset": "sudden",
        "pain_score": "6",
        "symptoms.red_flags": "",
    }
    json_body = inquiry(symptoms={"onset": "sudden", "pain_score": 6})

    answers = [
        client.post("/v1/inquiries", json=json_body, headers={"Idempotency-Key": "a"}),
        client.post("/v1/inquiries", data=form, headers={"Idempotency-Key": "b"}),
        client.post("/v1/inquiries", data=form, content_type="multipart/form-data", headers={"Idempotency-Key": "c"}),
    ]

    assert [answer.status_code for answer in answers] == [201, 201, 201]
    decisions = [answer.get_json()["triage"] for answer in answers]
    assert decisions[0] == decisions[1] == decisions[2]
    assert decisions[0]["rule"] == "R10"


def test_repeated_form_fields_make_lists(client, slots):
    form = {"first_name": "Ana", "last_name": "Diaz", "phone": "555 010 0100", "red_flags": ["fever", "major_trauma"]}

    body = client.post("/v1/inquiries", data=form).get_json()

    assert body["status"] == "urgent_review"
    assert "fever, major trauma" in body["triage"]["reasons"][0]["text"]


def test_an_emergency_books_nothing_and_tells_the_patient_to_go_now(client, slots):
    response = client.post(
        "/v1/inquiries", json=inquiry("Sudden back pain and since this morning I can't control my bladder.")
    )

    body = response.get_json()
    assert response.status_code == 201
    assert body["status"] == "urgent_review"
    assert body["triage"]["urgency"] == "emergency"
    assert body["appointment"] is None
    assert "emergency department or call 911 now" in body["patient_message"]
    assert busy_slots(slots) == 0


def test_a_serious_red_flag_goes_to_a_clinician_call_not_a_slot(client, slots):
    body = client.post("/v1/inquiries", json=inquiry("Fell off a ladder two days ago, back is killing me.")).get_json()

    assert body["status"] == "urgent_review"
    assert body["triage"]["urgency"] == "urgent"
    assert "clinician from Riverside Spine & Pain Clinic (demo) will call you" in body["patient_message"]
    assert busy_slots(slots) == 0


def test_no_slot_inside_the_window_holds_the_inquiry_with_the_earliest_later_slot_proposed(client, slots):
    # Injection (R3, soon = 7 days): the only injection slot is 30 days away.
    message = "I was diagnosed with facet joint arthritis last year. The relaxants no longer work."

    body = client.post("/v1/inquiries", json=inquiry(message)).get_json()

    assert body["status"] == "needs_review"
    assert body["triage"]["route"] == "injection"
    assert body["appointment"] is None
    assert body["proposed_slot"]["slot_type"] == "injection"
    assert "earliest we can offer now is" in body["patient_message"]
    assert busy_slots(slots) == 0


def test_imaging_routes_book_an_mri_slot(client, slots):
    body = client.post(
        "/v1/inquiries", json=inquiry("Back spasms on and off for 3 months. Muscle relaxants didn't help at all.")
    ).get_json()

    assert body["status"] == "booked"
    assert body["appointment"]["slot_type"] == "imaging"


def test_the_same_delivery_again_returns_the_stored_result_and_books_nothing(client, slots):
    headers = {"Idempotency-Key": "form-42"}
    first = client.post("/v1/inquiries", json=inquiry(), headers=headers)

    again = client.post("/v1/inquiries", json=inquiry(), headers=headers)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json() == first.get_json()
    assert counts(slots) == (1, 1)


def test_a_double_submitted_form_without_a_key_is_stored_once(client, slots):
    first = client.post("/v1/inquiries", json=inquiry())
    again = client.post("/v1/inquiries", json=inquiry())

    assert (first.status_code, again.status_code) == (201, 200)
    assert counts(slots) == (1, 1)


def test_a_key_reused_with_another_body_is_a_409_and_changes_nothing(client, slots):
    client.post("/v1/inquiries", json=inquiry(), headers={"webhook-id": "msg_7"})

    response = client.post("/v1/inquiries", json=inquiry("Different pain entirely"), headers={"webhook-id": "msg_7"})

    assert response.status_code == 409
    assert response.content_type == PROBLEM
    assert counts(slots) == (1, 1)


def test_the_inquiry_is_stored_verbatim_with_its_decision_and_evidence(client, slots):
    raw = (
        b'{"patient": {"first_name": "Ana", "last_name": "Diaz", "email": "ana@example.org"}, '
        b'"message": "Back pain for the last 3 days, sciatica down my right leg", "utm_source": "ad"}'
    )

    body = client.post("/v1/inquiries", data=raw, content_type="application/json").get_json()

    with slots.extensions["routing"].db.session() as session:
        stored = session.get(Inquiry, uuid.UUID(body["id"]))
        decision = session.scalar(select(TriageDecision).where(TriageDecision.inquiry_id == stored.id))
    assert stored.raw_body == raw
    assert stored.payload["utm_source"] == "ad"
    assert stored.facts["values"]["radiating_leg_pain"] is True
    assert {"fact": "duration_days", "value": 3, "source": "text", "phrase": "for the last 3 days"} in stored.facts[
        "evidence"
    ]
    assert (decision.rule_id, decision.rulebook_version) == ("R9", "2026-12-06.4+2")
    assert decision.reasons[0]["rule"] == "R9"


def test_get_with_a_staff_token_returns_the_whole_stored_outcome(client, slots):
    created = client.post("/v1/inquiries", json=inquiry()).get_json()

    shown = client.get(f"/v1/inquiries/{created['id']}", headers=bearer(make_token(slots, "Sam", "staff")))

    assert shown.status_code == 200
    # Everything the POST answered but the patient's link, which only the patient is given.
    assert shown.get_json() == {key: value for key, value in created.items() if key != "patient_link"}


def test_the_post_answer_carries_the_patient_s_own_link_for_that_inquiry(app, client, slots):
    created = client.post("/v1/inquiries", json=inquiry()).get_json()

    link = created["patient_link"]

    assert link.startswith("/my/")
    assert patient_link.read(app.secret_key, link.removeprefix("/my/"), utcnow(), timedelta(days=1)) == uuid.UUID(
        created["id"]
    )
    assert client.get(link).status_code == 200


@pytest.mark.parametrize("known", [True, False])
def test_get_without_credentials_is_a_401_pointing_patients_to_their_own_link(client, slots, known):
    # The id alone used to open a patient view: it opens nothing now, and a known id answers as an unknown one.
    inquiry_id = client.post("/v1/inquiries", json=inquiry()).get_json()["id"] if known else str(uuid.uuid4())

    shown = client.get(f"/v1/inquiries/{inquiry_id}")

    assert shown.status_code == 401
    assert shown.content_type == PROBLEM
    assert shown.headers["WWW-Authenticate"] == 'Bearer realm="routing"'
    assert shown.get_json()["detail"] == (
        "Reading an inquiry needs a staff token: 'Authorization: Bearer <token>'. Patients see their inquiry at "
        "their own link (/my/<token>), given on the confirmation page, in the clinic's messages and as "
        "patient_link in the POST /v1/inquiries answer."
    )
    assert inquiry_id not in shown.get_data(as_text=True).replace(f"/v1/inquiries/{inquiry_id}", "")


def test_get_with_a_revoked_staff_token_is_a_401(client, slots):
    created = client.post("/v1/inquiries", json=inquiry()).get_json()

    shown = client.get(f"/v1/inquiries/{created['id']}", headers=bearer(make_token(slots, "Ex", "staff", revoked=True)))

    assert shown.status_code == 401
    assert shown.content_type == PROBLEM


def test_get_of_an_unknown_inquiry_is_a_problem_404(client, app):
    token = make_token(app, "Sam", "staff")

    response = client.get("/v1/inquiries/7f1d1c8e-6a55-4c35-9a29-2f4b0f3b9c11", headers=bearer(token))

    assert response.status_code == 404
    assert response.content_type == PROBLEM


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (inquiry(symptoms={"pain_score": 14}), "symptoms.pain_score"),
        (inquiry(symptoms={"onset": "sometimes"}), "symptoms.onset"),
        ({"patient": {**PATIENT, "email": "not-an-email"}, "message": "sore"}, "patient.email"),
        ({"patient": {"first_name": "Ana", "last_name": "Diaz"}, "message": "sore"}, "patient.email"),
        ({"message": "sore back"}, "patient"),
        ({"patient": PATIENT}, "message"),
        (inquiry(symptoms={"red_flags": ["fever", "headache"]}), "symptoms.red_flags.1"),
        (inquiry(symptoms={"duration_days": "a while"}), "symptoms.duration_days"),
    ],
)
def test_invalid_fields_are_a_422_naming_each_field_and_nothing_is_stored(client, slots, body, field):
    response = client.post("/v1/inquiries", json=body)

    assert response.status_code == 422
    assert response.content_type == PROBLEM
    assert field in response.get_json()["errors"]
    assert count(slots, Inquiry) == 0


def test_every_invalid_field_of_a_body_comes_in_one_422(client, slots):
    body = {
        "patient": {"first_name": "", "last_name": "Diaz", "date_of_birth": "1961-13-45"},
        "symptoms": {"pain_score": 14, "red_flags": ["fever", "headache"]},
        "preferred_times": ["mornings", 7],
        "language": "fr",
    }

    response = client.post("/v1/inquiries", json=body, headers={"Idempotency-Key": " "})

    assert response.status_code == 422
    assert response.get_json()["errors"] == {
        "Idempotency-Key": ["Must be 1 to 200 characters."],
        "patient.first_name": ["Length must be between 1 and 100."],
        "patient.date_of_birth": ["Not a valid date."],
        "patient.email": ["Give an email address or a phone number so the clinic can reach you."],
        "symptoms.pain_score": ["Must be greater than or equal to 0 and less than or equal to 10."],
        "symptoms.red_flags.1": [f"Must be one of: {', '.join(RED_FLAGS)}."],
        "preferred_times.1": ["Not a valid string."],
        "language": ["Must be one of: en, es."],
    }
    assert count(slots, Inquiry) == 0


def test_contact_and_description_are_both_reported_when_both_are_missing(client, slots):
    response = client.post("/v1/inquiries", json={"patient": {"first_name": "Ana", "last_name": "Diaz"}})

    assert response.get_json()["errors"] == {
        "patient.email": ["Give an email address or a phone number so the clinic can reach you."],
        "message": ["Describe the pain in 'message' or answer at least one 'symptoms' question."],
    }


def test_an_invalid_email_is_reported_as_invalid_not_also_as_missing(client, slots):
    body = {"patient": {**PATIENT, "email": "not-an-email", "phone": None}, "symptoms": {"pain_score": 99}}

    response = client.post("/v1/inquiries", json=body)

    assert response.get_json()["errors"] == {
        "patient.email": ["Not a valid email address."],
        "patient.phone": ["Field may not be null."],
        "symptoms.pain_score": ["Must be greater than or equal to 0 and less than or equal to 10."],
    }


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"data": "{not json", "content_type": "application/json"}, 400),
        ({"data": "[1, 2]", "content_type": "application/json"}, 400),
        ({"data": b"\xff\xfe", "content_type": "application/json"}, 400),
        ({"data": "hello", "content_type": "text/plain"}, 415),
        ({"data": "<x/>", "content_type": "application/xml"}, 415),
        ({"data": "x" * (64 * 1024 + 1), "content_type": "application/json"}, 413),
    ],
)
def test_unreadable_bodies_are_problems_and_nothing_is_stored(client, slots, kwargs, status):
    response = client.post("/v1/inquiries", **kwargs)

    assert response.status_code == status
    assert response.content_type == PROBLEM
    assert count(slots, Inquiry) == 0


def test_a_scheduler_failure_after_storing_answers_202_and_keeps_the_inquiry(app, client, slots):
    broken = FakeScheduler("broken").failing("find_free_slots", ConnectionError("scheduler unreachable"))
    app.extensions["routing"].scheduler = broken

    response = client.post("/v1/inquiries", json=inquiry())

    assert response.status_code == 202
    body = response.get_json()
    assert body["status"] == "pending_booking"
    assert "Riverside Spine & Pain Clinic (demo) will contact you" in body["patient_message"]
    with app.extensions["routing"].db.session() as session:
        stored = session.get(Inquiry, uuid.UUID(body["id"]))
        assert stored.status == "pending_booking"
        assert "ConnectionError" in stored.status_detail
        assert session.scalar(select(Slot).where(Slot.status == "busy")) is None


def test_an_unreachable_database_is_a_503_to_retry_not_a_500():
    app = create_app(settings_for(make_url("postgresql+psycopg://routing:secret@127.0.0.1:1/routing")))

    response = app.test_client().post("/v1/inquiries", json=inquiry())

    assert response.status_code == 503
    assert response.content_type == PROBLEM
    assert response.headers["Retry-After"] == "5"
    assert "secret" not in response.get_data(as_text=True)


def test_a_database_failure_during_intake_says_the_inquiry_may_be_stored_and_a_retry_is_safe():
    # The insert may have committed before the connection died: "nothing was acknowledged" was untrue.
    app = create_app(settings_for(make_url("postgresql+psycopg://routing@127.0.0.1:1/routing")))
    client = app.test_client()

    posted = client.post("/v1/inquiries", json=inquiry(), headers={"webhook-id": "msg_1"})
    read = client.get(f"/v1/inquiries/{uuid.uuid4()}", headers=bearer("rt_" + "x" * 43))

    assert posted.get_json()["detail"] == (
        "The service lost its database while handling this request, so it may or may not have been stored. "
        "Retry shortly with the same body and the same webhook-id (or Idempotency-Key): that is always safe and "
        "never creates a duplicate. Staff actions: reload the inquiry and check before acting again."
    )
    assert read.get_json()["detail"] == "The service cannot reach its database right now. Retry shortly."
    assert (posted.status_code, read.status_code) == (503, 503)


@pytest.mark.parametrize(
    ("message", "status", "statements"),
    [
        # The inquiry with its decision; the booking under a savepoint: claim, then its records.
        (STRAIN, "booked", ["WITH", "SAVEPOINT", "WITH", "WITH", "RELEASE"]),
        (
            "I was diagnosed with facet joint arthritis last year. The relaxants no longer work.",
            # No injection slot in the window: claim or propose, then the status with its outbox events.
            "needs_review",
            ["WITH", "SAVEPOINT", "WITH", "WITH", "RELEASE"],
        ),
        # Held by the safety net: the proposal, then the inquiry stored held, with its decision.
        ("My legs feel funny and wobbly since the lifting.", "needs_review", ["SELECT", "WITH"]),
    ],
)
def test_on_postgresql_an_inquiry_is_stored_decided_and_booked_in_one_commit(
    client, slots, message, status, statements
):
    # Each commit is a disk flush on a durable server, and each statement a round trip.
    database = slots.extensions["routing"].db
    if database.url.get_backend_name() != "postgresql":
        pytest.skip("SQLite runs in the process: a statement costs no round trip")
    slots.extensions["routing"].rulebooks.current()  # read the active version now: its periodic check is not intake
    slots.extensions["routing"].locations.sites()  # and the sites: read every few seconds, not per inquiry
    sent: list[str] = []
    commits: list[object] = []
    record = lambda *args: sent.append(args[2].split()[0])  # noqa: E731 - (conn, cursor, statement, ...)
    event.listen(database.engine, "before_cursor_execute", record)
    event.listen(database.engine, "commit", commits.append)

    response = client.post("/v1/inquiries", json=inquiry(message))

    assert response.get_json()["status"] == status
    assert sent == statements
    assert len(commits) == 1


@pytest.mark.parametrize(
    ("born", "message"),
    [
        ("2999-01-01", "A date of birth cannot be in the future."),
        ("1850-06-01", "A date of birth more than 130 years ago is not plausible; check the year."),
    ],
)
def test_an_implausible_date_of_birth_is_a_422_naming_it(client, slots, born, message):
    response = client.post("/v1/inquiries", json={**inquiry(), "patient": {**PATIENT, "date_of_birth": born}})

    assert response.status_code == 422
    assert response.get_json()["errors"] == {"patient.date_of_birth": [message]}
    assert count(slots, Inquiry) == 0


def test_a_date_of_birth_is_optional_and_kept_when_given(client, slots):
    with_birth = client.post("/v1/inquiries", json={**inquiry(), "patient": {**PATIENT, "date_of_birth": "1975-02-03"}})
    without = client.post("/v1/inquiries", json=inquiry())

    assert (with_birth.status_code, without.status_code) == (201, 201)
