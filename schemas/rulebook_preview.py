"""The admin API's shapes for impact previews (``/v1/admin/rulebooks/{version}/previews``)."""

from __future__ import annotations

from marshmallow import Schema, fields

from schemas.text import InputSchema

STATUS = (
    "`queued` (waiting for a worker), `running` (see `done` of `total`), `done` (the report is in `result`), "
    "`cancelled` or `failed` (see `error`)."
)


class RulebookPreviewRequestSchema(InputSchema):
    """The period whose stored inquiries are replayed; both optional (default: the 90 days before now)."""

    period_start = fields.AwareDateTime(
        metadata={"description": "ISO 8601 with offset, inclusive; default 90 days before period_end"}
    )
    period_end = fields.AwareDateTime(metadata={"description": "ISO 8601 with offset, exclusive; default now"})


class RulebookPreviewSummarySchema(Schema):
    """A preview and its progress."""

    id = fields.String(metadata={"description": "The preview's id"})
    version_id = fields.Integer(metadata={"description": "The rulebook version replayed"})
    version_label = fields.String(allow_none=True, metadata={"description": "That version's own `version`"})
    status = fields.String(metadata={"description": STATUS})
    period_start = fields.String()
    period_end = fields.String()
    total = fields.Integer(allow_none=True, metadata={"description": "Inquiries to replay (known once running)"})
    done = fields.Integer(metadata={"description": "Inquiries replayed so far"})
    requested_at = fields.String()
    requested_by = fields.String()
    started_at = fields.String(allow_none=True)
    finished_at = fields.String(allow_none=True)
    error = fields.String(allow_none=True)


class RulebookPreviewSchema(RulebookPreviewSummarySchema):
    """A preview: its progress, and the report once it is done."""

    result = fields.Dict(
        allow_none=True,
        metadata={
            "description": (
                "The report: `replayed`, `changed`, `urgent_review_exits` (inquiries that would leave urgent_review; "
                "approval then needs an acknowledgement), `urgent_review_entries`, `red_flag_changes` (exits first), "
                "`transitions` (route/urgency from -> to, with counts and sample inquiry ids), `rules` (how often "
                "each rule and modifier fired before and would fire after), `staff_decided` (routes staff set by "
                "hand: counted, not compared)"
            )
        },
    )


class RulebookPreviewListSchema(Schema):
    """A version's previews, newest first (without their reports)."""

    items = fields.List(fields.Nested(RulebookPreviewSummarySchema))
