"""The console queue's query string: the admin API's filters, in the words of a web form, and the page."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from routing.domain.vocabulary import InquiryStatus, Route, Urgency
from routing.services.staff_queue import QueueFilter

#: Rows per page: a screenful a person can scan; the pager moves through the rest.
PER_PAGE = 50


class QueueQuerySchema(Schema):
    """``/console/?status=&urgency=&route=&needs_review=&received_from=&received_to=&search=&location=&page=``."""

    class Meta:
        unknown = EXCLUDE  # a stray parameter in a bookmarked link is not an error

    status = fields.String(validate=validate.OneOf([s.value for s in InquiryStatus]))
    urgency = fields.String(validate=validate.OneOf([u.value for u in Urgency]))
    route = fields.String(validate=validate.OneOf([r.value for r in Route]))
    needs_review = fields.String(validate=validate.OneOf(["yes", "no"]))
    #: Days in the clinic's zone, both inclusive (the API's received_after/received_before, as dates).
    received_from = fields.Date()
    received_to = fields.Date()
    page = fields.Integer(validate=validate.Range(min=1))
    #: Part of the patient's name or phone.
    search = fields.String(validate=validate.Length(max=100))
    #: A site's id: inquiries routed there.
    location = fields.String(validate=validate.Length(max=40))


@dataclass(frozen=True)
class QueueQuery:
    """What the queue page shows, the query arguments that keep it, and what was not understood."""

    filters: QueueFilter
    page: int = 1
    #: The filters as they appear in links (only those given and valid), so paging keeps them.
    args: dict[str, str] = field(default_factory=dict)
    #: Parameters that were not understood (and are ignored), by name.
    rejected: tuple[str, ...] = ()


_schema = QueueQuerySchema()


def parse_queue_query(raw: dict[str, str], tz: ZoneInfo) -> QueueQuery:
    """The query from ``raw`` (request.args); bad parameters are dropped and named, never a failure."""
    given = {name: value.strip() for name, value in raw.items() if name in _schema.fields and value.strip()}
    try:
        loaded, rejected = _schema.load(given), ()
    except ValidationError as error:
        loaded, rejected = error.valid_data or {}, tuple(sorted(error.messages))
    frm: date | None = loaded.get("received_from")
    to: date | None = loaded.get("received_to")
    needs_review = loaded.get("needs_review")
    filters = QueueFilter(
        status=loaded.get("status"),
        urgency=loaded.get("urgency"),
        route=loaded.get("route"),
        needs_review=None if needs_review is None else needs_review == "yes",
        received_after=datetime.combine(frm, time(), tz) if frm else None,
        received_before=datetime.combine(to + timedelta(days=1), time(), tz) if to else None,
        search=loaded.get("search"),
        location=loaded.get("location"),
    )
    args = {name: given[name] for name in loaded if name != "page"}
    return QueueQuery(filters=filters, page=loaded.get("page", 1), args=args, rejected=rejected)
