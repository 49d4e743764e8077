"""Staff and the waitlist through the admin API, on SQLite and PostgreSQL: list it, put an inquiry on it, reprioritise
an entry or restate when the patient cannot come, take one off; every change audited, every refusal a problem."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from routing import create_app
from routing.adapters.db.models import AuditEvent, Slot, WaitlistEntry, WaitlistOffer
from routing.services import staff_tokens, waitlist_answers, waitlist_staff
from routing.services.waitlist_answers import OfferClosed
from tests.conftest import settings_for
from tests.http.admin_helpers import RED_FLAG, bearer, make_token, new_inquiry
from tests.waitlist.helpers import (
    ROUTINE_IMAGING,
    URGENT_IMAGING,
    cancel,
    entries,
    now,
    offer_id,
    offers,
    one_slot,
    status_of,
    submit,
    wiring,
)

PROBLEM = "application/problem+json"


@pytest.fixture
def full_clinic(app, client):
    """One imaging slot 30 hours ahead, booked by a first patient; then a routine and an urgent patient who find
    nothing free inside their windows, in that order (as tests/waitlist/test_refill.py's)."""
    start = one_slot(app, 30)
    booked = submit(client, ROUTINE_IMAGING)
    routine = submit(client, ROUTINE_IMAGING)
    urgent = submit(client, URGENT_IMAGING)
    return start, booked, routine, urgent


@pytest.fixture
def token(app):
    return make_token(app, "Sam Staff", "staff")


def entry_of(app, inquiry_id: uuid.UUID) -> WaitlistEntry:
    """The inquiry's newest entry."""
    with wiring(app).db.session() as session:
        return session.scalars(
            select(WaitlistEntry).where(WaitlistEntry.inquiry_id == inquiry_id).order_by(WaitlistEntry.joined_at.desc())
        ).first()


def audit_of(app, inquiry_id: uuid.UUID, prefix: str = "waitlist.") -> list[tuple[str, str, str | None, dict]]:
    """The inquiry's waitlist audit lines, oldest first: (action, actor, reason, details)."""
    with wiring(app).db.session() as session:
        rows = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.inquiry_id == inquiry_id, AuditEvent.action.startswith(prefix))
            .order_by(AuditEvent.id)
        )
        return [(row.action, row.actor_name, row.reason, row.details) for row in rows]


def slot_status(app, start: datetime) -> str:
    with wiring(app).db.session() as session:
        return session.scalar(select(Slot.status).where(Slot.start == start))


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_json()
    assert response.content_type == PROBLEM
    body = response.get_json()
    assert body["status"] == status
    return body


# --- reading ------------------------------------------------------------------------------------------------------


def test_the_list_shows_live_entries_most_urgent_first_with_the_open_offer_and_its_time_left(
    app, client, token, full_clinic
):
    start, booked, routine, urgent = full_clinic
    cancel(app, booked)

    response = client.get("/v1/admin/waitlist?slot_type=imaging", headers=bearer(token))

    assert response.status_code == 200, response.get_json()
    page = response.get_json()
    assert (page["total"], page["page"], page["per_page"]) == (2, 1, 25)
    first, second = page["items"]
    assert (first["inquiry_id"], first["urgency"], first["priority"], first["status"]) == (
        str(urgent),
        "urgent",
        20,
        "offered",
    )
    assert (second["inquiry_id"], second["urgency"], second["priority"], second["status"], second["offer"]) == (
        str(routine),
        "routine",
        60,
        "waiting",
        None,
    )
    offer = first["offer"]
    assert (offer["status"], datetime.fromisoformat(offer["start"])) == ("open", start)
    # Two hours to answer a slot more than a day ahead (the policy's default), counted down from the offer.
    assert 7100 <= offer["seconds_left"] <= 7200
    assert first["patient_name"] == "Ana Diaz"
    assert first["inquiry_status"] == "needs_review"
    assert first["unavailable_times"] == []
    assert first["unavailable_times_readable"] is None
    assert first["waited_seconds"] >= 0
    assert datetime.fromisoformat(first["window_end"]) > datetime.fromisoformat(first["joined_at"])
    assert client.get("/v1/admin/waitlist?slot_type=consult", headers=bearer(token)).get_json()["total"] == 0


