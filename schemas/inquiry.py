"""The intake webhook's request and response shapes (``api-contract.md``, v1)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from routing.domain.labels import LABELS
from routing.domain.triage.facts import CONDITIONS, EPISODES, LOCATIONS, ONSETS, RED_FLAGS, RELAXANT_EFFECTS, TRIGGERS
from routing.domain.vocabulary import ContactPreference
from schemas.text import Email, InputSchema, Text

# Digits with the usual separators; at least 7 digits so "call me" or "n/a" is refused.
PHONE = re.compile(r"^\+?[\d\s().\-]{7,25}$")


def _plausible_birth_date(born: date) -> None:
    """A birth date a living patient can have: not in the future, at most 130 years ago."""
    today = date.today()
    if born > today:
        raise ValidationError("A date of birth cannot be in the future.")
    if born < today.replace(year=today.year - 130, day=min(today.day, 28)):
        raise ValidationError("A date of birth more than 130 years ago is not plausible; check the year.")


def _one_of(values) -> validate.OneOf:
    return validate.OneOf(values, error="Must be one of: {choices}.")


class PatientSchema(InputSchema):
    """Who the inquiry is from."""

    first_name = Text(required=True, validate=validate.Length(1, 100))
    last_name = Text(required=True, validate=validate.Length(1, 100))
    email = Email(validate=validate.Length(max=254))
    phone = Text(
        validate=validate.Regexp(PHONE, error="Not a valid phone number; use digits, spaces and an optional +.")
    )
    date_of_birth = fields.Date(
        validate=lambda born: _plausible_birth_date(born),
        metadata={
            "description": "Optional. Helps the clinic's records system find the patient's own record "
            "(YYYY-MM-DD; not in the future, at most 130 years ago).",
            "example": "1975-02-03",
        },
    )

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _reachable(self, _data, original, **_kwargs):
        # Judged on what was sent: an email given but invalid has its own message, not this one too.
        if isinstance(original, Mapping) and not _given(original.get("email")) and not _given(original.get("phone")):
            raise ValidationError("Give an email address or a phone number so the clinic can reach you.", "email")


class SymptomsSchema(InputSchema):
    """The form's structured answers; values are those of ``triage-policy.md``."""

    onset = Text(validate=_one_of(ONSETS))
    duration_days = fields.Integer(allow_none=True, validate=validate.Range(0, 36500))
    episodes = Text(validate=_one_of(EPISODES))
    trigger = Text(validate=_one_of(TRIGGERS))
    location = Text(validate=_one_of(LOCATIONS))
    pain_score = fields.Integer(allow_none=True, validate=validate.Range(0, 10))
    muscle_relaxants = Text(validate=_one_of(RELAXANT_EFFECTS))
    radiating_leg_pain = fields.Boolean(allow_none=True)
    diagnosed_conditions = fields.List(Text(validate=_one_of(CONDITIONS)))
    prior_imaging = fields.Boolean(allow_none=True)
    red_flags = fields.List(
        Text(validate=_one_of(RED_FLAGS)),
        metadata={"description": LABELS.described("red_flag", "Warning signs the patient reports.")},
    )


_SYMPTOM_NAMES = frozenset(SymptomsSchema().fields)


class InquiryRequestSchema(InputSchema):
    """A web-form inquiry. Unknown fields are ignored here (they stay in the stored raw payload)."""

    patient = fields.Nested(PatientSchema, required=True)
    symptoms = fields.Nested(SymptomsSchema, load_default=dict)
    message = Text(multiline=True, validate=validate.Length(max=10_000))
    preferred_times = fields.List(Text(validate=validate.Length(max=100)), validate=validate.Length(max=20))
    unavailable_times = fields.List(
        Text(validate=validate.Length(max=100)),
        validate=validate.Length(max=5),
        metadata={
            "description": 'Days or times that do not suit the patient ("Mondays", "before 10am", "jueves"), read '
            "like `preferred_times`. A waitlist offer is never made at a time read here; when an entry cannot be "
            "read, offers wait until staff restate it."
        },
    )
    preferred_location = Text(
        validate=validate.Length(max=40),
        metadata={
            "example": "northside",
            "description": "The id of the practice's site the patient would like to be seen at (`GET /v1/locations`). "
            "Booked there when it has a free slot inside the urgency window; else at a site within the travel radius; "
            "else at any site. An id the practice does not have is refused (422).",
        },
    )
    postal_code = Text(
        validate=validate.Length(max=16),
        metadata={
            "example": "01103",
            "description": "The patient's postal code: without a preferred site, sites within the travel radius of it "
            "come first. A code the practice's postal-code table does not know places nothing.",
        },
    )
    consent = fields.Boolean(
        metadata={
            "description": "The patient agrees that the clinic may use the answers to arrange their care and contact "
            "them about it. Without it, the patient is sent no email or text message."
        }
    )
    language = Text(
        validate=_one_of(("en", "es")),
        metadata={"description": "The language the patient chose on the form; without it, detected from the message."},
    )
    contact_preference = Text(
        validate=_one_of(tuple(ContactPreference)),
        metadata={
            "description": "How the patient wants to hear about their appointment (with `consent`): `email`, `sms` "
            "(text messages, to `patient.phone`) or `phone` (calls only: no email or text). Without it, email when "
            "an address is given, and no text messages."
        },
    )

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _says_something(self, _data, original, **_kwargs):
        # Judged on what was sent, so an invalid answer is reported as invalid, not as missing too.
        if not isinstance(original, Mapping):
            return
        symptoms = original.get("symptoms")
        answered = isinstance(symptoms, Mapping) and any(
            name in _SYMPTOM_NAMES and _given(value) for name, value in symptoms.items()
        )
        if not answered and not _given(original.get("message")):
            raise ValidationError(
                "Describe the pain in 'message' or answer at least one 'symptoms' question.", "message"
            )


