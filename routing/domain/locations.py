"""The practice's sites, and which of them an inquiry may be booked at, in the order to try them.

Pure: the sites, the patient's preferred site and postal code, and the travel radius come in; the tiers to try
come out. Booking takes the earliest slot inside the urgency window in the first tier that has one: the site the
patient chose; then any site within the travel radius of them (of their postal code, else of the chosen site);
then any site offering the kind of appointment.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

#: The site every slot belonged to before there were several (made by migration 0011).
DEFAULT_LOCATION = "main"
#: How far a patient is expected to travel when they name no site, in kilometres (``ROUTING_TRAVEL_RADIUS_KM``).
DEFAULT_TRAVEL_RADIUS_KM = 40.0
_EARTH_RADIUS_KM = 6371.0


@dataclass(frozen=True)
class Coordinates:
    """A point on the map, in degrees."""

    latitude: float
    longitude: float

    def km_to(self, other: Coordinates) -> float:
        """The great-circle distance to ``other`` in kilometres (haversine; plenty for "how far to travel")."""
        lat1, lat2 = math.radians(self.latitude), math.radians(other.latitude)
        dlat = lat2 - lat1
        dlon = math.radians(other.longitude - self.longitude)
        a = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
        return 2 * _EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True)
class Site:
    """A location as routing sees it: its id, name, address, phone, time zone and what it offers."""

    id: str
    name: str
    slot_types: frozenset[str]
    address: str | None = None
    phone: str | None = None
    time_zone: str | None = None
    coordinates: Coordinates | None = None
    postal_code: str | None = None
    #: The site in a FHIR scheduling system ("Location/12"): FHIR slots whose Schedule's actors name it are here.
    fhir_location: str | None = None

    def offers(self, slot_type: str) -> bool:
        """Whether appointments of ``slot_type`` are held here."""
        return slot_type in self.slot_types


class Basis(StrEnum):
    """Why a tier of sites is acceptable; said to the patient and kept with the decision."""

    PREFERRED = "preferred"  # the site the patient chose
    NEARBY = "nearby"  # within the travel radius of the patient (or of the site they chose)
    ANY = "any"  # any site that offers the appointment


@dataclass(frozen=True)
class Tier:
    """Sites tried together: the earliest slot at any of them is taken."""

    basis: Basis
    sites: tuple[str, ...]


@dataclass(frozen=True)
class Wish:
    """Where the patient would like to be seen: a site they chose, and/or their postal code."""

    preferred: str | None = None
    postal_code: str | None = None

    @property
    def stated(self) -> bool:
        """Whether the patient said anything about where."""
        return bool(self.preferred or self.postal_code)


def normalise_postal_code(code: str) -> str:
    """A postal code as the table keys it: upper case, no spaces ("sw1a 1aa" -> "SW1A1AA"; "02139-4307" -> "02139")."""
    folded = "".join(code.split()).upper()
    head, dash, tail = folded.partition("-")
    return head if dash and head.isdigit() and tail.isdigit() else folded


def tiers(
    sites: Iterable[Site],
    slot_type: str,
    wish: Wish,
    postal_codes: Mapping[str, Coordinates],
    radius_km: float = DEFAULT_TRAVEL_RADIUS_KM,
) -> tuple[Tier, ...]:
    """The sites to try for ``slot_type``, tier by tier; each site once, in its first tier; empty tiers left out.
    Within a tier, nearby sites come nearest first and the others by id (the tie-break between equal slots).

    Without a wish, one tier: every site offering the appointment. A postal code not in the table places nothing
    (the patient is then treated as having named no postal code).
    """
    sites = sorted(sites, key=lambda site: site.id)
    offering = [site for site in sites if site.offers(slot_type)]
    chosen = next((site for site in sites if site.id == wish.preferred), None) if wish.preferred else None
    result: list[Tier] = []
    taken: set[str] = set()

    def add(basis: Basis, ids: Sequence[str]) -> None:
        fresh = tuple(site_id for site_id in ids if site_id not in taken)
        if fresh:
            result.append(Tier(basis, fresh))
            taken.update(fresh)

    if chosen is not None and chosen.offers(slot_type):
        add(Basis.PREFERRED, [chosen.id])
    # Where the patient is: their postal code, else the site they chose (even one without this appointment).
    origin = postal_codes.get(normalise_postal_code(wish.postal_code)) if wish.postal_code else None
    if origin is None and chosen is not None:
        origin = chosen.coordinates
    if origin is not None:
        near = sorted(
            (site.coordinates.km_to(origin), site.id)
            for site in offering
            if site.coordinates is not None and site.coordinates.km_to(origin) <= radius_km
        )
        add(Basis.NEARBY, [site_id for _, site_id in near])
    add(Basis.ANY, [site.id for site in offering])
    return tuple(result)


__all__ = [
    "DEFAULT_LOCATION",
    "DEFAULT_TRAVEL_RADIUS_KM",
    "Basis",
    "Coordinates",
    "Site",
    "Tier",
    "Wish",
    "normalise_postal_code",
    "tiers",
]
