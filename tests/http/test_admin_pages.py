"""Lists that stay fast on a year of data: keyset pages (cursors) of the queue and the audit log, bounded
counts, the queue by site, and the queue's order kept on the inquiry row through every staff action."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, update

from routing import create_app
from routing.adapters.db.models import Inquiry, TriageDecision
from routing.services import keyset
from tests.conftest import settings_for
from tests.http.admin_helpers import RED_FLAG, bearer, etag_of, make_token, new_inquiry
from tests.http.intake_helpers import add_slots

CAUDA_EQUINA = "Severe back pain and I can't control my bladder, numb when I wipe."
INFECTION = "Back pain with a fever of 39 for three days."
POSSIBLE_FLAG = "Back pain for a week after gardening. Also some weird stuff going on with my waterworks lately."


@pytest.fixture
def app(migrated_url):
    application = create_app(settings_for(migrated_url))
    add_slots(application, "consult", [26, 27, 28, 29])
    add_slots(application, "imaging", [72, 96], minutes=60)
    yield application
    application.extensions["routing"].db.dispose()


@pytest.fixture
def staff(app):
    return bearer(make_token(app, "Sam Staff", "staff"))


@pytest.fixture
def admin(app):
    return bearer(make_token(app, "Ada Admin", "admin"))


def _follow(client, headers, path: str) -> list[dict]:
    """Every page of a list by its cursors; the pages' bodies."""
    pages = [client.get(path, headers=headers).get_json()]
    while pages[-1]["next_cursor"] is not None:
        pages.append(client.get(f"{path}&cursor={pages[-1]['next_cursor']}", headers=headers).get_json())
    return pages


def test_queue_pages_by_cursor_give_the_page_numbers_order_without_gaps_or_repeats(client, staff):
    ids = [new_inquiry(client, message) for message in (None, INFECTION, CAUDA_EQUINA, None, RED_FLAG)]
    by_number = [
        item["id"]
        for page in (1, 2, 3)
        for item in client.get(f"/v1/admin/inquiries?per_page=2&page={page}", headers=staff).get_json()["items"]
    ]

    pages = _follow(client, staff, "/v1/admin/inquiries?per_page=2")

    assert [item["id"] for page in pages for item in page["items"]] == by_number
    assert sorted(by_number) == sorted(ids)
    assert [len(page["items"]) for page in pages] == [2, 2, 1]
    assert [(page["total"], page["total_capped"]) for page in pages] == [(5, False)] * 3


def test_a_cursor_the_list_did_not_make_or_a_cursor_with_a_page_is_422_naming_the_field(client, staff, admin):
    new_inquiry(client)
    new_inquiry(client)
    client.post("/v1/admin/tokens", json={"name": "Nina Nurse", "role": "staff"}, headers=admin)
    client.post("/v1/admin/tokens", json={"name": "Olu Nurse", "role": "staff"}, headers=admin)
    audit_cursor = client.get("/v1/admin/audit?per_page=1", headers=admin).get_json()["next_cursor"]
    queue_cursor = client.get("/v1/admin/inquiries?per_page=1", headers=staff).get_json()["next_cursor"]

    answers = [
        client.get(path, headers=admin)
        for path in (
            "/v1/admin/inquiries?cursor=not-a-cursor",
            f"/v1/admin/inquiries?cursor={audit_cursor}",
            f"/v1/admin/audit?cursor={queue_cursor}",
            f"/v1/admin/inquiries?cursor={queue_cursor}&page=2",
            f"/v1/admin/inquiries?cursor={keyset.encode(2**40, '2026-12-06T00:00:00+00:00', uuid.uuid4())}",
        )
    ]

    assert [answer.status_code for answer in answers] == [422] * 5
    assert [sorted(answer.get_json()["errors"]) for answer in answers] == [["cursor"]] * 3 + [["page"], ["cursor"]]


