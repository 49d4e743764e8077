"""The FHIR R4 resources the scheduler writes, built from our booking request: pure functions, no calls.

Codes come from the practice's terminology (``routing/domain/terminology``); our identifiers from
:class:`FhirIdentity`. Free text (the triage reasons) goes only where R4 has room for it: ``reasonCode``
text, ``Appointment.comment`` and ``ServiceRequest.note``, which the clinic's own staff read in their EHR.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from routing.adapters.scheduling.interface import BookingRequest, ReferralRequest
from routing.domain.terminology import REQUEST_PRIORITY, Terminology
from routing.domain.vocabulary import Urgency

#: Appointment.priority is an unsignedInt on the iCalendar scale: 1 highest, 9 lowest, 0 undefined.
#: 1-4 are iCalendar's "high", 5 "medium", 6-9 "low".
APPOINTMENT_PRIORITY = {
    Urgency.EMERGENCY: 1,
    Urgency.URGENT: 2,
    Urgency.SOON: 5,
    Urgency.ROUTINE: 9,
}


@dataclass(frozen=True)
class FhirIdentity:
    """Who we are on the FHIR server: our identifier systems, and who orders imaging and injections."""

    #: An https URL the clinic owns; our identifier systems are made under it.
    identifier_base: str
    #: ServiceRequest.requester: ``Practitioner/<id>``, ``PractitionerRole/<id>`` or ``Organization/<id>``.
    requester: str | None = None
    requester_display: str | None = None

    @property
    def booking_system(self) -> str:
        """Identifier system of our booking keys (on Appointments, and on the Slots we hold)."""
        return f"{self.identifier_base}/booking"

    @property
    def hold_system(self) -> str:
        """Identifier system of our waitlist hold keys (on the Slots and pending Appointments that keep a slot
        for an offer); apart from the booking keys, so a hold is never taken for a booking."""
        return f"{self.identifier_base}/hold"

    @property
    def inquiry_system(self) -> str:
        """Identifier system of our inquiry ids (on Appointments and orders)."""
        return f"{self.identifier_base}/inquiry"

    @property
    def patient_system(self) -> str:
        """Identifier system of the patients we registered (the inquiry id that registered them)."""
        return f"{self.identifier_base}/patient"


def busy(slot: dict[str, Any], booking_system: str, key: str, *, untag: tuple[str, ...] = ()) -> dict[str, Any]:
    """The slot marked busy and tagged with the booking key that holds it (``untag``: systems to drop)."""
    identifiers = [i for i in slot.get("identifier", []) if i.get("system") not in (booking_system, *untag)]
    return {**slot, "status": "busy", "identifier": [*identifiers, {"system": booking_system, "value": key}]}


def tentative(slot: dict[str, Any], hold_system: str, key: str) -> dict[str, Any]:
    """The slot kept for a waitlist offer (R4 ``busy-tentative``), tagged with the hold key."""
    identifiers = [i for i in slot.get("identifier", []) if i.get("system") != hold_system]
    return {**slot, "status": "busy-tentative", "identifier": [*identifiers, {"system": hold_system, "value": key}]}


def freed(slot: dict[str, Any], *systems: str) -> dict[str, Any]:
    """The slot free again, without the tags (identifiers in ``systems``) of the booking or hold that kept it."""
    free = {**slot, "status": "free"}
    identifiers = [i for i in slot.get("identifier", []) if i.get("system") not in systems]
    if identifiers:
        free["identifier"] = identifiers
    else:
        free.pop("identifier", None)
    return free


def cancelled(appointment: dict[str, Any], reason: str) -> dict[str, Any]:
    """The appointment cancelled, with the reason as text."""
    changed = {**appointment, "status": "cancelled"}
    if reason:
        changed["cancelationReason"] = {"text": reason}
    return changed


def revoked(order: dict[str, Any]) -> dict[str, Any]:
    """The order withdrawn: its appointment was cancelled and nothing else is based on it."""
    return {**order, "status": "revoked"}


def service_request(
    request: BookingRequest,
    referral: ReferralRequest,
    *,
    codes: Terminology,
    ids: FhirIdentity,
    subject: dict[str, str],
    authored_on: str,
) -> dict[str, Any]:
    """The order (FHIR ServiceRequest) for the request's imaging or injection, for ``subject``."""
    resource: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "identifier": [{"system": ids.inquiry_system, "value": str(request.inquiry_id)}],
        "status": "active",
        "intent": "order",
        "code": {"coding": [{"system": referral.code_system, "code": referral.code, "display": referral.display}]},
        "subject": subject,
        "authoredOn": authored_on,
        **_reason_codes(request.reasons),
    }
    category = codes.category.get(request.route)
    if category is not None:
        resource["category"] = [category.as_concept()]
    if ids.requester is not None:
        resource["requester"] = _reference(ids.requester, ids.requester_display)
    if request.reasons:
        resource["note"] = [{"text": "; ".join(request.reasons)}]
    priority = REQUEST_PRIORITY.get(request.urgency)
    if priority is not None:
        resource["priority"] = priority
    return resource


