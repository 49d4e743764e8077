"""Concurrent deliveries on PostgreSQL: one inquiry per delivery, one booking per slot."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from routing.adapters.db.models import Appointment
from tests.http.intake_helpers import add_slots, counts, inquiry


@pytest.fixture
def pg_app(app, database_url):
    if database_url.get_backend_name() != "postgresql":
        pytest.skip("concurrency is proven on PostgreSQL, the production database")
    return app


def _post_all(app, requests: list[tuple[dict, dict]]) -> list:
    def post(item):
        body, headers = item
        return app.test_client().post("/v1/inquiries", json=body, headers=headers)

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(post, requests))


def test_twenty_concurrent_identical_deliveries_store_one_inquiry_and_book_once(pg_app):
    add_slots(pg_app, "consult", [26, 27, 28])
    delivery = (inquiry(), {"webhook-id": "msg_dup"})

    responses = _post_all(pg_app, [delivery] * 20)

    assert sorted(response.status_code for response in responses).count(201) == 1
    assert all(response.status_code in (200, 201) for response in responses)
    assert len({response.get_json()["id"] for response in responses}) == 1
    assert counts(pg_app) == (1, 1)


def test_fifty_inquiries_for_ten_slots_book_ten_and_hold_forty_for_staff(pg_app):
    add_slots(pg_app, "consult", [26 + hour for hour in range(10)])
    deliveries = [
        (inquiry(f"Lifted boxes {n} days ago, lower back spasm."), {"webhook-id": f"msg_{n}"}) for n in range(50)
    ]

    responses = _post_all(pg_app, deliveries)

    statuses = [response.get_json()["status"] for response in responses]
    assert all(response.status_code == 201 for response in responses)
    assert statuses.count("booked") == 10
    assert statuses.count("needs_review") == 40
    with pg_app.extensions["routing"].db.session() as session:
        per_slot = session.execute(
            select(Appointment.slot_id, func.count())
            .where(Appointment.status == "booked")
            .group_by(Appointment.slot_id)
        ).all()
    assert len(per_slot) == 10
    assert all(n == 1 for _, n in per_slot)
