"""What text retention removes from an inquiry and what it keeps (pure), and its setting."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from routing.config import ConfigError, load_settings
from routing.domain.retention import (
    REMOVED_MESSAGE,
    TextRetention,
    redact_facts,
    redact_payload,
    redact_reason_texts,
    redact_reasons,
)
from routing.domain.rulebook_impact import StoredDecision, replay
from routing.domain.triage import load_rulebook, triage
from routing.domain.triage.rulebook import DEFAULT_RULEBOOK_PATH

#: A message the safety net holds for staff: a possible red flag the exact reading does not place.
POSSIBLE_RED_FLAG = "Back pain and I have had some trouble with my waterworks lately."
PATIENT = {"first_name": "Ana", "last_name": "Diaz", "email": "ana@example.org", "phone": "+1 555 0100"}


def test_the_payload_keeps_who_the_patient_is_the_answers_and_wishes_but_no_free_text():
    payload = {
        "patient": {**PATIENT, "date_of_birth": "1975-02-03", "nickname": "Anita"},
        "symptoms": {"onset": "sudden", "pain_score": 6, "notes": "my own words"},
        "message": "Lifted a couch and my back went.",
        "preferred_times": ["after my chemo"],
        "unavailable_times": ["Mondays, dialysis"],
        "consent": "on",
        "language": "en",
        "contact_preference": "sms",
        "preferred_location": "northside",
        "postal_code": "01103",
        "comments": "anything at all",
    }

    assert redact_payload(payload) == {
        "patient": {**PATIENT, "date_of_birth": "1975-02-03"},
        "symptoms": {"onset": "sudden", "pain_score": 6},
        "message": REMOVED_MESSAGE,
        "consent": "on",
        "language": "en",
        "contact_preference": "sms",
        "preferred_location": "northside",
        "postal_code": "01103",
    }


def test_a_payload_without_a_message_gets_none():
    assert redact_payload({"patient": PATIENT, "symptoms": {"onset": "gradual"}, "message": "  "}) == {
        "patient": PATIENT,
        "symptoms": {"onset": "gradual"},
    }


def test_the_evidence_keeps_each_fact_and_its_source_without_the_words():
    facts = {
        "values": {"trigger": "lifting"},
        "evidence": [
            {"fact": "trigger", "value": "lifting", "source": "text", "phrase": "Lifted a couch"},
            {"fact": "onset", "value": "sudden", "source": "form", "phrase": None},
        ],
    }

    assert redact_facts(facts) == {
        "values": {"trigger": "lifting"},
        "evidence": [
            {"fact": "trigger", "value": "lifting", "source": "text", "phrase": None},
            {"fact": "onset", "value": "sudden", "source": "form", "phrase": None},
        ],
    }
    assert redact_facts(None) is None


def test_reasons_lose_the_quoted_words_and_keep_every_line_and_the_safety_net_s_opening():
    reasons = [
        {"rule": "R10", "text": "Acute strain: a consult within 21 days."},
        {
            "rule": "TEXT",
            "text": "From the message: lifting (“Lifted a (big) “couch”)”).",
            "fact": "trigger",
            "phrase": "Lifted a (big) “couch”)",
        },
        {
            "rule": "SAFETY",
            "text": "Possible red flag not placed by the reader: saddle numbness (“numb down there”); "
            "staff must read it.",
        },
        {"rule": "STAFF", "text": "Route set by Dr Lee: patient said (“call me”)"},
    ]

    assert redact_reasons(reasons) == [
        {"rule": "R10", "text": "Acute strain: a consult within 21 days."},
        {"rule": "TEXT", "text": "From the message: lifting.", "fact": "trigger", "phrase": None},
        {"rule": "SAFETY", "text": "Possible red flag not placed by the reader: saddle numbness; staff must read it."},
        {"rule": "STAFF", "text": "Route set by Dr Lee: patient said (“call me”)"},
    ]
    assert redact_reason_texts(["From the message: lifting (“Lifted”).", "Acute strain."]) == [
        "From the message: lifting.",
        "Acute strain.",
    ]


def test_a_decision_replayed_from_redacted_reasons_is_held_for_staff_as_the_original_was():
    rulebook = load_rulebook(DEFAULT_RULEBOOK_PATH)
    original = triage({}, POSSIBLE_RED_FLAG, date(2026, 12, 1), rulebook)
    reasons = redact_reasons([reason.to_dict() for reason in original.reasons])
    stored = StoredDecision.of(
        "1", original.route, original.urgency, original.rule_id, reasons, original.facts.to_dict()
    )

    again = replay(stored, rulebook)

    assert original.hold == "possible_red_flag"
    assert [r["text"] for r in reasons if r["rule"] == "SAFETY"] == [
        "Possible red flag not placed by the reader: bladder or bowel changes; staff must read it."
    ]
    assert (again.route, again.urgency, again.rule_id, again.hold) == (
        original.route,
        original.urgency,
        original.rule_id,
        original.hold,
    )


def test_the_cutoff_is_exactly_the_retention_before_now():
    now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)

    assert TextRetention(text_days=30).cutoff(now) == now - timedelta(days=30)
    with pytest.raises(ValueError, match="text retention is off"):
        TextRetention().cutoff(now)


@pytest.mark.parametrize(("raw", "days"), [(None, None), ("off", None), ("", None), ("30", 30), ("365", 365)])
def test_the_retention_setting_is_off_by_default_or_whole_days(raw, days):
    environ = {} if raw is None else {"ROUTING_RETENTION_TEXT_DAYS": raw}

    settings = load_settings(environ=environ)

    assert (settings.retention.text_days, settings.retention.enabled) == (days, days is not None)


@pytest.mark.parametrize("raw", ["29", "-1", "a year", "1.5"])
def test_a_retention_too_short_or_not_whole_days_stops_the_start_naming_the_setting(raw):
    with pytest.raises(ConfigError) as error:
        load_settings(environ={"ROUTING_RETENTION_TEXT_DAYS": raw})

    assert str(error.value) == (
        f"ROUTING_RETENTION_TEXT_DAYS={raw!r} is not valid; use whole days, at least 30 (after which patients' free "
        "text is removed), or 'off' to keep it (the default)."
    )
