"""The patient form's page: its questions in the patient's language, answers kept, errors beside their fields.

The page is built here as plain values (each question with its ids, words, state and error) so the template
only lays them out. Every word comes from the labels table (``[page.*]`` and ``[patient.*]``), and the same
builder serves ``GET /form`` and the form sent back after a refused or invalid post.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from flask import Request, Response, current_app, render_template, url_for
from werkzeug.datastructures import MultiDict

from routing.config import Settings
from routing.domain.clinic import ClinicProfile
from routing.domain.labels import LABELS
from routing.domain.patient_form import (
    HONEYPOT_FIELD,
    SECTIONS,
    SITE_QUESTIONS,
    TOKEN_FIELD,
    Option,
    Question,
    field_errors,
    with_sites,
)
from routing.http import form_token
from routing.http.deps import wiring

#: The form's languages, in the order offered (every language with a labels file).
LANGUAGES = LABELS.languages


def language_of(request: Request, *candidates: str | None) -> str:
    """The page's language: the first of ``candidates`` we write in, else ``?lang=``, else ``Accept-Language``."""
    for candidate in (*candidates, request.args.get("lang")):
        if candidate in LANGUAGES:
            return candidate
    return request.accept_languages.best_match(LANGUAGES, default=LANGUAGES[0])


def page_policy(settings: Settings) -> str:
    """The Content-Security-Policy of the form and its answer pages: no script at all, our stylesheet, posts to
    the intake (and to the thanks page it may redirect to), framed only by ``ROUTING_FORM_EMBED_ORIGINS``."""
    ancestors = " ".join(settings.form.embed_origins) or "'none'"
    targets = "'self'"
    if settings.form.thanks_url:
        # Browsers check form-action on the redirect after the post, too.
        parts = urlsplit(settings.form.thanks_url.format(lang="en"))
        targets += f" {parts.scheme}://{parts.netloc}"
    return (
        f"default-src 'none'; style-src 'self'; img-src 'self' data:; form-action {targets}; "
        f"frame-ancestors {ancestors}; base-uri 'none'"
    )


def page_response(html: str, status: int, settings: Settings, headers: Mapping[str, str] | None = None) -> Response:
    """An HTML page of the form's kind, with its policy (the security headers add the rest)."""
    response = Response(html, status=status, mimetype="text/html")
    response.headers.update(headers or {})
    response.headers["Content-Security-Policy"] = page_policy(settings)
    # Pages differ by the patient's language: a cache between must not hand one language's page to another.
    response.vary.add("Accept-Language")
    return response


class Texts:
    """The page texts of one language, ``t("form.title")``, with the clinic's name and phone filled in."""

    def __init__(self, language: str, clinic: ClinicProfile) -> None:
        self.language = language
        self.clinic = clinic.name
        self._fill = {"clinic": clinic.name, "phone": clinic.phone}
        self._fill["submit"] = self("form.submit")

    def __call__(self, key: str, **values: object) -> str:
        section, _, name = key.partition(".")
        return LABELS.page_text(section, name, self.language, **{**self._fill, **values})

    def words(self, option: Option) -> str:
        """An answer's words: a code's patient words, a page text, or the literal (a pain score)."""
        source, first, second = option.words
        if source == "patient":
            return LABELS.patient_words(first, second, self.language)
        if source == "page":
            return self(f"{first}.{second}")
        return first


@dataclass
class Choice:
    """One radio button or checkbox as shown."""

    id: str
    value: str
    label: str
    checked: bool


@dataclass
class Field:
    """One question as shown: ids, words, the answer kept, its error."""

    name: str
    control: str
    id: str
    label: str
    required: bool
    autocomplete: str | None
    hint: str | None = None
    hint_id: str | None = None
    show_hint: bool = True
    value: str = ""
    choices: list[Choice] = field(default_factory=list)
    error: str | None = None
    error_id: str | None = None

    @property
    def grouped(self) -> bool:
        return self.control in ("radio", "checkbox")

    @property
    def describedby(self) -> str | None:
        ids = [item for item in (self.hint_id, self.error_id) if item]
        return " ".join(ids) or None


@dataclass
class FormPage:
    """Everything the form template shows."""

    language: str
    t: Texts
    sections: list[tuple[str, list[Field]]]
    summary: list[tuple[str, str]]
    token: str
    other_languages: list[tuple[str, str, str]]
    not_sent: bool = False


