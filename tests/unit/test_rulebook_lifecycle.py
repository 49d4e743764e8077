"""The rulebook versions' state machine and approval guard, as pure rules."""

from __future__ import annotations

import uuid

import pytest

from routing.domain.rulebook_lifecycle import acknowledgement_reason, activation_refusal, approval_refusal

AUTHOR, OTHER = uuid.uuid4(), uuid.uuid4()


@pytest.mark.parametrize(
    ("state", "author", "approver", "refusal"),
    [
        ("draft", AUTHOR, OTHER, None),
        ("draft", None, OTHER, None),  # no author on record (the migration's seed): any admin
        ("draft", AUTHOR, AUTHOR, "You wrote this draft: another admin must approve it (two-person rule)."),
        ("approved", AUTHOR, OTHER, "Only a draft can be approved; this version is approved."),
        ("active", AUTHOR, OTHER, "Only a draft can be approved; this version is active."),
        ("retired", AUTHOR, OTHER, "Only a draft can be approved; this version is retired."),
    ],
)
def test_only_a_draft_is_approved_and_never_by_its_author(state, author, approver, refusal):
    assert approval_refusal(state, author, approver) == refusal


@pytest.mark.parametrize(
    ("state", "refusal"),
    [
        ("approved", None),
        ("retired", None),  # a rollback
        ("active", "This version is already active."),
        (
            "draft",
            "Only an approved or retired version can be activated; this version is a draft: approve it first.",
        ),
    ],
)
def test_an_approved_or_retired_version_is_activated(state, refusal):
    assert activation_refusal(state) == refusal


def test_no_inquiry_leaving_urgent_review_needs_no_acknowledgement():
    assert acknowledgement_reason(0) is None


@pytest.mark.parametrize(
    ("exits", "reason"),
    [
        (
            1,
            "The latest impact preview shows 1 inquiry leaving urgent_review under this draft. Read them, then "
            "approve with acknowledge_urgent_review_exits: true.",
        ),
        (
            12,
            "The latest impact preview shows 12 inquiries leaving urgent_review under this draft. Read them, then "
            "approve with acknowledge_urgent_review_exits: true.",
        ),
        (
            None,
            "No finished impact preview of this draft says whether any inquiry would leave urgent_review. Run a "
            "preview and read it, or approve with acknowledge_urgent_review_exits: true.",
        ),
    ],
)
def test_inquiries_leaving_urgent_review_or_an_unknown_impact_need_the_acknowledgement(exits, reason):
    assert acknowledgement_reason(exits) == reason
