"""Who the patient is dealing with: the clinic's name, phone, address and website, as patients read them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ClinicProfile:
    """The clinic as named in every patient message (settings ``ROUTING_CLINIC_*``)."""

    name: str
    phone: str
    address: str
    website: str | None = None
    #: True while the profile is the shipped demo one: fine for a first look, never for patients.
    demo: bool = False


#: The demo clinic used until ``ROUTING_CLINIC_*`` are set. A made-up practice: 555-01xx numbers are reserved
#: for fiction, and example.org is reserved for examples. The service logs a warning at start while it is used.
DEMO_CLINIC = ClinicProfile(
    name="Riverside Spine & Pain Clinic (demo)",
    phone="(555) 010-0142",
    address="100 Example Avenue, Suite 200, Springfield",
    website="https://clinic.example.org",
    demo=True,
)
