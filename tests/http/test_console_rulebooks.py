"""The console's rulebook pages through the test client, on SQLite and PostgreSQL: the versions list, a new draft
(an edited copy), the side-by-side diff, an impact preview's progress and report with its heat map, approval with
the acknowledgement, activation and rollback; admins only for the changes (the browser suite drives it end to end).
"""

from __future__ import annotations

import html
import json
import re

import pytest

from routing import create_app
from tests.conftest import settings_for
from tests.http.admin_helpers import make_token
from tests.http.preview_helpers import (
    BLADDER,
    FIVE_WEEKS,
    SHIPPED,
    WORST_PAIN,
    days_ago,
    draft_28_days,
    run_worker_once,
    store_history,
)
from tests.http.test_console import csrf_of, sign_in

# Helper A's module of issue 23 (drafts, approval, activation): the console calls it for every version page.


@pytest.fixture
def app(migrated_url):
    application = create_app(settings_for(migrated_url, ROUTING_SECRET_KEY="k" * 40, ROUTING_COOKIE_SECURE="off"))
    yield application
    application.extensions["routing"].db.dispose()


def signed_in(app, name: str, role: str = "admin"):
    """A test client of its own, signed in as ``name``."""
    client = app.test_client()
    assert sign_in(client, make_token(app, name, role)).status_code == 303
    return client


def text_of(response) -> str:
    """The page's text, tags and runs of spaces dropped."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))


def post(client, path: str, page_path: str, **form):
    """Submit a form of the page at ``page_path`` (its CSRF token included)."""
    return client.post(path, data={"csrf_token": csrf_of(client.get(page_path)), **form})


def new_draft(client, document: dict, note: str = "Persistent pain from four weeks") -> int:
    """Save a draft through the console's form; its version number."""
    response = post(
        client,
        "/console/rulebooks",
        "/console/rulebooks/new",
        document=json.dumps(document),
        note=note,
        based_on="1",
    )
    assert response.status_code == 303, text_of(response)
    return int(re.search(r"/console/rulebooks/(\d+)$", response.headers["Location"]).group(1))


@pytest.fixture
def ada(app):
    return signed_in(app, "Ada Admin")


@pytest.fixture
def ben(app):
    return signed_in(app, "Ben Admin")


@pytest.fixture
def history(app):
    return store_history(app, [WORST_PAIN, FIVE_WEEKS, BLADDER], days_ago(10))


def test_the_versions_page_lists_every_version_newest_first_with_its_state(app, ada):
    draft = new_draft(ada, draft_28_days())

    page = ada.get("/console/rulebooks")

    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert re.findall(r'<tr class="version (\w+)" data-version-id="(\d+)"', body) == [
        ("draft", str(draft)),
        ("active", "1"),
    ]
    text = text_of(page)
    assert f"#{draft} draft-28-days" in text
    assert "Persistent pain from four weeks" in text
    assert 'id="nav-versions"' in body


def test_a_draft_that_is_not_json_or_does_not_validate_is_refused_with_the_start_up_message(app, ada):
    not_json = post(ada, "/console/rulebooks", "/console/rulebooks/new", document="{ nope", based_on="1")
    broken = dict(draft_28_days(), rules=SHIPPED["rules"][2:])  # the red-flag rules are gone
    invalid = post(ada, "/console/rulebooks", "/console/rulebooks/new", document=json.dumps(broken), based_on="1")

    deep = post(
        ada, "/console/rulebooks", "/console/rulebooks/new", document=json.dumps(dict(SHIPPED, terms=_nested(40)))
    )
    assert (deep.status_code, "Document: Nested more than 32 levels deep; no rulebook is." in text_of(deep)) == (
        422,
        True,
    )
    assert not_json.status_code == 422
    assert "The rulebook is not valid JSON: Expecting property name enclosed in double quotes at line 1" in text_of(
        not_json
    )
    assert invalid.status_code == 422
    assert "red flags bladder_bowel_dysfunction, saddle_numbness" in text_of(invalid)
    assert 'name="document"' in invalid.get_data(as_text=True)  # the text is kept, to correct it


def test_the_diff_shows_a_moved_threshold_side_by_side(app, ada):
    draft = new_draft(ada, draft_28_days())

    page = ada.get(f"/console/rulebooks/diff?from=1&to={draft}")

    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert re.findall(r'<tr class="diff-item (\w+)" data-key="([^"]+)"', body) == [
        ("changed", "persistent"),
        ("changed", "version"),
    ]
    text = text_of(page)
    assert "0 added, 0 removed, 2 changed, 0 moved." in text
    assert "at_least : 42 → 28 (threshold)" in text