def appointment(
    slot: dict[str, Any],
    slot_type: str,
    request: BookingRequest,
    *,
    codes: Terminology,
    ids: FhirIdentity,
    patient: dict[str, str],
    actors: list[str],
    order_ref: str | None,
    created: str,
) -> dict[str, Any]:
    """The Appointment on the claimed ``slot`` for ``patient``, with the slot's schedule ``actors`` taking part."""
    participants = [{"actor": patient, "required": "required", "status": "accepted"}]
    participants += [{"actor": {"reference": actor}, "required": "required", "status": "accepted"} for actor in actors]
    resource: dict[str, Any] = {
        "resourceType": "Appointment",
        "identifier": [
            {"system": ids.booking_system, "value": request.booking_key},
            {"system": ids.inquiry_system, "value": str(request.inquiry_id)},
        ],
        "status": "booked",
        "serviceType": [codes.service_type[slot_type].as_concept()],
        "specialty": [codes.specialty[slot_type].as_concept()],
        "slot": [{"reference": f"Slot/{slot['id']}"}],
        "start": slot["start"],
        "end": slot["end"],
        "created": created,
        "participant": participants,
        **_reason_codes(request.reasons),
    }
    appointment_type = codes.appointment_type.get(request.urgency)
    if appointment_type is not None:
        resource["appointmentType"] = appointment_type.as_concept()
    priority = APPOINTMENT_PRIORITY.get(request.urgency)
    if priority is not None:
        resource["priority"] = priority
    if request.reasons:
        # R4 Appointment has no ``note``; ``comment`` is its free text for staff.
        resource["comment"] = "; ".join(request.reasons)
    if order_ref is not None:
        resource["basedOn"] = [{"reference": order_ref}]
    return resource


def hold_appointment(
    slot: dict[str, Any], *, service_type: dict[str, Any], hold: tuple[str, str], actors: list[str], created: str
) -> dict[str, Any]:
    """A ``pending`` Appointment keeping ``slot`` for a waitlist offer under the ``hold`` (system, key).

    Who it is for is not sent until they accept (``book_held`` fills the patient in): the patient is a
    display-only participant who has not answered yet; the slot's schedule ``actors`` take part.
    """
    system, key = hold
    participants = [{"actor": {"display": "Waitlist patient"}, "required": "required", "status": "needs-action"}]
    participants += [{"actor": {"reference": actor}, "required": "required", "status": "accepted"} for actor in actors]
    return {
        "resourceType": "Appointment",
        "identifier": [{"system": system, "value": key}],
        "status": "pending",
        "serviceType": [service_type],
        "slot": [{"reference": f"Slot/{slot['id']}"}],
        "start": slot["start"],
        "end": slot["end"],
        "created": created,
        "comment": "Held for a waitlist offer",
        "participant": participants,
    }


def display_only(request: BookingRequest) -> dict[str, str]:
    """A reference by name only, for a request without the details to find a patient record by."""
    return {"display": request.patient_display or "Patient"}


def _reference(reference: str, display: str | None) -> dict[str, str]:
    return {"reference": reference, "display": display} if display else {"reference": reference}


def _reason_codes(reasons: tuple[str, ...]) -> dict[str, Any]:
    """reasonCode as text-only concepts: our reasons are triage phrases, not codes."""
    return {"reasonCode": [{"text": reason} for reason in reasons]} if reasons else {}
