"""The OpenAPI document is generated from the schemas and a human docs page renders it."""

from __future__ import annotations

import re


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


def test_the_intake_webhook_is_documented_for_json_and_form_bodies(client):
    spec = client.get("/openapi.json").get_json()

    post = spec["paths"]["/v1/inquiries"]["post"]
    assert set(post["requestBody"]["content"]) == {
        "application/json",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    }
    assert {"200", "201", "202", "400", "401", "409", "413", "415", "422"} <= set(post["responses"])
    assert post["responses"]["422"]["content"]["application/problem+json"]["schema"]["$ref"].endswith("/Problem")
    request_schema = spec["components"]["schemas"]["InquiryRequest"]
    assert {"patient", "symptoms", "message"} <= set(request_schema["properties"])


def test_reading_an_inquiry_is_documented_as_open_with_more_for_staff(client):
    spec = client.get("/openapi.json").get_json()

    get = spec["paths"]["/v1/inquiries/{inquiry_id}"]["get"]
    assert get["security"] == [{}, {"bearerAuth": []}]
    assert set(get["responses"]) == {"200", "401", "404", "default"}
    assert "only with a staff token" in get["description"]
    triage = spec["components"]["schemas"]["InquiryResponse"]["properties"]["triage"]
    assert triage["description"] == "In the POST answer, and in GET with a staff token; never without credentials"


def test_readyz_documents_its_retry_after(client):
    spec = client.get("/openapi.json").get_json()

    headers = spec["paths"]["/readyz"]["get"]["responses"]["503"]["headers"]
    assert headers == {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}}
