"""A rulebook version's life, as pure rules: which step each state allows, who may approve, and when an
approval must acknowledge inquiries leaving urgent_review.

``draft`` -> ``approved`` (by an admin other than its author) -> ``active`` -> ``retired`` when another version
is activated; an approved or retired version may be activated again (re-activating a retired one is a
rollback). ``routing.services.rulebook_versions`` applies these rules in a transaction and audits each step.
"""

from __future__ import annotations

import uuid

from routing.domain.vocabulary import RulebookState

#: The states a version may be activated from: approved (its first activation) or retired (a rollback).
ACTIVATABLE = frozenset({RulebookState.APPROVED, RulebookState.RETIRED})


def approval_refusal(state: str, author_id: uuid.UUID | None, approver_id: uuid.UUID) -> str | None:
    """Why the version cannot be approved by ``approver_id``, or None when it can.

    Only a draft is approved, and never by its author: a second pair of eyes is the point of the step.
    """
    if state != RulebookState.DRAFT:
        return f"Only a draft can be approved; this version is {state}."
    if author_id is not None and author_id == approver_id:
        return "You wrote this draft: another admin must approve it (two-person rule)."
    return None


def activation_refusal(state: str) -> str | None:
    """Why a version in ``state`` cannot be activated, or None when it can."""
    if state == RulebookState.ACTIVE:
        return "This version is already active."
    if state not in ACTIVATABLE:
        return f"Only an approved or retired version can be activated; this version is a {state}: approve it first."
    return None


def acknowledgement_reason(urgent_review_exits: int | None) -> str | None:
    """Why approving needs an explicit acknowledgement, or None when it does not.

    ``urgent_review_exits`` is how many previewed inquiries would leave urgent_review under the draft, from its
    latest finished impact preview; None when no finished preview says (none has finished, or its report lacks
    the count). An unknown impact is treated like a known one: somebody must say they accept it.
    """
    if urgent_review_exits is None:
        return (
            "No finished impact preview of this draft says whether any inquiry would leave urgent_review. Run a "
            "preview and read it, or approve with acknowledge_urgent_review_exits: true."
        )
    if urgent_review_exits > 0:
        count = "1 inquiry" if urgent_review_exits == 1 else f"{urgent_review_exits} inquiries"
        return (
            f"The latest impact preview shows {count} leaving urgent_review under this draft. Read them, then "
            "approve with acknowledge_urgent_review_exits: true."
        )
    return None
