"""Validation messages are flattened to dotted field paths for problem+json ``errors``."""

from routing.http.problems import flatten_errors


def test_location_level_is_dropped_and_nested_fields_are_dotted():
    messages = {"json": {"patient": {"email": ["Not a valid email address."]}, "consent": ["Missing data."]}}

    assert flatten_errors(messages) == {
        "patient.email": ["Not a valid email address."],
        "consent": ["Missing data."],
    }


def test_list_items_are_addressed_by_index():
    messages = {"symptoms": {"red_flags": {1: ["Must be one of: fever, ..."]}}}

    assert flatten_errors(messages) == {"symptoms.red_flags.1": ["Must be one of: fever, ..."]}


def test_schema_level_messages_stay_under_schema():
    assert flatten_errors({"_schema": ["Give a message or symptoms."]}) == {"_schema": ["Give a message or symptoms."]}
