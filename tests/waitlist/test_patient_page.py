"""The waitlist on the patient's own page, on SQLite and PostgreSQL: an open offer shown with its time and until
when it is kept, accepted or declined through a confirmation step, an offer that closed meanwhile, the days or
times that do not suit the patient (from their page or the form) kept on their entry and respected by the offers,
and what the patient is told when they join."""

from __future__ import annotations

import html
import re
import uuid
from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import select, update

from routing import create_app
from routing.adapters.db.models import Appointment, AuditEvent, Inquiry, WaitlistEntry, WaitlistOffer
from routing.adapters.db.types import utcnow
from routing.adapters.scheduling import embedded
from routing.adapters.scheduling.interface import SchedulerUnavailable
from routing.domain import patient_messages
from routing.domain.demo_schedule import SlotSpec
from routing.domain.vocabulary import SlotType
from routing.services import patient_link
from tests.conftest import settings_for
from tests.fake_scheduler import FakeScheduler
from tests.http.admin_helpers import make_token
from tests.http.form_helpers import read_page, served_token, strain_form
from tests.http.intake_helpers import inquiry
from tests.http.patient_link_helpers import action_token_of, ask_from_link
from tests.http.test_console import sign_in
from tests.waitlist.helpers import (
    ROUTINE_IMAGING,
    URGENT_IMAGING,
    cancel,
    entries,
    offer_id,
    offers,
    one_slot,
    status_of,
    submit,
    wiring,
)

WHERE = "Riverside Spine & Pain Clinic (demo), 100 Example Avenue, Suite 200, Springfield"
MRI = "MRI scan (diagnostic imaging)"
EMERGENCY = patient_messages.EMERGENCY_SIGNS["en"]


@pytest.fixture
def full_clinic(app, client):
    """One imaging slot 30 hours ahead, booked by a first patient; a routine and then an urgent patient find
    nothing free inside their windows and join the waitlist. (slot start, booked, routine, urgent)"""
    start = one_slot(app, 30)
    booked = submit(client, ROUTINE_IMAGING)
    routine = submit(client, ROUTINE_IMAGING)
    urgent = submit(client, URGENT_IMAGING)
    return start, booked, routine, urgent


def link(app, inquiry_id: uuid.UUID) -> str:
    """The patient's own link, as their messages carry it."""
    return patient_link.link_for(app.secret_key, inquiry_id, utcnow())


def when(app, moment: datetime, language: str = "en") -> str:
    return patient_messages.local_time(moment, wiring(app).settings.timezone, language)


def rows(app, model, *where):
    with wiring(app).db.session() as session:
        return session.scalars(select(model).where(*where)).all()


def answer_from_link(client, own_link: str, answer: str):
    """Open the accept or decline step of ``own_link`` and confirm it, as a browser does; the post's answer."""
    step = client.get(f"{own_link}/offer/{answer}")
    assert step.status_code == 200, step.get_data(as_text=True)
    return client.post(f"{own_link}/offer/{answer}", data={"action_token": action_token_of(step)})


def the_offer(app, inquiry_id: uuid.UUID) -> WaitlistOffer:
    (offer,) = rows(app, WaitlistOffer, WaitlistOffer.inquiry_id == inquiry_id)
    return offer


# --- joining ---------------------------------------------------------------------------------------------


def test_a_patient_who_joins_the_waitlist_is_told_an_earlier_slot_may_be_offered_and_staff_call_otherwise(app, client):
    one_slot(app, 30)
    submit(client, ROUTINE_IMAGING)
    body = inquiry(URGENT_IMAGING, consent=True, contact_preference="sms", language="es")

    answer = client.post("/v1/inquiries", json=body).get_json()

    assert answer["status"] == "needs_review"
    assert answer["patient_message"] == (
        "No encontramos una resonancia magnética (estudio de imagen) libre con la prontitud necesaria. Está en "
        "nuestra lista de espera para una resonancia magnética (estudio de imagen) más pronto: si se libera una, se "
        "la ofreceremos por mensaje de texto y en su propia página. Si no, el personal de Riverside Spine & Pain "
        "Clinic (demo) le llamará para programarla. También puede llamarnos al (555) 010-0142. "
        f"{patient_messages.EMERGENCY_SIGNS['es']}"
    )


