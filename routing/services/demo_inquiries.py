"""Fill the queue with the example inquiries, through the real intake (stored, triaged, booked or held)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable

from sqlalchemy.orm import Session

from routing.domain.demo_inquiries import demo_body, demo_key
from routing.services.intake import Delivery, receive_inquiry
from routing.services.route_inquiry import Routing
from schemas.inquiry import InquiryRequestSchema

_SCHEMA = InquiryRequestSchema()


def seed_demo_inquiries(*, sessions: Callable[[], Session], routing: Routing, count: int) -> tuple[int, Counter]:
    """Deliver the first ``count`` example inquiries to intake, each under its fixed webhook id.

    Idempotent: an example already delivered is found by its id and left as it is. Returns (how many were
    new, inquiries by status).
    """
    added, statuses = 0, Counter()
    for number in range(1, count + 1):
        payload = demo_body(number)
        raw = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
        delivery = Delivery(demo_key(number), raw, "application/json", payload, _SCHEMA.load(payload))
        with sessions() as session:
            outcome = receive_inquiry(session=session, routing=routing, delivery=delivery)
        added += outcome.created
        statuses[outcome.status] += 1
    return added, statuses
