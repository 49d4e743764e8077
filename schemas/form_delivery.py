"""``POST /v1/forms/<name>``: what a form builder is told about a submission it delivered.

The request is the builder's own payload (Typeform's JSON, Jotform's multipart, another builder's JSON or form
fields), read by :mod:`routing.adapters.forms`; only the answer is described here.
"""

from __future__ import annotations

from marshmallow import Schema, fields

from schemas.inquiry import STATUS


class FormDeliveryAnswerSchema(Schema):
    """Which inquiry the submission became and where it stands, and nothing more.

    A builder keeps its webhook answers in its delivery log, which clinic staff without access to health data
    may read: so no triage, message or appointment here (staff read those in the console).
    """

    id = fields.String(metadata={"description": "The inquiry the submission became (GET /v1/inquiries/<id>)."})
    status = fields.String(metadata={"example": "booked", "description": STATUS})