def test_with_the_waitlist_off_the_held_message_says_only_that_staff_will_call(migrated_url):
    app = create_app(settings_for(migrated_url, ROUTING_WAITLIST="off"))
    client = app.test_client()
    try:
        one_slot(app, 30)
        submit(client, ROUTINE_IMAGING)
        answer = client.post("/v1/inquiries", json=inquiry(URGENT_IMAGING)).get_json()
    finally:
        app.extensions["routing"].db.dispose()

    assert answer["patient_message"] == (
        f"We could not find a free {MRI} soon enough. Staff at Riverside Spine & Pain Clinic (demo) will call you to "
        f"arrange one. You can also call us on (555) 010-0142. {EMERGENCY}"
    )


# --- the offer on the page -------------------------------------------------------------------------------


def test_the_page_shows_the_open_offer_its_time_until_when_it_is_kept_and_the_two_answers(app, client, full_clinic):
    start, booked, _routine, urgent = full_clinic
    cancel(app, booked)
    own = link(app, urgent)

    page = read_page(client.get(own))

    until = the_offer(app, urgent).expires_at
    assert page.by_id["offer"] == (
        f"An earlier time is free What {MRI} When {when(app, start)} Where {WHERE} Kept for you until "
        f"{when(app, until)} If you do nothing, your current plan stands and the time goes to someone else. "
        "Take this time No thanks, keep my place on the waitlist"
    )
    assert (f"{own}/offer/accept", "Take this time") in page.links
    assert (f"{own}/offer/decline", "No thanks, keep my place on the waitlist") in page.links
    assert page.by_id["waitlist-text"] == (
        f"You are on the waitlist for an earlier {MRI}. If one frees up, we will offer it to you on this page, and "
        "tell you by email or text message if you asked us to."
    )
    assert page.by_id["unavailable-times"] == "None: any day and time suits you."


def test_the_offer_is_shown_in_the_patient_s_language(app, client):
    start = one_slot(app, 30)
    booked = submit(client, ROUTINE_IMAGING)
    urgent = submit(client, URGENT_IMAGING, language="es")
    cancel(app, booked)

    page = read_page(client.get(link(app, urgent), headers={"Accept-Language": "en"}))

    assert page.lang == "es"
    assert page.by_id["offer-heading"] == "Hay una hora libre más pronto"
    assert page.by_id["offer-when"] == when(app, start, "es")
    assert (f"{link(app, urgent)}/offer/accept", "Aceptar esta hora") in page.links


def test_accepting_the_offer_from_the_page_books_it_and_the_page_shows_the_appointment(app, client, full_clinic):
    start, booked, routine, urgent = full_clinic
    cancel(app, booked)
    own = link(app, urgent)

    step = client.get(f"{own}/offer/accept")
    response = client.post(f"{own}/offer/accept", data={"action_token": action_token_of(step)})

    step_page = read_page(step)
    assert step_page.by_id["offer-title"] == "Take this earlier time?"
    assert step_page.by_id["offer-when"] == when(app, start)
    assert (response.status_code, response.headers["Location"]) == (303, f"{own}?done=accepted")
    assert status_of(app, urgent) == "booked"
    assert offers(app) == [(urgent, "accepted", start)]
    assert entries(app) == {routine: ("waiting", 60), urgent: ("booked", 20)}
    [appointment] = rows(app, Appointment, Appointment.inquiry_id == urgent)
    assert (appointment.status, appointment.slot_type, appointment.start) == ("booked", "imaging", start)
    [accepted] = rows(app, AuditEvent, AuditEvent.inquiry_id == urgent, AuditEvent.action == "waitlist.accepted")
    assert accepted.actor_name == "patient (own link)"
    after = read_page(client.get(response.headers["Location"]))
    assert after.by_id["done"] == "Your appointment is booked."
    assert after.by_id["status-title"] == "Your appointment is booked"
    assert after.by_id["appointment-when"] == when(app, start)
    assert ("offer" in after.by_id, "waitlist" in after.by_id) == (False, False)
    calendar = client.get(f"{own}/appointment.ics")
    assert (calendar.status_code, calendar.get_data(as_text=True)[:15]) == (200, "BEGIN:VCALENDAR")


