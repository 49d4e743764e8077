"""``/v1/admin/locations``: the practice's sites. Staff read them; admins add, change and deactivate them
(audited). A change is seen by this process's routing at once, by the others within seconds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_smorest import Blueprint

from routing.domain.vocabulary import StaffRole
from routing.http.api import documents_staff_endpoint
from routing.http.auth import current_staff, staff_required
from routing.http.deps import request_session, wiring
from routing.http.problems import Problem
from routing.services import locations
from schemas.locations import LocationChangeSchema, LocationRequestSchema, LocationSchema

bp = Blueprint("admin_locations", __name__, url_prefix="/v1/admin", description="Staff: the practice's sites")

_BODY_ERRORS = {400: "Malformed body: not valid JSON", 422: "Invalid fields, or a site id or FHIR Location taken"}
_NO_LOCATION = {404: "No such site"}
_LAST = {409: "It is the only active site: add or reactivate another one first"}


def _documented(*statuses: dict[int, str]):
    return documents_staff_endpoint(bp, *statuses)


def _refusals(action: Callable[[], Any]) -> Any:
    """Run a change, mapping its refusals to problems naming the field at fault."""
    try:
        return action()
    except locations.UnknownLocation:
        raise Problem(404, "There is no site with this id.") from None
    except locations.LocationRefused as refused:
        if refused.field == "active":
            raise Problem(409, str(refused), slug="last-active-site") from None
        raise Problem(422, str(refused), slug="validation-error", errors={refused.field: [str(refused)]}) from None


@bp.get("/locations")
@staff_required()
@bp.response(200, LocationSchema(many=True))
@_documented()
def list_locations():
    """Every site, active ones first, as stored (empty address, phone and time zone are the clinic's)."""
    return locations.list_all(request_session())


@bp.post("/locations")
@staff_required(StaffRole.ADMIN)
@bp.arguments(LocationRequestSchema)
@bp.response(201, LocationSchema)
@_documented(_BODY_ERRORS)
def create_location(body):
    """Add a site (admin; audited). Routing books there as soon as it has slots."""
    return _refusals(lambda: locations.create(request_session(), current_staff(), body, wiring().locations))


@bp.get("/locations/<string:location_id>")
@staff_required()
@bp.response(200, LocationSchema)
@_documented(_NO_LOCATION)
def show_location(location_id: str):
    """One site."""
    return _refusals(lambda: locations.get(request_session(), location_id))


@bp.patch("/locations/<string:location_id>")
@staff_required(StaffRole.ADMIN)
@bp.arguments(LocationChangeSchema)
@bp.response(200, LocationSchema)
@_documented(_NO_LOCATION, _LAST, _BODY_ERRORS)
def change_location(changes, location_id: str):
    """Change a site's fields (admin; audited); ``active: true`` brings a deactivated one back."""
    return _refusals(
        lambda: locations.update(request_session(), current_staff(), location_id, changes, wiring().locations)
    )


@bp.delete("/locations/<string:location_id>")
@staff_required(StaffRole.ADMIN)
@bp.response(200, LocationSchema)
@_documented(_NO_LOCATION, _LAST)
def deactivate_location(location_id: str):
    """Deactivate a site (admin; audited): no new booking there; its booked appointments stand. Sites are
    never deleted (slots, appointments and the audit trail name them)."""
    return _refusals(lambda: locations.deactivate(request_session(), current_staff(), location_id, wiring().locations))
