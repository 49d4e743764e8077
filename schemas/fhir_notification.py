"""``POST /v1/scheduling/fhir-notifications``: what routing did about a FHIR subscription notification.

The request is a FHIR Bundle, read by :mod:`routing.adapters.scheduling.fhir_notification` (FHIR's own
structure, not a schema of ours); only the answer is described here.
"""

from __future__ import annotations

from marshmallow import Schema, fields


class FhirNotificationResultSchema(Schema):
    """What was done about one appointment an event concerns (or about an event that names none)."""

    event_number = fields.String(metadata={"description": "The event's number in the subscription."})
    focus = fields.String(
        allow_none=True,
        metadata={"description": "The event's focus, as a relative reference; null for an empty payload."},
    )
    appointment = fields.String(allow_none=True, metadata={"description": "Our appointment it concerns, if any."})
    action = fields.String(
        metadata={
            "description": "rebooked | queued_for_staff | rebook_pending (acted on) | none (nothing to do) | "
            "ignored (not ours, or not an appointment or slot); the note says why"
        }
    )
    note = fields.String(allow_none=True)
    inquiry = fields.String(allow_none=True)
    replayed = fields.Boolean(metadata={"description": "A redelivered event: the answer given the first time."})


class FhirNotificationAnswerSchema(Schema):
    """The notification as read, and what was done about each of its events."""

    subscription = fields.String(metadata={"description": "The Subscription that sent it (Subscription/<id>)."})
    type = fields.String(
        metadata={"description": "handshake | heartbeat | event-notification | query-status | query-event"}
    )
    results = fields.List(fields.Nested(FhirNotificationResultSchema))