def test_the_audit_log_pages_by_cursor_newest_first_and_searches_by_actor(client, admin):
    for name in ("Nina Nurse", "Olu Nurse", "Pat Porter"):
        client.post("/v1/admin/tokens", json={"name": name, "role": "staff"}, headers=admin)
    by_number = client.get("/v1/admin/audit?per_page=10", headers=admin).get_json()

    pages = _follow(client, admin, "/v1/admin/audit?per_page=2&actor=Ada%20Admin")
    nobody = client.get("/v1/admin/audit?actor=Nobody", headers=admin).get_json()

    assert [event["id"] for page in pages for event in page["items"]] == [e["id"] for e in by_number["items"]]
    assert [e["details"]["name"] for e in by_number["items"]] == ["Pat Porter", "Olu Nurse", "Nina Nurse"]
    assert [len(page["items"]) for page in pages] == [2, 1]
    assert (nobody["items"], nobody["total"], nobody["total_capped"], nobody["next_cursor"]) == ([], 0, False, None)


def test_the_queue_shows_one_site_when_asked(app, client, staff):
    here, elsewhere, other = new_inquiry(client), new_inquiry(client, INFECTION), new_inquiry(client)
    with app.extensions["routing"].db.session() as session, session.begin():
        session.execute(update(Inquiry).where(Inquiry.id == uuid.UUID(here)).values(location_id="north"))
        session.execute(update(Inquiry).where(Inquiry.id == uuid.UUID(elsewhere)).values(location_id="south"))

    north = client.get("/v1/admin/inquiries?location=north", headers=staff).get_json()
    everywhere = client.get("/v1/admin/inquiries", headers=staff).get_json()

    assert ([item["id"] for item in north["items"]], north["total"]) == ([here], 1)
    assert everywhere["total"] == 3
    assert other in [item["id"] for item in everywhere["items"]]


def test_counts_stop_at_the_limit_and_say_there_are_more(app, client):
    for _ in range(3):
        new_inquiry(client)

    with app.extensions["routing"].db.session() as session:
        counted = [keyset.count_upto(session, select(Inquiry.id), limit) for limit in (2, 3, 4)]

    assert counted == [(2, True), (3, False), (3, False)]


def test_the_inquiry_keeps_its_decisions_urgency_and_hold_through_every_staff_action(app, client, staff):
    emergency, held, routine = (new_inquiry(client, message) for message in (CAUDA_EQUINA, POSSIBLE_FLAG, None))
    staff_token = staff["Authorization"].split()[1]

    def act(inquiry_id, path, body=None):
        headers = {**staff, "If-Match": etag_of(client, staff_token, inquiry_id)}
        response = client.post(f"/v1/admin/inquiries/{inquiry_id}/{path}", json=body or {}, headers=headers)
        assert response.status_code == 200, response.get_json()

    before = _kept(app)
    act(emergency, "acknowledge")
    act(held, "override", {"route": "imaging", "reason": "Dr Lee read it: MRI first"})
    with app.extensions["routing"].db.session() as session, session.begin():  # as if an older rulebook decided
        for model, key in ((TriageDecision, TriageDecision.inquiry_id), (Inquiry, Inquiry.id)):
            session.execute(update(model).where(key == uuid.UUID(routine)).values(urgency="soon"))
    act(routine, "retriage/apply")
    after = _kept(app)

    assert before[held][:2] == ("possible_red_flag", False)
    for kept in (before, after):
        for inquiry_id, (hold, _, urgency, in_force) in kept.items():
            assert (urgency, hold) == in_force, inquiry_id
    assert {inquiry_id: acknowledged for inquiry_id, (_, acknowledged, _, _) in after.items()} == {
        emergency: True,
        held: False,
        routine: False,
    }
    assert (after[held][0], after[routine][2]) == (None, "routine")


def _kept(app) -> dict[str, tuple]:
    """Each inquiry's (hold, acknowledged, urgency, (urgency, hold) of its decision in force)."""
    with app.extensions["routing"].db.session() as session:
        rows = session.execute(
            select(Inquiry, TriageDecision).join(
                TriageDecision, (TriageDecision.inquiry_id == Inquiry.id) & TriageDecision.superseded_at.is_(None)
            )
        ).all()
        return {
            str(inquiry.id): (
                inquiry.hold,
                inquiry.acknowledged_at is not None,
                inquiry.urgency,
                (decision.urgency, decision.hold),
            )
            for inquiry, decision in rows
        }
