"""Reading FHIR subscription notification Bundles (R4 backport Parameters, R4B SubscriptionStatus): exact results.

The examples follow the Subscriptions R5 Backport IG's own (r4-notification-handshake, -heartbeat, -empty,
-id-only, -full-resource and their R4B twins): the status first, then any resources.
"""

from __future__ import annotations

import copy

import pytest

from routing.adapters.scheduling.fhir_notification import (
    Notification,
    NotificationError,
    NotificationEvent,
    parse_notification,
)

BASE = "https://ehr.example.org/fhir/"
STATUS_PROFILE = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-status-r4"


def r4_status(kind: str, events: list[dict] | None = None, subscription: str = f"{BASE}Subscription/appts") -> dict:
    """An R4 backport status Parameters; ``events`` as {"number": "7", "focus": "Appointment/1"}."""
    parameters = [
        {"name": "subscription", "valueReference": {"reference": subscription}},
        {"name": "topic", "valueCanonical": "https://ehr.example.org/fhir/SubscriptionTopic/appointment-change"},
        {"name": "status", "valueCode": "active"},
        {"name": "type", "valueCode": kind},
        {"name": "events-since-subscription-start", "valueString": "7"},
    ]
    for event in events or []:
        parts = [
            {"name": "event-number", "valueString": event["number"]},
            {"name": "timestamp", "valueInstant": "2026-06-04T14:12:09+02:00"},
        ]
        if "focus" in event:
            parts.append({"name": "focus", "valueReference": {"reference": event["focus"]}})
        parameters.append({"name": "notification-event", "part": parts})
    return {"resourceType": "Parameters", "meta": {"profile": [STATUS_PROFILE]}, "parameter": parameters}


def bundle(status: dict, *resources: dict) -> dict:
    entries = [
        {
            "fullUrl": "urn:uuid:292d3c72-edc1-4d8a-afaa-d85e19c7f563",
            "resource": status,
            "request": {"method": "GET", "url": f"{BASE}Subscription/appts/$status"},
            "response": {"status": "200"},
        }
    ]
    entries += [{"fullUrl": f"{BASE}{r['resourceType']}/{r['id']}", "resource": r} for r in resources]
    return {"resourceType": "Bundle", "type": "history", "timestamp": "2026-06-04T14:12:09+02:00", "entry": entries}


def r4b_status(kind: str, events: list[dict] | None = None) -> dict:
    status = {
        "resourceType": "SubscriptionStatus",
        "status": "active",
        "type": kind,
        "eventsSinceSubscriptionStart": "7",
        "subscription": {"reference": f"{BASE}Subscription/appts"},
        "topic": "https://ehr.example.org/fhir/SubscriptionTopic/appointment-change",
    }
    if events is not None:
        status["notificationEvent"] = [
            {"eventNumber": e["number"], **({"focus": {"reference": e["focus"]}} if "focus" in e else {})}
            for e in events
        ]
    return status


def errors_of(body, base_url: str | None = BASE) -> dict[str, list[str]]:
    with pytest.raises(NotificationError) as refused:
        parse_notification(body, base_url)
    return refused.value.errors


def test_an_r4_handshake_names_its_subscription_and_carries_no_event():
    handshake = r4_status("handshake")
    handshake["parameter"][2]["valueCode"] = "requested"

    assert parse_notification(bundle(handshake), BASE) == Notification("Subscription/appts", "handshake", "requested")


def test_an_r4_heartbeat():
    assert parse_notification(bundle(r4_status("heartbeat")), BASE) == Notification(
        "Subscription/appts", "heartbeat", "active"
    )


def test_an_r4_id_only_event_gives_the_focus_as_a_relative_reference():
    status = r4_status("event-notification", [{"number": "7", "focus": f"{BASE}Appointment/a-1"}])

    assert parse_notification(bundle(status), BASE) == Notification(
        "Subscription/appts", "event-notification", "active", (NotificationEvent("7", "Appointment/a-1"),)
    )


def test_an_r4_full_resource_event_reads_the_status_only_never_the_resource_it_carries():
    status = r4_status("event-notification", [{"number": "8", "focus": "Appointment/a-1/_history/3"}])
    copy_of_it = {"resourceType": "Appointment", "id": "a-1", "status": "cancelled"}

    notification = parse_notification(bundle(status, copy_of_it), BASE)

    assert notification.events == (NotificationEvent("8", "Appointment/a-1"),)
    assert notification.events[0].focus_type == "Appointment"


def test_an_r4_empty_event_has_no_focus():
    status = r4_status("event-notification", [{"number": "9"}])

    assert parse_notification(bundle(status), BASE).events == (NotificationEvent("9", None),)


def test_several_events_keep_their_order_and_numbers_are_read_as_numbers():
    status = r4_status("event-notification", [{"number": "010", "focus": "Slot/s1"}, {"number": "11"}])

    assert parse_notification(bundle(status), BASE).events == (
        NotificationEvent("10", "Slot/s1"),
        NotificationEvent("11", None),
    )


def test_an_r4b_subscription_status_reads_like_the_r4_parameters():
    status = r4b_status("event-notification", [{"number": "7", "focus": "Appointment/a-1"}])

    assert parse_notification(bundle(status), BASE) == Notification(
        "Subscription/appts", "event-notification", "active", (NotificationEvent("7", "Appointment/a-1"),)
    )


