"""FHIR REST calls with their answers mapped, shared by the FHIR scheduler and its booking strategies.

:class:`FhirClient` sits on :class:`~routing.adapters.scheduling.fhir_http.FhirHttp` (timeouts, retries,
circuit breaker: an unreachable server is SchedulerUnavailable there). Here a 2xx answer becomes its JSON
body and any other answer SchedulingRejected naming the call, the HTTP status and the OperationOutcome's
issue codes: never a body or a query string, which can carry patient data.

The small functions below read and write the parts of FHIR resources every FHIR module needs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from routing.adapters.scheduling.interface import SchedulingRejected

if TYPE_CHECKING:
    import requests

    from routing.adapters.scheduling.fhir_http import FhirHttp

#: Appointments in these states hold nothing: a booking key whose appointment ended so may book again.
DEAD_APPOINTMENT = frozenset({"cancelled", "entered-in-error"})
#: Ask for the resource back on create/update (the default on common servers, but not required by FHIR).
RETURN_RESOURCE = {"Prefer": "return=representation"}
# Answers meaning the resource is not there (any more).
_GONE = (404, 410)
# Versioned writes retried after a 409/412 caused by someone else's concurrent edit.
_UPDATE_ATTEMPTS = 3
# FHIR R4 id: 1-64 of [A-Za-z0-9-.]. Checked before an id goes into a URL path.
_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


class FhirClient:
    """Reads, searches, versioned updates and conditional creates on one FHIR R4 server."""

    def __init__(self, http: FhirHttp):
        self.http = http

    @property
    def breaker_state(self) -> str:
        """The HTTP client's circuit breaker: "closed", "half-open" or "open"."""
        return self.http.breaker_state

    def close(self) -> None:
        """Close the HTTP client's connections."""
        self.http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """A raw call, for answers the caller maps itself (conflicts, operations)."""
        return self.http.request(method, path, **kwargs)

    def expect_ok(self, response: requests.Response, what: str) -> dict[str, Any]:
        """The JSON body of a 2xx answer; any other answer is a refusal retrying will not fix."""
        if 200 <= response.status_code < 300:
            try:
                return response.json()
            except ValueError:
                raise SchedulingRejected(f"FHIR {what}: HTTP {response.status_code} without a JSON body") from None
        raise SchedulingRejected(f"FHIR {what} refused: HTTP {response.status_code}{issue_codes(response)}")

    def read(self, path: str) -> dict[str, Any] | None:
        """``GET [base]/<Type>/<id>``; None when the server has no such resource (404, 410)."""
        response = self.http.request("GET", path)
        if response.status_code in _GONE:
            return None
        return self.expect_ok(response, f"read {path.partition('/')[0]}")

    def search(self, resource_type: str, params: Any) -> list[dict[str, Any]]:
        """The resources of ``resource_type`` on the first page of a search (included/outcome entries left out)."""
        bundle = self.expect_ok(self.http.request("GET", resource_type, params=params), f"search {resource_type}")
        return resources_of(bundle, resource_type)

    def put_versioned(self, resource: dict[str, Any]) -> requests.Response:
        """PUT the resource only if the server still has the version we read (409/412 otherwise)."""
        headers = {**RETURN_RESOURCE, "If-Match": f'W/"{resource["meta"]["versionId"]}"'}
        path = f"{resource['resourceType']}/{resource['id']}"
        return self.http.request("PUT", path, json=resource, headers=headers)

    def update_with_retry(
        self, resource: dict[str, Any], change: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> dict[str, Any]:
        """Apply ``change`` with a versioned update, re-reading and re-applying after a concurrent edit."""
        path = f"{resource['resourceType']}/{resource['id']}"
        for _ in range(_UPDATE_ATTEMPTS):
            response = self.put_versioned(change(resource))
            if response.status_code not in (409, 412):
                return self.expect_ok(response, f"update {resource['resourceType']}")
            resource = self.expect_ok(self.http.request("GET", path), f"read {resource['resourceType']}")
        raise SchedulingRejected(f"{path} kept changing while being updated")

    def conditional_create(self, resource: dict[str, Any], criteria: str) -> dict[str, Any]:
        """POST with If-None-Exist: 201 made it, 200 found the one an earlier attempt made."""
        headers = {**RETURN_RESOURCE, "If-None-Exist": criteria}
        kind = resource["resourceType"]
        return self.expect_ok(self.http.request("POST", kind, json=resource, headers=headers), f"create {kind}")


# ---------------------------------------------------------------------- reading resources


def resources_of(bundle: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    """The entries of ``bundle`` that are ``resource_type`` resources."""
    resources = (entry.get("resource") or {} for entry in bundle.get("entry", []))
    return [resource for resource in resources if resource.get("resourceType") == resource_type]


def next_link(bundle: dict[str, Any]) -> str | None:
    """The URL of a search Bundle's next page, if it has one."""
    return next((link.get("url") for link in bundle.get("link", []) if link.get("relation") == "next"), None)


def identifier_value(resource: dict[str, Any], system: str) -> str | None:
    """The value of the resource's identifier in ``system``, if it has one."""
    return next((i.get("value") for i in resource.get("identifier", []) if i.get("system") == system), None)


def slot_references(appointment: dict[str, Any]) -> list[str]:
    """The ``Slot/<id>`` references an Appointment holds."""
    return [ref["reference"] for ref in appointment.get("slot", []) if ref.get("reference")]


def participant_actors(appointment: dict[str, Any]) -> list[str]:
    """The references of an Appointment's participants (``Patient/1``, ``Location/2``...), not display-only ones."""
    actors = ((participant.get("actor") or {}).get("reference") for participant in appointment.get("participant", []))
    return [actor for actor in actors if actor]


def reference_id(resource_type: str, reference: str) -> str | None:
    """The id in ``<Type>/<id>`` (or a bare id); None for another type or a malformed id."""
    kind, _, rest = reference.rpartition("/")
    if kind and kind != resource_type:
        return None
    return rest if _FHIR_ID.fullmatch(rest) else None


def instant(moment: datetime) -> str:
    """A FHIR instant in UTC; naive datetimes are refused (the server would read them as its local time)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("FHIR search times must be timezone-aware")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_instant(value: Any) -> datetime:
    """A FHIR instant as an aware datetime (FHIR requires the offset on Slot and Appointment times)."""
    if not isinstance(value, str):
        raise SchedulingRejected("FHIR resource without start/end time")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise SchedulingRejected("FHIR time without a timezone offset")
    return moment


def now() -> str:
    """Now as a FHIR dateTime (for ``authoredOn`` and ``created``)."""
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def issue_codes(response: requests.Response) -> str:
    """OperationOutcome issue codes (coded, so free of patient data; diagnostics text may not be)."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict) or body.get("resourceType") != "OperationOutcome":
        return ""
    codes = sorted({str(issue.get("code")) for issue in body.get("issue", []) if issue.get("code")})
    return f" ({', '.join(codes)})" if codes else ""