def test_the_list_filters_by_status_and_refuses_unknown_values_naming_each(app, client, token, full_clinic):
    _start, _booked, routine, _urgent = full_clinic
    remove = client.delete(
        f"/v1/admin/waitlist/{entry_of(app, routine).id}",
        json={"reason": "found care elsewhere"},
        headers=bearer(token),
    )
    assert remove.status_code == 200, remove.get_json()

    removed = client.get("/v1/admin/waitlist?status=removed", headers=bearer(token)).get_json()
    bad = client.get("/v1/admin/waitlist?slot_type=xray&status=gone&per_page=0", headers=bearer(token))

    assert [(item["inquiry_id"], item["close_reason"]) for item in removed["items"]] == [
        (str(routine), "found care elsewhere")
    ]
    assert problem(bad, 422)["errors"] == {
        "slot_type": ["Must be one of: consult, imaging, injection."],
        "status": ["Must be one of: waiting, offered, booked, removed, window_passed."],
        "per_page": ["Must be greater than or equal to 1 and less than or equal to 100."],
    }


def test_the_inquiry_detail_shows_its_entry_and_every_offer(app, client, token, full_clinic):
    start, booked, _routine, urgent = full_clinic
    cancel(app, booked)

    detail = client.get(f"/v1/admin/inquiries/{urgent}", headers=bearer(token)).get_json()

    [entry] = detail["waitlist"]
    assert (entry["status"], entry["slot_type"], entry["priority"]) == ("offered", "imaging", 20)
    [offer] = entry["offers"]
    assert (offer["status"], datetime.fromisoformat(offer["start"]), offer["direct"]) == ("open", start, False)
    assert entry["offer"] == offer
    assert client.get(f"/v1/admin/inquiries/{booked}", headers=bearer(token)).get_json()["waitlist"] == []


# --- removing -----------------------------------------------------------------------------------------------------


def test_removing_an_offered_entry_withdraws_its_offer_and_the_slot_goes_to_the_next_entry(
    app, client, token, full_clinic
):
    start, booked, routine, urgent = full_clinic
    cancel(app, booked)
    entry_id = entry_of(app, urgent).id

    response = client.delete(
        f"/v1/admin/waitlist/{entry_id}", json={"reason": "patient booked privately"}, headers=bearer(token)
    )

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["status"], body["close_reason"], body["offer"]) == ("removed", "patient booked privately", None)
    assert sorted(offers(app), key=lambda offer: offer[1]) == [(routine, "open", start), (urgent, "withdrawn", start)]
    assert entries(app) == {urgent: ("removed", 20), routine: ("offered", 60)}
    assert slot_status(app, start) == "held"
    withdrawn, removed = audit_of(app, urgent)[1:]
    assert withdrawn[:3] == ("waitlist.withdrawn", "Sam Staff", "the entry was taken off the waitlist by staff")
    assert removed == (
        "waitlist.removed",
        "Sam Staff",
        "patient booked privately",
        {"entry": str(entry_id), "slot_type": "imaging", "urgency": "urgent"},
    )
    detail = client.get(f"/v1/admin/inquiries/{urgent}", headers=bearer(token)).get_json()
    assert (detail["status"], detail["status_detail"]) == ("needs_review", "waitlist: patient booked privately")


def test_the_reason_to_remove_may_come_in_the_query_string(app, client, token, full_clinic):
    _start, _booked, routine, _urgent = full_clinic
    entry_id = entry_of(app, routine).id

    response = client.delete(f"/v1/admin/waitlist/{entry_id}?reason=moved+away", headers=bearer(token))

    assert response.status_code == 200, response.get_json()
    assert audit_of(app, routine)[-1][:3] == ("waitlist.removed", "Sam Staff", "moved away")


