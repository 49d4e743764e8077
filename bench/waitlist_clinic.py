"""The busy clinic of ``bench/waitlist_month.py``: patients from a seeded random process, played against the real
services on a real database with a simulated clock.

Patients write in during opening hours (a Poisson process per hour), with messages that triage to a known route
and urgency; the intake stores, triages and books them (or holds them for staff, and with the waitlist on puts them
on it). Some cancel their appointment later, through ``staff_actions.cancel_booked``, which runs the waitlist at
once. Patients offered a freed slot answer from their link after a while (accept or decline), or never. The
worker's periodic ``waitlist.refill`` runs every few simulated minutes. Every draw is made per patient up front or
from the patient's own generator, so both runs of a month meet the same patients, who behave the same way.
"""

from __future__ import annotations

import heapq
import json
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from random import Random
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from routing.adapters.db.database import Database
from routing.adapters.db.models import WaitlistOffer
from routing.domain.demo_schedule import demo_slots
from routing.domain.time_preferences import read_preferences
from routing.domain.triage import triage
from routing.domain.vocabulary import InquiryStatus, OfferStatus
from routing.services import staff_actions, waitlist, waitlist_answers
from routing.services.intake import Delivery, receive_inquiry
from routing.services.patient_actions import PATIENT
from routing.services.route_inquiry import Routing
from routing.services.waitlist_answers import OfferClosed
from schemas.inquiry import InquiryRequestSchema

#: One message per (route, urgency) the rulebook gives; checked against triage before a run (``check_messages``).
#: The rulebook has no routine injection: a facet joint block follows failed relaxants, which is at least "soon".
MESSAGES: Mapping[tuple[str, str], str] = {
    ("consult", "routine"): "Lifted a couch yesterday and my lower back went into spasm. Pain about 6/10.",
    ("consult", "soon"): "Lower back pain for 2 weeks after gardening, muscle relaxants did not help, pain 5/10.",
    ("consult", "urgent"): "Lower back pain for 2 weeks after gardening, muscle relaxants did not help, pain 9/10.",
    ("imaging", "routine"): "Back pain for 4 months, dull, 3/10, no relaxants tried.",
    ("imaging", "soon"): "My lower back has hurt for 3 months. Muscle relaxants did not help. Pain 5/10.",
    ("imaging", "urgent"): "My lower back has hurt for 3 months. Muscle relaxants did not help. Pain 8/10.",
    (
        "injection",
        "soon",
    ): "I have facet joint arthritis. Muscle relaxants did not help my lower back. Pain 5/10, for 2 months.",
    (
        "injection",
        "urgent",
    ): "I have facet joint arthritis. Muscle relaxants did not help my lower back. Pain 9/10, for 2 months.",
}
#: How urgent the inquiries of each route are (shares); the routes themselves come in the timetable's proportions.
URGENCY_MIX: Mapping[str, Mapping[str, float]] = {
    "consult": {"urgent": 0.10, "soon": 0.30, "routine": 0.60},
    "imaging": {"urgent": 0.15, "soon": 0.30, "routine": 0.55},
    "injection": {"urgent": 0.25, "soon": 0.75},
}
#: What patients who say so write as the times that do not suit them (each read by the English time words).
UNAVAILABLE = ("Mondays", "Fridays", "before 10am", "after 3pm")
#: Inquiries come in on weekdays during these hours (clinic time); patients read and answer from 07:00 to 22:00.
OPEN = (time(8), time(18))
AWAKE = (time(7), time(22))
OPEN_HOURS_PER_WEEK = 5 * (OPEN[1].hour - OPEN[0].hour)


@dataclass(frozen=True)
class Behaviour:
    """How patients behave (shares are of all patients, ``accept`` of the answers given)."""

    #: Patients who cancel their appointment (at a random waking moment between booking and the appointment).
    cancel: float = 0.12
    #: Patients who never answer a waitlist offer (their offers expire).
    silent: float = 0.15
    #: Answers that accept (the others decline).
    accept: float = 0.7
    #: Mean time from seeing an offer to answering it (exponential); an offer made at night is seen at 07:00.
    answer_minutes: float = 30.0
    #: Patients who give a time that does not suit them (``UNAVAILABLE``).
    unavailable: float = 0.15


@dataclass(frozen=True)
class Patient:
    """One patient who writes in: when, what for, and how they will behave (their own generators' seeds)."""

    number: int
    arrives: datetime
    route: str
    urgency: str
    unavailable: str | None
    cancels: bool
    silent: bool
    seed: str

    def body(self) -> dict:
        """The intake body the patient's form sends (no real person: a numbered test patient)."""
        body = {
            "patient": {
                "first_name": "Test",
                "last_name": f"Patient {self.number}",
                "email": f"patient{self.number}@example.org",
                "phone": "+1 555 0100",
            },
            "message": MESSAGES[(self.route, self.urgency)],
            "language": "en",
            "consent": True,
        }
        if self.unavailable:
            body["unavailable_times"] = [self.unavailable]
        return body


