"""Reading a FHIR Subscriptions notification: the Bundle a FHIR server POSTs to a rest-hook endpoint.

Topic-based notifications as the HL7 "Subscriptions R5 Backport" IG defines them for FHIR R4 and R4B:
a Bundle of type ``history`` whose first entry is the subscription status, either

* **R4**: a ``Parameters`` resource (profile ``backport-subscription-status-r4``) with parameters
  ``subscription`` (valueReference), ``status`` and ``type`` (valueCode), and one ``notification-event``
  per event, whose parts are ``event-number`` (valueString), ``timestamp`` and ``focus`` (valueReference);
* **R4B**: a ``SubscriptionStatus`` resource with ``subscription``, ``status``, ``type`` and
  ``notificationEvent[]`` of ``eventNumber`` and ``focus``.

Payload content ``empty`` (no focus), ``id-only`` (a focus reference) and ``full-resource`` (the focus
resource in a later entry) all read the same here: only the status entry is read, never a resource the
notification carries, because the receiver reads every focus back from the server itself.

A focus reference is relative (``Appointment/123``, maybe ``/_history/2``) or absolute under the FHIR
base URL we are configured with; an absolute one anywhere else is refused, so a notification can never
make us fetch from another server. Pure: no I/O, no framework. :func:`parse_notification` returns a
:class:`Notification` or raises :class:`NotificationError` naming every problem by its place in the
Bundle (``entry.0.resource.parameter.notification-event.0.focus``), for a 422 answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

#: Notification types (R5 SubscriptionNotificationType, as the backport uses them).
HANDSHAKE, HEARTBEAT, EVENT_NOTIFICATION = "handshake", "heartbeat", "event-notification"
NOTIFICATION_TYPES = (HANDSHAKE, HEARTBEAT, EVENT_NOTIFICATION, "query-status", "query-event")
#: Subscription statuses (FHIR R4 subscription-status).
SUBSCRIPTION_STATUSES = ("requested", "active", "error", "off", "entered-in-error")

_ID = r"[A-Za-z0-9\-.]{1,64}"
# A relative literal reference: Type/id, maybe versioned.
_RELATIVE = re.compile(rf"(?P<type>[A-Z][A-Za-z]{{1,63}})/(?P<id>{_ID})(?:/_history/{_ID})?")
_SUBSCRIPTION = re.compile(rf"(?:.*/)?Subscription/(?P<id>{_ID})")
# R4 has no int64: event numbers are decimal strings (R4B string, R5 integer64, also a string in JSON).
_EVENT_NUMBER = re.compile(r"[0-9]{1,19}")


class NotificationError(ValueError):
    """The body is not a notification we can read; ``errors`` names each problem by its place."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{where}: {' '.join(problems)}" for where, problems in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class NotificationEvent:
    """One event of a notification: its number in the subscription, and what it is about."""

    number: str
    #: The focus as a relative reference (``Appointment/123``), or None (``empty`` payload).
    focus: str | None = None

    @property
    def focus_type(self) -> str | None:
        """The focus' resource type (``Appointment``), or None."""
        return self.focus.split("/", 1)[0] if self.focus else None


@dataclass(frozen=True)
class Notification:
    """What a notification says: which subscription, what kind, and its events (in the Bundle's order)."""

    #: ``Subscription/<id>``, whatever base the server wrote before it.
    subscription: str
    type: str
    status: str | None = None
    events: tuple[NotificationEvent, ...] = ()


def parse_notification(bundle: Any, base_url: str | None) -> Notification:
    """Read a notification Bundle (parsed JSON); raise NotificationError naming every problem.

    ``base_url`` is the FHIR server's base (ending in ``/``); None refuses every absolute reference.
    """
    errors: dict[str, list[str]] = {}
    status_entry = _status_resource(bundle, errors)
    if status_entry is None:
        raise NotificationError(errors)
    resource, where = status_entry
    reader = _parameters if resource["resourceType"] == "Parameters" else _subscription_status
    fields = reader(resource, where, errors)
    subscription = _subscription_reference(fields["subscription"], fields["subscription_at"], errors)
    kind = _code(fields["type"], fields["type_at"], NOTIFICATION_TYPES, errors, required=True)
    status = _code(fields["status"], fields["status_at"], SUBSCRIPTION_STATUSES, errors, required=False)
    events = []
    for number, number_at, focus, focus_at in fields["events"]:
        event_number = _event_number(number, number_at, errors)
        event_focus = _focus(focus, focus_at, base_url, errors)
        if event_number is not None:
            events.append(NotificationEvent(event_number, event_focus))
    if errors:
        raise NotificationError(errors)
    return Notification(subscription=subscription, type=kind, status=status, events=tuple(events))


def _status_resource(bundle: Any, errors: dict[str, list[str]]) -> tuple[dict[str, Any], str] | None:
    """The first entry's resource (Parameters or SubscriptionStatus) and its place; None when there is none."""
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        errors["resourceType"] = ["Must be Bundle: a FHIR subscription notification is a Bundle."]
        return None
    if bundle.get("type") != "history":
        errors["type"] = [
            "Must be history: an R4 or R4B subscription notification (Subscriptions R5 Backport) is a history "
            "Bundle; R5's subscription-notification Bundles are not accepted."
        ]
    entries = bundle.get("entry")
    if not isinstance(entries, list) or not entries:
        errors["entry"] = ["Must list the subscription status as its first entry."]
        return None
    first = entries[0]
    resource = first.get("resource") if isinstance(first, dict) else None
    if not isinstance(resource, dict) or resource.get("resourceType") not in ("Parameters", "SubscriptionStatus"):
        errors["entry.0.resource"] = [
            "The first entry must be the subscription status: a Parameters resource (R4, profile "
            "backport-subscription-status-r4) or a SubscriptionStatus (R4B)."
        ]
        return None
    return resource, "entry.0.resource"


