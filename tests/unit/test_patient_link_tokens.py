"""The patient's link and its action tokens: signed for one inquiry, one purpose, and a limited time."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from routing.services.patient_link import (
    ACTION_MAX_AGE,
    CLOCK_SKEW,
    Refused,
    action_allowed,
    action_token,
    link_for,
    read,
    token_for,
)

SECRET = "a secret of at least thirty-two characters"
NOW = datetime(2026, 12, 6, 15, 0, tzinfo=UTC)
DAYS_30 = timedelta(days=30)
INQUIRY = uuid.UUID("8f14e45f-cea1-67a5-a36d-edd4bea60830")
APPOINTMENT = uuid.UUID("c9f0f895-fb98-4b91-9f0d-5a4b6b8e9a10")


def test_a_link_is_a_path_whose_token_reads_back_as_its_inquiry():
    link = link_for(SECRET, INQUIRY, NOW)

    assert link == "/my/" + token_for(SECRET, INQUIRY, NOW)
    assert read(SECRET, link.removeprefix("/my/"), NOW + DAYS_30, DAYS_30) == INQUIRY


def test_the_token_holds_the_inquiry_and_the_time_only_and_is_short_enough_for_a_text_message():
    token = token_for(SECRET, INQUIRY, NOW)

    assert len(token) < 100
    assert str(INQUIRY) not in token  # base64 of the id's hex, not something a person reads off


@pytest.mark.parametrize(
    ("made", "expected"),
    [
        (NOW - DAYS_30, INQUIRY),
        (NOW - DAYS_30 - timedelta(seconds=1), Refused.EXPIRED),
        (NOW + CLOCK_SKEW, INQUIRY),
        (NOW + CLOCK_SKEW + timedelta(seconds=1), Refused.EXPIRED),
    ],
)
def test_a_link_works_for_its_lifetime_and_a_little_clock_skew(made, expected):
    assert read(SECRET, token_for(SECRET, INQUIRY, made), NOW, DAYS_30) == expected


@pytest.mark.parametrize(
    "token",
    [
        token_for("another secret of at least thirty-two characters", INQUIRY, NOW),
        action_token(SECRET, INQUIRY, "cancel", NOW),  # ours, but another salt
        token_for(SECRET, INQUIRY, NOW)[:-1] + "A",
        "",
        "not.a.token",
    ],
)
def test_anything_but_a_link_we_signed_is_invalid(token):
    assert read(SECRET, token, NOW, DAYS_30) is Refused.INVALID


def test_an_action_token_allows_its_inquiry_action_and_appointment_only_for_an_hour():
    token = action_token(SECRET, INQUIRY, "cancel", NOW, APPOINTMENT)
    other_secret = "another secret of at least thirty-two characters"
    later = NOW + ACTION_MAX_AGE

    answers = [
        action_allowed(SECRET, token, INQUIRY, "cancel", later, APPOINTMENT),
        action_allowed(SECRET, token, INQUIRY, "cancel", later + timedelta(seconds=1), APPOINTMENT),
        action_allowed(SECRET, token, uuid.uuid4(), "cancel", NOW, APPOINTMENT),
        action_allowed(SECRET, token, INQUIRY, "another_time", NOW, APPOINTMENT),
        action_allowed(SECRET, token, INQUIRY, "cancel", NOW, uuid.uuid4()),
        action_allowed(SECRET, token, INQUIRY, "cancel", NOW),
        action_allowed(other_secret, token, INQUIRY, "cancel", NOW, APPOINTMENT),
        action_allowed(SECRET, token_for(SECRET, INQUIRY, NOW), INQUIRY, "cancel", NOW, APPOINTMENT),
    ]

    assert answers == [True, False, False, False, False, False, False, False]
