"""Typeform's webhook: a JSON ``form_response``, signed with ``Typeform-Signature``.

As Typeform documents it (developers: webhooks, "Example webhook payload" and "Secure your webhooks"): the
body is ``{"event_id", "event_type": "form_response", "form_response": {"form_id", "token", "definition":
{"fields": [...]}, "answers": [...], "hidden": {...}}}``; each answer has a ``type`` (text, email,
phone_number, number, boolean, date, url, choice, choices, ...) and the value under that type's name, and
names its question by ``field.id`` (and, in newer payloads, ``field.ref``; the definition's fields give the
ref of each id). ``form_response.token`` is the submission's own id. The signature is
``sha256=`` + base64(HMAC-SHA256(secret, raw body)).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from typing import Any

from routing.adapters.forms.mapping import Answer, Submission, UnmappedAnswers

SIGNATURE_HEADER = "Typeform-Signature"
#: The event of a completed response (partial responses, if turned on, come as another event type).
COMPLETED = "form_response"


def signature_matches(raw: bytes, header: str | None, secrets: Iterable[str]) -> bool:
    """Whether ``header`` is Typeform's signature of ``raw`` with one of ``secrets`` (compared in constant time)."""
    if not header:
        return False
    given = header.strip().encode()
    matched = False
    for secret in secrets:
        digest = hmac.new(secret.encode(), raw, hashlib.sha256).digest()
        # Every secret is compared, so the time taken does not tell which one (or whether any) matched.
        matched |= hmac.compare_digest(b"sha256=" + base64.b64encode(digest), given)
    return matched


def read(payload: Any) -> Submission:
    """The submission in a Typeform webhook payload (parsed JSON); raises UnmappedAnswers naming what is wrong."""
    if not isinstance(payload, Mapping):
        raise UnmappedAnswers({"_schema": ["A Typeform webhook body is a JSON object."]})
    event_type = payload.get("event_type")
    if event_type != COMPLETED:
        raise UnmappedAnswers(
            {"event_type": [f"Is {event_type!r}; only completed responses ({COMPLETED}) become inquiries."]}
        )
    response = payload.get("form_response")
    if not isinstance(response, Mapping):
        raise UnmappedAnswers({"form_response": ["Missing: the response's answers come in form_response."]})
    token = response.get("token")
    if not isinstance(token, str) or not token.strip():
        raise UnmappedAnswers({"form_response.token": ["Missing: Typeform's id of the response."]})
    answers = response.get("answers") or []
    if not isinstance(answers, list):
        raise UnmappedAnswers({"form_response.answers": ["Must be a list of answers."]})
    refs = _refs(response.get("definition"))
    read_answers = [_answer(position, answer, refs) for position, answer in enumerate(answers)]
    hidden = response.get("hidden")
    if isinstance(hidden, Mapping):
        read_answers += [Answer((f"hidden.{key}",), value, optional=True) for key, value in hidden.items()]
    return Submission(token.strip(), tuple(read_answers))


def _refs(definition: Any) -> dict[str, str]:
    """Each question's ref by its id, from the form's definition (older payloads' answers carry only the id)."""
    fields = definition.get("fields") if isinstance(definition, Mapping) else None
    if not isinstance(fields, list):
        return {}
    found = {}
    for field in fields:
        if isinstance(field, Mapping) and isinstance(field.get("id"), str) and isinstance(field.get("ref"), str):
            found[field["id"]] = field["ref"]
    return found


def _answer(position: int, answer: Any, refs: Mapping[str, str]) -> Answer:
    field = answer.get("field") if isinstance(answer, Mapping) else None
    field_id = field.get("id") if isinstance(field, Mapping) else None
    if not isinstance(field_id, str) or not field_id:
        raise UnmappedAnswers({f"form_response.answers.{position}": ["Names no question (field.id)."]})
    ref = field.get("ref") if isinstance(field.get("ref"), str) else refs.get(field_id)
    names = (ref, field_id) if ref and ref != field_id else (field_id,)
    return Answer(names, _value(answer))


def _value(answer: Mapping[str, Any]) -> Any:
    kind = answer.get("type")
    if kind == "choice":
        choice = answer.get("choice")
        if isinstance(choice, Mapping):
            return choice.get("label") if choice.get("label") is not None else choice.get("other")
        return None
    if kind == "choices":
        choices = answer.get("choices")
        if not isinstance(choices, Mapping):
            return None
        labels = list(choices.get("labels") or [])
        return [*labels, choices["other"]] if choices.get("other") else labels
    return answer.get(kind) if isinstance(kind, str) else None