def test_declining_the_offer_from_the_page_passes_the_slot_to_the_next_entry(app, client, full_clinic):
    start, booked, routine, urgent = full_clinic
    cancel(app, booked)
    own = link(app, urgent)

    step = client.get(f"{own}/offer/decline")
    response = client.post(f"{own}/offer/decline", data={"action_token": action_token_of(step)})

    assert read_page(step).by_id["offer-text"] == (
        "We will offer it to someone else. You keep your place on the waitlist, and staff will call you if no other "
        "time frees up."
    )
    assert (response.status_code, response.headers["Location"]) == (303, f"{own}?done=declined")
    assert sorted(offers(app), key=lambda offer: offer[1]) == [(urgent, "declined", start), (routine, "open", start)]
    assert entries(app) == {routine: ("offered", 60), urgent: ("waiting", 20)}
    [declined] = rows(app, AuditEvent, AuditEvent.inquiry_id == urgent, AuditEvent.action == "waitlist.declined")
    assert declined.actor_name == "patient (own link)"
    after = read_page(client.get(response.headers["Location"]))
    assert after.by_id["done"] == "You said no to that time. You keep your place on the waitlist."
    assert ("offer" in after.by_id, "waitlist" in after.by_id) == (False, True)
    assert status_of(app, urgent) == "needs_review"


def test_an_offer_that_ran_out_meanwhile_gets_a_page_saying_the_time_is_gone_and_nothing_is_booked(
    app, client, full_clinic
):
    _start, booked, _routine, urgent = full_clinic
    cancel(app, booked)
    own = link(app, urgent)
    step = client.get(f"{own}/offer/accept")
    with wiring(app).db.session() as session, session.begin():
        session.execute(update(WaitlistOffer).values(expires_at=utcnow() - timedelta(seconds=1)))

    response = client.post(f"{own}/offer/accept", data={"action_token": action_token_of(step)})

    page = read_page(response)
    assert (response.status_code, page.lang) == (409, "en")
    assert page.by_id["problem-message"] == (
        "That time is no longer available: the offer ran out or was already answered, so nothing was booked. You "
        "are still on the waitlist: we will offer you another time if one frees up, and staff will call you "
        "otherwise."
    )
    assert (own, "Back to your page") in page.links
    assert status_of(app, urgent) == "needs_review"
    assert rows(app, Appointment, Appointment.inquiry_id == urgent) == []
    again = client.get(f"{own}/offer/accept")
    assert (again.status_code, read_page(again).by_id["problem-message"]) == (409, page.by_id["problem-message"])
    assert "offer" not in read_page(client.get(own)).by_id


def test_an_offer_answered_already_cannot_be_answered_again_and_says_so_in_spanish(app, client):
    start = one_slot(app, 30)
    booked = submit(client, ROUTINE_IMAGING)
    urgent = submit(client, URGENT_IMAGING, language="es")
    cancel(app, booked)
    own = link(app, urgent)
    step = client.get(f"{own}/offer/decline")
    client.post(f"{own}/offer/decline", data={"action_token": action_token_of(step)})

    again = client.post(f"{own}/offer/accept", data={"action_token": action_token_of(step)})

    assert again.status_code == 409
    assert read_page(again).by_id["problem-message"] == (
        "Esa hora ya no está disponible: la oferta venció o ya se respondió, así que no se reservó nada. Sigue en la "
        "lista de espera: si se libera otra hora se la ofreceremos, y si no, el personal le llamará."
    )
    assert offers(app) == [(urgent, "declined", start)]