def test_removing_without_a_reason_or_twice_or_an_unknown_entry_is_refused(app, client, token, full_clinic):
    _start, _booked, routine, _urgent = full_clinic
    entry_id = entry_of(app, routine).id

    no_reason = client.delete(f"/v1/admin/waitlist/{entry_id}", headers=bearer(token))
    short = client.delete(f"/v1/admin/waitlist/{entry_id}", json={"reason": "x"}, headers=bearer(token))
    assert (
        client.delete(f"/v1/admin/waitlist/{entry_id}", json={"reason": "done"}, headers=bearer(token)).status_code
        == 200
    )
    twice = client.delete(f"/v1/admin/waitlist/{entry_id}", json={"reason": "again"}, headers=bearer(token))
    unknown = client.delete(f"/v1/admin/waitlist/{uuid.uuid4()}", json={"reason": "who?"}, headers=bearer(token))

    assert problem(no_reason, 422)["errors"] == {"reason": ["Give a reason of 3 to 1000 characters."]}
    assert problem(short, 422)["errors"] == {"reason": ["Give a reason of 3 to 1000 characters."]}
    refused = problem(twice, 409)
    assert (refused["type"], refused["detail"]) == (
        "urn:routing:problem:waitlist-refused",
        "This entry is off the waitlist already (removed).",
    )
    assert problem(unknown, 404)["detail"] == "There is no waitlist entry with this id."
    assert [line[0] for line in audit_of(app, routine)] == ["waitlist.removed"]


def test_an_entry_whose_slot_is_being_held_or_booked_cannot_be_removed_until_that_ends(app, client, token, full_clinic):
    _start, booked, _routine, urgent = full_clinic
    cancel(app, booked)
    with wiring(app).db.session() as session, session.begin():
        offer = session.scalar(select(WaitlistOffer).where(WaitlistOffer.inquiry_id == urgent))
        offer.status = "booking"  # an acceptance at the scheduler, over the network, right now

    response = client.delete(
        f"/v1/admin/waitlist/{entry_of(app, urgent).id}", json={"reason": "changed mind"}, headers=bearer(token)
    )

    assert problem(response, 409)["detail"] == "A slot is being booked for this entry right now; try again in a minute."
    assert entries(app)[urgent] == ("offered", 20)


# --- reprioritising and restating times ---------------------------------------------------------------------------


def test_reprioritising_an_entry_puts_it_first_for_the_next_freed_slot_and_is_audited(app, client, token, full_clinic):
    start, booked, routine, urgent = full_clinic
    entry_id = entry_of(app, routine).id

    response = client.patch(
        f"/v1/admin/waitlist/{entry_id}", json={"priority": 10, "reason": "Dr Lee: scan first"}, headers=bearer(token)
    )
    cancel(app, booked)

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["priority"] == 10
    assert offers(app) == [(routine, "open", start)]
    reprioritised, offered = audit_of(app, routine)
    assert reprioritised == (
        "waitlist.reprioritised",
        "Sam Staff",
        "Dr Lee: scan first",
        {"entry": str(entry_id), "slot_type": "imaging", "urgency": "routine", "priority": 60, "from": 60, "to": 10},
    )
    assert offered[:2] == ("waitlist.offered", "waitlist")
    assert entries(app)[urgent] == ("waiting", 20)


