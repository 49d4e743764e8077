"""Admins' changes to the practice's sites: add one, change it, deactivate it (or bring it back); each audited.

A site is never deleted: slots, appointments and inquiries name it, and the audit trail must still make sense.
Deactivating takes it out of routing (no new booking there, it leaves the public site list and the forms); its
booked appointments stand. The last active site cannot be deactivated: with none, routing would book at any
site, inactive ones included. After each change the process's :class:`LocationDirectory` is told, so this
process routes by the new sites at once (the others within ``ROUTING_LOCATIONS_CHECK_SECONDS``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from routing.adapters.db.models import Location
from routing.adapters.db.types import utcnow
from routing.services import audit
from routing.services.location_directory import LocationDirectory
from routing.services.reading import read_only
from routing.services.staff_tokens import Staff

#: What an admin may change on a site (its id is for good: slots, appointments and links name it).
CHANGEABLE = (
    "name",
    "address",
    "phone",
    "time_zone",
    "postal_code",
    "latitude",
    "longitude",
    "slot_types",
    "fhir_location",
    "active",
)


class UnknownLocation(LookupError):
    """No site with that id."""


class LocationRefused(Exception):
    """The change cannot be made; ``field`` is the one at fault (for a problem naming it)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def create(
    session: Session,
    admin: Staff,
    fields: dict[str, Any],
    directory: LocationDirectory | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Add a site from validated ``fields`` (``id``, ``name``, ``slot_types`` and any of :data:`CHANGEABLE`);
    audited as ``location.create``. LocationRefused when the id or the FHIR Location is taken."""
    now = now or utcnow()
    with session.begin():
        if session.get(Location, fields["id"]) is not None:
            raise LocationRefused("id", "A site with this id exists already; choose another id, or change that site.")
        _check_fhir_location(session, fields.get("fhir_location"), None)
        row = Location(
            id=fields["id"],
            **{name: _stored(name, fields[name]) for name in CHANGEABLE if name in fields},
            created_at=now,
            updated_at=now,
        )
        if row.active is None:
            row.active = True
        session.add(row)
        session.flush()
        audit.record(session, admin, "location.create", details={"location": as_dict(row)}, now=now)
        shown = as_dict(row)
    _changed(directory)
    return shown


def update(
    session: Session,
    admin: Staff,
    location_id: str,
    changes: dict[str, Any],
    directory: LocationDirectory | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Change some of :data:`CHANGEABLE`; audited as ``location.update`` with what changed (nothing changed:
    nothing recorded). Deactivating goes through the same check as :func:`deactivate`."""
    now = now or utcnow()
    with session.begin():
        row = _locked(session, location_id)
        changed = {
            name: _stored(name, value)
            for name, value in changes.items()
            if name in CHANGEABLE and getattr(row, name) != _stored(name, value)
        }
        if changed.get("active") is False:
            _check_not_last(session, row)
        if "fhir_location" in changed:
            _check_fhir_location(session, changed["fhir_location"], row.id)
        for name, value in changed.items():
            setattr(row, name, value)
        if changed:
            row.updated_at = now
            action = "location.deactivate" if changed == {"active": False} else "location.update"
            audit.record(session, admin, action, details={"location_id": row.id, "changed": changed}, now=now)
        shown = as_dict(row)
    if changed:
        _changed(directory)
    return shown


def deactivate(
    session: Session,
    admin: Staff,
    location_id: str,
    directory: LocationDirectory | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Take a site out of routing (audited as ``location.deactivate``); its booked appointments stand.
    LocationRefused when it is the last active site; deactivating an inactive one changes nothing."""
    return update(session, admin, location_id, {"active": False}, directory, now)


@read_only
def list_all(session: Session) -> list[dict[str, Any]]:
    """Every site (as :func:`as_dict`), active ones first, each group by id."""
    rows = session.scalars(select(Location).order_by(Location.active.desc(), Location.id))
    return [as_dict(row) for row in rows]


@read_only
def get(session: Session, location_id: str) -> dict[str, Any]:
    """One site (as :func:`as_dict`); UnknownLocation when there is none."""
    row = session.get(Location, _plausible(location_id))
    if row is None:
        raise UnknownLocation(location_id)
    return as_dict(row)


def as_dict(row: Location) -> dict[str, Any]:
    """A site as the admin API and the console show it: as stored (empty fields fall back to the clinic's)."""
    return {
        "id": row.id,
        "name": row.name,
        "address": row.address,
        "phone": row.phone,
        "time_zone": row.time_zone,
        "postal_code": row.postal_code,
        "latitude": row.latitude,
        "longitude": row.longitude,
        "slot_types": list(row.slot_types or []),
        "fhir_location": row.fhir_location,
        "active": row.active,
        "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
    }


def _stored(name: str, value: Any) -> Any:
    # Blank text is "not set" (the clinic's own value then applies); slot types are kept sorted, so an update
    # listing the same types in another order changes nothing.
    if isinstance(value, str) and not value.strip():
        return None
    if name == "slot_types":
        return sorted(set(value))
    return value


def _plausible(location_id: str) -> str:
    # An id from a URL is looked up only if it could be one: a NUL byte cannot even be sent to PostgreSQL.
    if len(location_id) > 40 or not location_id.isprintable():
        raise UnknownLocation(location_id)
    return location_id


def _locked(session: Session, location_id: str) -> Location:
    row = session.get(Location, _plausible(location_id), with_for_update=True, populate_existing=True)
    if row is None:
        raise UnknownLocation(location_id)
    return row


def _check_not_last(session: Session, row: Location) -> None:
    # Lock the active rows: two admins deactivating the last two sites at once must not both succeed.
    active = session.scalars(select(Location.id).where(Location.active.is_(True)).with_for_update()).all()
    if set(active) <= {row.id}:
        raise LocationRefused("active", "This is the practice's only active site; add or reactivate another one first.")


def _check_fhir_location(session: Session, fhir_location: str | None, own_id: str | None) -> None:
    if not fhir_location:
        return
    query = select(Location.id).where(func.lower(Location.fhir_location) == fhir_location.lower())
    holder = session.scalar(query.where(Location.id != own_id) if own_id else query)
    if holder is not None:
        raise LocationRefused("fhir_location", f"The site {holder!r} is mapped to this FHIR Location already.")


def _changed(directory: LocationDirectory | None) -> None:
    if directory is not None:
        directory.expire()


__all__ = [
    "CHANGEABLE",
    "LocationRefused",
    "UnknownLocation",
    "as_dict",
    "create",
    "deactivate",
    "get",
    "list_all",
    "update",
]
