"""One FHIR server as routing books on it: the client, the codes we write, our identifiers.

What the FHIR scheduler and every booking strategy share: finding our appointment by its booking key,
reading a slot, mapping slot types to service types, and building and making our Appointment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from routing.adapters.scheduling import fhir_resources
from routing.adapters.scheduling.fhir_client import DEAD_APPOINTMENT, FhirClient, now, reference_id
from routing.adapters.scheduling.fhir_locations import SiteMap
from routing.adapters.scheduling.fhir_resources import FhirIdentity
from routing.adapters.scheduling.interface import BookingRequest, SchedulingRejected, SlotTaken
from routing.domain.terminology import Terminology

#: Who in a Schedule's actors may take part in an Appointment (R4 Appointment.participant.actor types).
PARTICIPANT_TYPES = ("Practitioner/", "PractitionerRole/", "Location/", "HealthcareService/", "Device/")


@dataclass(frozen=True)
class FhirSite:
    """A FHIR server, the codes routing writes there, the identifiers it keeps there, and the practice's sites
    on it (their Locations and Schedules)."""

    client: FhirClient
    codes: Terminology
    ids: FhirIdentity
    sites: SiteMap

    def service_type(self, slot_type: str) -> tuple[str, str]:
        """The (system, code) of ``slot_type``'s service type; SchedulingRejected for an unknown slot type."""
        coding = self.codes.service_type.get(slot_type)
        if coding is None:
            raise SchedulingRejected(f"no FHIR service type configured for slot type {slot_type!r}")
        return coding.system, coding.code

    def slot_type_of(self, resource: dict[str, Any]) -> str | None:
        """Our slot type for a resource's serviceType codings; else the first code, so staff see something."""
        by_coding = {(c.system, c.code): slot_type for slot_type, c in self.codes.service_type.items()}
        codings = [coding for concept in resource.get("serviceType", []) for coding in concept.get("coding", [])]
        for coding in codings:
            slot_type = by_coding.get((coding.get("system"), coding.get("code")))
            if slot_type is not None:
                return slot_type
        return next((coding["code"] for coding in codings if coding.get("code")), None)

    def live_appointment(self, key: str) -> dict[str, Any] | None:
        """The appointment already made for this booking key and not cancelled, if any."""
        found = self.client.search("Appointment", {"identifier": f"{self.ids.booking_system}|{key}"})
        return next((a for a in found if a.get("status") not in DEAD_APPOINTMENT), None)

    def read_slot(self, slot_id: str) -> dict[str, Any]:
        """The Slot as stored; SlotTaken when it no longer exists."""
        slot = self.client.read(f"Slot/{slot_id}")
        if slot is None:
            raise SlotTaken(f"Slot/{slot_id} no longer exists")
        return slot

    def schedule_actors(self, slot: dict[str, Any]) -> list[str]:
        """Who the slot's Schedule is for (practitioner, location...): they take part in the appointment. The
        site's Location is among them (``SiteMap.with_site_location``) whenever the site has one."""
        schedule_id = reference_id("Schedule", (slot.get("schedule") or {}).get("reference", ""))
        schedule = self.client.read(f"Schedule/{schedule_id}") if schedule_id is not None else None
        if schedule is None:
            return self.sites.with_site_location([])  # the appointment stands without them; the slot is booked
        references = (actor.get("reference") or "" for actor in schedule.get("actor", []))
        return self.sites.with_site_location([ref for ref in references if ref.startswith(PARTICIPANT_TYPES)])

    def appointment(
        self,
        slot: dict[str, Any],
        slot_type: str,
        request: BookingRequest,
        patient: dict[str, str],
        order_ref: str | None,
        actors: list[str],
    ) -> dict[str, Any]:
        """Our Appointment on ``slot`` (its id, start and end) for ``patient``, with ``actors`` taking part."""
        self.service_type(slot_type)  # an unknown slot type is refused before anything is written
        return fhir_resources.appointment(
            slot,
            slot_type,
            request,
            codes=self.codes,
            ids=self.ids,
            patient=patient,
            actors=actors,
            order_ref=order_ref,
            created=now(),
        )

    def not_made_yet(self, key: str) -> str:
        """The If-None-Exist criteria for our Appointment under ``key``: none made, or all since cancelled."""
        dead = "".join(f"&status:not={status}" for status in sorted(DEAD_APPOINTMENT))
        return f"identifier={self.ids.booking_system}|{key}{dead}"