def test_an_r4b_event_number_written_as_a_json_number_is_read_too():
    status = r4b_status("event-notification", [{"number": 12, "focus": "Appointment/a-1"}])

    assert parse_notification(bundle(status), BASE).events == (NotificationEvent("12", "Appointment/a-1"),)


def test_query_status_and_query_event_are_read_like_any_other_type():
    assert parse_notification(bundle(r4_status("query-status")), BASE).type == "query-status"
    assert parse_notification(bundle(r4b_status("query-event", [])), BASE).type == "query-event"


def test_an_absolute_focus_outside_our_fhir_server_is_refused():
    status = r4_status("event-notification", [{"number": "7", "focus": "https://evil.example.com/fhir/Appointment/1"}])

    assert errors_of(bundle(status)) == {
        "entry.0.resource.parameter.notification-event.0.focus": [
            "An absolute reference must lie under our FHIR server's base URL (FHIR_BASE_URL); references to any "
            "other server are refused."
        ]
    }


def test_an_absolute_focus_that_only_starts_like_our_base_url_is_refused():
    status = r4_status("event-notification", [{"number": "7", "focus": "https://ehr.example.org/fhir-other/X/1"}])

    assert list(errors_of(bundle(status))) == ["entry.0.resource.parameter.notification-event.0.focus"]


def test_without_a_fhir_server_every_absolute_focus_is_refused():
    status = r4_status("event-notification", [{"number": "7", "focus": f"{BASE}Appointment/1"}])

    assert list(errors_of(bundle(status), base_url=None)) == ["entry.0.resource.parameter.notification-event.0.focus"]


def test_a_bundle_of_another_kind_is_refused_naming_what_is_wrong():
    assert errors_of({"resourceType": "Patient"}) == {
        "resourceType": ["Must be Bundle: a FHIR subscription notification is a Bundle."]
    }
    assert errors_of([1, 2]) == {"resourceType": ["Must be Bundle: a FHIR subscription notification is a Bundle."]}


def test_an_r5_notification_bundle_is_refused_naming_its_type():
    body = bundle(r4b_status("heartbeat"))
    body["type"] = "subscription-notification"

    assert errors_of(body) == {
        "type": [
            "Must be history: an R4 or R4B subscription notification (Subscriptions R5 Backport) is a history "
            "Bundle; R5's subscription-notification Bundles are not accepted."
        ]
    }


def test_a_bundle_without_the_status_first_is_refused():
    empty = {"resourceType": "Bundle", "type": "history", "entry": []}
    appointment_first = bundle({"resourceType": "Appointment", "id": "1", "status": "cancelled"})

    assert errors_of(empty) == {"entry": ["Must list the subscription status as its first entry."]}
    assert errors_of(appointment_first) == {
        "entry.0.resource": [
            "The first entry must be the subscription status: a Parameters resource (R4, profile "
            "backport-subscription-status-r4) or a SubscriptionStatus (R4B)."
        ]
    }


def test_every_problem_of_the_status_is_named_at_once():
    status = r4_status("event-notification", [{"number": "seven", "focus": "urn:uuid:1234"}], subscription="Patient/1")
    status["parameter"][3]["valueCode"] = "tremor"
    status["parameter"][2]["valueCode"] = "sleepy"

    assert errors_of(bundle(status)) == {
        "entry.0.resource.parameter.subscription": [
            "Must be a reference to the Subscription that sent the notification (Subscription/<id>)."
        ],
        "entry.0.resource.parameter.type": [
            "Must be one of: handshake, heartbeat, event-notification, query-status, query-event."
        ],
        "entry.0.resource.parameter.status": ["Must be one of: requested, active, error, off, entered-in-error."],
        "entry.0.resource.parameter.notification-event.0.event-number": [
            "Must be the event's number in the subscription: a decimal string such as 7."
        ],
        "entry.0.resource.parameter.notification-event.0.focus": [
            "Must be a reference such as Appointment/123 (relative, or absolute under FHIR_BASE_URL)."
        ],
    }


def test_a_missing_type_or_subscription_is_named_in_r4b_terms():
    status = r4b_status("heartbeat", [{"focus": "Appointment/1", "number": "1"}])
    del status["type"], status["subscription"]
    status["notificationEvent"][0]["focus"] = {"identifier": {"value": "x"}}

    assert errors_of(bundle(status)) == {
        "entry.0.resource.subscription": [
            "Must be a reference to the Subscription that sent the notification (Subscription/<id>)."
        ],
        "entry.0.resource.type": [
            "Must be one of: handshake, heartbeat, event-notification, query-status, query-event."
        ],
        "entry.0.resource.notificationEvent.0.focus": [
            "Must be a literal reference (Appointment/123), which we can read from the FHIR server."
        ],
    }


def test_a_status_parameter_given_twice_is_refused():
    status = r4_status("heartbeat")
    status["parameter"].append(copy.deepcopy(status["parameter"][3]))

    assert errors_of(bundle(status)) == {"entry.0.resource.parameter.type": ["Must appear at most once."]}
