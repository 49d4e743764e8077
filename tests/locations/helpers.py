"""A practice with several sites for routing tests: sites at known places, slots at each, reading results back."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from routing.adapters.db.models import Appointment, Inquiry, Location
from routing.adapters.scheduling import embedded
from routing.domain.demo_schedule import SlotSpec
from routing.domain.vocabulary import SlotType

#: Springfield (MA) and around. Downtown and the north side are 3 km apart, Holyoke 12 km from downtown,
#: Worcester 67 km away. Postal codes of the shipped demo table: 01103 downtown, 01104 north, 01601 Worcester.
SITES = (
    {
        "id": "downtown",
        "name": "Downtown",
        "address": "1 Court Square, Springfield",
        "phone": "(555) 010-0101",
        "latitude": 42.1015,
        "longitude": -72.5898,
        "slot_types": ["consult", "imaging", "injection"],
    },
    {
        "id": "north",
        "name": "North side",
        "address": "200 Liberty Street, Springfield",
        "phone": "(555) 010-0102",
        "latitude": 42.1288,
        "longitude": -72.5775,
        "slot_types": ["consult"],
    },
    {
        "id": "holyoke",
        "name": "Holyoke",
        "address": "50 Dwight Street, Holyoke",
        "phone": "(555) 010-0103",
        "latitude": 42.2043,
        "longitude": -72.6162,
        "slot_types": ["consult", "injection"],
    },
    {
        "id": "worcester",
        "name": "Worcester",
        "address": "9 Front Street, Worcester",
        "phone": "(555) 010-0104",
        "latitude": 42.2626,
        "longitude": -71.8023,
        "slot_types": ["consult", "imaging"],
    },
)


def wiring(app):
    return app.extensions["routing"]


def open_sites(app, sites=SITES) -> None:
    """Replace the default site with ``sites`` (the default one is deactivated), and let routing see them now."""
    w = wiring(app)
    now = datetime.now(UTC)
    with w.db.session() as session, session.begin():
        session.execute(update(Location).values(active=False))
        for site in sites:
            session.add(Location(**site, active=True, created_at=now, updated_at=now))
    w.locations.expire()


def slots_at(app, site: str, slot_type: str, hours: list[float], minutes: int = 30) -> list[datetime]:
    """Free slots at ``site`` starting the given numbers of hours from now (on the minute); their starts."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    starts = [now + timedelta(hours=h) for h in hours]
    specs = [SlotSpec(SlotType(slot_type), s, s + timedelta(minutes=minutes), site) for s in starts]
    with wiring(app).db.session() as session, session.begin():
        embedded.add_slots(session, specs)
    return starts


def site_of_inquiry(app, inquiry_id: str) -> str | None:
    with wiring(app).db.session() as session:
        return session.scalar(select(Inquiry.location_id).where(Inquiry.id == uuid.UUID(inquiry_id)))


def appointment_sites(app) -> list[str | None]:
    with wiring(app).db.session() as session:
        return list(session.scalars(select(Appointment.location_id).order_by(Appointment.created_at)))
