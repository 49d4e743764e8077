"""The practice's active sites as routing sees them, read from the database and kept for a few seconds per process.

Intake routes every inquiry by site, so reading the ``locations`` table on each request would add a query to the
hot path for data that changes a few times a year. Each process keeps the sites it read for ``check_every``
seconds; a change made through the admin API is seen by the process that made it at once (:meth:`expire`) and by
the others within that time. Until the table can be read (not migrated yet) the directory has no sites, and
routing books at any site, as before there were several.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace

from sqlalchemy import Row, select
from sqlalchemy.exc import SQLAlchemyError

from routing.adapters.db.database import Database
from routing.adapters.db.models import Location
from routing.domain.clinic import ClinicProfile
from routing.domain.locations import Coordinates, Site

log = logging.getLogger(__name__)

_locations = Location.__table__
_ACTIVE_SITES = select(_locations).where(_locations.c.active.is_(True)).order_by(_locations.c.id)


def site_of(location: Location | Row, clinic: ClinicProfile, time_zone: str) -> Site:
    """A location (an ORM row or a table row) as routing sees it; empty address, phone and time zone are the
    clinic's."""
    has_point = location.latitude is not None and location.longitude is not None
    return Site(
        id=location.id,
        name=location.name,
        slot_types=frozenset(location.slot_types or ()),
        address=location.address or clinic.address,
        phone=location.phone or clinic.phone,
        time_zone=location.time_zone or time_zone,
        coordinates=Coordinates(location.latitude, location.longitude) if has_point else None,
        postal_code=location.postal_code,
        fhir_location=location.fhir_location,
    )


class LocationDirectory:
    """The active sites of this process, re-read at most every ``check_every`` seconds."""

    def __init__(
        self,
        db: Database,
        clinic: ClinicProfile,
        time_zone: str,
        check_every: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._clinic = clinic
        self._time_zone = time_zone
        self._check_every = check_every
        self._clock = clock
        self._sites: tuple[Site, ...] = ()
        self._next_read = float("-inf")
        self._lock = threading.Lock()

    def sites(self) -> tuple[Site, ...]:
        """The active sites, in id order, as of the last read (at most ``check_every`` old)."""
        if self._clock() >= self._next_read and self._lock.acquire(blocking=False):
            try:
                if self._clock() >= self._next_read:
                    self._next_read = self._clock() + self._check_every
                    self._read()
            finally:
                self._lock.release()
        return self._sites

    def site(self, location_id: str | None) -> Site | None:
        """One active site by id, or None."""
        return next((site for site in self.sites() if site.id == location_id), None) if location_id else None

    def clinic_at(self, location_id: str | None) -> ClinicProfile:
        """The clinic as patients booked at ``location_id`` read it: with the site's name, address and phone when
        the practice has several sites; the clinic itself with one site (nothing to tell apart) or none known."""
        sites = self.sites()
        site = self.site(location_id)
        if site is None or len(sites) < 2:
            return self._clinic
        clinic = self._clinic
        return replace(
            clinic,
            name=f"{clinic.name}, {site.name}",
            address=site.address or clinic.address,
            phone=site.phone or clinic.phone,
        )

    def expire(self) -> None:
        """Read the sites again at the next use (after a change made in this process)."""
        self._next_read = float("-inf")

    def _read(self) -> None:
        # A connection of its own that never waits for a writer: the sites are often needed in the middle of a
        # use case whose own transaction holds SQLite's write lock (an override telling the patient the time).
        try:
            with self._db.reading() as connection:
                rows = connection.execute(_ACTIVE_SITES).all()
            self._sites = tuple(site_of(row, self._clinic, self._time_zone) for row in rows)
        except SQLAlchemyError as error:  # not migrated yet, or the database away for a moment: keep what we had
            log.warning("locations could not be read: %s", type(error).__name__)


__all__ = ["LocationDirectory", "site_of"]
