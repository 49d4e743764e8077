"""Helpers for intake tests: demo slots at known times, signed deliveries, database counts."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from standardwebhooks.webhooks import Webhook

from routing.adapters.db.models import Appointment, Inquiry, Slot
from routing.adapters.scheduling import embedded
from routing.domain.demo_schedule import SlotSpec
from routing.domain.vocabulary import SlotType

SECRET = "whsec_" + base64.b64encode(b"clinic-webhook-secret-1").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"clinic-webhook-secret-2").decode()

PATIENT = {"first_name": "Ana", "last_name": "Diaz", "email": "ana@example.org", "phone": "+1 555 0100"}
STRAIN = "Lifted a couch yesterday and my lower back went into spasm. Pain about 6/10. Never had this before."


def inquiry(message: str = STRAIN, **extra) -> dict:
    """A valid JSON inquiry body."""
    return {"patient": dict(PATIENT), "message": message, **extra}


def add_slots(app, slot_type: str, starts_in_hours: list[float], minutes: int = 30) -> list[datetime]:
    """Free slots of ``slot_type`` starting the given numbers of hours from now; returns their starts."""
    now = datetime.now(UTC).replace(microsecond=0)
    starts = [now + timedelta(hours=hours) for hours in starts_in_hours]
    specs = [SlotSpec(SlotType(slot_type), start, start + timedelta(minutes=minutes)) for start in starts]
    with app.extensions["routing"].db.session() as session, session.begin():
        embedded.add_slots(session, specs)
    return starts


def count(app, model) -> int:
    """Rows of ``model`` in the app's database."""
    with app.extensions["routing"].db.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def counts(app) -> tuple[int, int]:
    """(inquiries, live appointments)."""
    with app.extensions["routing"].db.session() as session:
        inquiries = session.scalar(select(func.count()).select_from(Inquiry))
        live = session.scalar(select(func.count()).select_from(Appointment).where(Appointment.status == "booked"))
    return inquiries, live


def busy_slots(app) -> int:
    """Slots marked busy."""
    with app.extensions["routing"].db.session() as session:
        return session.scalar(select(func.count()).select_from(Slot).where(Slot.status == "busy"))


def signed_headers(body: bytes, secret: str = SECRET, msg_id: str = "msg_1", at: datetime | None = None) -> dict:
    """Standard Webhooks headers signing ``body`` with ``secret``."""
    at = at or datetime.now(UTC)
    signature = Webhook(secret).sign(msg_id, at, body.decode())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
        "Content-Type": "application/json",
    }


def as_json(body: dict) -> bytes:
    """The exact bytes to send (and sign)."""
    return json.dumps(body).encode()