def test_restating_unavailable_times_keeps_offers_away_from_them_and_is_audited_with_before_and_after(
    app, client, token, full_clinic
):
    start, booked, _routine, urgent = full_clinic
    entry_id = entry_of(app, urgent).id
    day = start.astimezone(wiring(app).routing.tz).strftime("%A")  # the freed slot's day, in the clinic's zone

    response = client.patch(
        f"/v1/admin/waitlist/{entry_id}",
        json={"unavailable_times": [f"{day}s"], "reason": "patient phoned: works that day"},
        headers=bearer(token),
    )
    cancel(app, booked)

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["unavailable_times"], body["unavailable_times_readable"]) == ([f"{day}s"], True)
    [(action, actor, reason, details)] = audit_of(app, urgent)
    assert (action, actor, reason) == (
        "waitlist.unavailable_times_changed",
        "Sam Staff",
        "patient phoned: works that day",
    )
    assert (details["from"], details["to"]) == ([], [f"{day}s"])
    # The urgent entry cannot come that day: the slot goes to the routine one.
    [(offered_to, status, _)] = offers(app)
    assert (offered_to, status) == (full_clinic[2], "open")


def test_an_unchanged_value_writes_no_audit_line(app, client, token, full_clinic):
    _start, _booked, routine, _urgent = full_clinic

    response = client.patch(
        f"/v1/admin/waitlist/{entry_of(app, routine).id}",
        json={"priority": 60, "unavailable_times": [], "reason": "checked"},
        headers=bearer(token),
    )

    assert response.status_code == 200, response.get_json()
    assert audit_of(app, routine) == []


def test_a_change_with_nothing_to_change_or_bad_fields_is_refused_naming_each_field(app, client, token, full_clinic):
    _start, _booked, routine, _urgent = full_clinic
    url = f"/v1/admin/waitlist/{entry_of(app, routine).id}"

    nothing = client.patch(url, json={"reason": "nothing"}, headers=bearer(token))
    bad = client.patch(url, json={"priority": 100, "unavailable_times": ["x" * 96, "", 3]}, headers=bearer(token))
    many = client.patch(url, json={"unavailable_times": ["Mondays"] * 6, "reason": "six"}, headers=bearer(token))
    unread = client.patch(
        url,
        json={"unavailable_times": ["Mondays", "whenever the moon is full"], "reason": "restated"},
        headers=bearer(token),
    )

    assert problem(nothing, 422)["errors"] == {
        "priority": ["Give a priority, unavailable_times, or both."],
        "unavailable_times": ["Give a priority, unavailable_times, or both."],
    }
    assert problem(bad, 422)["errors"] == {
        "reason": ["Give a reason of 3 to 1000 characters."],
        "priority": ["Give a whole number from 1 (offered first) to 99 (last)."],
        "unavailable_times.0": ["Length must be between 1 and 95."],
        "unavailable_times.1": ["Length must be between 1 and 95."],
        "unavailable_times.2": ["Not a valid string."],
    }
    assert problem(many, 422)["errors"] == {"unavailable_times": ["At most 5 entries."]}
    assert problem(unread, 422)["errors"] == {
        "unavailable_times.1": [
            "Not understood; use days and times such as 'Mondays', 'before 10am' or 'Friday afternoons'."
        ]
    }
    assert audit_of(app, routine) == []


# --- adding -------------------------------------------------------------------------------------------------------


def test_an_inquiry_taken_off_can_be_put_back_with_its_urgency_window_from_now_and_a_priority(
    app, client, token, full_clinic
):
    _start, booked, routine, _urgent = full_clinic
    old = entry_of(app, routine)
    assert (
        client.delete(
            f"/v1/admin/waitlist/{old.id}", json={"reason": "patient unsure"}, headers=bearer(token)
        ).status_code
        == 200
    )
    cancel(app, booked)  # offered to the urgent entry
    before = datetime.now(old.joined_at.tzinfo)

    response = client.post(
        "/v1/admin/waitlist",
        json={"inquiry_id": str(routine), "reason": "patient called back: wants the list", "priority": 30},
        headers=bearer(token),
    )

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["inquiry_id"], body["route"], body["slot_type"], body["urgency"], body["priority"]) == (
        str(routine),
        "imaging",
        "imaging",
        "routine",
        30,
    )
    window_end = datetime.fromisoformat(body["window_end"])
    assert before + timedelta(days=21) <= window_end <= datetime.now(old.joined_at.tzinfo) + timedelta(days=21)
    assert entries(app)[routine] == ("waiting", 30)  # the only free slot is offered to the urgent entry already
    [(action, actor, reason, details)] = audit_of(app, routine)[-1:]
    assert (action, actor, reason) == ("waitlist.added", "Sam Staff", "patient called back: wants the list")
    assert details == {
        "entry": body["id"],
        "slot_type": "imaging",
        "urgency": "routine",
        "priority": 30,
        "window_end": window_end.isoformat(),
        "unavailable_times": [],
    }