def weekly_capacity(tz: ZoneInfo, monday: date) -> dict[str, int]:
    """Slots a week of the demo timetable has, by slot type."""
    return dict(Counter(str(spec.slot_type) for spec in demo_slots(monday, 7, tz)))


def draw_patients(
    seed: int, load: float, behaviour: Behaviour, tz: ZoneInfo, first_day: date, days: int
) -> list[Patient]:
    """The patients who write in over ``days`` days from ``first_day``: per opening hour a Poisson number of them,
    ``load`` times the timetable's capacity a week, routes in the timetable's proportions."""
    rng = Random(seed)
    capacity = weekly_capacity(tz, first_day - timedelta(days=first_day.weekday()))
    routes = sorted(capacity)
    per_hour = load * sum(capacity.values()) / OPEN_HOURS_PER_WEEK
    patients: list[Patient] = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        for hour in range(OPEN[0].hour, OPEN[1].hour):
            at = rng.expovariate(per_hour)
            while at < 1:
                route = rng.choices(routes, [capacity[r] for r in routes])[0]
                mix = URGENCY_MIX[route]
                urgency = rng.choices(list(mix), list(mix.values()))[0]
                unavailable = rng.choice(UNAVAILABLE) if rng.random() < behaviour.unavailable else None
                number = len(patients) + 1
                patients.append(
                    Patient(
                        number=number,
                        arrives=datetime.combine(day, time(hour), tz) + timedelta(hours=at),
                        route=route,
                        urgency=urgency,
                        unavailable=unavailable,
                        cancels=rng.random() < behaviour.cancel,
                        silent=rng.random() < behaviour.silent,
                        seed=f"{seed}:{number}",
                    )
                )
                at += rng.expovariate(per_hour)
    return patients


def check_messages(routing: Routing, on: date) -> None:
    """Stop unless every message triages to its route and urgency with nothing held, and every unavailable time
    reads: otherwise the simulation would not be the clinic it claims."""
    wrong = []
    for (route, urgency), message in MESSAGES.items():
        decision = triage({}, message, on, routing.rulebook, language="en", reader=routing.reader)
        if (decision.route, decision.urgency, decision.hold, decision.needs_review) != (route, urgency, None, False):
            wrong.append(f"{message!r}: {decision.route}/{decision.urgency} hold={decision.hold}")
    for text in UNAVAILABLE:
        read = read_preferences([text], routing.time_words, routing.tz, "en")
        if read.unread or not read.limits:
            wrong.append(f"unavailable time {text!r} is not read")
    if wrong:
        raise SystemExit("the simulated clinic no longer matches the rulebook:\n  " + "\n  ".join(wrong))


@dataclass
class Tally:
    """What the patients did, as the simulation saw it (the figures come from the database afterwards)."""

    #: Answers to offers: accepted, declined, too late (the offer had expired).
    answers: Counter = field(default_factory=Counter)


