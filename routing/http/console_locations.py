"""``/console/locations``: the practice's sites. Everyone signed in reads them; admins add, change, deactivate
and reactivate them (a staff member posting gets the "for admins" page, 403).

Nested in the console's blueprint, so its sign-in, CSRF check and page policy apply. The admin API's schemas
read the forms (the same rules and messages) and its service makes the changes (audited).
"""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from marshmallow import ValidationError

from routing.domain.vocabulary import SlotType, StaffRole
from routing.http.deps import request_session, wiring
from routing.http.problems import flatten_errors
from routing.services import locations
from schemas.locations import LocationChangeSchema, LocationRequestSchema

bp = Blueprint("locations", __name__)
_new_form = LocationRequestSchema()
_change_form = LocationChangeSchema()
#: The form's text fields, in the order the page shows them (slot types are checkboxes).
_TEXT_FIELDS = ("name", "address", "phone", "time_zone", "postal_code", "latitude", "longitude", "fhir_location")
SLOT_TYPES = tuple(slot_type.value for slot_type in SlotType)


@bp.before_request
def _admins_change():
    # After the console's own guard: g.staff is who signed in. Reading is for everyone.
    if request.method == "POST" and not g.staff.may(StaffRole.ADMIN):
        return render_template("console/admins_only.html", what="Sites are changed by admins"), 403
    return None


@bp.get("/locations")
def sites():
    """Every site, and (for admins) the form to add one."""
    return _list_page()


@bp.post("/locations")
def create():
    """Add a site."""
    raw = _entered(with_id=True)
    try:
        body = _new_form.load({name: value for name, value in raw.items() if value not in ("", None)})
        row = locations.create(request_session(), g.staff, body, wiring().locations)
    except ValidationError as error:
        return _list_page(problems=_words(error.messages), entered=raw), 422
    except locations.LocationRefused as refused:
        return _list_page(problems={refused.field: str(refused)}, entered=raw), 422
    flash(f"Site {row['name']} added.", "success")
    return redirect(url_for("console.locations.site", location_id=row["id"]), 303)


@bp.get("/locations/<string:location_id>")
def site(location_id: str):
    """One site: its settings, and (for admins) the form to change them."""
    try:
        row = locations.get(request_session(), location_id)
    except locations.UnknownLocation:
        return render_template("console/missing.html"), 404
    return _site_page(row)


@bp.post("/locations/<string:location_id>")
def change(location_id: str):
    """Change a site's settings (a blank field falls back to the clinic's)."""
    raw = _entered(with_id=False)
    # A blank field clears it (sent as null); a blank name is kept, to be refused with the name's own message.
    cleared = {name: None if value == "" and name != "name" else value for name, value in raw.items()}
    try:
        body = _change_form.load(cleared)
        locations.update(request_session(), g.staff, location_id, body, wiring().locations)
    except locations.UnknownLocation:
        return render_template("console/missing.html"), 404
    except ValidationError as error:
        return _site_page(locations.get(request_session(), location_id), _words(error.messages), raw), 422
    except locations.LocationRefused as refused:
        return _site_page(locations.get(request_session(), location_id), {refused.field: str(refused)}, raw), 422
    flash("Site changed.", "success")
    return redirect(url_for("console.locations.site", location_id=location_id), 303)


@bp.post("/locations/<string:location_id>/active")
def set_active(location_id: str):
    """Deactivate a site (no new booking there) or bring it back."""
    active = request.form.get("active") == "on"
    try:
        locations.update(request_session(), g.staff, location_id, {"active": active}, wiring().locations)
    except locations.UnknownLocation:
        return render_template("console/missing.html"), 404
    except locations.LocationRefused as refused:
        flash(str(refused), "error")
    else:
        said = "Site active again: routing books there." if active else "Site deactivated: nothing new is booked there."
        flash(said, "success")
    return redirect(url_for("console.locations.site", location_id=location_id), 303)


def _entered(*, with_id: bool) -> dict:
    raw = {name: request.form.get(name, "").strip() for name in _TEXT_FIELDS}
    if with_id:
        raw["id"] = request.form.get("id", "").strip()
    raw["slot_types"] = request.form.getlist("slot_types")
    return raw


def _list_page(problems: dict[str, str] | None = None, entered: dict | None = None) -> str:
    return render_template(
        "console/locations.html",
        sites=locations.list_all(request_session()),
        slot_types=SLOT_TYPES,
        problems=problems or {},
        entered=entered or {"slot_types": list(SLOT_TYPES)},
        may_change=g.staff.may(StaffRole.ADMIN),
    )


def _site_page(row: dict, problems: dict[str, str] | None = None, entered: dict | None = None) -> str:
    shown = {name: "" if row[name] is None else str(row[name]) for name in _TEXT_FIELDS}
    return render_template(
        "console/location.html",
        site=row,
        slot_types=SLOT_TYPES,
        problems=problems or {},
        entered=entered or {**shown, "slot_types": row["slot_types"]},
        may_change=g.staff.may(StaffRole.ADMIN),
    )


def _words(messages) -> dict[str, str]:
    """Each bad field's messages in one line, by the form's field name (``slot_types.1`` is ``slot_types``)."""
    words: dict[str, str] = {}
    for name, said in flatten_errors(messages).items():
        field = name.split(".")[0]
        words[field] = " ".join(filter(None, [words.get(field), *said]))
    return words