def test_an_added_entry_is_offered_a_free_slot_at_once(app, client, token, full_clinic):
    start, booked, routine, urgent = full_clinic
    for inquiry_id in (routine, urgent):
        entry_id = entry_of(app, inquiry_id).id
        assert (
            client.delete(f"/v1/admin/waitlist/{entry_id}", json={"reason": "tidy"}, headers=bearer(token)).status_code
            == 200
            == 200
        )
    cancel(app, booked)  # nobody waits: the slot stays free
    assert offers(app) == []

    response = client.post(
        "/v1/admin/waitlist", json={"inquiry_id": str(routine), "reason": "back on the list"}, headers=bearer(token)
    )

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["offer"]["status"] == "open"
    assert offers(app) == [(routine, "open", start)]


def test_adding_is_refused_when_there_is_a_live_entry_or_the_inquiry_does_not_wait_for_staff(
    app, client, token, full_clinic
):
    _start, booked, routine, _urgent = full_clinic
    urgent_review = uuid.UUID(new_inquiry(client, RED_FLAG))

    def add(inquiry_id):
        body = {"inquiry_id": str(inquiry_id), "reason": "wants an earlier slot"}
        return client.post("/v1/admin/waitlist", json=body, headers=bearer(token))

    twice = problem(add(routine), 409)
    booked_one = problem(add(booked), 409)
    review = problem(add(urgent_review), 409)
    unknown = problem(add(uuid.uuid4()), 404)

    assert twice["detail"] == (
        f"This inquiry is on the waitlist already (entry {entry_of(app, routine).id}); reprioritise or remove "
        "that entry."
    )
    assert twice["type"] == "urn:routing:problem:waitlist-refused"
    assert booked_one["detail"] == (
        "This inquiry is booked. Only an inquiry waiting for staff (needs review) goes on the waitlist: the waitlist "
        "never books a second appointment for one inquiry. To move the patient to an earlier free slot, override "
        "the route and choose that slot."
    )
    assert review["detail"] == "This inquiry is for urgent review: a clinician calls the patient; nothing is booked."
    assert unknown["detail"] == "There is no inquiry with this id."
    for inquiry_id in (booked, urgent_review):
        assert audit_of(app, inquiry_id) == []
        assert entry_of(app, inquiry_id) is None


def test_adding_with_bad_fields_names_each(app, client, token, full_clinic):
    _start, _booked, routine, _urgent = full_clinic
    entry_id = entry_of(app, routine).id
    assert (
        client.delete(f"/v1/admin/waitlist/{entry_id}", json={"reason": "tidy"}, headers=bearer(token)).status_code
        == 200
        == 200
    )

    bad = client.post("/v1/admin/waitlist", json={"priority": 0, "window_end": "tomorrow"}, headers=bearer(token))
    too_soon = client.post(
        "/v1/admin/waitlist",
        json={"inquiry_id": str(routine), "reason": "soon", "window_end": datetime.now().astimezone().isoformat()},
        headers=bearer(token),
    )

    assert problem(bad, 422)["errors"] == {
        "inquiry_id": ["Name the inquiry."],
        "reason": ["Give a reason of 3 to 1000 characters."],
        "priority": ["Give a whole number from 1 (offered first) to 99 (last)."],
        "window_end": ["Not a valid datetime."],
    }
    refused = problem(too_soon, 422)
    assert refused["detail"] == "The window must end after the earliest slot the waitlist may offer."
    assert list(refused["errors"]) == ["window_end"]
    assert refused["errors"]["window_end"][0].startswith("Must be later than ")