def _parameters(resource: dict[str, Any], where: str, errors: dict[str, list[str]]) -> dict[str, Any]:
    """The status fields of an R4 backport ``Parameters`` resource, with their places."""
    parameters = resource.get("parameter")
    if not isinstance(parameters, list):
        parameters = []
        errors[f"{where}.parameter"] = ["Must list the subscription status parameters."]
    named: dict[str, list[dict[str, Any]]] = {}
    for parameter in parameters:
        if isinstance(parameter, dict) and isinstance(parameter.get("name"), str):
            named.setdefault(parameter["name"], []).append(parameter)
    at = f"{where}.parameter"

    def single(name: str, value_key: str) -> Any:
        found = named.get(name, [])
        if len(found) > 1:
            errors[f"{at}.{name}"] = ["Must appear at most once."]
        return found[0].get(value_key) if found else None

    events = []
    for index, event in enumerate(named.get("notification-event", [])):
        parts = event.get("part")
        parts = [part for part in parts if isinstance(part, dict)] if isinstance(parts, list) else []
        values = {part.get("name"): part for part in parts}
        event_at = f"{at}.notification-event.{index}"
        number = values.get("event-number", {}).get("valueString")
        focus = values["focus"].get("valueReference") if "focus" in values else None
        events.append((number, f"{event_at}.event-number", focus, f"{event_at}.focus"))
    return {
        "subscription": single("subscription", "valueReference"),
        "subscription_at": f"{at}.subscription",
        "type": single("type", "valueCode"),
        "type_at": f"{at}.type",
        "status": single("status", "valueCode"),
        "status_at": f"{at}.status",
        "events": events,
    }


def _subscription_status(resource: dict[str, Any], where: str, errors: dict[str, list[str]]) -> dict[str, Any]:
    """The status fields of an R4B ``SubscriptionStatus`` resource, with their places."""
    events = []
    notification_events = resource.get("notificationEvent", [])
    if not isinstance(notification_events, list):
        errors[f"{where}.notificationEvent"] = ["Must be a list of events."]
        notification_events = []
    for index, event in enumerate(notification_events):
        event = event if isinstance(event, dict) else {}
        event_at = f"{where}.notificationEvent.{index}"
        events.append((event.get("eventNumber"), f"{event_at}.eventNumber", event.get("focus"), f"{event_at}.focus"))
    return {
        "subscription": resource.get("subscription"),
        "subscription_at": f"{where}.subscription",
        "type": resource.get("type"),
        "type_at": f"{where}.type",
        "status": resource.get("status"),
        "status_at": f"{where}.status",
        "events": events,
    }


def _subscription_reference(value: Any, where: str, errors: dict[str, list[str]]) -> str:
    reference = value.get("reference") if isinstance(value, dict) else None
    match = _SUBSCRIPTION.fullmatch(reference) if isinstance(reference, str) else None
    if match is None:
        errors[where] = ["Must be a reference to the Subscription that sent the notification (Subscription/<id>)."]
        return ""
    return f"Subscription/{match['id']}"


def _code(value: Any, where: str, allowed: tuple[str, ...], errors: dict[str, list[str]], *, required: bool) -> Any:
    if value is None and not required:
        return None
    if value not in allowed:
        errors[where] = [f"Must be one of: {', '.join(allowed)}."]
        return None
    return value


def _event_number(value: Any, where: str, errors: dict[str, list[str]]) -> str | None:
    # A JSON number is taken too: some servers write R4B's string event number as one.
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        value = str(value)
    if not isinstance(value, str) or not _EVENT_NUMBER.fullmatch(value):
        errors[where] = ["Must be the event's number in the subscription: a decimal string such as 7."]
        return None
    return str(int(value))  # "007" and "7" are the same event


def _focus(value: Any, where: str, base_url: str | None, errors: dict[str, list[str]]) -> str | None:
    """The focus as a relative reference; None when there is none (an ``empty`` payload)."""
    if value is None:
        return None
    reference = value.get("reference") if isinstance(value, dict) else None
    if not isinstance(reference, str):
        errors[where] = ["Must be a literal reference (Appointment/123), which we can read from the FHIR server."]
        return None
    relative = reference
    if reference.startswith(("http://", "https://")):
        if base_url is None or not reference.startswith(base_url):
            errors[where] = [
                "An absolute reference must lie under our FHIR server's base URL (FHIR_BASE_URL); references to "
                "any other server are refused."
            ]
            return None
        relative = reference[len(base_url) :]
    match = _RELATIVE.fullmatch(relative)
    if match is None:
        errors[where] = ["Must be a reference such as Appointment/123 (relative, or absolute under FHIR_BASE_URL)."]
        return None
    return f"{match['type']}/{match['id']}"
