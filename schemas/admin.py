"""The staff admin API's request and response shapes."""

from __future__ import annotations

import uuid
from datetime import datetime

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from routing.domain.labels import LABELS
from routing.domain.vocabulary import (
    CallbackOutcome,
    InquiryStatus,
    Route,
    SlotType,
    StaffRole,
    Urgency,
    WaitlistStatus,
)
from routing.services import keyset
from schemas.inquiry import HOLD, LIKELY_CAUSE, ROUTE, SLOT_TYPE, STATUS, URGENCY
from schemas.text import InputSchema, Text

_STATUSES = [s.value for s in InquiryStatus]
_URGENCIES = [u.value for u in Urgency]
_ROUTES = [r.value for r in Route]
_OUTCOMES = [outcome.value for outcome in CallbackOutcome]
_OVERRIDE_URGENCIES = [u for u in _URGENCIES if u != "emergency"]
OUTCOME = LABELS.described("outcome", "The call-back's outcome.")
_SLOT_TYPES = [s.value for s in SlotType]
_WAITLIST_STATUSES = [s.value for s in WaitlistStatus]
WAITLIST_STATUS = LABELS.described("waitlist", "Where the waitlist entry stands (`waiting` and `offered` are live).")
OFFER_STATUS = LABELS.described("offer", "Where the offer stands (`holding`, `open` and `booking` are live).")


def _one_of(values) -> validate.OneOf:
    return validate.OneOf(values, error="Must be one of: {choices}.")


class PageQuerySchema(InputSchema):
    """Page-based pagination."""

    # Bounded so the row offset always fits the database's 64-bit integers (unbounded, a huge page was a 500).
    page = fields.Integer(load_default=1, validate=validate.Range(1, 1_000_000))
    per_page = fields.Integer(load_default=25, validate=validate.Range(1, 100))


def _cursor(*kinds: type):
    """A keyset cursor (a previous page's ``next_cursor``) for a list sorted by values of these kinds."""

    def valid(value: str) -> None:
        try:
            keyset.decode(value, *kinds)
        except keyset.BadCursor:
            raise ValidationError("Not a cursor of this list: pass next_cursor from the previous page.") from None

    return Text(
        validate=[validate.Length(1, 200), valid],
        metadata={
            "description": "The page after this one: `next_cursor` of the previous page. Costs the same however far "
            "into the list (a page number skips every row before it); `page` may not be given with it."
        },
    )


class _KeysetQuerySchema(PageQuerySchema):
    @validates_schema(pass_original=True)
    def _page_or_cursor(self, data, original, **kwargs):
        if data.get("cursor") is not None and "page" in original:
            raise ValidationError("Give a page or a cursor, not both.", "page")


class QueueQuerySchema(_KeysetQuerySchema):
    """Queue filters; all optional."""

    status = Text(validate=_one_of(_STATUSES), metadata={"description": STATUS})
    urgency = Text(validate=_one_of(_URGENCIES), metadata={"description": URGENCY})
    route = Text(validate=_one_of(_ROUTES), metadata={"description": ROUTE})
    needs_review = fields.Boolean()
    received_after = fields.AwareDateTime(metadata={"description": "ISO 8601 with offset, inclusive"})
    received_before = fields.AwareDateTime(metadata={"description": "ISO 8601 with offset, exclusive"})
    search = Text(
        validate=validate.Length(1, 100),
        metadata={"description": "Part of the patient's name or phone (any case; a phone by its digits). Not indexed."},
    )
    location = Text(
        validate=validate.Length(1, 40),
        metadata={
            "description": "A site's id (GET /v1/admin/locations): inquiries routed there (their booked or proposed "
            "slot's site, else the site the patient chose)"
        },
    )
    cursor = _cursor(int, datetime, uuid.UUID)


class AuditQuerySchema(_KeysetQuerySchema):
    """Audit log filters."""

    inquiry_id = fields.UUID()
    actor = Text(validate=validate.Length(max=120))
    action = Text(validate=validate.Length(max=64))
    cursor = _cursor(datetime, int)