@pytest.mark.parametrize("sent", ["missing", "the other answer's", "another offer's", "the cancel's"])
def test_an_answer_without_its_step_s_action_token_for_that_offer_changes_nothing(app, client, full_clinic, sent):
    start, booked, _routine, urgent = full_clinic
    cancel(app, booked)
    own, now = link(app, urgent), utcnow()
    offered = offer_id(app, urgent)
    tokens = {
        "missing": None,
        "the other answer's": patient_link.action_token(app.secret_key, urgent, "decline_offer", now, offered),
        "another offer's": patient_link.action_token(app.secret_key, urgent, "accept_offer", now, uuid.uuid4()),
        "the cancel's": patient_link.action_token(app.secret_key, urgent, "cancel", now, offered),
    }

    response = client.post(f"{own}/offer/accept", data={} if tokens[sent] is None else {"action_token": tokens[sent]})

    assert response.status_code == 400
    assert read_page(response).by_id["problem-message"] == (
        "This page was open too long, or the request was incomplete. Go back to your page and try again."
    )
    assert offers(app) == [(urgent, "open", start)]


def test_the_offer_pages_of_a_link_that_does_not_open_are_the_common_not_found_page(app, client, full_clinic):
    _start, booked, _routine, urgent = full_clinic
    cancel(app, booked)
    forged = patient_link.link_for("another secret of 32 characters or more", urgent, utcnow())
    own = link(app, urgent)

    answers = [
        client.open(path, method=method, data={"action_token": "x"})
        for path in (f"{forged}/offer/accept", f"{forged}/offer/decline", f"{forged}/unavailable-times")
        for method in ("GET", "POST")
    ]

    assert [answer.status_code for answer in answers] == [404] * 6
    assert client.get(f"{own}/offer/maybe").status_code == 404
    assert offers(app)[0][1] == "open"


def test_when_the_scheduling_system_is_down_accepting_says_try_again_and_the_offer_stays_open(app, client):
    fake = FakeScheduler()
    start = utcnow().replace(microsecond=0) + timedelta(hours=30)
    fake.add_slot("imaging", start, start + timedelta(minutes=30))
    wiring(app).scheduler = fake
    booked = submit(client, ROUTINE_IMAGING)
    urgent = submit(client, URGENT_IMAGING)
    cancel(app, booked)
    own = link(app, urgent)
    step = client.get(f"{own}/offer/accept")
    fake.failing("book_held", SchedulerUnavailable("down"))

    down = client.post(f"{own}/offer/accept", data={"action_token": action_token_of(step)})
    fake.failing("book_held", None)
    up = client.post(f"{own}/offer/accept", data={"action_token": action_token_of(step)})

    assert down.status_code == 503
    assert read_page(down).by_id["problem-message"] == (
        "Our booking system is not available right now. Try again in a few minutes, or call us on (555) 010-0142."
    )
    assert (up.status_code, up.headers["Location"]) == (303, f"{own}?done=accepted")
    assert offers(app) == [(urgent, "accepted", start)]
    assert [(row.status, row.scheduler) for row in rows(app, Appointment, Appointment.inquiry_id == urgent)] == [
        ("booked", "fake")
    ]


# --- days or times that do not suit ----------------------------------------------------------------------


def _two_imaging_slots(app) -> tuple[datetime, datetime]:
    """Two imaging slots on the same day, two days ahead (clinic time): one at 10:00, one at 16:00."""
    tz = wiring(app).settings.timezone
    day = (utcnow().astimezone(tz) + timedelta(days=2)).date()
    starts = [datetime.combine(day, time(hour), tzinfo=tz) for hour in (10, 16)]
    with wiring(app).db.session() as session, session.begin():
        embedded.add_slots(
            session, [SlotSpec(SlotType.IMAGING, start, start + timedelta(minutes=30)) for start in starts]
        )
    return starts[0], starts[1]