def unknown_location_errors(payload: Any, known: Callable[[str], bool]) -> dict[str, list[str]]:
    """The error for a ``preferred_location`` the practice does not have (``known`` says which ids it has)."""
    wanted = payload.get("preferred_location") if isinstance(payload, Mapping) else None
    if isinstance(wanted, str) and wanted.strip() and not known(wanted):
        return {"preferred_location": ["No site with this id; see GET /v1/locations for the practice's sites."]}
    return {}


def _given(value) -> bool:
    """Whether a field was answered at all (blank text, null and empty lists are not answers)."""
    if isinstance(value, str):
        return bool(value.strip())
    return value not in (None, [], {})


# The descriptions of the fields that hold codes: each code with its words, from the one labels table.
STATUS = LABELS.described("status", "Where the inquiry stands.")
URGENCY = LABELS.described("urgency", "How soon a clinician must see the patient.")
ROUTE = LABELS.described("route", "Where the inquiry goes.")
LIKELY_CAUSE = LABELS.described("likely_cause", "The likely cause of the pain.")
HOLD = LABELS.described("hold", "Why staff must read the inquiry before booking (null: nothing held).")
SLOT_TYPE = LABELS.described("slot_type", "The kind of appointment.")


class ReasonSchema(Schema):
    """One line of a decision's explanation."""

    rule = fields.String(
        metadata={
            "example": "R10",
            "description": LABELS.described("reason_rule", "The rulebook's rule (R1, M1, ...), or where else from:"),
        }
    )
    text = fields.String()


class TriageSchema(Schema):
    """The triage decision."""

    urgency = fields.String(metadata={"example": "routine", "description": URGENCY})
    likely_cause = fields.String(metadata={"example": "muscle_strain", "description": LIKELY_CAUSE})
    route = fields.String(metadata={"example": "consult", "description": ROUTE})
    rule = fields.String(metadata={"example": "R10"})
    needs_review = fields.Boolean()
    hold = fields.String(allow_none=True, metadata={"description": HOLD})
    reasons = fields.List(fields.Nested(ReasonSchema))
    rulebook_version = fields.String()


class SlotTimeSchema(Schema):
    """A slot: its type and local start/end (ISO 8601 with the clinic's UTC offset)."""

    id = fields.String()
    slot_type = fields.String(metadata={"example": "consult", "description": SLOT_TYPE})
    start = fields.String(metadata={"example": "2026-11-26T09:00:00-05:00"})
    end = fields.String()
    location = fields.String(
        allow_none=True, metadata={"example": "main", "description": "The practice's site it is at (a location id)"}
    )


class InquiryResponseSchema(Schema):
    """What happened to an inquiry."""

    id = fields.String()
    status = fields.String(metadata={"example": "booked", "description": STATUS})
    language = fields.String(
        allow_none=True, metadata={"example": "es", "description": "en, es, or the code of an unread language"}
    )
    triage = fields.Nested(
        TriageSchema,
        allow_none=True,
        metadata={"description": "In the POST answer, and in GET with a staff token; never without credentials"},
    )
    appointment = fields.Nested(
        SlotTimeSchema,
        allow_none=True,
        metadata={"description": "The booked appointment"},
    )
    proposed_slot = fields.Nested(
        SlotTimeSchema,
        allow_none=True,
        metadata={"description": "In the POST answer, and in GET with a staff token; never without credentials"},
    )
    patient_message = fields.String(
        metadata={"description": "What the patient is told, in their language; it never quotes the inquiry"}
    )
    patient_link = fields.String(
        metadata={
            "description": "In the POST answer only: the patient's own page, a path on this service "
            "(/my/<token>; put the service's public address in front). Signed and expiring "
            "(ROUTING_PATIENT_LINK_DAYS, a day after the appointment, or when the inquiry is closed); it shows "
            "the patient their status and appointment and lets them cancel or ask for another time, so give it "
            "to the patient only.",
            "example": "/my/WyI4ZjE0ZTQ1ZmNlYTE2N2E1YTM2ZGVkZDRiZWE2MDgzIiwxNzY1MDAwMDAwXQ.Xb3p9qk0zq0c4dVnH6aBn2cF0mE",
        }
    )