def render_form(
    settings: Settings,
    *,
    language: str,
    answers: MultiDict | None = None,
    errors: Mapping[str, object] | None = None,
    not_sent: bool = False,
    status: int = 200,
    first_served_at: float | None = None,
) -> Response:
    """The form page: fresh (``answers`` None), or sent back with the answers kept and the errors shown."""
    now = time.time()
    page = build_form(
        settings,
        language=language,
        answers=answers,
        errors=errors or {},
        not_sent=not_sent,
        token=form_token.issue(current_app.secret_key, language, now, first_served_at),
        sites=_sites(),
    )
    return page_response(
        render_template("form/form.html", page=page, action=url_for("intake.receive")), status, settings
    )


def build_form(
    settings: Settings,
    *,
    language: str,
    answers: MultiDict | None,
    errors: Mapping[str, object],
    not_sent: bool,
    token: str,
    sites: Sequence[tuple[str, str]] = (),
) -> FormPage:
    """The form's questions with their words, kept answers and errors. ``sites`` (id, name): the practice's active
    sites; with two or more, the form asks where the patient would like to be seen (and their postal code)."""
    t = Texts(language, settings.clinic)
    kept = _by_question(answers or MultiDict())
    first = {name: values[-1] for name, values in kept.lists()}
    found = field_errors(errors, first)
    summary: list[tuple[str, str]] = []
    hints_shown: set[str] = set()
    sections = []
    for section in SECTIONS:
        shown = []
        for question in section.questions:
            if question.name in SITE_QUESTIONS and len(sites) < 2:
                continue  # one site: nothing to choose between
            item = _field(with_sites(question, sites), t, kept, fresh=answers is None)
            if item.hint_id:
                item.show_hint = item.hint_id not in hints_shown
                hints_shown.add(item.hint_id)
            problem = found.get(question.name)
            if problem is not None:
                item.error = t(f"errors.{problem.message}")
                item.error_id = f"error-{question.name}"
                summary.append((f"#{item.choices[0].id if item.choices else item.id}", item.error))
            shown.append(item)
        if shown:
            sections.append((t(f"form.{section.title}"), shown))
    if "" in found:  # an error of no question on the form (a clinic's own form may send other fields)
        summary.append(("#questions", t(f"errors.{found[''].message}")))
    others = [
        (code, LABELS.patient_words("language", code, t.language), url_for("served_form.form", lang=code))
        for code in LANGUAGES
        if code != language
    ]
    return FormPage(language, t, sections, summary, token, others, not_sent)


def _sites() -> list[tuple[str, str]]:
    """The practice's active sites (id, name), from the process's copy of them."""
    directory = wiring().locations
    return [(site.id, site.name) for site in directory.sites()] if directory is not None else []


def _by_question(answers: MultiDict) -> MultiDict:
    """The posted answers by question name: a clinic's form may send ``patient.first_name``, ``red_flags[]``."""
    kept = MultiDict()
    for name, values in answers.lists():
        short = name.strip().removesuffix("[]").removeprefix("patient.").removeprefix("symptoms.")
        if short not in (TOKEN_FIELD, HONEYPOT_FIELD):
            for value in values:
                kept.add(short, value)
    return kept


def _field(question: Question, t: Texts, answers: MultiDict, *, fresh: bool) -> Field:
    item = Field(
        name=question.name,
        control=question.control,
        id=f"f-{question.name}",
        label=t.words(Option(question.name, question.label or ("patient", "question", question.name))),
        required=question.required,
        autocomplete=question.autocomplete,
    )
    if question.hint:
        item.hint, item.hint_id = t(f"form.{question.hint}"), f"hint-{question.hint}"
    if not question.grouped:
        values = answers.getlist(question.name)
        item.value = values[-1] if values else ""
        return item
    given = answers.getlist(question.name)
    for index, option in enumerate(question.options):
        if fresh and question.name == "language":
            checked = option.value == t.language  # the language the form is read in, until the patient says
        elif fresh and question.name == "preferred_location":
            checked = option.value == ""  # any site, until the patient chooses one
        else:
            checked = question.name in answers and option.value in given
        item.choices.append(Choice(f"f-{question.name}-{index}", option.value, t.words(option), checked))
    return item
