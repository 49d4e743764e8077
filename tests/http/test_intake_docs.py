"""The README stands alone: its example intake body is accepted, and it sends nobody outside the repository."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.http.intake_helpers import add_slots

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text(encoding="utf-8")


def test_the_readmes_example_intake_body_is_accepted_as_it_stands(app, client):
    add_slots(app, "consult", [26, 27])
    example = re.search(r"An intake body .*?```json\n(.*?)```", README, re.DOTALL)
    assert example, "README.md lost its example intake body"

    response = client.post("/v1/inquiries", json=json.loads(example.group(1)))

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["status"] == "booked"


def test_no_document_sends_readers_outside_the_repository():
    documents = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]

    outside = [str(path.relative_to(REPO)) for path in documents if "../shared" in path.read_text(encoding="utf-8")]

    assert outside == []
