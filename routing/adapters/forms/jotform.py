"""Jotform's webhook: a multipart form whose ``rawRequest`` field holds the answers as a JSON string.

As Jotform sends it (its webhook help, and deliveries recorded in tests/data/form_builders): top-level
fields ``formID``, ``submissionID`` (the submission's own id), ``formTitle``, ``pretty``, ``ip``, ``type`` ...,
and ``rawRequest``, a JSON object keyed by each question's ``q<number>_<name>`` (``q3_name``); a value is text,
a list (check boxes) or an object of parts (a name's ``first`` and ``last``, a date's ``month``, ``day`` and
``year``). Keys that are not questions (``slug``, ``event_id``, ``preview``...) are not answers. Jotform
writes answers HTML-escaped (``can&#039;t``); they are unescaped so the reader sees the patient's words.
Jotform does not sign its webhooks: the URL carries the secret (``?token=``).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from typing import Any

from routing.adapters.forms.mapping import Answer, Submission, UnmappedAnswers

#: The key of a question's answer in rawRequest.
QUESTION = re.compile(r"q\d+_.+")


def read(fields: Mapping[str, str]) -> tuple[dict[str, Any], Submission]:
    """The payload (the top-level fields, rawRequest parsed) and the submission in a Jotform delivery.

    ``fields`` are the delivery's form fields, one value each. Raises UnmappedAnswers naming what is wrong.
    """
    submission_id = (fields.get("submissionID") or "").strip()
    if not submission_id:
        raise UnmappedAnswers({"submissionID": ["Missing: Jotform's id of the submission."]})
    try:
        raw_request = json.loads(fields.get("rawRequest") or "")
    except ValueError:
        raw_request = None
    if not isinstance(raw_request, dict):
        raise UnmappedAnswers({"rawRequest": ["Missing or not a JSON object: Jotform sends the answers in it."]})
    payload = {**fields, "rawRequest": raw_request}
    answers = tuple(
        Answer((key,), _unescaped(value)) for key, value in raw_request.items() if QUESTION.fullmatch(str(key))
    )
    return payload, Submission(submission_id, answers)


def _unescaped(value: Any) -> Any:
    if isinstance(value, str):
        return html.unescape(value)
    if isinstance(value, list):
        return [_unescaped(item) for item in value]
    if isinstance(value, Mapping):
        return {key: _unescaped(item) for key, item in value.items()}
    return value
