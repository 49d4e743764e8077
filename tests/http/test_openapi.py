"""The OpenAPI document is generated from the schemas and a human docs page renders it."""

from __future__ import annotations

import re

from routing.domain.labels import LABELS


def test_openapi_json_is_an_openapi_3_document_with_the_probes(client):
    response = client.get("/openapi.json")

    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.")
    assert spec["info"]["title"] == "routing"
    assert {"/healthz", "/readyz"} <= spec["paths"].keys()
    assert spec["components"]["schemas"]["Readiness"]["properties"]["migrations"]


def test_errors_are_documented_as_problem_json(client):
    spec = client.get("/openapi.json").get_json()

    default_error = spec["components"]["responses"]["DEFAULT_ERROR"]
    assert "application/problem+json" in default_error["content"]
    readyz_503 = spec["paths"]["/readyz"]["get"]["responses"]["503"]
    assert readyz_503["content"]["application/problem+json"]["schema"]["$ref"].endswith("/Problem")


def test_docs_page_loads_swagger_ui_from_this_service(client):
    page = client.get("/docs")

    assert page.status_code == 200
    assert "/openapi.json" in page.get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="(/docs/assets/[^"]+)"', page.get_data(as_text=True))
    assert assets
    for asset in assets:
        assert client.get(asset).status_code == 200, asset


def test_the_intake_webhook_is_documented_for_json_form_and_questionnaire_response_bodies(client):
    spec = client.get("/openapi.json").get_json()

    post = spec["paths"]["/v1/inquiries"]["post"]
    assert set(post["requestBody"]["content"]) == {
        "application/json",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
        "application/fhir+json",
    }
    assert {"200", "201", "202", "400", "401", "409", "413", "415", "422"} <= set(post["responses"])
    assert post["responses"]["422"]["content"]["application/problem+json"]["schema"]["$ref"].endswith("/Problem")
    request_schema = spec["components"]["schemas"]["InquiryRequest"]
    assert {"patient", "symptoms", "message"} <= set(request_schema["properties"])


def test_reading_an_inquiry_is_documented_as_for_staff_only_with_patients_sent_to_their_link(client):
    spec = client.get("/openapi.json").get_json()

    get = spec["paths"]["/v1/inquiries/{inquiry_id}"]["get"]
    assert get["security"] == [{"bearerAuth": []}]
    assert set(get["responses"]) == {"200", "401", "404", "default"}
    assert get["summary"] == "Where an inquiry stands, for staff: the whole outcome."
    assert "only with a staff token" in get["description"]
    assert "A patient sees their inquiry at their own link, ``/my/<token>``" in get["description"]
    response = spec["components"]["schemas"]["InquiryResponse"]["properties"]
    assert response["triage"]["description"] == (
        "In the POST answer, and in GET with a staff token; never without credentials"
    )
    assert response["patient_link"]["description"].startswith("In the POST answer only: the patient's own page")


def test_readyz_documents_its_retry_after(client):
    spec = client.get("/openapi.json").get_json()

    headers = spec["paths"]["/readyz"]["get"]["responses"]["503"]["headers"]
    assert headers == {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}}


#: The fields that hold codes, as (schema, property, kind of code in the labels table).
CODE_FIELDS = [
    ("Triage", "route", "route"),
    ("Triage", "urgency", "urgency"),
    ("Triage", "likely_cause", "likely_cause"),
    ("Triage", "hold", "hold"),
    ("Reason", "rule", "reason_rule"),
    ("InquiryResponse", "status", "status"),
    ("SlotTime", "slot_type", "slot_type"),
    ("Symptoms", "red_flags", "red_flag"),
    ("QueueItem", "status", "status"),
    ("QueueItem", "urgency", "urgency"),
    ("QueueItem", "route", "route"),
    ("QueueItem", "likely_cause", "likely_cause"),
    ("QueueItem", "hold", "hold"),
    ("Decision", "urgency", "urgency"),
    ("Decision", "route", "route"),
    ("Decision", "likely_cause", "likely_cause"),
    ("Decision", "hold", "hold"),
    ("InquiryDetail", "status", "status"),
    ("Appointment", "status", "appointment"),
    ("Appointment", "slot_type", "slot_type"),
    ("FreeSlot", "slot_type", "slot_type"),
    ("OverrideRequest", "route", "route"),
    ("CallbackRequest", "outcome", "outcome"),
    ("WaitlistEntry", "status", "waitlist"),
    ("WaitlistEntry", "urgency", "urgency"),
    ("WaitlistEntry", "route", "route"),
    ("WaitlistEntry", "slot_type", "slot_type"),
    ("WaitlistEntry", "inquiry_status", "status"),
    ("WaitlistOffer", "status", "offer"),
    ("WaitlistOffer", "slot_type", "slot_type"),
    ("RulebookVersion", "state", "rulebook_state"),
    ("RulebookVersionDetail", "state", "rulebook_state"),
]


def test_a_field_holding_codes_describes_each_code_in_the_console_s_words(client):
    schemas = client.get("/openapi.json").get_json()["components"]["schemas"]

    assert schemas["Triage"]["properties"]["route"]["description"] == (
        "Where the inquiry goes. `urgent_review`: urgent clinician review; `consult`: consultation; "
        "`imaging`: imaging (MRI); `injection`: injection."
    )
    assert schemas["Symptoms"]["properties"]["red_flags"]["description"].startswith(
        "Warning signs the patient reports. `bladder_bowel_dysfunction`: bladder or bowel changes; "
        "`saddle_numbness`: numbness around the groin or buttocks; `leg_weakness`: leg weakness; "
    )
    for schema, field, kind in CODE_FIELDS:
        description = schemas[schema]["properties"][field]["description"]
        assert description.endswith(f" {LABELS.described(kind)}"), (schema, field)