def test_days_or_times_that_do_not_suit_are_saved_from_the_page_shown_back_and_audited(app, client, full_clinic):
    _start, _booked, _routine, urgent = full_clinic
    own = link(app, urgent)

    form = client.get(f"{own}/unavailable-times")
    response = client.post(
        f"{own}/unavailable-times",
        data={"action_token": action_token_of(form), "unavailable_times": "  Mondays\r\n\r\nbefore 10 am  "},
    )

    form_page = read_page(form)
    assert form_page.labels["f-unavailable_times"] == "Days or times that do not suit you (optional)"
    assert form_page.values["unavailable_times"] == [""]
    assert (response.status_code, response.headers["Location"]) == (303, f"{own}?done=unavailable")
    (entry,) = rows(app, WaitlistEntry, WaitlistEntry.inquiry_id == urgent)
    assert entry.unavailable_times == "Mondays\nbefore 10 am"
    (event,) = rows(app, AuditEvent, AuditEvent.action == "waitlist.unavailable_times_changed")
    assert (event.inquiry_id, event.actor_name, event.reason) == (
        urgent,
        "patient (own link)",
        "the patient changed them on their own page",
    )
    assert event.details == {
        "entry": str(entry.id),
        "slot_type": "imaging",
        "urgency": "urgent",
        "priority": 20,
        "from": [],
        "to": ["Mondays", "before 10 am"],
    }
    page = read_page(client.get(response.headers["Location"]))
    assert page.by_id["done"] == "Saved. We will not offer you a time on the days or at the times you gave."
    assert page.by_id["unavailable-times"] == "Mondays before 10 am"
    again = read_page(client.get(f"{own}/unavailable-times"))
    assert again.values["unavailable_times"] == ["Mondays\nbefore 10 am"]


@pytest.mark.parametrize(
    ("sent", "error"),
    [
        ("Mondays\nnot when my daughter visits", "We could not read “not when my daughter visits”. Write only days "
         "and times, for example: Mondays, or before 10 am."),
        ("\n".join(["Mondays"] * 6), "Write at most 5 lines, each up to 100 characters."),
        ("Mondays " * 13, "Write at most 5 lines, each up to 100 characters."),
    ],
)  # fmt: skip
def test_an_unreadable_or_too_long_answer_comes_back_with_its_error_and_nothing_is_saved(
    app, client, full_clinic, sent, error
):
    _start, _booked, _routine, urgent = full_clinic
    own = link(app, urgent)
    form = client.get(f"{own}/unavailable-times")

    response = client.post(
        f"{own}/unavailable-times", data={"action_token": action_token_of(form), "unavailable_times": sent}
    )

    page = read_page(response)
    assert response.status_code == 422
    assert page.by_id["error-unavailable_times"] == f"Error: {error}"
    assert page.values["unavailable_times"] == [sent]
    assert page.controls["f-unavailable_times"]["aria-invalid"] == "true"
    assert [entry.unavailable_times for entry in rows(app, WaitlistEntry, WaitlistEntry.inquiry_id == urgent)] == [None]
    assert rows(app, AuditEvent, AuditEvent.action == "waitlist.unavailable_times_changed") == []


def test_a_patient_not_on_the_waitlist_is_not_offered_the_form(app, client):
    one_slot(app, 30)
    booked = submit(client, ROUTINE_IMAGING)
    own = link(app, booked)
    token = patient_link.action_token(app.secret_key, booked, "unavailable_times", utcnow())

    form = client.get(f"{own}/unavailable-times")
    forced = client.post(f"{own}/unavailable-times", data={"action_token": token, "unavailable_times": "Mondays"})

    assert (form.status_code, form.headers["Location"]) == (303, own)
    assert forced.status_code == 409
    assert "waitlist" not in read_page(client.get(own)).by_id


def test_a_slot_at_a_time_the_patient_excluded_on_their_page_is_not_offered_and_the_next_one_is(app, client):
    morning, afternoon = _two_imaging_slots(app)
    first, second = submit(client, ROUTINE_IMAGING), submit(client, ROUTINE_IMAGING)
    waiting = submit(client, ROUTINE_IMAGING)
    own = link(app, waiting)
    form = client.get(f"{own}/unavailable-times")
    client.post(
        f"{own}/unavailable-times", data={"action_token": action_token_of(form), "unavailable_times": "mornings"}
    )

    cancel(app, first)  # frees the morning slot: not for them
    after_first = offers(app)
    cancel(app, second)  # frees the afternoon one

    booked = {row.inquiry_id: row.start for row in rows(app, Appointment, Appointment.inquiry_id.in_([first, second]))}
    assert booked == {first: morning, second: afternoon}
    assert after_first == []
    assert offers(app) == [(waiting, "open", afternoon)]


