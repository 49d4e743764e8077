"""The practice's sites on FHIR (routing/adapters/scheduling/fhir_locations.py): how a slot's site is found, how
searches for some sites are narrowed, and the site's Location on the Appointments written.

What every scheduler keeps about sites (only those sites' slots, each with its site; booking and proposing there)
is in tests/scheduling/test_scheduler_contract.py; these are the FHIR side of it: the searches sent (on the
conformance server, which records them), the Appointment's participants (on Medplum), the Schedules kept for a
while, and the paging that keeps slots from being lost.
"""

from __future__ import annotations

import shutil
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

from sqlalchemy.engine import make_url

from routing.adapters.db.database import Database
from routing.adapters.db.models import Location
from routing.adapters.scheduling.fhir_client import FhirClient
from routing.adapters.scheduling.fhir_http import FhirHttp
from routing.adapters.scheduling.fhir_locations import SCAN_PAGE, SiteMap, collect
from routing.adapters.scheduling.interface import BookingRequest, SlotTime
from routing.config import load_settings
from routing.domain.booking_plan import BookingPlan
from routing.domain.locations import DEFAULT_LOCATION, Site
from routing.domain.terminology import SLOT_TYPES, default_terminology
from routing.services.location_directory import LocationDirectory
from routing.wiring import build_scheduler
from tests.scheduling.conformance_server import BASE

DAY = datetime(2031, 7, 7, tzinfo=UTC)
SESSION = None  # the FHIR scheduler ignores the database session


def at(hour: int) -> datetime:
    return DAY + timedelta(hours=hour)


def request_for(slot_type: str = "consult") -> BookingRequest:
    inquiry_id = uuid.uuid4()
    return BookingRequest(inquiry_id, str(inquiry_id), slot_type, slot_type, "soon")


def sites_for(locations: dict[str, str | None]) -> tuple[Site, ...]:
    """Sites as the location directory gives them: id -> FHIR Location (None: not mapped)."""
    return tuple(
        Site(site_id, site_id.title(), frozenset(SLOT_TYPES), fhir_location=location)
        for site_id, location in sorted(locations.items())
    )


def queries(server, method: str, path: str) -> list[list[tuple[str, str]]]:
    """The query parameters of every ``method path`` request the conformance server received, in order."""
    found = []
    for received in server.received:
        url = urlsplit(received.path)
        if (received.method, url.path.removeprefix(BASE)) == (method, path):
            found.append(parse_qsl(url.query))
    return found


def schedule_of(server, slot_reference: str) -> str:
    return server.get(slot_reference)["schedule"]["reference"]


def fhir_environment(base_url: str) -> dict[str, str]:
    """The service's settings for booking on the conformance server's ``appointment`` mode."""
    return {
        "ROUTING_SCHEDULER": "fhir",
        "ROUTING_SCHEDULER_EVENTS_SECRET": "whsec_dGVzdHNlY3JldA==",
        "FHIR_BASE_URL": base_url,
        "FHIR_BOOKING_STRATEGY": "appointment",
    }


# ---------------------------------------------------------------------- the Appointment names the site


def test_an_appointment_names_its_sites_location_and_the_default_sites_own_when_its_schedule_names_none(
    fhir_server, service_types, make_scheduler
):
    north = f"Location/{fhir_server.create({'resourceType': 'Location', 'name': 'North'})['id']}"
    main = f"Location/{fhir_server.create({'resourceType': 'Location', 'name': 'Main'})['id']}"
    sites = sites_for({DEFAULT_LOCATION: main, "north": north})
    scheduler = make_scheduler(sites=lambda: sites)
    fhir_server.seed_slots(service_types["consult"], [at(9)], actors=[north])
    fhir_server.seed_slots(service_types["consult"], [at(10)])  # a Schedule naming no Location: the default site

    booked = []
    for site in ("north", DEFAULT_LOCATION):
        plan = BookingPlan("consult", at(8), at(12), locations=(site,))
        booked.append(scheduler.book_earliest(SESSION, plan, request_for()).booking)

    written = [fhir_server.get(booking.external_id) for booking in booked]
    actors = [[p["actor"].get("reference") for p in a["participant"] if "reference" in p["actor"]] for a in written]
    assert actors == [[north], [main]]
    assert [(b.slot.start, b.slot.location) for b in booked] == [(at(9), "north"), (at(10), DEFAULT_LOCATION)]


