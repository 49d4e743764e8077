"""GET / points a visitor at the API docs, the staff console and health: HTML for browsers, JSON for APIs."""

from __future__ import annotations

import re

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_a_browser_gets_a_page_linking_docs_console_and_health(client):
    response = client.get("/", headers={"Accept": BROWSER_ACCEPT})

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert re.findall(r'href="([^"]+)"', response.get_data(as_text=True)) == ["/docs", "/console", "/healthz"]
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")


def test_an_api_client_gets_the_same_links_as_json(client):
    for accept in ("application/json", "*/*", None):
        response = client.get("/", headers={"Accept": accept} if accept else {})

        assert response.status_code == 200
        assert response.mimetype == "application/json"
        assert response.get_json()["links"] == {"docs": "/docs", "console": "/console", "health": "/healthz"}
