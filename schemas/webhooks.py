"""Outbound webhooks' request and response shapes: subscriptions and the outbox's deliveries."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates

from routing.domain.outbound_url import url_problem
from routing.services.outbox import EVENT_TYPES
from routing.services.outbox_dispatch import DELIVERY_STATUSES
from schemas.admin import PageQuerySchema
from schemas.text import InputSchema, Text

EVENT_TYPE = f"One of: {', '.join(EVENT_TYPES)}"
#: The channels an admin may filter deliveries by (email and sms come with the patient-messages channels).
CHANNELS = ("webhook", "alert", "email", "sms")


def _one_of(values) -> validate.OneOf:
    return validate.OneOf(values, error="Must be one of: {choices}.")


class _Url(Text):
    """A receiver's URL: https, or plain http to this machine only (see routing.domain.outbound_url)."""

    def _deserialize(self, value, attr, data, **kwargs):
        url = super()._deserialize(value, attr, data, **kwargs)
        if problem := url_problem(url):
            raise ValidationError(problem)
        return url


def _event_types(**kwargs) -> fields.List:
    return fields.List(
        Text(validate=_one_of(EVENT_TYPES)),
        validate=validate.Length(min=1, max=len(EVENT_TYPES), error="Choose at least one event type."),
        metadata={"description": f"The events to receive. {EVENT_TYPE}"},
        **kwargs,
    )


class SubscriptionRequestSchema(InputSchema):
    """A new webhook subscription."""

    description = Text(
        required=True,
        validate=validate.Length(1, 200),
        metadata={"description": "What receives it, for people (e.g. 'EHR inbox', 'Front desk Slack')"},
    )
    url = _Url(required=True, metadata={"description": "Where events are POSTed: https (plain http only to localhost)"})
    event_types = _event_types(required=True)
    enabled = fields.Boolean(load_default=True)
    include_phi = fields.Boolean(
        load_default=False,
        metadata={
            "description": "Add the patient's name and contact (data.patient) to every event; off by default, "
            "and every change of it is audited"
        },
    )

    @validates("event_types")
    def _distinct(self, value, **_kwargs):
        if len(set(value)) != len(value):
            raise ValidationError("Name each event type once.")


class SubscriptionChangeSchema(SubscriptionRequestSchema):
    """Changes to a subscription: any of its fields."""

    description = Text(validate=validate.Length(1, 200))
    url = _Url()
    event_types = _event_types()
    enabled = fields.Boolean()
    include_phi = fields.Boolean()


class SubscriptionSchema(Schema):
    """A webhook subscription (its secret only in the answers to creation and rotation)."""

    id = fields.String()
    description = fields.String()
    url = fields.String()
    event_types = fields.List(fields.String(), metadata={"description": EVENT_TYPE})
    enabled = fields.Boolean()
    include_phi = fields.Boolean()
    created_at = fields.String()
    updated_at = fields.String()
    previous_secret_until = fields.String(
        allow_none=True, metadata={"description": "After a rotation, the old secret also signs until then"}
    )
    secret = fields.String(
        metadata={"description": "Only in the answer to creation and to rotation: store it now (whsec_...)"}
    )


class DeliveryQuerySchema(PageQuerySchema):
    """Which deliveries to list."""

    channel = Text(validate=_one_of(CHANNELS))
    status = Text(validate=_one_of(DELIVERY_STATUSES))
    subscription_id = fields.UUID(metadata={"description": "A webhook subscription's deliveries"})
    event_type = Text(validate=_one_of(EVENT_TYPES))
    inquiry_id = fields.UUID()


class AttemptSchema(Schema):
    """One attempt in the delivery log."""

    started_at = fields.String()
    latency_ms = fields.Float()
    result = fields.String(metadata={"description": "delivered, failed (retried) or refused (for good)"})
    detail = fields.String(metadata={"description": "The HTTP status, or what went wrong (timeout, tls error...)"})


class DeliverySchema(Schema):
    """One event on its way to one target."""

    id = fields.String()
    event_id = fields.String(metadata={"description": "Also the webhook-id of every attempt"})
    event_type = fields.String()
    inquiry_id = fields.String(allow_none=True)
    occurred_at = fields.String()
    channel = fields.String()
    target = fields.String(metadata={"description": "A subscription id, an on-call recipient..."})
    status = fields.String(metadata={"description": "pending, delivered or dead"})
    attempts = fields.Integer()
    next_attempt_at = fields.String(allow_none=True)
    give_up_at = fields.String(metadata={"description": "Retried until then, dead-lettered after"})
    created_at = fields.String()
    last_attempt_at = fields.String(allow_none=True)
    delivered_at = fields.String(allow_none=True)
    last_result = fields.String(allow_none=True)


class DeliveryDetailSchema(DeliverySchema):
    """A delivery with its event's data and every attempt."""

    event_data = fields.Dict()
    attempt_log = fields.List(fields.Nested(AttemptSchema))


class DeliveryPageSchema(Schema):
    """A page of deliveries, newest first."""

    items = fields.List(fields.Nested(DeliverySchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
