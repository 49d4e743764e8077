"""Patients' replies to our text messages: STOP records an opt-out for their number, START takes it back.

Nothing else of a reply is kept or read: a reply may say anything about the patient's health, and the messages
ask patients to call instead.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from routing.domain.patient_notices import SMS
from routing.domain.phone_numbers import e164
from routing.domain.sms_keywords import STOP, keyword
from routing.services import opt_outs


def receive_reply(
    session: Session, *, sender: str, body: str, opt_out_type: str | None, country_code: str, now: datetime
) -> str | None:
    """Act on a reply from ``sender``: ``"stop"`` or ``"start"`` when it was one (recorded, audited), else None.
    Commits."""
    action = keyword(body, opt_out_type)
    number = e164(sender, country_code)
    if action is None or number is None:
        return None
    with session.begin():
        opt_outs.set_opt_out(session, SMS, number, opted_out=action == STOP, source=opt_outs.SMS_KEYWORD, now=now)
    return action
