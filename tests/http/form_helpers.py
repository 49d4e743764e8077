"""Helpers for the patient form's tests: a browser's Accept header, form tokens, and reading the pages."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from html.parser import HTMLParser

from routing.http import form_token

#: What Chromium sends when it submits a form (a navigation).
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"}


def served_token(app, language: str = "en", seconds_ago: float = 60.0) -> str:
    """The token of a form served ``seconds_ago`` (past the minimum fill time) by ``app``."""
    return form_token.issue(app.secret_key, language, time.time() - seconds_ago)


def strain_form(token: str | None = None, **fields) -> dict:
    """A complete, valid form post of a back strain (booked into a consult), as the served form sends it."""
    answers = {
        "location": "lower_back",
        "duration_days": "1",
        "onset": "sudden",
        "trigger": "lifting",
        "episodes": "first",
        "pain_score": "6",
        "radiating_leg_pain": "false",
        "muscle_relaxants": "not_tried",
        "prior_imaging": "false",
        "message": "Lifted a couch yesterday and my lower back went into spasm.",
        "preferred_times": "",
        "first_name": "Ana",
        "last_name": "Diaz",
        "email": "ana@example.org",
        "phone": "+1 555 0100",
        "date_of_birth": "",
        "language": "en",
        "consent": "true",
        "homepage": "",
    }
    if token is not None:
        answers["form_token"] = token
    answers.update(fields)
    return answers


@dataclass
class Page:
    """What a test reads from one of the form's HTML pages."""

    lang: str = ""
    title: str = ""
    text: str = ""
    #: name -> values of text inputs and textareas as filled in, and of checked radios and checkboxes
    values: dict[str, list[str]] = field(default_factory=dict)
    #: id -> text of every element with an id (error messages, the summary, the message, ...)
    by_id: dict[str, str] = field(default_factory=dict)
    #: (href, text) of every link
    links: list[tuple[str, str]] = field(default_factory=list)
    #: id -> attributes of every input, textarea and fieldset
    controls: dict[str, dict[str, str]] = field(default_factory=dict)
    #: the label text of each control, by the control's id
    labels: dict[str, str] = field(default_factory=dict)


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self._open: list[tuple[str, str | None, list[str]]] = []  # (tag, id, text pieces)
        self._label_for: str | None = None
        self._label: list[str] = []
        self._textarea: str | None = None
        self._link: str | None = None
        self._link_text: list[str] = []
        self._in_title = False
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        attributes = {name: value or "" for name, value in attrs}
        if tag in ("input", "br", "meta", "link"):
            self._control(tag, attributes)
            return
        if tag in ("style", "script"):
            self._skip += 1
        if tag == "html":
            self.page.lang = attributes.get("lang", "")
        if tag == "title":
            self._in_title = True
        if tag == "label":
            self._label_for, self._label = attributes.get("for"), []
        if tag == "textarea":
            self._textarea = attributes.get("name")
            self.page.controls[attributes.get("id", "")] = attributes
            self.page.values.setdefault(self._textarea, []).append("")
        if tag == "fieldset":
            self.page.controls[attributes.get("id", f"fieldset-{len(self.page.controls)}")] = attributes
        if tag == "a":
            self._link, self._link_text = attributes.get("href", ""), []
        self._open.append((tag, attributes.get("id"), []))

    def _control(self, tag, attributes):
        if tag != "input":
            return
        self.page.controls[attributes.get("id", attributes.get("name", ""))] = attributes
        kind, name = attributes.get("type", "text"), attributes.get("name")
        if kind in ("radio", "checkbox"):
            if "checked" in attributes:
                self.page.values.setdefault(name, []).append(attributes.get("value", "on"))
        elif name:
            self.page.values.setdefault(name, []).append(attributes.get("value", ""))

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self._skip -= 1
        if tag == "title":
            self._in_title = False
        if tag == "label" and self._label_for:
            self.page.labels[self._label_for] = " ".join("".join(self._label).split())
            self._label_for = None
        if tag == "textarea":
            self._textarea = None
        if tag == "a" and self._link is not None:
            self.page.links.append((self._link, " ".join("".join(self._link_text).split())))
            self._link = None
        while self._open:
            open_tag, element_id, pieces = self._open.pop()
            if element_id:
                self.page.by_id[element_id] = " ".join("".join(pieces).split())
            if self._open:
                self._open[-1][2].extend(pieces)
            if open_tag == tag:
                break

    def handle_data(self, data):
        if self._skip:
            return
        if self._in_title:
            self.page.title += data.strip()
        if self._textarea:
            self.page.values[self._textarea][-1] += data
        if self._label_for is not None:
            self._label.append(data)
        if self._link is not None:
            self._link_text.append(data)
        if self._open:
            self._open[-1][2].append(data)
        self.page.text += data


def read_page(response) -> Page:
    """The page of an HTML ``response``, read."""
    reader = _Reader()
    reader.feed(response.get_data(as_text=True))
    reader.close()
    reader.page.text = " ".join(reader.page.text.split())
    return reader.page
