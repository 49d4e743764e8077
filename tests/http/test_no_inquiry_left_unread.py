"""No stored inquiry is left untriaged or out of sight: decided before storing, resumed on redelivery,
ranked near the top of the staff queue while unsettled, and truthful when the database fails."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from routing import create_app
from routing.adapters.db.models import Inquiry, TriageDecision
from tests.conftest import settings_for
from tests.faults.tcp_proxy import TcpProxy
from tests.http.admin_helpers import bearer, make_token, new_inquiry
from tests.http.intake_helpers import add_slots, inquiry

CAUDA_EQUINA = "Severe back pain and I can't control my bladder, numb when I wipe."
INFECTION = "Back pain with a fever of 39 for three days."


@pytest.fixture
def app(migrated_url):
    application = create_app(settings_for(migrated_url))
    add_slots(application, "consult", [26, 27, 28])
    yield application
    application.extensions["routing"].db.dispose()


def _decisions(app, inquiry_id: str) -> list[TriageDecision]:
    with app.extensions["routing"].db.session() as session:
        return session.scalars(select(TriageDecision).where(TriageDecision.inquiry_id == uuid.UUID(inquiry_id))).all()


def _stuck(app, body: bytes, key: str, *, received: datetime) -> uuid.UUID:
    """An inquiry as a request that died after storing it would leave it: pending, no decision, lease over."""
    inquiry_id = uuid.uuid4()
    with app.extensions["routing"].db.session() as session, session.begin():
        session.add(
            Inquiry(
                id=inquiry_id,
                idempotency_key=key,
                body_sha256=hashlib.sha256(body).hexdigest(),
                content_type="application/json",
                raw_body=body,
                payload=json.loads(body),
                status="pending_booking",
                status_detail="awaiting triage",
                received_at=received,
                updated_at=received,
                next_attempt_at=received,
                lease_until=received + timedelta(seconds=30),
            )
        )
    return inquiry_id


class _BrokenReader:
    """A reader with a defect: every message raises."""

    def read(self, *_args, **_kwargs):
        raise RuntimeError("reader defect")


def test_every_answered_inquiry_is_stored_with_its_decision(app, client):
    ids = [new_inquiry(client), new_inquiry(client, CAUDA_EQUINA), new_inquiry(client, INFECTION)]

    assert [len(_decisions(app, inquiry_id)) for inquiry_id in ids] == [1, 1, 1]


def test_an_emergency_is_stored_already_in_urgent_review_by_its_first_commit(app, client):
    engine = app.extensions["routing"].db.engine
    commits: list[object] = []

    def count_commit(connection) -> None:
        commits.append(connection)

    event.listen(engine, "commit", count_commit)
    response = client.post("/v1/inquiries", json=inquiry(CAUDA_EQUINA))
    event.remove(engine, "commit", count_commit)

    assert response.status_code == 201
    assert response.get_json()["status"] == "urgent_review"
    assert len(commits) == 1  # stored, decided and put in front of staff by one commit
    assert [d.urgency for d in _decisions(app, response.get_json()["id"])] == ["emergency"]


def test_a_triage_defect_still_stores_the_inquiry_and_puts_it_in_front_of_staff(app, client):
    app.extensions["routing"].reader = _BrokenReader()

    response = client.post("/v1/inquiries", json=inquiry("My back hurts since Monday."))

    assert response.status_code == 201
    body = response.get_json()
    assert (body["status"], body["triage"]) == ("needs_review", None)
    with app.extensions["routing"].db.session() as session:
        stored = session.get(Inquiry, uuid.UUID(body["id"]))
        assert stored.status_detail == "triage failed (RuntimeError): staff must read it"
        assert stored.next_attempt_at is None


def test_a_redelivery_resumes_an_inquiry_a_dead_request_left_pending(app, client):
    body = json.dumps(inquiry()).encode()
    stuck = _stuck(app, body, "dead-request-1", received=datetime.now(UTC) - timedelta(minutes=2))

    response = client.post(
        "/v1/inquiries", data=body, content_type="application/json", headers={"Idempotency-Key": "dead-request-1"}
    )

    assert response.status_code == 200
    assert (response.get_json()["id"], response.get_json()["status"]) == (str(stuck), "booked")
    assert [d.route for d in _decisions(app, str(stuck))] == ["consult"]


def test_a_redelivery_does_not_take_an_inquiry_another_request_still_holds(app, client):
    body = json.dumps(inquiry()).encode()
    held = _stuck(app, body, "in-flight-1", received=datetime.now(UTC))  # its lease runs 30 s more

    response = client.post(
        "/v1/inquiries", data=body, content_type="application/json", headers={"Idempotency-Key": "in-flight-1"}
    )

    assert (response.status_code, response.get_json()["status"]) == (200, "pending_booking")
    assert _decisions(app, str(held)) == []


def test_unsettled_inquiries_rank_right_after_emergencies_in_the_staff_queue(app, client):
    token = bearer(make_token(app, "Sam Staff", "staff"))
    routine = new_inquiry(client)
    infection = new_inquiry(client, INFECTION)
    emergency = new_inquiry(client, CAUDA_EQUINA)
    body = json.dumps(inquiry()).encode()
    untriaged = _stuck(app, body, "stuck-1", received=datetime.now(UTC) - timedelta(hours=1))

    listed = client.get("/v1/admin/inquiries", headers=token).get_json()

    assert [item["id"] for item in listed["items"]] == [emergency, str(untriaged), infection, routine]


def test_a_database_cut_right_after_the_commit_answers_what_was_stored(migrated_url):
    if migrated_url.get_backend_name() != "postgresql":
        pytest.skip("a database server that goes away is PostgreSQL; SQLite is a file in the process")
    proxy = TcpProxy(migrated_url.host, migrated_url.port)
    app = create_app(settings_for(migrated_url.set(host="127.0.0.1", port=proxy.port)))
    add_slots(app, "consult", [26, 27])

    def cut_after_commit(session: Session) -> None:
        if not session.in_transaction():  # the outer commit has landed, not just a savepoint's release
            proxy.cut()

    try:
        event.listen(Session, "after_commit", cut_after_commit)
        response = app.test_client().post("/v1/inquiries", json=inquiry(), headers={"Idempotency-Key": "cut-1"})
        event.remove(Session, "after_commit", cut_after_commit)

        assert response.status_code == 201
        assert response.get_json()["status"] == "booked"
        direct = create_app(settings_for(migrated_url))  # past the cut proxy
        with direct.extensions["routing"].db.session() as session:
            stored = session.scalar(select(Inquiry).where(Inquiry.idempotency_key == "cut-1"))
        direct.extensions["routing"].db.dispose()
        assert stored.status == "booked"
    finally:
        app.extensions["routing"].db.dispose()
        proxy.close()
