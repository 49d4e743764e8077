"""Which of the practice's sites a FHIR slot is at, and how to search the slots of some sites only.

A site (a ``locations`` row, :class:`~routing.domain.locations.Site`) names its place in the scheduling system
with ``fhir_location`` ("Location/12"). A FHIR Slot belongs to a Schedule (``Slot.schedule``), and the Schedule
is for its actors (``Schedule.actor``: the practitioner, the room, the Location); a slot is at the site whose
Location is among its Schedule's actors. A Schedule naming no mapped Location belongs to the default site
(``DEFAULT_LOCATION``, "main"): a practice whose sites are not mapped, or that has one site, books as before.

The Schedules of the mapped Locations are found with the standard search ``Schedule?actor=Location/1,Location/2``
and kept for a short while (``SCHEDULES_TTL``): a Schedule added in the EHR is seen within that time. A search
for the slots of some sites then asks for theirs only (``Slot?schedule=Schedule/a,Schedule/b``); the default
site's slots are those of every *other* Schedule, which FHIR search cannot ask for, so a search that includes
it is not narrowed. Either way each slot found is placed here and those elsewhere skipped, page after page
(:func:`collect`): never cut at a ``_count`` and then filtered, which would lose slots, and correct on a server
that ignores a search parameter (as lenient servers do).

The sites come from a provider (the location directory's ``sites``): no database code here.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from routing.adapters.scheduling.fhir_client import next_link, resources_of
from routing.adapters.scheduling.interface import SlotTime
from routing.domain.locations import DEFAULT_LOCATION, Site

if TYPE_CHECKING:
    from routing.adapters.scheduling.fhir_client import FhirClient

log = logging.getLogger(__name__)

#: The practice's active sites, read when needed (``LocationDirectory.sites``).
SitesProvider = Callable[[], Iterable[Site]]
#: How long the Schedules of the mapped Locations are kept before they are searched again, in seconds.
SCHEDULES_TTL = 30.0
# Schedules per page of the Schedule search, and pages followed (a site has a handful of Schedules).
_SCHEDULE_PAGE = 200
_SCHEDULE_PAGES = 10
#: Slots per page when a search is filtered here, and pages read at most before giving up with a warning.
SCAN_PAGE = 20
SCAN_PAGES = 50

#: One page of a search: (after, inclusive, count) -> free slots starting after ``after`` (at or after it when
#: ``inclusive``), earliest first, at most ``count``.
Page = Callable[[datetime, bool, int], list[SlotTime]]


class SiteMap:
    """The sites' FHIR Locations and the Schedules at each, for placing slots and narrowing searches."""

    def __init__(
        self,
        client: FhirClient,
        sites: SitesProvider | None,
        *,
        ttl: float = SCHEDULES_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``sites``: the practice's active sites; None (tools, tests) places every slot at the default site."""
        self._client = client
        self._sites = sites
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        # (the Locations the map was read for, when it expires, Schedule reference -> site id)
        self._cached: tuple[tuple[tuple[str, str], ...], float, dict[str, str]] | None = None

    def locations(self) -> tuple[tuple[str, str], ...]:
        """(site id, its FHIR Location reference) of every mapped site, in site id order."""
        if self._sites is None:
            return ()
        return tuple(sorted((site.id, site.fhir_location) for site in self._sites() if site.fhir_location))

    def site_of_actors(self, references: Iterable[str]) -> str:
        """The site whose Location is among ``references`` (the first by id when several are); else the default."""
        named = set(references)
        return next((site_id for site_id, location in self.locations() if location in named), DEFAULT_LOCATION)

    def site_of_schedule(self, reference: str | None) -> str:
        """The site of the slots of the Schedule ``reference`` ("Schedule/7"); the default one when it names none."""
        if not reference or not self.locations():
            return DEFAULT_LOCATION
        return self._schedules().get(reference, DEFAULT_LOCATION)

    def with_site_location(self, actors: list[str]) -> list[str]:
        """``actors`` of an appointment, with the default site's Location added when they name no mapped one and
        the default site has a Location: the appointment then says where it is, as one at a mapped site does."""
        locations = self.locations()
        if any(location in actors for _, location in locations):
            return actors
        default = next((location for site_id, location in locations if site_id == DEFAULT_LOCATION), None)
        return [*actors, default] if default is not None else actors

    def everywhere(self, wanted: Iterable[str]) -> bool:
        """Whether every slot is at one of the ``wanted`` sites (the default one and every mapped one): a search
        for them is a search at any site, with nothing to skip (a practice with one site, or none mapped)."""
        wanted = set(wanted)
        return DEFAULT_LOCATION in wanted and all(site_id in wanted for site_id, _ in self.locations())

    def schedules_at(self, wanted: Iterable[str]) -> tuple[str, ...] | None:
        """The Schedules whose slots are at the ``wanted`` sites, to narrow a Slot search (``schedule=``).

        None when the search cannot be narrowed: the default site is wanted, and its slots are those of every
        Schedule naming no mapped Location. An empty tuple: no slot can be at those sites.
        """
        wanted = set(wanted)
        if DEFAULT_LOCATION in wanted:
            return None
        if not self.locations():
            return ()
        return tuple(sorted(ref for ref, site_id in self._schedules().items() if site_id in wanted))

    def locations_at(self, wanted: Iterable[str]) -> tuple[str, ...] | None:
        """The Locations of the ``wanted`` sites, to narrow a search by location (``$find``'s ``location``);
        None when it cannot be narrowed (the default site is wanted), empty when none of them is mapped."""
        wanted = set(wanted)
        if DEFAULT_LOCATION in wanted:
            return None
        return tuple(location for site_id, location in self.locations() if site_id in wanted)

    def expire(self) -> None:
        """Search the Schedules again at the next use."""
        self._cached = None

    def _schedules(self) -> Mapping[str, str]:
        """Schedule reference -> site id for the Schedules of every mapped Location (kept ``ttl`` seconds)."""
        locations = self.locations()
        cached = self._cached
        if cached is not None and cached[0] == locations and self._clock() < cached[1]:
            return cached[2]
        with self._lock:
            cached = self._cached
            if cached is not None and cached[0] == locations and self._clock() < cached[1]:
                return cached[2]
            schedules = self._search_schedules(locations)
            self._cached = (locations, self._clock() + self._ttl, schedules)
            return schedules

    def _search_schedules(self, locations: tuple[tuple[str, str], ...]) -> dict[str, str]:
        """``Schedule?actor=<every mapped Location>``, page by page; each Schedule placed by its actors."""
        if not locations:
            return {}
        params = [("actor", ",".join(location for _, location in locations)), ("_count", str(_SCHEDULE_PAGE))]
        response = self._client.request("GET", "Schedule", params=params)
        found: dict[str, str] = {}
        for _ in range(_SCHEDULE_PAGES):
            bundle = self._client.expect_ok(response, "search Schedule")
            for schedule in resources_of(bundle, "Schedule"):
                actors = [(actor.get("reference") or "") for actor in schedule.get("actor", [])]
                site_id = next((site for site, location in locations if location in actors), None)
                if schedule.get("id") and site_id is not None:  # a server ignoring ``actor`` sends others too
                    found[f"Schedule/{schedule['id']}"] = site_id
            following = next_link(bundle)
            if following is None:
                return found
            try:
                response = self._client.request("GET", following)
            except ValueError:  # a next link off our server: not followed (our token goes nowhere else)
                break
        log.warning("more Schedules at the practice's Locations than read (%d): some slots count as main", len(found))
        return found


def collect(
    page: Page,
    start: datetime,
    limit: int,
    keep: Callable[[SlotTime], bool],
    key: Callable[[SlotTime], Hashable] = lambda slot: slot.id,
) -> list[SlotTime]:
    """The first ``limit`` slots after ``start`` that ``keep`` accepts, earliest first, read page by page.

    Each page asks again from the last start seen (inclusive, the repeats dropped by ``key``: the slot's id, or
    what else tells one free time from another), so it works on servers that give no next link, and slots at
    several sites sharing a start are not lost. Gives up after ``SCAN_PAGES``
    pages (logged): a search that wide means the slots wanted are very few among many.
    """
    if limit < 1:
        return []
    count = max(limit, SCAN_PAGE)
    found: list[SlotTime] = []
    seen: set[Hashable] = set()
    after, inclusive = start, False
    for _ in range(SCAN_PAGES):
        slots = page(after, inclusive, count)
        fresh = [slot for slot in slots if key(slot) not in seen]
        seen.update(key(slot) for slot in fresh)
        found += [slot for slot in fresh if keep(slot)]
        if len(found) >= limit or len(slots) < count:
            break
        if not fresh:
            log.warning("a full page of free slots starting at one time, all seen: the search stops there")
            break
        after, inclusive = max(slot.start for slot in slots), True
    else:
        log.warning("slots at the sites asked for not found within %d pages of %d: the search stops", SCAN_PAGES, count)
    return sorted(found, key=lambda slot: slot.start)[:limit]


__all__ = ["SCAN_PAGE", "SCAN_PAGES", "SCHEDULES_TTL", "Page", "SiteMap", "SitesProvider", "collect"]
