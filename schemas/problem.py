"""RFC 9457 problem details, as documented in the OpenAPI spec."""

from marshmallow import Schema, fields


class ProblemSchema(Schema):
    """An error response (``application/problem+json``)."""

    type = fields.String(metadata={"description": "URI identifying the kind of problem", "example": "about:blank"})
    title = fields.String(metadata={"description": "Short summary of the kind of problem"})
    status = fields.Integer(metadata={"description": "HTTP status code"})
    detail = fields.String(metadata={"description": "What went wrong here and how to fix it"})
    instance = fields.String(metadata={"description": "The request path"})
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "Validation messages by dotted field path, e.g. 'patient.email'"},
    )
    error_id = fields.String(metadata={"description": "For 500s: quote it when reporting the failure"})
    proposed_slot = fields.Dict(
        metadata={
            "description": "For a staff override refused for want of a slot in the window: the earliest free one "
            "(id, slot_type, start, end)"
        }
    )