# ---------------------------------------------------------------------- the searches sent


def test_a_search_for_mapped_sites_asks_for_their_schedules_only_and_keeps_the_schedules_a_while(
    make_conformance_server, service_types, scheduler_for
):
    server = make_conformance_server("appointment")
    north = f"Location/{server.add({'resourceType': 'Location', 'name': 'North'})['id']}"
    south = f"Location/{server.add({'resourceType': 'Location', 'name': 'South'})['id']}"
    sites = sites_for({DEFAULT_LOCATION: None, "north": north, "south": south})
    scheduler = scheduler_for(server.base_url, strategy="appointment", sites=lambda: sites)
    (north_slot,) = server.seed_slots(service_types["consult"], [at(9)], actors=[north])
    server.seed_slots(service_types["consult"], [at(10)], actors=[south])
    server.seed_slots(service_types["consult"], [at(11)])

    first = scheduler.find_free_slots(SESSION, "consult", DAY, at(23), 10, ("north",))
    again = scheduler.find_free_slots(SESSION, "consult", DAY, at(23), 10, ("north",))

    assert [(slot.start, slot.location) for slot in first + again] == [(at(9), "north"), (at(9), "north")]
    assert queries(server, "GET", "Schedule") == [[("actor", f"{north},{south}"), ("_count", "200")]]
    slot_searches = queries(server, "GET", "Slot")
    assert [dict(query)["schedule"] for query in slot_searches] == [schedule_of(server, north_slot)] * 2


def test_a_search_including_the_default_site_is_not_narrowed_and_places_each_slot(
    make_conformance_server, service_types, scheduler_for
):
    server = make_conformance_server("appointment")
    north = f"Location/{server.add({'resourceType': 'Location', 'name': 'North'})['id']}"
    sites = sites_for({DEFAULT_LOCATION: None, "north": north})
    scheduler = scheduler_for(server.base_url, strategy="appointment", sites=lambda: sites)
    server.seed_slots(service_types["consult"], [at(9)], actors=[north, "Practitioner/7"])
    server.seed_slots(service_types["consult"], [at(10)], actors=["Practitioner/8"])

    found = scheduler.find_free_slots(SESSION, "consult", DAY, at(23), 10, ("north", DEFAULT_LOCATION))

    assert [(slot.start, slot.location) for slot in found] == [(at(9), "north"), (at(10), DEFAULT_LOCATION)]
    assert ["schedule" in dict(query) for query in queries(server, "GET", "Slot")] == [False]


def test_operations_find_asks_for_the_sites_locations(make_conformance_server, service_types, scheduler_for):
    server = make_conformance_server("operations")
    north = f"Location/{server.add({'resourceType': 'Location', 'name': 'North'})['id']}"
    south = f"Location/{server.add({'resourceType': 'Location', 'name': 'South'})['id']}"
    sites = sites_for({DEFAULT_LOCATION: None, "north": north, "south": south})
    scheduler = scheduler_for(server.base_url, strategy="operations", sites=lambda: sites)
    server.seed_slots(service_types["consult"], [at(9)], actors=[north])
    server.seed_slots(service_types["consult"], [at(10)], actors=[south])

    found = scheduler.find_free_slots(SESSION, "consult", DAY, at(23), 10, ("south",))

    assert [(slot.start, slot.location) for slot in found] == [(at(10), "south")]
    (find,) = [r.body for r in server.received if r.path.startswith(f"{BASE}Appointment/$find")]
    asked = [p["valueReference"]["reference"] for p in find["parameter"] if p["name"] == "location"]
    assert asked == [south]


# ---------------------------------------------------------------------- the Schedules kept a while