class SlotQuerySchema(InputSchema):
    """Which free slots to list."""

    slot_type = Text(
        required=True, validate=_one_of(["consult", "imaging", "injection"]), metadata={"description": SLOT_TYPE}
    )
    limit = fields.Integer(load_default=10, validate=validate.Range(1, 50))
    location = Text(validate=validate.Length(1, 40), metadata={"description": "A site's id: its slots only"})


REASON_ERROR = "Give a reason of 3 to 1000 characters."


class _Reason(Text):
    def __init__(self, required: bool = True, **kwargs):
        super().__init__(
            multiline=True,
            required=required,
            error_messages={"required": REASON_ERROR},
            validate=validate.Length(3, 1000, error=REASON_ERROR),
            metadata={"description": "Why; kept in the audit trail."},
            **kwargs,
        )


class OverrideRequestSchema(InputSchema):
    """A new route, with a required reason; optionally a specific slot or another urgency."""

    route = Text(
        required=True,
        error_messages={"required": "Choose a route."},
        validate=_one_of(_ROUTES),
        metadata={"description": ROUTE},
    )
    reason = _Reason()
    slot_id = Text(validate=validate.Length(1, 255), metadata={"description": "A free slot's id"})
    urgency = Text(
        validate=_one_of(_OVERRIDE_URGENCIES),
        metadata={"description": LABELS.described("urgency", "Another urgency than triage's.", _OVERRIDE_URGENCIES)},
    )
    location = Text(
        validate=validate.Length(1, 40),
        metadata={
            "description": "An active site's id: book there (the earliest free slot at that site, or the chosen "
            "slot_id, which must be there). Without it: the earliest at any site. An unknown site is refused (422)."
        },
    )


class CancelRequestSchema(InputSchema):
    """Cancel the current appointment."""

    reason = _Reason()


class CallbackRequestSchema(InputSchema):
    """The outcome of a clinician's call-back on an urgent_review inquiry."""

    outcome = Text(
        required=True,
        error_messages={"required": "Choose the call-back's outcome."},
        validate=_one_of(_OUTCOMES),
        metadata={"description": OUTCOME},
    )
    note = Text(multiline=True, validate=validate.Length(max=1000))


class AcknowledgeRequestSchema(InputSchema):
    """Mark an open emergency or urgent review as handled (it stops being "call now")."""

    note = Text(multiline=True, validate=validate.Length(max=1000))


def _priority() -> fields.Integer:
    return fields.Integer(
        strict=True,
        validate=validate.Range(1, 99, error="Give a whole number from 1 (offered first) to 99 (last)."),
        metadata={
            "description": "1 (offered first) to 99 (last); an entry joins at 20 (urgent), 40 (soon), 60 (routine)"
        },
    )


def _unavailable_times() -> fields.List:
    # 5 of at most 95 characters fit the entry's 500 (one per line).
    return fields.List(
        Text(validate=validate.Length(1, 95)),
        validate=validate.Length(max=5, error="At most 5 entries."),
        metadata={
            "description": 'Days or times that do not suit the patient ("Mondays", "before 10am"), as on the intake; '
            "each must be readable (no slot is offered at a time read here). An empty list: none."
        },
    )


class WaitlistQuerySchema(PageQuerySchema):
    """Which waitlist entries to list: live ones (waiting or offered) unless ``status`` says otherwise."""

    slot_type = Text(validate=_one_of(_SLOT_TYPES), metadata={"description": SLOT_TYPE})
    status = Text(validate=_one_of(_WAITLIST_STATUSES), metadata={"description": WAITLIST_STATUS})


class WaitlistAddRequestSchema(InputSchema):
    """Put an inquiry waiting for staff on the waitlist of its route, with a reason."""

    inquiry_id = fields.UUID(required=True, error_messages={"required": "Name the inquiry."})
    reason = _Reason()
    priority = _priority()
    unavailable_times = _unavailable_times()
    window_end = fields.AwareDateTime(
        metadata={"description": "ISO 8601 with offset; no slot after it is offered. Default: the urgency's window"}
    )


