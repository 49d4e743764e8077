"""``POST /v1/scheduling/events``: changes the scheduling system reports about our appointments."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from routing.domain.vocabulary import SchedulerEventType
from schemas.text import InputSchema, Text

EVENT_TYPES = [event.value for event in SchedulerEventType]


class SchedulerEventSchema(InputSchema):
    """One change to one appointment."""

    type = Text(
        required=True,
        validate=validate.OneOf(EVENT_TYPES, error="Must be one of: {choices}."),
        metadata={"description": "What happened to the appointment."},
    )
    appointment = Text(
        required=True,
        validate=validate.Length(1, 255),
        metadata={
            "description": "The scheduling system's id of the appointment, as we booked it "
            "(FHIR: 'Appointment/123'; embedded scheduler: the slot id).",
            "example": "Appointment/123",
        },
    )
    reason = Text(
        multiline=True,
        validate=validate.Length(max=500),
        metadata={"description": "Why, in the scheduling system's words."},
    )
    occurred_at = fields.AwareDateTime(metadata={"description": "When it happened (ISO 8601 with offset)."})


class AppointmentRefSchema(Schema):
    """An appointment before or after the event."""

    id = fields.String()
    external_id = fields.String()
    slot_type = fields.String()
    start = fields.String()
    status = fields.String()


class SchedulerEventResultSchema(Schema):
    """What routing did about the event (a replayed delivery gets the same answer)."""

    event = fields.String(metadata={"description": "Our id for this event."})
    inquiry = fields.String()
    action = fields.String(
        metadata={
            "description": "rebooked | queued_for_staff | rebook_pending | none (already not booked) | ignored "
            "(a remote scheduling system, read back, does not confirm the event; the note says what it shows)"
        }
    )
    previous_appointment = fields.Nested(AppointmentRefSchema, allow_none=True)
    new_appointment = fields.Nested(AppointmentRefSchema, allow_none=True)
    note = fields.String(allow_none=True)
    replayed = fields.Boolean()