def test_a_schedule_added_for_a_site_counts_there_once_the_kept_schedules_expire(
    make_conformance_server, service_types
):
    server = make_conformance_server("appointment")
    north = f"Location/{server.add({'resourceType': 'Location', 'name': 'North'})['id']}"
    sites = sites_for({DEFAULT_LOCATION: None, "north": north})
    clock = [0.0]
    http = FhirHttp(server.base_url, read_timeout=5.0, retries=1, backoff_factor=0.0)
    try:
        site_map = SiteMap(FhirClient(http), lambda: sites, ttl=30.0, clock=lambda: clock[0])
        (first,) = server.seed_slots(service_types["consult"], [at(9)], actors=[north])
        assert site_map.site_of_schedule(schedule_of(server, first)) == "north"
        (added,) = server.seed_slots(service_types["consult"], [at(10)], actors=[north])

        before = site_map.site_of_schedule(schedule_of(server, added))
        clock[0] += 30.0
        after = site_map.site_of_schedule(schedule_of(server, added))
    finally:
        http.close()

    assert (before, after) == (DEFAULT_LOCATION, "north")


# ---------------------------------------------------------------------- paging


def test_collect_keeps_slots_sharing_the_start_where_a_page_ends():
    boundary = at(20)
    earlier = [SlotTime(f"n{i}", "consult", at(1) + timedelta(minutes=i), at(2), "north") for i in range(SCAN_PAGE - 1)]
    same_start = [SlotTime(f"{site}-b", "consult", boundary, at(21), site) for site in ("north", "main", "south")]
    slots = earlier + same_start
    asked = []

    def page(after: datetime, inclusive: bool, count: int) -> list[SlotTime]:
        asked.append((after, inclusive, count))
        return [s for s in slots if (after <= s.start if inclusive else after < s.start)][:count]

    found = collect(page, DAY, 2, lambda slot: slot.location in ("main", "south"))

    assert [slot.id for slot in found] == ["main-b", "south-b"]
    assert asked == [(DAY, False, SCAN_PAGE), (boundary, True, SCAN_PAGE)]


def test_a_practice_with_no_site_mapped_searches_at_its_sites_as_before(
    make_conformance_server, service_types, scheduler_for
):
    server = make_conformance_server("appointment")
    sites = sites_for({DEFAULT_LOCATION: None, "north": None})
    scheduler = scheduler_for(server.base_url, strategy="appointment", sites=lambda: sites)
    server.seed_slots(service_types["consult"], [at(9), at(10), at(11)])

    found = scheduler.find_free_slots(SESSION, "consult", DAY, at(23), 2, (DEFAULT_LOCATION, "north"))
    elsewhere = scheduler.find_free_slots(SESSION, "consult", DAY, at(23), 2, ("north",))

    assert [(slot.start, slot.location) for slot in found] == [(at(9), DEFAULT_LOCATION), (at(10), DEFAULT_LOCATION)]
    assert elsewhere == []  # north names no Location: no slot can be there
    assert queries(server, "GET", "Schedule") == []
    assert [dict(query)["_count"] for query in queries(server, "GET", "Slot")] == ["2"]


# ---------------------------------------------------------------------- as the service builds it


def test_the_service_places_fhir_slots_by_the_locations_table(make_conformance_server, sqlite_template, tmp_path):
    """The scheduler built from settings with the location directory (routing/wiring.py), as ``wire`` builds it."""
    server = make_conformance_server("appointment")
    north = f"Location/{server.add({'resourceType': 'Location', 'name': 'North'})['id']}"
    consult = default_terminology().service_type["consult"]
    server.seed_slots((consult.system, consult.code), [at(9)], actors=[north])
    server.seed_slots((consult.system, consult.code), [at(10)])
    shutil.copyfile(sqlite_template, tmp_path / "routing.sqlite3")
    db = Database(make_url(f"sqlite:///{tmp_path / 'routing.sqlite3'}"))
    try:
        with db.session() as session:
            session.add(Location(id="north", name="North", slot_types=["consult"], fhir_location=north))
            session.commit()
        settings = load_settings(environ=fhir_environment(server.base_url))
        directory = LocationDirectory(db, settings.clinic, settings.timezone.key)
        scheduler = build_scheduler(settings, locations=directory)

        found = scheduler.find_free_slots(SESSION, "consult", DAY, at(23), 10)
        north_only = scheduler.find_free_slots(SESSION, "consult", DAY, at(23), 10, ("north",))
    finally:
        db.dispose()

    assert [(slot.start, slot.location) for slot in found] == [(at(9), "north"), (at(10), DEFAULT_LOCATION)]
    assert [(slot.start, slot.location) for slot in north_only] == [(at(9), "north")]
