"""The practice's sites: the admin API's request and response shapes, and the public site list."""

from __future__ import annotations

import re
from zoneinfo import available_timezones

from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from routing.domain.phone_numbers import dialable
from routing.domain.vocabulary import SlotType
from schemas.admin import SLOT_TYPE
from schemas.text import InputSchema, Text

_SLOT_TYPES = [slot_type.value for slot_type in SlotType]
#: Every IANA zone this machine knows (read once: the tz database does not change while we run).
_ZONES = frozenset(available_timezones())
#: A site's id: what forms post and staff filter by, so short, lower case and safe in a URL ("north-side").
_SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?")
#: A FHIR Location reference as Schedule.actor holds it (an id is 1 to 64 of these characters, FHIR R4 §2.1.28).
_FHIR_LOCATION = re.compile(r"Location/[A-Za-z0-9\-.]{1,64}")

ID = "A short code of lower-case letters, digits and dashes (e.g. `north-side`): forms post it, filters use it"
SLOT_TYPES = f"The kinds of appointment held here, each once: {', '.join(_SLOT_TYPES)}"
TIME_ZONE = "An IANA time zone (e.g. America/New_York); empty: the clinic's (ROUTING_TIMEZONE)"


def _blank(value: str | None) -> bool:
    return value is None or not value.strip()


def _name(**kwargs) -> Text:
    return Text(
        validate=validate.Length(1, 100, error="Give a name of 1 to 100 characters."),
        metadata={"description": "As patients read it (e.g. North side)"},
        **kwargs,
    )


def _slot_types(**kwargs) -> fields.List:
    return fields.List(
        Text(validate=validate.OneOf(_SLOT_TYPES, error="Must be one of: {choices}.")),
        validate=validate.Length(min=1, max=len(_SLOT_TYPES), error="Choose at least one kind of appointment."),
        metadata={"description": SLOT_TYPES},
        **kwargs,
    )


class LocationChangeSchema(InputSchema):
    """Changes to a site: any of its fields but its id (``active: true`` brings a deactivated one back)."""

    name = _name()
    address = Text(
        allow_none=True,
        validate=validate.Length(max=200),
        metadata={"description": "One line; empty: the clinic's (ROUTING_CLINIC_ADDRESS)"},
    )
    phone = Text(
        allow_none=True,
        validate=validate.Length(max=40),
        metadata={"description": "A number patients can dial; empty: the clinic's (ROUTING_CLINIC_PHONE)"},
    )
    time_zone = Text(allow_none=True, metadata={"description": TIME_ZONE})
    postal_code = Text(allow_none=True, validate=validate.Length(max=16))
    latitude = fields.Float(
        allow_none=True,
        validate=validate.Range(-90, 90, error="A latitude is from -90 to 90 degrees."),
        metadata={"description": "Degrees; with longitude, for the travel radius"},
    )
    longitude = fields.Float(
        allow_none=True,
        validate=validate.Range(-180, 180, error="A longitude is from -180 to 180 degrees."),
        metadata={"description": "Degrees; with latitude, for the travel radius"},
    )
    slot_types = _slot_types()
    fhir_location = Text(
        allow_none=True,
        metadata={"description": "The site in the EHR (Location/12): FHIR slots whose Schedule.actor names it"},
    )
    active = fields.Boolean(metadata={"description": "Routing books here (false: deactivated)"})

    @validates("phone")
    def _phone(self, value: str | None, **_kwargs) -> None:
        if not _blank(value) and not dialable(value):
            raise ValidationError(
                "Not a phone number patients can dial; use digits with spaces, dashes, dots or parentheses, "
                "e.g. +1 (212) 555-0100 or 212-555-0100 ext. 12."
            )

    @validates("time_zone")
    def _zone(self, value: str | None, **_kwargs) -> None:
        if not _blank(value) and value not in _ZONES:
            raise ValidationError("Not a known IANA time zone; use e.g. America/New_York.")

    @validates("fhir_location")
    def _fhir(self, value: str | None, **_kwargs) -> None:
        if not _blank(value) and not _FHIR_LOCATION.fullmatch(value):
            raise ValidationError("Give a FHIR Location reference, e.g. Location/12.")

    @validates("slot_types")
    def _distinct(self, value: list[str], **_kwargs) -> None:
        if len(set(value)) != len(value):
            raise ValidationError("Name each kind of appointment once.")

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _both_coordinates(self, _data, original, **_kwargs) -> None:
        # Read the body as sent: half a point places nothing, and clearing one must clear both.
        if not isinstance(original, dict) or ("latitude" not in original and "longitude" not in original):
            return
        if (original.get("latitude") is None) != (original.get("longitude") is None):
            message = "Give latitude and longitude together (or clear both)."
            raise ValidationError({"latitude": [message], "longitude": [message]})

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _something_to_change(self, _data, original, **_kwargs) -> None:
        if isinstance(original, dict) and not set(original) & set(self.load_fields):
            raise ValidationError("Give at least one field to change.")


class LocationRequestSchema(LocationChangeSchema):
    """A new site: its id, name and kinds of appointment, and any of the other fields."""

    id = Text(required=True, error_messages={"required": "Give the site an id."}, metadata={"description": ID})
    name = _name(required=True, error_messages={"required": "Give the site a name."})
    slot_types = _slot_types(required=True, error_messages={"required": "Choose the kinds of appointment held here."})
    active = fields.Boolean(load_default=True, metadata={"description": "Routing books here (default true)"})

    @validates("id")
    def _slug(self, value: str, **_kwargs) -> None:
        if not _SLUG.fullmatch(value):
            raise ValidationError("Use 1 to 40 lower-case letters, digits and dashes, not starting or ending with one.")


class LocationSchema(Schema):
    """A site as stored (empty address, phone and time zone are the clinic's)."""

    id = fields.String(metadata={"description": ID})
    name = fields.String()
    address = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    time_zone = fields.String(allow_none=True)
    postal_code = fields.String(allow_none=True)
    latitude = fields.Float(allow_none=True)
    longitude = fields.Float(allow_none=True)
    slot_types = fields.List(fields.String(), metadata={"description": SLOT_TYPE})
    fhir_location = fields.String(allow_none=True)
    active = fields.Boolean()
    created_at = fields.String()
    updated_at = fields.String()


class PublicLocationSchema(Schema):
    """An active site as a form shows it: empty fields already filled with the clinic's."""

    id = fields.String(metadata={"description": "Post it as the inquiry's `preferred_location`"})
    name = fields.String()
    address = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    time_zone = fields.String(allow_none=True)
    slot_types = fields.List(fields.String(), metadata={"description": SLOT_TYPE})