class Clinic:
    """One simulated month on one database: patients arrive, cancel and answer offers; the worker refills."""

    def __init__(
        self, db: Database, routing: Routing, patients: Sequence[Patient], behaviour: Behaviour, refill_every: timedelta
    ) -> None:
        self.db, self.routing, self.behaviour = db, routing, behaviour
        self.patients = patients
        self.refill_every = refill_every
        self.tally = Tally()
        self._queue: list[tuple[datetime, int, str, object]] = []
        self._order = 0
        self._by_inquiry: dict[uuid.UUID, Patient] = {}
        self._inquiry_of: dict[int, uuid.UUID] = {}
        # Each patient's own generators: what they draw does not depend on what others did before them.
        self._cancel_rng = {p.number: Random(p.seed + ":cancel") for p in patients}
        self._answer_rng = {p.number: Random(p.seed + ":answer") for p in patients}
        self._seen_offers: set[uuid.UUID] = set()
        self._schema = InquiryRequestSchema()

    def run(self, start: datetime, end: datetime, settled: Callable[[Session, datetime], bool]) -> datetime:
        """Play every event from ``start`` in time order until ``end``, or until a midnight when ``settled``
        (session, now) says nothing the figures need is still to come; the moment it stopped."""
        for patient in self.patients:
            if start <= patient.arrives < end:
                self._at(patient.arrives, "arrive", patient)
        # The worker's loop runs the waitlist only when it is on (booking_queue.run_worker).
        if self.routing.waitlist.enabled:
            self._at(start, "refill", None)
        self._at(start + timedelta(days=1), "midnight", settled)
        while self._queue and self._queue[0][0] < end:
            now, _order, kind, subject = heapq.heappop(self._queue)
            with self.db.session() as session:
                if kind == "midnight":
                    if subject(session, now):
                        return now
                    self._at(now + timedelta(days=1), "midnight", subject)
                    continue
                if getattr(self, "_" + kind)(session, now, subject):
                    self._answer_new_offers(session)
        return end

    def _at(self, when: datetime, kind: str, subject: object) -> None:
        self._order += 1
        heapq.heappush(self._queue, (when, self._order, kind, subject))

    # -- events -----------------------------------------------------------------------------------------------------

    # Each event says whether it may have made offers (their patients' answers are then put on the queue).

    def _arrive(self, session: Session, now: datetime, patient: Patient) -> bool:
        body = patient.body()
        raw = json.dumps(body, sort_keys=True).encode()
        key = f"waitlist-month-{patient.seed}"
        delivery = Delivery(key, raw, "application/json", body, self._schema.load(body))
        outcome = receive_inquiry(session=session, routing=self.routing, delivery=delivery, now=now)
        self._by_inquiry[outcome.id] = patient
        self._inquiry_of[patient.number] = outcome.id
        if outcome.status == InquiryStatus.BOOKED:
            self._booked(patient, now, outcome.appointment.start)
        return False  # an intake makes no offers

    def _cancel(self, session: Session, now: datetime, patient: Patient) -> bool:
        staff_actions.cancel_booked(
            session,
            self.routing,
            self._inquiry_of[patient.number],
            staff_actions.Canceller("the patient (simulated)", "cannot come"),
            expect=lambda *_: None,
            now=now,
        )
        return True  # the freed slot may have been offered at once

    def _refill(self, session: Session, now: datetime, _subject: None) -> bool:
        # refill, not run_safely: in a simulation an error in the waitlist must stop the run, not be logged.
        result = waitlist.refill(session, self.routing, now)
        self._at(now + self.refill_every, "refill", None)
        return bool(result.offered or result.booked)

    def _answer(self, session: Session, now: datetime, answer: tuple[uuid.UUID, Patient, bool]) -> bool:
        offer_id, patient, accepts = answer
        inquiry_id = self._inquiry_of[patient.number]
        try:
            if accepts:
                booking = waitlist_answers.accept(session, self.routing, offer_id, inquiry_id, now, actor=PATIENT)
            else:
                slot_type = waitlist_answers.decline(session, self.routing, offer_id, inquiry_id, now, actor=PATIENT)
        except OfferClosed:
            self.tally.answers["too late"] += 1
            return False
        if accepts:
            self.tally.answers["accepted"] += 1
            self._booked(patient, now, booking.slot.start)
            return False
        self.tally.answers["declined"] += 1
        # As patient_actions.decline_offer does (its page's action tokens are the patient side's, not simulated here).
        waitlist.refill_after_freeing(session, self.routing, now, slot_type)
        return True

    # -- what patients do next --------------------------------------------------------------------------------------

    def _booked(self, patient: Patient, now: datetime, start: datetime) -> None:
        """A patient who cancels picks a waking moment between now and the appointment (none: they keep it)."""
        if not patient.cancels:
            return
        rng = self._cancel_rng[patient.number]
        for _ in range(50):
            when = now + (start - now) * rng.random()
            if _awake(when, self.routing.tz):
                self._at(when, "cancel", patient)
                return

    def _answer_new_offers(self, session: Session) -> None:
        """Each offer made since the last look gets its patient's answer (or none) on the queue; an urgent patient
        the waitlist booked directly (``ROUTING_WAITLIST_BOOK_URGENT``) may cancel, as any booked patient."""
        offer = WaitlistOffer
        rows = session.execute(
            select(offer.id, offer.inquiry_id, offer.offered_at, offer.start, offer.direct).where(
                (offer.status == OfferStatus.OPEN) | offer.direct.is_(True)
            )
        ).all()
        session.rollback()
        for row in sorted(rows, key=lambda row: (row.offered_at, str(row.id))):
            if row.id in self._seen_offers:
                continue
            self._seen_offers.add(row.id)
            patient = self._by_inquiry[row.inquiry_id]
            if row.direct:
                self._booked(patient, row.offered_at, row.start)
                continue
            if patient.silent:
                continue
            rng = self._answer_rng[patient.number]
            seen = _next_awake(row.offered_at, self.routing.tz)
            delay = timedelta(minutes=rng.expovariate(1 / self.behaviour.answer_minutes))
            self._at(seen + delay, "answer", (row.id, patient, rng.random() < self.behaviour.accept))


def _awake(moment: datetime, tz: ZoneInfo) -> bool:
    return AWAKE[0] <= moment.astimezone(tz).time() < AWAKE[1]


def _next_awake(moment: datetime, tz: ZoneInfo) -> datetime:
    """``moment`` if patients are awake then, else the next morning's waking time."""
    if _awake(moment, tz):
        return moment
    local = moment.astimezone(tz)
    day = local.date() if local.time() < AWAKE[0] else local.date() + timedelta(days=1)
    return datetime.combine(day, AWAKE[0], tz)