class WaitlistChangeRequestSchema(InputSchema):
    """Reprioritise an entry and/or restate the patient's unavailable times, with a reason."""

    reason = _Reason()
    priority = _priority()
    unavailable_times = _unavailable_times()

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _something_to_change(self, _data, original, **_kwargs):
        # Read the body as sent: a field given but invalid has its own message already.
        if isinstance(original, dict) and "priority" not in original and "unavailable_times" not in original:
            message = "Give a priority, unavailable_times, or both."
            raise ValidationError({"priority": [message], "unavailable_times": [message]})


class WaitlistRemoveRequestSchema(InputSchema):
    """Why the entry is taken off the waitlist: in the JSON body (as a cancel's) or the query string."""

    reason = _Reason(required=False)


class TokenRequestSchema(InputSchema):
    """A new staff token."""

    name = Text(required=True, validate=validate.Length(1, 120))
    role = Text(required=True, validate=_one_of([r.value for r in StaffRole]))
    expires_in_days = fields.Integer(
        validate=validate.Range(1, 3650),
        metadata={"description": "The token stops working this many days from now; without it, when revoked"},
    )


class AppointmentSchema(Schema):
    """An appointment held for an inquiry."""

    id = fields.String()
    slot_type = fields.String(metadata={"description": SLOT_TYPE})
    start = fields.String()
    end = fields.String()
    status = fields.String(metadata={"description": LABELS.described("appointment", "The appointment's state.")})
    scheduler = fields.String()
    external_id = fields.String(allow_none=True)
    slot_id = fields.String(allow_none=True)
    location = fields.String(allow_none=True, metadata={"description": "The site's id (GET /v1/admin/locations)"})
    cancelled_at = fields.String(allow_none=True)
    cancel_reason = fields.String(allow_none=True)


class HandledSchema(Schema):
    """Who handled an emergency or urgent review, and when: a call-back that reached the patient, or an
    acknowledgement."""

    by = fields.String()
    at = fields.String()
    action = fields.String(
        metadata={"description": LABELS.described("action", "How it was handled.", ["acknowledge", "callback"])}
    )
    outcome = fields.String(allow_none=True, metadata={"description": OUTCOME + " Null when acknowledged."})


class QueueItemSchema(Schema):
    """One inquiry in the queue."""

    id = fields.String()
    received_at = fields.String()
    status = fields.String(metadata={"description": STATUS})
    status_detail = fields.String(allow_none=True)
    patient_name = fields.String()
    urgency = fields.String(allow_none=True, metadata={"description": URGENCY})
    route = fields.String(allow_none=True, metadata={"description": ROUTE})
    likely_cause = fields.String(allow_none=True, metadata={"description": LIKELY_CAUSE})
    needs_review = fields.Boolean(allow_none=True)
    hold = fields.String(allow_none=True, metadata={"description": HOLD})
    language = fields.String(allow_none=True, metadata={"example": "es"})
    rule = fields.String(allow_none=True)
    location = fields.String(
        allow_none=True,
        metadata={"description": "The site it is routed to: its booked or proposed slot's, else the one chosen"},
    )
    appointment = fields.Nested(AppointmentSchema, allow_none=True)
    handled = fields.Nested(HandledSchema, allow_none=True)


class _PageSchema(Schema):
    """Where a page sits: its number, its size, and how many items match in all."""

    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()


class _KeysetPageSchema(_PageSchema):
    total = fields.Integer(
        metadata={"description": f"How many match, counted up to {keyset.COUNT_LIMIT:,} (then `total_capped`)"}
    )
    total_capped = fields.Boolean(
        metadata={"description": f"More than {keyset.COUNT_LIMIT:,} match: counting stopped there"}
    )
    next_cursor = fields.String(
        allow_none=True, metadata={"description": "Pass as `cursor` for the next page; null on the last page"}
    )


