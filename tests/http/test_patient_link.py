"""The patient's own link, /my/<token>: what it shows, what it refuses, and the two changes a patient can make."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from itsdangerous import URLSafeSerializer
from sqlalchemy import select, update

from routing import create_app
from routing.adapters.db.models import Appointment, AuditEvent, Inquiry, Slot
from routing.adapters.db.types import utcnow
from routing.adapters.scheduling.interface import SchedulerUnavailable
from routing.domain import patient_messages
from routing.domain.patient_form import reference
from routing.http import form_token
from routing.services import patient_link
from tests.conftest import settings_for
from tests.fake_scheduler import FakeScheduler
from tests.http.admin_helpers import RED_FLAG, bearer, make_token
from tests.http.form_helpers import read_page
from tests.http.intake_helpers import PATIENT, STRAIN, add_slots, inquiry
from tests.http.patient_link_helpers import action_token_of, ask_from_link, cancel_from_link

WHERE = "Riverside Spine & Pain Clinic (demo), 100 Example Avenue, Suite 200, Springfield"
POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
NOT_FOUND_TEXT = (
    "This link does not work The link may be too old, or its address may be incomplete. Call us on (555) 010-0142 "
    "and we will tell you about your appointment. Call us on (555) 010-0142 If you need medical help now, call 911 "
    "or go to the nearest emergency department."
)


@pytest.fixture
def slots(app):
    """Two consults, tomorrow."""
    return add_slots(app, "consult", [26, 27])


def rows(app, model, *where):
    with app.extensions["routing"].db.session() as session:
        return session.scalars(select(model).where(*where)).all()


def booked(client, **extra) -> dict:
    """A strain booked into a consult; the POST answer (with its patient_link)."""
    created = client.post("/v1/inquiries", json=inquiry(**extra), headers={"Idempotency-Key": uuid.uuid4().hex})
    assert created.status_code == 201, created.get_json()
    return created.get_json()


def _when(app, start: datetime, language: str = "en") -> str:
    return patient_messages.local_time(start, app.extensions["routing"].settings.timezone, language)


# --- what a link shows ---------------------------------------------------------------------------------------


def test_a_valid_link_shows_exactly_the_status_and_the_appointment_in_the_clinic_s_time(app, client, slots):
    created = booked(client)
    link = created["patient_link"]

    response = client.get(link)

    page = read_page(response)
    when = _when(app, slots[0])
    assert response.status_code == 200
    assert page.lang == "en"
    assert page.title == "Your appointment is booked · Riverside Spine & Pain Clinic (demo)"
    assert page.by_id["status-title"] == "Your appointment is booked"
    assert page.by_id["patient-message"] == created["patient_message"]
    assert page.by_id["appointment"] == (
        f"Your appointment What pain-management consultation When {when} Where {WHERE} "
        "Add it to your calendar (.ics file)"
    )
    assert page.by_id["reference"] == f"Your reference: {reference(created['id'])} Quote it if you call us."
    assert page.links == [
        ("#main", "Skip to the main content"),
        (f"{link}/appointment.ics", "Add it to your calendar (.ics file)"),
        (f"{link}/another-time", "Ask for another time"),
        (f"{link}/cancel", "Cancel this appointment"),
        ("tel:5550100142", "Call us on (555) 010-0142"),
    ]
    text = response.get_data(as_text=True)
    # Nothing the patient wrote, no triage, and not the inquiry's id (only its short reference).
    for private in (*PATIENT.values(), STRAIN[:30], created["id"], "R9", "strain", "urgency"):
        assert private not in text


def test_the_page_is_in_the_inquiry_s_language_whatever_the_browser_asks_for(app, client, slots):
    created = booked(client, language="es")

    page = read_page(client.get(created["patient_link"], headers={"Accept-Language": "en-US"}))

    assert page.lang == "es"
    assert page.by_id["status-title"] == "Su cita está reservada"
    assert page.by_id["appointment-when"] == _when(app, slots[0], "es")
    assert (f"{created['patient_link']}/cancel", "Cancelar esta cita") in page.links


def test_an_urgent_review_shows_the_clinician_s_call_and_offers_no_change(client, slots):
    created = client.post("/v1/inquiries", json=inquiry(RED_FLAG)).get_json()

    page = read_page(client.get(created["patient_link"]))

    assert page.by_id["status-title"] == "A clinician will call you"
    assert page.by_id["patient-message"] == created["patient_message"]
    assert "appointment" not in page.by_id
    assert "actions" not in page.by_id


def test_the_pages_cannot_be_framed_run_no_script_and_are_kept_by_no_cache_or_search_engine(client, slots):
    link = booked(client)["patient_link"]

    for path in (link, f"{link}/cancel", f"{link}/another-time", "/my/not-a-link"):
        headers = client.get(path).headers

        assert headers["Content-Security-Policy"] == POLICY, path
        assert (headers["X-Frame-Options"], headers["X-Robots-Tag"]) == ("DENY", "noindex, nofollow")
        assert (headers["Cache-Control"], headers["Referrer-Policy"]) == ("no-store", "no-referrer")


# --- what a link refuses -------------------------------------------------------------------------------------


def _not_found_paths(link: str) -> list[tuple[str, str]]:
    return [
        ("GET", link),
        ("GET", f"{link}/appointment.ics"),
        ("GET", f"{link}/cancel"),
        ("POST", f"{link}/cancel"),
        ("GET", f"{link}/another-time"),
        ("POST", f"{link}/another-time"),
    ]


def test_forged_expired_other_purpose_and_unknown_links_all_get_the_same_not_found_page(app, client, slots):
    created = booked(client)
    inquiry_id, secret, now = uuid.UUID(created["id"]), app.secret_key, utcnow()
    real = created["patient_link"].removeprefix("/my/")
    payload, _, signature = real.rpartition(".")
    bad_links = {
        "another secret": patient_link.link_for("another secret of 32 characters or more", inquiry_id, now),
        "tampered": f"/my/{payload}.{signature[:-2]}xx",
        "cut short": f"/my/{real[:40]}",
        "garbage": "/my/hello",
        "the form's token": "/my/" + form_token.issue(secret, "en", now.timestamp()),
        "an action token": "/my/" + patient_link.action_token(secret, inquiry_id, "cancel", now),
        "no salt": "/my/" + URLSafeSerializer(secret).dumps([inquiry_id.hex, int(now.timestamp())]),
        "31 days old": patient_link.link_for(secret, inquiry_id, now - timedelta(days=31)),
        "from the future": patient_link.link_for(secret, inquiry_id, now + timedelta(hours=1)),
        "unknown inquiry": patient_link.link_for(secret, uuid.uuid4(), now),
    }
    bodies = set()

    for why, link in bad_links.items():
        for method, path in _not_found_paths(link):
            response = client.open(path, method=method, data={"action_token": "x", "preferred_times": "Mondays"})

            assert (response.status_code, response.mimetype) == (404, "text/html"), (why, method, path)
            bodies.add(response.get_data(as_text=True))

    assert len(bodies) == 1  # nothing tells one refusal from another
    page = read_page(client.get(bad_links["garbage"]))
    assert page.lang == "en"
    assert page.by_id["missing-section-en"] == NOT_FOUND_TEXT
    assert page.by_id["missing-section-es"].startswith("Este enlace no funciona Puede que el enlace sea demasiado")
    assert ("tel:5550100142", "Llámenos al (555) 010-0142") in page.links
    assert [row.status for row in rows(app, Appointment)] == ["booked"]  # no post changed anything


def test_a_link_works_for_the_configured_days_and_then_shows_nothing(migrated_url):
    app = create_app(settings_for(migrated_url, ROUTING_PATIENT_LINK_DAYS="2"))
    add_slots(app, "consult", [26])
    client = app.test_client()
    inquiry_id = uuid.UUID(booked(client)["id"])
    now = utcnow()

    fresh = client.get(patient_link.link_for(app.secret_key, inquiry_id, now - timedelta(days=1, hours=23)))
    stale = client.get(patient_link.link_for(app.secret_key, inquiry_id, now - timedelta(days=2, minutes=1)))

    assert (fresh.status_code, stale.status_code) == (200, 404)
    assert "Your appointment is booked" not in stale.get_data(as_text=True)
    app.extensions["routing"].db.dispose()


def test_a_link_stops_a_day_after_its_appointment_and_when_its_inquiry_is_closed(app, client, slots):
    first, second = booked(client), booked(client)
    ended = datetime.now(UTC) - timedelta(days=1, minutes=1)
    with app.extensions["routing"].db.session() as session, session.begin():
        session.execute(
            update(Appointment)
            .where(Appointment.inquiry_id == uuid.UUID(first["id"]))
            .values(start=ended - timedelta(minutes=30), end=ended)
        )
        session.execute(update(Inquiry).where(Inquiry.id == uuid.UUID(second["id"])).values(status="closed"))

    assert client.get(first["patient_link"]).status_code == 404
    assert client.get(second["patient_link"]).status_code == 404


def test_a_past_appointment_still_shows_for_a_day_but_cannot_be_cancelled(app, client, slots):
    created = booked(client)
    started = datetime.now(UTC) - timedelta(hours=2)
    with app.extensions["routing"].db.session() as session, session.begin():
        session.execute(update(Appointment).values(start=started, end=started + timedelta(minutes=30)))

    page = read_page(client.get(created["patient_link"]))

    assert page.by_id["appointment-when"] == _when(app, started)
    assert [text for _, text in page.links if "Cancel" in text] == []
    refused = client.get(f"{created['patient_link']}/cancel")
    assert (refused.status_code, refused.headers["Location"]) == (303, created["patient_link"])


# --- cancelling ----------------------------------------------------------------------------------------------


def test_cancelling_from_the_link_frees_the_slot_and_is_audited_with_the_patient_as_actor(app, client, slots):
    created = booked(client)
    link = created["patient_link"]

    confirm = client.get(f"{link}/cancel")
    done = client.post(f"{link}/cancel", data={"action_token": action_token_of(confirm)})

    confirm_page = read_page(confirm)
    assert confirm_page.by_id["cancel-title"] == "Cancel your appointment?"
    assert confirm_page.by_id["appointment-when"] == _when(app, slots[0])
    assert (link, "No, keep my appointment") in confirm_page.links
    assert (done.status_code, done.headers["Location"]) == (303, f"{link}?done=cancelled")
    (appointment,) = rows(app, Appointment)
    assert (appointment.status, appointment.cancel_reason) == (
        "cancelled",
        "cancelled by patient (own link): the patient cancelled it from their own page",
    )
    assert [slot.status for slot in rows(app, Slot, Slot.start == slots[0])] == ["free"]
    (event,) = rows(app, AuditEvent, AuditEvent.inquiry_id == uuid.UUID(created["id"]))
    assert (event.action, event.actor_name, event.actor_id) == ("cancel", "patient (own link)", None)
    assert event.details["appointment"]["id"] == created["appointment"]["id"]
    (stored,) = rows(app, Inquiry)
    assert (stored.status, stored.status_detail) == ("needs_review", "appointment cancelled by patient (own link)")
    after = read_page(client.get(done.headers["Location"]))
    assert after.by_id["done"] == "Your appointment is cancelled."
    assert after.by_id["status-title"] == "We will be in touch"
    assert after.by_id["patient-message"] == (
        f"You cancelled your pain-management consultation on {_when(app, slots[0])}; its time is free for someone "
        "else now. If you want another appointment, ask for another time on your page or call us on (555) 010-0142."
    )
    assert "appointment" not in after.by_id
    assert [text for _, text in after.links if text.startswith(("Cancel", "Ask"))] == ["Ask for another time"]
    assert client.get(f"{link}/appointment.ics").status_code == 404


def test_the_freed_slot_can_be_booked_by_the_next_patient(app, client, slots):
    first = booked(client)
    cancel_from_link(client, first["patient_link"])

    second = booked(client)

    assert second["appointment"]["start"] == first["appointment"]["start"]


@pytest.mark.parametrize(
    "sent",
    ["missing", "empty", "forged", "another inquiry's", "the other step's", "another appointment's", "two hours old"],
)
def test_a_cancel_without_the_cancel_step_s_action_token_is_refused_and_changes_nothing(app, client, slots, sent):
    created = booked(client)
    link, inquiry_id, secret = created["patient_link"], uuid.UUID(created["id"]), app.secret_key
    appointment_id, now = uuid.UUID(created["appointment"]["id"]), utcnow()
    tokens = {
        "missing": None,
        "empty": "",
        "forged": patient_link.action_token("another secret of 32 characters or more", inquiry_id, "cancel", now),
        "another inquiry's": patient_link.action_token(secret, uuid.uuid4(), "cancel", now, appointment_id),
        "the other step's": patient_link.action_token(secret, inquiry_id, "another_time", now),
        "another appointment's": patient_link.action_token(secret, inquiry_id, "cancel", now, uuid.uuid4()),
        "two hours old": patient_link.action_token(
            secret, inquiry_id, "cancel", now - timedelta(hours=2), appointment_id
        ),
    }
    data = {} if tokens[sent] is None else {"action_token": tokens[sent]}

    response = client.post(f"{link}/cancel", data=data)

    page = read_page(response)
    assert (response.status_code, page.lang) == (400, "en")
    assert page.by_id["problem-message"] == (
        "This page was open too long, or the request was incomplete. Go back to your page and try again."
    )
    assert (link, "Back to your page") in page.links
    assert [row.status for row in rows(app, Appointment)] == ["booked"]
    assert rows(app, AuditEvent) == []


def test_a_second_cancel_of_the_same_appointment_changes_nothing_more(app, client, slots):
    link = booked(client)["patient_link"]
    confirm = client.get(f"{link}/cancel")
    client.post(f"{link}/cancel", data={"action_token": action_token_of(confirm)})

    again = client.post(f"{link}/cancel", data={"action_token": action_token_of(confirm)})

    assert again.status_code == 409
    assert read_page(again).by_id["problem-message"] == (
        "Your appointment has changed since you opened that page, or it was already cancelled. Look at your page again."
    )
    assert len(rows(app, AuditEvent)) == 1


class WatchedScheduler(FakeScheduler):
    """A remote scheduler that notes whether our database transaction was open while it was called."""

    def cancel(self, session, external_id, reason):
        self.open_during_cancel = session.in_transaction()
        super().cancel(session, external_id, reason)


def _remote(app) -> WatchedScheduler:
    fake = WatchedScheduler()
    start = datetime.now(UTC) + timedelta(hours=26)
    fake.add_slot("consult", start, start + timedelta(minutes=30))
    app.extensions["routing"].scheduler = fake
    return fake


def test_a_cancel_through_a_remote_scheduler_frees_its_slot_with_no_transaction_open(app, client):
    fake = _remote(app)
    link = booked(client)["patient_link"]

    response = cancel_from_link(client, link)

    assert response.status_code == 303
    assert fake.open_during_cancel is False
    assert [a.status for a in fake.appointments.values()] == ["cancelled"]
    assert fake.held_by == {}
    assert [(a.status, a.scheduler) for a in rows(app, Appointment)] == [("cancelled", "fake")]
    assert [(e.action, e.actor_name) for e in rows(app, AuditEvent)] == [("cancel", "patient (own link)")]


def test_when_the_scheduler_is_down_the_patient_is_told_to_try_again_and_nothing_changes(app, client):
    fake = _remote(app)
    link = booked(client)["patient_link"]
    fake.failing("cancel", SchedulerUnavailable("down"))

    response = cancel_from_link(client, link)

    assert response.status_code == 503
    assert read_page(response).by_id["problem-message"] == (
        "Our booking system is not available right now. Try again in a few minutes, or call us on (555) 010-0142."
    )
    assert [a.status for a in rows(app, Appointment)] == ["booked"]
    assert rows(app, AuditEvent) == []


# --- asking for another time ---------------------------------------------------------------------------------


def test_asking_for_another_time_puts_the_text_in_front_of_staff_and_keeps_the_appointment(app, client, slots):
    created = booked(client)
    link = created["patient_link"]
    token = make_token(app, "Sam Staff", "staff")

    response = ask_from_link(client, link, "  Tuesdays after 3 pm,\nor Friday mornings  ")

    assert (response.status_code, response.headers["Location"]) == (303, f"{link}?done=asked")
    (stored,) = rows(app, Inquiry)
    assert (stored.status, stored.status_detail) == (
        "needs_review",
        "the patient asked for another time: Tuesdays after 3 pm,\nor Friday mornings",
    )
    (event,) = rows(app, AuditEvent)
    assert (event.action, event.actor_name, event.actor_id, event.reason) == (
        "another_time",
        "patient (own link)",
        None,
        "Tuesdays after 3 pm,\nor Friday mornings",
    )
    assert event.details == {"status": "booked", "appointment": created["appointment"]["id"]}
    queue = client.get("/v1/admin/inquiries?status=needs_review", headers=bearer(token)).get_json()
    assert [(item["id"], item["status_detail"]) for item in queue["items"]] == [(created["id"], stored.status_detail)]
    assert [row.status for row in rows(app, Appointment)] == ["booked"]  # it stands until staff move it
    page = read_page(client.get(response.headers["Location"]))
    assert page.by_id["done"] == "Thank you. We have sent the times that suit you to the clinic."
    assert page.by_id["status-title"] == "We will be in touch"
    assert page.by_id["patient-message"].startswith(
        "We have the times that suit you. Staff at Riverside Spine & Pain Clinic (demo) will call you to agree a "
        f"new time; your pain-management consultation on {_when(app, slots[0])} stands until then."
    )
    assert page.by_id["appointment-when"] == _when(app, slots[0])


def test_the_another_time_form_is_labelled_and_says_the_appointment_stands(client, slots):
    link = booked(client)["patient_link"]

    page = read_page(client.get(f"{link}/another-time"))

    assert page.by_id["another-intro"] == (
        "Tell us which days and times suit you. Staff will call you to agree a new time; your current appointment "
        "stands until then."
    )
    assert page.labels["f-preferred_times"] == "Which days and times suit you? (required)"
    assert page.controls["f-preferred_times"]["aria-describedby"] == "hint-preferred_times"
    assert page.controls["f-preferred_times"]["maxlength"] == "500"


@pytest.mark.parametrize(
    ("sent", "error"),
    [
        ("   ", "Tell us which days and times suit you."),
        ("x" * 501, "Shorten this to 500 characters."),
    ],
)
def test_an_empty_or_too_long_answer_comes_back_with_its_error_beside_the_field(app, client, slots, sent, error):
    link = booked(client)["patient_link"]
    form = client.get(f"{link}/another-time")

    response = client.post(
        f"{link}/another-time", data={"action_token": action_token_of(form), "preferred_times": sent}
    )

    page = read_page(response)
    assert response.status_code == 422
    assert page.by_id["error-preferred_times"] == f"Error: {error}"
    assert page.by_id["error-summary"] == f"There is a problem {error}"
    assert page.values["preferred_times"] == [sent.strip()]
    assert page.controls["f-preferred_times"]["aria-invalid"] == "true"
    assert page.controls["f-preferred_times"]["aria-describedby"] == "hint-preferred_times error-preferred_times"
    assert [row.status for row in rows(app, Inquiry)] == ["booked"]


def test_asking_without_the_step_s_action_token_is_refused(app, client, slots):
    created = booked(client)
    cancel_token = patient_link.action_token(
        app.secret_key, uuid.UUID(created["id"]), "cancel", utcnow(), uuid.UUID(created["appointment"]["id"])
    )

    for data in ({"preferred_times": "Mondays"}, {"preferred_times": "Mondays", "action_token": cancel_token}):
        response = client.post(f"{created['patient_link']}/another-time", data=data)

        assert response.status_code == 400
    assert [row.status for row in rows(app, Inquiry)] == ["booked"]
    assert rows(app, AuditEvent) == []


def test_an_urgent_review_cannot_be_moved_to_another_time(app, client, slots):
    created = client.post("/v1/inquiries", json=inquiry(RED_FLAG)).get_json()
    link = created["patient_link"]

    form = client.get(f"{link}/another-time")
    forced = client.post(
        f"{link}/another-time",
        data={
            "preferred_times": "Mondays",
            "action_token": patient_link.action_token(
                app.secret_key, uuid.UUID(created["id"]), "another_time", utcnow()
            ),
        },
    )

    assert (form.status_code, form.headers["Location"]) == (303, link)
    assert forced.status_code == 409
    assert [row.status for row in rows(app, Inquiry)] == ["urgent_review"]


# --- rate limit ----------------------------------------------------------------------------------------------


def test_the_pages_are_rate_limited_per_address_with_a_page_in_the_browser_s_language(migrated_url):
    app = create_app(settings_for(migrated_url, ROUTING_RATE_LIMIT_PATIENT_LINK="3/minute"))
    client = app.test_client()

    answers = [client.get(f"/my/guess-number-{n}", headers={"Accept-Language": "es"}) for n in range(4)]
    other = client.get("/my/guess", environ_base={"REMOTE_ADDR": "192.0.2.9"})

    assert [answer.status_code for answer in answers] == [404, 404, 404, 429]
    limited = answers[-1]
    page = read_page(limited)
    assert page.lang == "es"
    assert page.by_id["problem-message"] == (
        "Han llegado demasiadas solicitudes desde su conexión. Espere 1 minutos e inténtelo de nuevo."
    )
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert limited.headers["Content-Security-Policy"] == POLICY
    assert other.status_code == 404  # another address has its own count
    app.extensions["routing"].db.dispose()