def test_a_field_taking_some_codes_of_a_kind_describes_only_those(client):
    schemas = client.get("/openapi.json").get_json()["components"]["schemas"]

    assert schemas["OverrideRequest"]["properties"]["urgency"]["description"] == (
        "Another urgency than triage's. `urgent`: urgent; `soon`: soon; `routine`: routine."
    )
    assert schemas["Handled"]["properties"]["action"]["description"] == (
        "How it was handled. `acknowledge`: acknowledged; `callback`: call-back."
    )
    assert schemas["Handled"]["properties"]["outcome"]["description"] == (
        "The call-back's outcome. `booked`: booked by phone; `referred_to_er`: sent to the emergency department; "
        "`no_answer`: no answer. Null when acknowledged."
    )


def test_the_queue_filters_describe_their_codes_in_words(client):
    parameters = client.get("/openapi.json").get_json()["paths"]["/v1/admin/inquiries"]["get"]["parameters"]
    described = {parameter["name"]: parameter.get("description") for parameter in parameters}

    assert described["status"] == f"Where the inquiry stands. {LABELS.described('status')}"
    assert described["urgency"] == f"How soon a clinician must see the patient. {LABELS.described('urgency')}"
    assert described["route"] == f"Where the inquiry goes. {LABELS.described('route')}"


def test_the_fhir_notification_receiver_is_documented_for_fhir_json_with_a_bearer_token(client):
    spec = client.get("/openapi.json").get_json()

    post = spec["paths"]["/v1/scheduling/fhir-notifications"]["post"]
    assert set(post["requestBody"]["content"]) == {"application/fhir+json", "application/json"}
    assert post["security"] == [{"bearerAuth": []}]
    assert set(post["responses"]) == {"200", "400", "401", "415", "422", "503", "default"}
    answer = spec["components"]["schemas"]["FhirNotificationAnswer"]
    assert set(answer["properties"]) == {"subscription", "type", "results"}


def test_the_waitlist_routes_are_documented_for_staff_with_their_problems(client):
    spec = client.get("/openapi.json").get_json()

    listing = spec["paths"]["/v1/admin/waitlist"]
    entry = spec["paths"]["/v1/admin/waitlist/{entry_id}"]
    answers = {
        ("get", "list"): set(listing["get"]["responses"]),
        ("post", "add"): set(listing["post"]["responses"]),
        ("patch", "change"): set(entry["patch"]["responses"]),
        ("delete", "remove"): set(entry["delete"]["responses"]),
    }
    assert answers == {
        ("get", "list"): {"200", "401", "403", "422", "default"},
        ("post", "add"): {"201", "400", "401", "403", "404", "409", "422", "default"},
        ("patch", "change"): {"200", "400", "401", "403", "404", "409", "422", "default"},
        ("delete", "remove"): {"200", "400", "401", "403", "404", "409", "422", "default"},
    }
    for operation in (listing["get"], listing["post"], entry["patch"], entry["delete"]):
        assert operation["security"] == [{"bearerAuth": []}]
        assert operation["responses"]["409" if "409" in operation["responses"] else "422"]["content"] == {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        }
    removal = {parameter["name"]: parameter["in"] for parameter in entry["delete"]["parameters"]}
    assert removal == {"reason": "query"}
    assert entry["delete"]["requestBody"]["required"] is False
    assert spec["paths"]["/v1/admin/inquiries/{inquiry_id}"]["get"]["responses"]["200"]["content"]["application/json"][
        "schema"
    ]["$ref"].endswith("/InquiryDetail")
    detail = spec["components"]["schemas"]["InquiryDetail"]["properties"]["waitlist"]
    assert detail["items"]["$ref"].endswith("/WaitlistEntry")


def test_the_rulebook_version_routes_are_documented_with_their_problems(client):
    spec = client.get("/openapi.json").get_json()
    paths = spec["paths"]

    answers = {
        "list": set(paths["/v1/admin/rulebooks"]["get"]["responses"]),
        "draft": set(paths["/v1/admin/rulebooks"]["post"]["responses"]),
        "show": set(paths["/v1/admin/rulebooks/{version_id}"]["get"]["responses"]),
        "approve": set(paths["/v1/admin/rulebooks/{version_id}/approve"]["post"]["responses"]),
        "activate": set(paths["/v1/admin/rulebooks/{version_id}/activate"]["post"]["responses"]),
        "rollback": set(paths["/v1/admin/rulebooks/rollback"]["post"]["responses"]),
    }
    assert answers == {
        "list": {"200", "401", "403", "default"},
        "draft": {"201", "400", "401", "403", "422", "default"},
        "show": {"200", "401", "403", "404", "default"},
        "approve": {"200", "400", "401", "403", "404", "409", "422", "default"},
        "activate": {"200", "400", "401", "403", "404", "409", "422", "default"},
        "rollback": {"200", "400", "401", "403", "409", "422", "default"},
    }
    approve = paths["/v1/admin/rulebooks/{version_id}/approve"]["post"]
    assert approve["security"] == [{"bearerAuth": []}]
    assert approve["responses"]["422"]["content"] == {
        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
    }
    acknowledge = spec["components"]["schemas"]["ApproveRequest"]["properties"]["acknowledge_urgent_review_exits"]
    assert acknowledge["description"].startswith("Required as true when the draft's latest finished impact preview")
    detail = spec["components"]["schemas"]["RulebookVersionDetail"]["properties"]
    assert detail["approval"]["anyOf"][0] == {"$ref": "#/components/schemas/Approval"}
