"""The patient's own link, ``/my/<token>``: signed, expiring, for one inquiry.

The token is signed with the application's secret (itsdangerous, ``ROUTING_SECRET_KEY``) under a salt of its
own, so it cannot be made up, and no other signature of ours (the form's token, the console's cookie, an
action token below) passes for one. It holds the inquiry's id and when the link was made, nothing else: no
name, no contact, no status. Whoever has the link sees that one inquiry's page, so it goes only to the
patient (the confirmation page after the form, the clinic's messages to them).

A link made at ``now`` works for ``ROUTING_PATIENT_LINK_DAYS`` (:func:`read` checks that). The page's service
(:mod:`routing.services.patient_page`) also refuses it once the inquiry is closed and from a day after its
appointment (:data:`AFTER_APPOINTMENT`): a link in an old email must not keep showing a finished case.

Each change made from the page (cancel, ask for another time, accept or decline a waitlist offer, the times
that do not suit) also needs an *action token*, signed under another salt, made when the confirmation step is
shown: it names the inquiry, the action and, for a cancel, the appointment the patient saw (for an offer's
answer, the offer), and lasts :data:`ACTION_MAX_AGE`. The page sets no cookie, so there is no session for a
forged cross-site post to ride on; the action token makes sure a post is the answer to the step the patient saw
(not a prefetched or replayed request, nor a cancel of an appointment booked since, nor an answer to another
offer).

Without ``ROUTING_SECRET_KEY`` each process signs with a random key of its own: links stop working at a
restart and are not shared between workers. Set it in production (the console needs it too).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from enum import StrEnum

from itsdangerous import BadSignature, URLSafeSerializer

#: Keeps these signatures apart from every other use of the secret.
SALT = "routing.patient-link.v1"
ACTION_SALT = "routing.patient-link.action.v1"
#: Where the patient's pages are served.
PREFIX = "/my/"
#: A link made by a process whose clock runs a little ahead of this one's still works.
CLOCK_SKEW = timedelta(minutes=5)
#: How long after its appointment ends a link still works (to see it, or fetch the calendar file again).
AFTER_APPOINTMENT = timedelta(days=1)
#: How long a confirmation step (cancel, ask for another time) may stay open before it is sent.
ACTION_MAX_AGE = timedelta(hours=1)


class Refused(StrEnum):
    """Why a token does not open a page (the page shows the same to each: nothing is given away)."""

    #: Not a link we made (forged, cut short, another purpose's signature, garbage).
    INVALID = "invalid"
    #: Ours, but older than ROUTING_PATIENT_LINK_DAYS (or made in the future).
    EXPIRED = "expired"


def link_for(secret: str, inquiry_id: uuid.UUID, now: datetime) -> str:
    """The patient's own link for ``inquiry_id``, made ``now``: ``/my/<token>``, a path on this service.

    Messages put the service's public address in front of it.
    """
    return PREFIX + token_for(secret, inquiry_id, now)


def token_for(secret: str, inquiry_id: uuid.UUID, now: datetime) -> str:
    """The token of :func:`link_for` alone."""
    return URLSafeSerializer(secret, salt=SALT).dumps([inquiry_id.hex, int(now.timestamp())])


def read(secret: str, token: str, now: datetime, max_age: timedelta) -> uuid.UUID | Refused:
    """The inquiry id a token was made for, if it is ours and younger than ``max_age``; else why not."""
    try:
        data = URLSafeSerializer(secret, salt=SALT).loads(token)
    except BadSignature:
        return Refused.INVALID
    if not (isinstance(data, list) and len(data) == 2 and isinstance(data[0], str) and type(data[1]) is int):
        return Refused.INVALID
    try:
        inquiry_id = uuid.UUID(hex=data[0])
    except ValueError:
        return Refused.INVALID
    age = now.timestamp() - data[1]
    if age > max_age.total_seconds() or age < -CLOCK_SKEW.total_seconds():
        return Refused.EXPIRED
    return inquiry_id


def action_token(
    secret: str, inquiry_id: uuid.UUID, action: str, now: datetime, target: uuid.UUID | None = None
) -> str:
    """A token allowing ``action`` on ``inquiry_id`` (and on ``target``: the appointment of a cancel, the offer
    of an offer's answer), made ``now``."""
    named = target.hex if target else ""
    return URLSafeSerializer(secret, salt=ACTION_SALT).dumps([inquiry_id.hex, action, named, int(now.timestamp())])


def action_allowed(
    secret: str,
    token: str,
    inquiry_id: uuid.UUID,
    action: str,
    now: datetime,
    target: uuid.UUID | None = None,
) -> bool:
    """Whether ``token`` is an action token of ours for exactly this inquiry, action and target (appointment,
    offer), and is younger than :data:`ACTION_MAX_AGE`."""
    try:
        data = URLSafeSerializer(secret, salt=ACTION_SALT).loads(token)
    except BadSignature:
        return False
    named = target.hex if target else ""
    if not (isinstance(data, list) and len(data) == 4 and type(data[3]) is int):
        return False
    age = now.timestamp() - data[3]
    fresh = -CLOCK_SKEW.total_seconds() <= age <= ACTION_MAX_AGE.total_seconds()
    return data[:3] == [inquiry_id.hex, action, named] and fresh