def test_a_preview_shows_its_progress_then_its_report_with_the_exit_first_and_the_heat_map(app, ada, history):
    draft = new_draft(ada, draft_28_days())

    requested = post(
        ada,
        f"/console/rulebooks/{draft}/previews",
        f"/console/rulebooks/{draft}",
        period_start=days_ago(90).date().isoformat(),
        period_end=days_ago(0).date().isoformat(),
    )
    assert requested.status_code == 303
    waiting = ada.get(requested.headers["Location"])
    assert '<meta http-equiv="refresh" content="2">' in waiting.get_data(as_text=True)
    assert '<progress id="progress" max="1" value="0"' in waiting.get_data(as_text=True)
    assert "Waiting for a worker" in text_of(waiting)

    assert run_worker_once(app) == "done"

    report = ada.get(requested.headers["Location"])
    body, text = report.get_data(as_text=True), text_of(report)
    assert "http-equiv" not in body  # finished: no more reloads
    assert "Urgent review: 1 would leave, 0 would enter" in text
    assert "1 inquiry that a clinician reviews first would not be, under this version." in text
    assert re.findall(r'<tr class="red-flag-change (\w+)">\s*<td><a href="/console/inquiries/([^"]+)"', body) == [
        ("exit", history[0])
    ]
    assert "2 of 3 inquiries would be decided differently." in text
    assert '<svg xmlns="http://www.w3.org/2000/svg" role="img"' in body
    assert re.findall(r'<tr class="transition( changed)?" data-from="([^"]+)" data-to="([^"]+)"', body) == [
        (" changed", "urgent_review/urgent", "consult/soon"),
        (" changed", "consult/soon", "imaging/soon"),
        ("", "urgent_review/emergency", "urgent_review/emergency"),
    ]
    assert re.findall(r'<tr class="rule-count (more|less)" data-rule="(\w+)"', body) == [
        ("less", "R2b"),
        ("more", "R4"),
        ("less", "R5"),
        ("more", "R10"),
        ("more", "M1"),
    ]
    assert report.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert "<script" not in body


def test_approval_asks_for_the_acknowledgement_then_activation_and_rollback_follow(app, ada, ben, history):
    draft = new_draft(ada, draft_28_days())
    page = f"/console/rulebooks/{draft}"
    post(ada, f"{page}/previews", page, period_start="2026-01-01", period_end=days_ago(0).date().isoformat())
    run_worker_once(app)

    version_page = ben.get(page)
    assert 'type="checkbox" id="acknowledge" name="acknowledge_urgent_review_exits" value="yes" required' in (
        version_page.get_data(as_text=True)
    )
    assert "I have read the 1 inquiry that would leave urgent review" in text_of(version_page)

    by_author = after(ada, post(ada, f"{page}/approve", page, acknowledge_urgent_review_exits="yes"))
    assert "another admin must approve it (two-person rule)" in text_of(by_author)
    unacknowledged = after(ben, post(ben, f"{page}/approve", page))
    assert "1 inquiry leaving urgent_review under this draft" in text_of(unacknowledged)
    assert 'id="state">draft<' in unacknowledged.get_data(as_text=True)

    approved = after(ben, post(ben, f"{page}/approve", page, acknowledge_urgent_review_exits="yes"))
    assert "Version draft-28-days approved. An admin may now activate it." in text_of(approved)
    assert 'id="state">approved<' in approved.get_data(as_text=True)

    active = after(ada, post(ada, f"{page}/activate", page, reason="Four weeks is persistent"))
    assert "Version draft-28-days is active." in text_of(active)
    assert 'id="state">active<' in active.get_data(as_text=True)

    rollback_page = ada.get("/console/rulebooks/1")
    assert "Roll back to this version" in text_of(rollback_page)
    rolled_back = after(ada, post(ada, "/console/rulebooks/1/activate", "/console/rulebooks/1", reason="Back"))
    assert 'id="state">active<' in rolled_back.get_data(as_text=True)
    assert re.findall(r'<tr class="version (\w+)" data-version-id="(\d+)"', ada.get("/console/rulebooks").text) == [
        ("retired", str(draft)),
        ("active", "1"),
    ]


def after(client, response):
    """The page a form's redirect leads to (with the message it flashed)."""
    assert response.status_code == 303, text_of(response)
    return client.get(response.headers["Location"])


def test_staff_write_drafts_and_run_previews_but_approval_and_activation_are_refused(app, ada, history):
    nina = signed_in(app, "Nina Nurse", "staff")
    draft = new_draft(nina, draft_28_days())
    page = f"/console/rulebooks/{draft}"

    version_page = nina.get(page)
    preview = post(nina, f"{page}/previews", page, period_start="2026-01-01", period_end="2026-02-01")
    approve = post(nina, f"{page}/approve", page, acknowledge_urgent_review_exits="yes")
    activate = post(nina, "/console/rulebooks/1/activate", "/console/rulebooks/1")

    body = version_page.get_data(as_text=True)
    assert ("preview-form" in body, "edit-copy" in body, "approve-form" in body) == (True, True, False)
    assert preview.status_code == 303
    assert (approve.status_code, activate.status_code) == (403, 403)
    assert "Approving and activating rulebook versions is for admins" in text_of(approve)


def test_unknown_versions_and_previews_are_pages_that_say_so(app, ada):
    for path in ("/console/rulebooks/99", "/console/rulebooks/1/previews/00000000-0000-0000-0000-000000000000"):
        response = ada.get(path)
        assert response.status_code == 404
        assert "There is no such rulebook version or preview." in text_of(response)


def test_a_preview_over_a_backwards_period_is_refused_with_a_message(app, ada):
    draft = new_draft(ada, draft_28_days())
    page = f"/console/rulebooks/{draft}"

    refused = after(ada, post(ada, f"{page}/previews", page, period_start="2026-11-02", period_end="2026-11-01"))
    not_dates = after(ada, post(ada, f"{page}/previews", page, period_start="soon", period_end="2026-11-01"))

    assert "The period is not valid. Must be before the period's end." in text_of(refused)
    assert "Period: give the first and the last day as dates." in text_of(not_dates)
    assert 'id="previews"' not in refused.get_data(as_text=True)  # nothing was queued


def _nested(levels: int) -> dict:
    value: dict = {}
    for _ in range(levels):
        value = {"all": [value]}
    return value
