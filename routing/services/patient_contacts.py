"""How a patient may be reached, as their stored inquiry says: address, number, consent and preference.

Read from the stored payload with the intake's own schema (as the booking worker reads it), so "consent" means
here what it meant when the form was accepted (``true``, ``on``, ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from marshmallow import ValidationError

from routing.domain.patient_notices import EMAIL, SMS, channels_for
from routing.domain.phone_numbers import e164
from schemas.inquiry import InquiryRequestSchema

_schema = InquiryRequestSchema()


@dataclass(frozen=True)
class PatientContact:
    """A patient's contact details, normalised: the address in lower case, the number in E.164 (or None)."""

    email: str | None
    phone: str | None
    consent: bool
    preference: str | None

    @property
    def channels(self) -> tuple[str, ...]:
        """The channels notices may go out on (consent given, preferred, contact given)."""
        return channels_for(consent=self.consent, preference=self.preference, email=self.email, phone=self.phone)

    def address(self, channel: str) -> str | None:
        """The address (email) or number (sms) for ``channel``."""
        return {EMAIL: self.email, SMS: self.phone}.get(channel)


NOBODY = PatientContact(None, None, False, None)


def contact_of(payload: dict[str, Any] | None, country_code: str) -> PatientContact:
    """The contact details of a stored inquiry's payload; nobody to write to if it no longer loads."""
    try:
        data = _schema.load(payload or {})
    except ValidationError:
        return NOBODY
    patient = data.get("patient") or {}
    email = (patient.get("email") or "").strip().lower() or None
    return PatientContact(
        email=email,
        phone=e164(patient.get("phone"), country_code),
        consent=data.get("consent") is True,
        preference=data.get("contact_preference"),
    )