def test_the_form_s_days_that_do_not_suit_reach_the_waitlist_entry_and_are_respected(app, client):
    morning, afternoon = _two_imaging_slots(app)
    first, second = submit(client, ROUTINE_IMAGING), submit(client, ROUTINE_IMAGING)
    form = strain_form(
        served_token(app),
        location="lower_back",
        duration_days="90",
        onset="gradual",
        trigger="none",
        episodes="recurrent",
        pain_score="3",
        muscle_relaxants="not_tried",
        message=ROUTINE_IMAGING,
        unavailable_times="mornings",
    )

    response = client.post("/v1/inquiries", data=form)
    cancel(app, first)  # frees the morning slot: not for them
    after_first = offers(app)
    cancel(app, second)

    assert response.status_code in (200, 201), response.get_data(as_text=True)[:500]
    waiting = rows(app, Inquiry, Inquiry.id.not_in([first, second]))[0].id
    (entry,) = rows(app, WaitlistEntry, WaitlistEntry.inquiry_id == waiting)
    assert (entry.slot_type, entry.unavailable_times) == ("imaging", "mornings")
    assert [row.start for row in rows(app, Appointment, Appointment.inquiry_id == first)] == [morning]
    assert (after_first, offers(app)) == ([], [(waiting, "open", afternoon)])


def test_the_form_asks_for_the_days_that_do_not_suit_in_english_and_spanish(client):
    english, spanish = read_page(client.get("/form")), read_page(client.get("/form?lang=es"))

    assert english.labels["f-unavailable_times"] == "Days or times that do not suit you (optional)"
    assert english.by_id["hint-unavailable_times_hint"] == (
        "If an earlier time frees up, we will not offer you one at these times. For example: Mondays, or before 10 am."
    )
    assert english.controls["f-unavailable_times"]["maxlength"] == "100"
    assert spanish.labels["f-unavailable_times"] == "Días u horas que no le convienen (opcional)"


# --- asking for another time while on the waitlist -------------------------------------------------------


def test_asking_for_another_time_while_on_the_waitlist_says_the_patient_stays_on_it(app, client, full_clinic):
    _start, _booked, routine, urgent = full_clinic
    own = link(app, urgent)

    response = ask_from_link(client, own, "Tuesday afternoons")

    page = read_page(client.get(response.headers["Location"]))
    assert page.by_id["done"] == (
        "Thank you. We have sent the times that suit you to the clinic. You stay on the waitlist for an earlier "
        "appointment."
    )
    assert page.by_id["patient-message"] == (
        "We have the times that suit you. Staff at Riverside Spine & Pain Clinic (demo) will call you to agree a time. "
        f"You stay on the waitlist for an earlier {MRI}: if one frees up first, we will offer it to you. You can also "
        f"call us on (555) 010-0142. {EMERGENCY}"
    )
    assert entries(app) == {routine: ("waiting", 60), urgent: ("waiting", 20)}
    assert rows(app, Inquiry, Inquiry.id == urgent)[0].status_detail == (
        "the patient asked for another time: Tuesday afternoons"
    )


def test_staff_see_the_patient_s_change_of_the_days_that_do_not_suit_on_the_inquiry_page(migrated_url):
    app = create_app(settings_for(migrated_url, ROUTING_SECRET_KEY="k" * 40, ROUTING_COOKIE_SECURE="off"))
    client = app.test_client()
    try:
        one_slot(app, 30)
        submit(client, ROUTINE_IMAGING)
        urgent = submit(client, URGENT_IMAGING)
        own = link(app, urgent)
        form = client.get(f"{own}/unavailable-times")
        client.post(
            f"{own}/unavailable-times",
            data={"action_token": action_token_of(form), "unavailable_times": "Mondays\nbefore 10 am"},
        )
        sign_in(client, make_token(app, "Nina Nurse", "staff"))
        page = client.get(f"/console/inquiries/{urgent}")
    finally:
        app.extensions["routing"].db.dispose()

    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page.get_data(as_text=True))).split())
    assert page.status_code == 200
    assert "Cannot come: Mondays, before 10 am" in text
    assert "times that do not suit changed by patient (own link)" in text
    assert "(cannot come: nothing said → Mondays, before 10 am)" in text