def test_adding_is_refused_when_the_waitlist_is_off(migrated_url):
    app = create_app(settings_for(migrated_url, ROUTING_WAITLIST="off"))
    client = app.test_client()
    one_slot(app, 30)
    booked = submit(client, ROUTINE_IMAGING)
    cancel(app, booked)  # waits for staff now

    response = client.post(
        "/v1/admin/waitlist",
        json={"inquiry_id": str(booked), "reason": "wants the next slot"},
        headers=bearer(make_token(app, "Sam Staff", "staff")),
    )

    assert problem(response, 409)["detail"] == (
        "The waitlist is off here (ROUTING_WAITLIST=off): nothing would be offered."
    )
    assert entries(app) == {}
    app.extensions["routing"].db.dispose()


def test_a_removal_racing_the_patient_s_acceptance_ends_one_way_or_the_other(app, token, full_clinic):
    start, booked, routine, urgent = full_clinic
    cancel(app, booked)
    w = wiring(app)
    offer, entry = offer_id(app, urgent), entry_of(app, urgent).id
    with w.db.session() as session:
        staff = staff_tokens.authenticate(session, token)
    barrier, outcomes = threading.Barrier(2), {}

    def accept():
        barrier.wait()
        with w.db.session() as session:
            try:
                waitlist_answers.accept(session, w.routing, offer, urgent, now(), actor="patient")
                outcomes["accept"] = "booked"
            except OfferClosed:
                outcomes["accept"] = "closed"

    def remove():
        barrier.wait()
        with w.db.session() as session:
            try:
                waitlist_staff.remove(session, w.routing, staff, entry, "changed her mind", now=now())
                outcomes["remove"] = "removed"
            except waitlist_staff.Refused as refused:
                outcomes["remove"] = str(refused)

    threads = [threading.Thread(target=accept), threading.Thread(target=remove)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # Whichever locked the offer first wins; the other is refused, and nothing is left half done.
    if outcomes["accept"] == "booked":
        assert outcomes["remove"] == "This entry is off the waitlist already (booked)."
        assert (status_of(app, urgent), entries(app)[urgent]) == ("booked", ("booked", 20))
        assert offers(app) == [(urgent, "accepted", start)]
    else:
        assert outcomes == {"accept": "closed", "remove": "removed"}
        assert (status_of(app, urgent), entries(app)[urgent]) == ("needs_review", ("removed", 20))
        assert sorted(offers(app), key=lambda o: o[1]) == [(routine, "open", start), (urgent, "withdrawn", start)]


def test_a_window_end_given_in_another_offset_is_kept_as_that_moment(app, client, token, full_clinic):
    _start, _booked, routine, _urgent = full_clinic
    entry_id = entry_of(app, routine).id
    assert (
        client.delete(f"/v1/admin/waitlist/{entry_id}", json={"reason": "tidy"}, headers=bearer(token)).status_code
        == 200
    )
    window_end = (datetime.now().astimezone() + timedelta(days=3)).replace(microsecond=0)
    given = window_end.astimezone(timezone(timedelta(hours=-5))).isoformat()

    response = client.post(
        "/v1/admin/waitlist",
        json={"inquiry_id": str(routine), "reason": "three days at most", "window_end": given},
        headers=bearer(token),
    )

    assert response.status_code == 201, response.get_json()
    assert datetime.fromisoformat(response.get_json()["window_end"]) == window_end
    assert entry_of(app, routine).window_end == window_end
