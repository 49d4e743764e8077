"""The patient form's questions as data: which intake field each one fills, and with which values.

Every question is a field of the intake's request (``schemas/inquiry.py``) under its flat form name
(``webhook_delivery.form_to_nested`` puts ``onset`` under ``symptoms``, ``first_name`` under ``patient``), so
the form adds no field of its own to the API except three it checks itself: ``consent`` must be ticked,
``form_token`` proves the post came from a form we served, and ``homepage`` is a honeypot no person sees.
The words are not here: each option names its words in the labels table (``routing/domain/labels``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from routing.domain.triage import READ_LANGUAGES
from routing.domain.triage.facts import (
    CONDITIONS,
    EPISODES,
    LOCATIONS,
    ONSETS,
    RED_FLAGS,
    RELAXANT_EFFECTS,
    TRIGGERS,
)
from routing.domain.vocabulary import ContactPreference

#: The hidden field holding the signed form token; only our served form sends it.
TOKEN_FIELD = "form_token"  # noqa: S105 (a field name, not a secret)
#: The honeypot: an input no person sees (hidden by the stylesheet, out of the tab order and the
#: accessibility tree); a bot that fills every input fills it. Named so no browser autofills it.
HONEYPOT_FIELD = "homepage"

#: The red flags that mean "go to an emergency department now" (the rulebook's rule R1, cauda equina):
#: ticked on the form, the answer page opens with the emergency advice whatever else happened.
EMERGENCY_RED_FLAGS = ("bladder_bowel_dysfunction", "saddle_numbness", "leg_weakness", "bilateral_leg_symptoms")

#: "How long have you had this pain?": each answer sends the first day of its range as ``duration_days``
#: (the rulebook's edges are 3 days for a severe new pain and 42 days, six weeks, for a persistent one).
DURATION_DAYS = (0, 1, 4, 14, 42, 90, 365)
PAIN_SCORES = tuple(range(11))
#: Yes / No / Not sure for the true-or-false facts; "not sure" sends nothing (no answer, not a "no").
FLAG_VALUES = ("true", "false", "")


@dataclass(frozen=True)
class Option:
    """One answer: the value sent, and where its words are in the labels table."""

    value: str
    #: ("patient", kind, code) for a code's patient words, ("page", section, key) for a page text, or
    #: ("literal", text, "") for words that are the same in every language (pain scores).
    words: tuple[str, str, str]


@dataclass(frozen=True)
class Question:
    """One question of the form: the field it fills, how it is asked, its answers."""

    name: str
    #: radio, checkbox (any number of answers), text, email, tel, date, textarea
    control: str
    #: Where its question text is, as ``Option.words``; None: the intake field's question in the labels'
    #: ``[patient.question]`` table, the words the FHIR Questionnaire asks it with too.
    label: tuple[str, str, str] | None = None
    #: The key of its hint in ``[page.form]``, if any.
    hint: str | None = None
    options: tuple[Option, ...] = ()
    required: bool = False
    #: The browser's autofill token (WCAG 1.3.5: fields about the user say what they are).
    autocomplete: str | None = None

    @property
    def grouped(self) -> bool:
        """Whether the question is a group of inputs (a fieldset with a legend) rather than one input."""
        return self.control in ("radio", "checkbox")


@dataclass(frozen=True)
class Section:
    """A titled part of the form."""

    title: str
    questions: tuple[Question, ...]


def _codes(kind: str, codes: tuple[str, ...]) -> tuple[Option, ...]:
    return tuple(Option(code, ("patient", kind, code)) for code in codes)


def _flag() -> tuple[Option, ...]:
    return tuple(
        Option(value, ("page", "form", key)) for value, key in zip(FLAG_VALUES, ("yes", "no", "not_sure"), strict=True)
    )


SECTIONS: tuple[Section, ...] = (
    Section(
        "section_pain",
        (
            Question("location", "radio", options=_codes("location", LOCATIONS)),
            Question(
                "duration_days",
                "radio",
                ("page", "form", "q_duration"),
                options=tuple(Option(str(days), ("page", "form", f"duration_{days}")) for days in DURATION_DAYS),
            ),
            Question("onset", "radio", options=_codes("onset", ONSETS)),
            Question("trigger", "radio", options=_codes("trigger", TRIGGERS)),
            Question("episodes", "radio", options=_codes("episodes", EPISODES)),
            Question(
                "pain_score",
                "radio",
                hint="pain_hint",
                options=tuple(Option(str(score), ("literal", str(score), "")) for score in PAIN_SCORES),
            ),
            Question("radiating_leg_pain", "radio", options=_flag()),
            Question("muscle_relaxants", "radio", options=_codes("muscle_relaxants", RELAXANT_EFFECTS)),
            Question("prior_imaging", "radio", options=_flag()),
            Question(
                "diagnosed_conditions",
                "checkbox",
                hint="tick_all",
                options=_codes("diagnosed_conditions", CONDITIONS),
            ),
        ),
    ),
    Section(
        "section_warning",
        (Question("red_flags", "checkbox", hint="red_flags_hint", options=_codes("red_flags", RED_FLAGS)),),
    ),
    Section(
        "section_more",
        (
            Question("message", "textarea", hint="message_hint"),
            Question("preferred_times", "text", hint="preferred_times_hint"),
            # Kept on the inquiry's waitlist entry: no earlier slot is offered at these times.
            Question("unavailable_times", "text", hint="unavailable_times_hint"),
        ),
    ),
    # Asked only when the practice has several sites: the sites are the practice's, so their answers are filled
    # in when the page is built (``with_sites``), "any site" first.
    Section(
        "section_where",
        (
            Question("preferred_location", "radio", hint="site_hint"),
            Question("postal_code", "text", hint="postal_code_hint", autocomplete="postal-code"),
        ),
    ),
    Section(
        "section_details",
        (
            Question("first_name", "text", required=True, autocomplete="given-name"),
            Question("last_name", "text", required=True, autocomplete="family-name"),
            Question("email", "email", hint="contact_hint", autocomplete="email"),
            Question("phone", "tel", hint="contact_hint", autocomplete="tel"),
            Question("date_of_birth", "date", hint="date_of_birth_hint", autocomplete="bday"),
            # The languages are named in their own words (the same in every file).
            Question("language", "radio", options=_codes("language", READ_LANGUAGES)),
            # Optional: without an answer, email when an address is given (no text messages unless asked for).
            Question("contact_preference", "radio", options=_codes("contact_preference", tuple(ContactPreference))),
            Question(
                "consent",
                "checkbox",
                ("page", "form", "q_consent"),
                options=(Option("true", ("page", "form", "consent_text")),),
                required=True,
            ),
        ),
    ),
)
QUESTIONS: Mapping[str, Question] = {question.name: question for section in SECTIONS for question in section.questions}
#: The questions about where to be seen: asked only when the practice has two sites or more.
SITE_QUESTIONS = ("preferred_location", "postal_code")


def with_sites(question: Question, sites: Sequence[tuple[str, str]]) -> Question:
    """``question`` with the practice's sites (id, name) as its answers when it asks where to be seen ("any site"
    first, sending nothing: no preference); any other question as it is."""
    if question.name != "preferred_location":
        return question
    named = tuple(Option(site_id, ("literal", name, "")) for site_id, name in sites)
    return replace(question, options=(Option("", ("page", "form", "any_site")), *named))


@dataclass(frozen=True)
class FieldError:
    """A validation error in the patient's terms: the question it belongs to and the key of its message."""

    field: str | None
    message: str


