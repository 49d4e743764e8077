"""``POST /v1/notify/sms/inbound``: the SMS provider forwards patients' replies to our text messages.

Twilio's incoming-message webhook: a form post (``From``, ``To``, ``Body``, ``MessageSid``, ``AccountSid``, and
``OptOutType`` with Advanced Opt-Out) signed with ``X-Twilio-Signature``, which must match our auth token and the
URL Twilio was given (``ROUTING_PUBLIC_URL`` followed by this path, or the request's own URL without it). STOP
and START are recorded; any other reply is neither read nor kept. The answer is an empty TwiML ``<Response/>``:
the provider itself confirms a STOP or START to the patient.
"""

from __future__ import annotations

from flask import Response, request
from flask_smorest import Blueprint

from routing.adapters.db.types import utcnow
from routing.adapters.notify.sms_http import valid_signature
from routing.http.api import documents_problems
from routing.http.deps import request_session, wiring
from routing.http.problems import Problem
from routing.services.sms_replies import receive_reply

bp = Blueprint("sms_replies", __name__, url_prefix="/v1/notify", description="Patients' replies to text messages")

FORM = "application/x-www-form-urlencoded"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
_FIELDS = {
    "type": "object",
    "properties": {
        "From": {"type": "string", "description": "The patient's number (E.164)"},
        "To": {"type": "string", "description": "Our number"},
        "Body": {"type": "string", "description": "The reply; only a whole-message STOP or START is acted on"},
        "OptOutType": {"type": "string", "enum": ["STOP", "START", "HELP"]},
        "MessageSid": {"type": "string"},
        "AccountSid": {"type": "string"},
    },
    "additionalProperties": {"type": "string"},
}


@bp.post("/sms/inbound")
@bp.doc(
    requestBody={"required": True, "content": {FORM: {"schema": _FIELDS}}},
    security=[{}],
    parameters=[
        {
            "in": "header",
            "name": "X-Twilio-Signature",
            "required": True,
            "schema": {"type": "string"},
            "description": "Base64 HMAC-SHA1 of the URL and the sorted form fields, keyed with the auth token",
        }
    ],
    responses={
        "200": {
            "description": "Received (STOP or START recorded); an empty TwiML answer",
            "content": {"text/xml": {"schema": {"type": "string"}}},
        }
    },
)
@documents_problems(
    bp,
    {
        403: "The X-Twilio-Signature does not sign this request with our auth token",
        404: "Text messages are not set up here (ROUTING_SMS_*)",
        415: "Not a form post (application/x-www-form-urlencoded)",
    },
)
def receive():
    """A patient's reply to one of our text messages: STOP opts their number out of notices, START back in."""
    settings = wiring().settings
    if settings.sms is None:
        raise Problem(404, "Text messages are not set up here (ROUTING_SMS_*).")
    if (request.mimetype or "").lower() != FORM:
        raise Problem(415, "Send the provider's form post (application/x-www-form-urlencoded).")
    url = f"{settings.public_url}{request.full_path.rstrip('?')}" if settings.public_url else request.url
    fields = request.form.to_dict(flat=False)
    if not valid_signature(settings.sms.auth_token, url, fields, request.headers.get("X-Twilio-Signature")):
        raise Problem(403, "The X-Twilio-Signature does not sign this request.", slug="invalid-signature")
    receive_reply(
        request_session(),
        sender=request.form.get("From", ""),
        body=request.form.get("Body", ""),
        opt_out_type=request.form.get("OptOutType"),
        country_code=settings.sms.country_code,
        now=utcnow(),
    )
    return Response(EMPTY_TWIML, mimetype="text/xml")