class QueuePageSchema(_KeysetPageSchema):
    """A page of the queue."""

    items = fields.List(fields.Nested(QueueItemSchema))


class DecisionSchema(Schema):
    """A triage decision as stored."""

    id = fields.String()
    urgency = fields.String(metadata={"description": URGENCY})
    likely_cause = fields.String(metadata={"description": LIKELY_CAUSE})
    route = fields.String(metadata={"description": ROUTE})
    rule = fields.String()
    needs_review = fields.Boolean()
    hold = fields.String(allow_none=True, metadata={"description": HOLD})
    reasons = fields.List(fields.Dict())
    rulebook_version = fields.String()
    created_at = fields.String()
    superseded_at = fields.String(allow_none=True)


class AuditEventSchema(Schema):
    """One audit event."""

    id = fields.Integer()
    at = fields.String()
    actor = fields.String()
    actor_id = fields.String(allow_none=True)
    action = fields.String()
    inquiry_id = fields.String(allow_none=True)
    details = fields.Dict()
    reason = fields.String(allow_none=True)


class WaitlistOfferSchema(Schema):
    """A slot offered to a waitlist entry."""

    id = fields.String()
    status = fields.String(metadata={"description": OFFER_STATUS})
    slot_type = fields.String(metadata={"description": SLOT_TYPE})
    start = fields.String()
    end = fields.String()
    direct = fields.Boolean(metadata={"description": "Booked without asking (an urgent entry, if the clinic allows)"})
    offered_at = fields.String()
    expires_at = fields.String(metadata={"description": "The patient may accept until then"})
    seconds_left = fields.Integer(allow_none=True, metadata={"description": "Until it expires; null once it ended"})
    answered_at = fields.String(allow_none=True)


class WaitlistEntrySchema(Schema):
    """An inquiry waiting for a slot to free up inside its urgency window."""

    id = fields.String()
    inquiry_id = fields.String()
    patient_name = fields.String()
    inquiry_status = fields.String(metadata={"description": STATUS})
    route = fields.String(metadata={"description": ROUTE})
    slot_type = fields.String(metadata={"description": SLOT_TYPE})
    urgency = fields.String(metadata={"description": URGENCY})
    priority = fields.Integer(metadata={"description": "Lower is offered first (1..99)"})
    status = fields.String(metadata={"description": WAITLIST_STATUS})
    joined_at = fields.String()
    window_end = fields.String(metadata={"description": "No slot starting after it is offered"})
    waited_seconds = fields.Integer(metadata={"description": "Time on the list: until now, or until it closed"})
    unavailable_times = fields.List(fields.String())
    unavailable_times_readable = fields.Boolean(
        allow_none=True,
        metadata={"description": "False: some could not be read, and nothing is offered until staff restate them"},
    )
    proposed_slot = fields.Dict(allow_none=True, metadata={"description": "The later slot proposed on joining"})
    unanswered = fields.Integer(metadata={"description": "Offers that ran out unanswered"})
    closed_at = fields.String(allow_none=True)
    close_reason = fields.String(allow_none=True)
    offer = fields.Nested(WaitlistOfferSchema, allow_none=True, metadata={"description": "Its live offer, if any"})
    offers = fields.List(
        fields.Nested(WaitlistOfferSchema), metadata={"description": "Every offer, oldest first (inquiry detail only)"}
    )


class WaitlistPageSchema(_PageSchema):
    """A page of the waitlist."""

    items = fields.List(fields.Nested(WaitlistEntrySchema))


class TextRemovedSchema(Schema):
    """When an inquiry's free text was removed under the retention policy, and what staff are shown instead."""

    at = fields.String(metadata={"description": "When the text was removed (ISO 8601, UTC)"})
    note = fields.String(
        metadata={
            "example": "Text removed after 365 days under the retention policy; the facts and decisions read "
            "from it are kept."
        }
    )


