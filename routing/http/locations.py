"""``GET /v1/locations``: the practice's active sites, for forms to offer "where would you like to be seen"."""

from __future__ import annotations

from flask_smorest import Blueprint

from routing.http.deps import wiring
from schemas.locations import PublicLocationSchema

bp = Blueprint("locations", __name__, url_prefix="/v1", description="The practice's sites (public)")


@bp.get("/locations")
@bp.response(200, PublicLocationSchema(many=True))
def active_locations():
    """The active sites, by id: what a form posts as ``preferred_location``, with each site's name, address,
    phone, time zone (the clinic's where a site has none of its own) and the kinds of appointment it offers.
    No sign-in: this is what the practice tells patients anyway. Read from a per-process copy, seconds old."""
    directory = wiring().locations
    return [
        {
            "id": site.id,
            "name": site.name,
            "address": site.address,
            "phone": site.phone,
            "time_zone": site.time_zone,
            "slot_types": sorted(site.slot_types),
        }
        for site in (directory.sites() if directory is not None else ())
    ]
