"""Helpers for waitlist tests: inquiries that triage to known urgencies, slots at known times, reading the lists."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from routing.adapters.db.models import Inquiry, WaitlistEntry, WaitlistOffer
from routing.services import staff_actions
from routing.services.staff_actions import Canceller
from tests.http.intake_helpers import add_slots, inquiry

#: Imaging, urgent (window: 2 days).
URGENT_IMAGING = "My lower back has hurt for 3 months. Muscle relaxants did not help. Pain 8/10."
#: Imaging, routine (window: 21 days).
ROUTINE_IMAGING = "Back pain for 4 months, dull, 3/10, no relaxants tried."


def submit(client, message: str, **extra) -> uuid.UUID:
    """Send an inquiry through the intake; its id."""
    response = client.post(
        "/v1/inquiries", json=inquiry(message, **extra), headers={"Idempotency-Key": str(uuid.uuid4())}
    )
    assert response.status_code in (200, 201, 202), response.get_json()
    return uuid.UUID(response.get_json()["id"])


def wiring(app):
    return app.extensions["routing"]


def entries(app) -> dict[uuid.UUID, tuple[str, int]]:
    """Every waitlist entry: inquiry id -> (status, priority)."""
    with wiring(app).db.session() as session:
        return {e.inquiry_id: (e.status, e.priority) for e in session.scalars(select(WaitlistEntry))}


def offers(app) -> list[tuple[uuid.UUID, str, datetime]]:
    """Every offer, oldest first: (inquiry id, status, slot start)."""
    with wiring(app).db.session() as session:
        rows = session.scalars(select(WaitlistOffer).order_by(WaitlistOffer.offered_at, WaitlistOffer.status))
        return [(o.inquiry_id, o.status, o.start) for o in rows]


def offer_id(app, inquiry_id: uuid.UUID, status: str = "open") -> uuid.UUID:
    with wiring(app).db.session() as session:
        return session.scalar(
            select(WaitlistOffer.id).where(WaitlistOffer.inquiry_id == inquiry_id, WaitlistOffer.status == status)
        )


def status_of(app, inquiry_id: uuid.UUID) -> str:
    with wiring(app).db.session() as session:
        return session.scalar(select(Inquiry.status).where(Inquiry.id == inquiry_id))


def cancel(app, inquiry_id: uuid.UUID, now: datetime | None = None) -> None:
    """A staff member cancels the inquiry's appointment (its slot is freed, the waitlist runs at once)."""
    w = wiring(app)
    with w.db.session() as session:
        staff_actions.cancel_booked(
            session,
            w.routing,
            inquiry_id,
            Canceller("Sam (front desk)", "patient phoned"),
            expect=lambda *_: None,
            now=now,
        )


def one_slot(app, hours: float, slot_type: str = "imaging") -> datetime:
    return add_slots(app, slot_type, [hours])[0]


def now() -> datetime:
    return datetime.now(UTC)


def later(hours: float) -> datetime:
    return now() + timedelta(hours=hours)