class InquiryDetailSchema(Schema):
    """Everything about one inquiry."""

    id = fields.String()
    etag = fields.String(metadata={"description": "Send it back in If-Match to change the inquiry"})
    status = fields.String(metadata={"description": STATUS})
    status_detail = fields.String(allow_none=True)
    language = fields.String(allow_none=True, metadata={"description": "en, es, or an unread language's code"})
    received_at = fields.String()
    updated_at = fields.String()
    location = fields.String(
        allow_none=True,
        metadata={"description": "The site it is routed to: its booked or proposed slot's, else the one chosen"},
    )
    patient = fields.Dict()
    message = fields.String(allow_none=True, metadata={"description": "The patient's words; null once removed"})
    text_removed = fields.Nested(
        TextRemovedSchema,
        allow_none=True,
        metadata={"description": "Set once the patient's free text was removed (ROUTING_RETENTION_TEXT_DAYS)"},
    )
    symptoms = fields.Dict()
    preferred_times = fields.List(fields.String())
    patient_message = fields.String(allow_none=True)
    facts = fields.Dict()
    evidence = fields.List(fields.Dict(), metadata={"description": "Each fact, its value, and where it came from"})
    decision = fields.Nested(DecisionSchema, allow_none=True)
    handled = fields.Nested(HandledSchema, allow_none=True)
    earlier_decisions = fields.List(fields.Nested(DecisionSchema))
    appointments = fields.List(fields.Nested(AppointmentSchema))
    referrals = fields.List(fields.Dict())
    proposed_slot = fields.Dict(allow_none=True)
    booking = fields.Dict()
    waitlist = fields.List(
        fields.Nested(WaitlistEntrySchema), metadata={"description": "Its waitlist entries, newest first"}
    )
    audit = fields.List(fields.Nested(AuditEventSchema))


class RetriagePreviewSchema(Schema):
    """The decision in force and what the current rulebook decides now."""

    current = fields.Nested(DecisionSchema, allow_none=True)
    proposed = fields.Dict()
    changed = fields.Boolean()
    etag = fields.String()


class RetriageAppliedSchema(Schema):
    """The decision put in force."""

    to = fields.Dict()
    from_ = fields.Dict(attribute="from", data_key="from", allow_none=True)
    rulebook_version = fields.String()
    route_changed = fields.Boolean()


class AuditPageSchema(_KeysetPageSchema):
    """A page of the audit log, newest first."""

    items = fields.List(fields.Nested(AuditEventSchema))


class TokenSchema(Schema):
    """A staff token (never the token itself, except once, at creation)."""

    id = fields.String()
    name = fields.String()
    role = fields.String()
    created_at = fields.String()
    revoked_at = fields.String(allow_none=True)
    expires_at = fields.String(allow_none=True, metadata={"description": "None: valid until revoked"})
    last_used_at = fields.String(allow_none=True, metadata={"description": "Written at most once a minute"})
    token = fields.String(metadata={"description": "Only in the answer to creation; store it now"})


class FreeSlotSchema(Schema):
    """A free slot staff can choose in an override."""

    id = fields.String()
    slot_type = fields.String(metadata={"description": SLOT_TYPE})
    start = fields.String()
    end = fields.String()
    location = fields.String(allow_none=True, metadata={"description": "The site's id; null: not known"})


class RulebookSchema(Schema):
    """The rulebook in force."""

    version = fields.String()
    policy = fields.String(allow_none=True)
    urgency_windows_days = fields.Raw(metadata={"description": "days per urgency (null: no booking)"})
    rules = fields.Raw(metadata={"description": "the ordered rules, as in the rulebook file"})
    modifiers = fields.Raw(metadata={"description": "the urgency modifiers, in order"})
    terms = fields.Raw(metadata={"description": "named conditions the rules use"})


class DryRunSchema(Schema):
    """What triage decides for a body, without storing or booking anything."""

    triage = fields.Dict()
    facts = fields.Dict()
    evidence = fields.List(fields.Dict())