#: Fields whose error has its own message in ``[page.errors]``; the others are a choice to make again.
_OWN_MESSAGES = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "date_of_birth",
    "preferred_times",
    "unavailable_times",
    "postal_code",
    "consent",
)


def field_errors(errors: Mapping[str, object], answers: Mapping[str, str]) -> dict[str, FieldError]:
    """The intake's errors (``patient.email``, ``symptoms.red_flags.0``, ...) as errors of the form's questions.

    ``answers`` (the first value sent for each name) tell a missing answer from a wrong one: the schema
    reports "give an email or a phone" under ``patient.email``, and "say something" under ``message``.
    One message per question, the first found; an error of no question of the form is kept under ``None``.
    """
    found: dict[str, FieldError] = {}
    for path in errors:
        name = _question_of(path)
        if name in found:
            continue
        if name is None:
            found.setdefault("", FieldError(None, "other"))
            continue
        if name == "email" and not answers.get("email", "").strip() and not answers.get("phone", "").strip():
            found[name] = FieldError(name, "contact")
        elif name == "message":
            found[name] = FieldError(name, "message" if answers.get("message", "").strip() else "message_missing")
        else:
            found[name] = FieldError(name, name if name in _OWN_MESSAGES else "choice")
    return found


def _question_of(path: str) -> str | None:
    parts = path.split(".")
    if parts[0] in ("patient", "symptoms") and len(parts) > 1:
        parts = parts[1:]
    return parts[0] if parts[0] in QUESTIONS else None


def reference(inquiry_id: uuid.UUID | str) -> str:
    """A short reference a patient can quote on the phone (``7F3A-91C2``): the start of the inquiry's id.

    It names no one and opens nothing (reading an inquiry takes its whole id), so it may go in a URL.
    """
    digits = uuid.UUID(str(inquiry_id)).hex[:8].upper()
    return f"{digits[:4]}-{digits[4:]}"
