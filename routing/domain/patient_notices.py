"""What a patient is sent by email or text message after the form: booked, held for a call, moved, cancelled,
a reminder the day before, and an earlier slot offered from the waitlist.

Minimal health information, by design: a notice names the clinic, the appointment's time (in the clinic's time
zone) and place, the clinic's phone and the patient's own link, and nothing else. Never the patient's name,
what they wrote, their symptoms, their triage or even the kind of appointment (an "MRI scan" or an "injection"
says something about their health to whoever sees a phone's lock screen; an offer from the waitlist is "an
earlier appointment", its kind is on the patient's own page). Every word is in the labels table
(``[page.email]``, ``[page.sms]``), in English or Spanish by the inquiry's language.
"""

from __future__ import annotations

import html
import math
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from zoneinfo import ZoneInfo

from routing.domain.clinic import ClinicProfile
from routing.domain.labels import LABELS
from routing.domain.patient_messages import LANGUAGES, local_clock, local_time
from routing.domain.vocabulary import ContactPreference

BOOKED, HELD, REBOOKED, CANCELLED, REMINDER = "booked", "held", "rebooked", "cancelled", "reminder"
#: An earlier slot freed up and is kept for the patient on the waitlist until the offer runs out.
OFFERED = "offered"
#: The outbox's event types a patient is told about, and the notice each one gets. An urgent review is not
#: among them: the patient was told at once what to do, and a clinician calls (a later email saying "we will
#: call" could read as "you can wait").
NOTICES: Mapping[str, str] = MappingProxyType(
    {
        "appointment.booked": BOOKED,
        "inquiry.held": HELD,
        "appointment.rebooked": REBOOKED,
        "appointment.cancelled": CANCELLED,
        "appointment.reminder_due": REMINDER,
        "waitlist.offered": OFFERED,
    }
)
#: The notices about an appointment: they need its start.
ABOUT_AN_APPOINTMENT = (BOOKED, REBOOKED, CANCELLED, REMINDER)
#: The channels notices go out on, named as the intake's ``contact_preference`` names them.
EMAIL, SMS = ContactPreference.EMAIL.value, ContactPreference.SMS.value


def channels_for(*, consent: bool, preference: str | None, email: str | None, phone: str | None) -> tuple[str, ...]:
    """The channels a patient may be sent notices on: none without consent; the one they prefer, if they gave
    its contact; with no preference, email when they gave an address (texting needs them to ask for it)."""
    if not consent:
        return ()
    if preference == EMAIL or preference is None:
        return (EMAIL,) if email else ()
    if preference == SMS:
        return (SMS,) if phone else ()
    return ()


@dataclass(frozen=True)
class Notice:
    """One notice to render: what happened, in which language, with the facts it may name."""

    kind: str
    language: str | None
    clinic: ClinicProfile
    tz: ZoneInfo
    #: The appointment's start (every kind but HELD; for OFFERED, the offered slot's).
    start: datetime | None = None
    #: Until when an offered slot is kept for the patient (OFFERED only).
    until: datetime | None = None
    #: The patient's own page (None until that link is available: the notice then goes without it).
    link: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in NOTICES.values():
            raise ValueError(f"no notice of kind {self.kind!r}")
        if self.kind in ABOUT_AN_APPOINTMENT and self.start is None:
            raise ValueError(f"a {self.kind} notice names the appointment's start")
        if self.kind == OFFERED and (self.start is None or self.until is None):
            raise ValueError("an offered notice names the slot's start and until when it is kept")

    @property
    def lang(self) -> str:
        """The language it is written in: the inquiry's when we write in it, else English."""
        return self.language if self.language in LANGUAGES else "en"

    def words(self, section: str, key: str, **more: str) -> str:
        """A text of ``[page.section]`` with this notice's facts (and ``more``) filled in."""
        when = local_time(self.start, self.tz, self.lang) if self.start is not None else ""
        until = local_time(self.until, self.tz, self.lang) if self.until is not None else ""
        return LABELS.page_text(
            section,
            key,
            self.lang,
            clinic=self.clinic.name,
            phone=self.clinic.phone,
            address=self.clinic.address,
            when=when,
            until=until,
            # A text message says the clock time alone: an offer runs out within hours of being sent.
            until_time=local_clock(self.until, self.tz) if self.until is not None else "",
            link=self.link or "",
            **more,
        )


@dataclass(frozen=True)
class Email:
    """An email's parts, ready for the mail adapter."""

    subject: str
    text: str
    html: str
    language: str


def email(notice: Notice, unsubscribe_url: str) -> Email:
    """The email for ``notice``: plain text and the same as simple HTML, with the unsubscribe link at the foot."""
    words = notice.words
    details: list[tuple[str, str]] = []
    if notice.kind in (BOOKED, REBOOKED, REMINDER, OFFERED):
        details = [
            (words("email", "when"), local_time(notice.start, notice.tz, notice.lang)),
            (words("email", "where"), f"{notice.clinic.name}, {notice.clinic.address}"),
        ]
    paragraphs = [words("email", f"intro_{notice.kind}")]
    if notice.kind == HELD:
        paragraphs.append(words("email", "worse"))
    # After the details and the link: an offer says how to answer it, and what doing nothing means.
    after = []
    if notice.kind == OFFERED:
        after = ([] if notice.link else [words("email", "offered_call")]) + [words("email", "offered_stands")]
    closing = words("email", "call")
    footer = words("email", "why")
    unsubscribe = words("email", "unsubscribe")
    link_intro = words("email", "link_offered" if notice.kind == OFFERED else "link") if notice.link else None

    text = ["\n\n".join(paragraphs)]
    if details:
        text.append("\n".join(f"{label}: {value}" for label, value in details))
    if link_intro:
        text.append(f"{link_intro}\n{notice.link}")
    text += after
    text += [closing, f"-- \n{footer}\n{unsubscribe}: {unsubscribe_url}"]

    e = html.escape
    parts = [f"<p>{e(paragraph)}</p>" for paragraph in paragraphs]
    if details:
        parts.append("<p>" + "<br>\n".join(f"<strong>{e(label)}:</strong> {e(value)}" for label, value in details))
        parts[-1] += "</p>"
    if link_intro:
        parts.append(f'<p>{e(link_intro)}<br>\n<a href="{e(notice.link)}">{e(notice.link)}</a></p>')
    parts += [f"<p>{e(paragraph)}</p>" for paragraph in after]
    parts += [
        f"<p>{e(closing)}</p>",
        f'<hr>\n<p><small>{e(footer)}<br>\n<a href="{e(unsubscribe_url)}">{e(unsubscribe)}</a></small></p>',
    ]
    subject = words("email", f"subject_{notice.kind}")
    head = f'<head><meta charset="utf-8"><title>{e(subject)}</title></head>'
    page = f'<!doctype html>\n<html lang="{notice.lang}">\n{head}\n<body>\n' + "\n".join(parts) + "\n</body>\n</html>\n"
    return Email(subject=subject, text="\n\n".join(text) + "\n", html=page, language=notice.lang)


#: The most SMS segments a notice should take.
SMS_SEGMENTS = 2


def sms(notice: Notice) -> str:
    """The text message for ``notice``: what happened, the link, the phone, how to stop; GSM letters where the
    meaning allows (an accent outside the GSM alphabet would make every segment hold 70 characters, not 160).
    The first of :func:`_sms_drafts` that fits in two segments: the clinic's address is left out when the
    message would not fit with it (a long link), and an offer sheds what its link's page says too."""
    text = ""
    for parts in _sms_drafts(notice):
        text = gsm_letters(" ".join(parts))
        if sms_segments(text) <= SMS_SEGMENTS:
            break
    return text


def _sms_drafts(notice: Notice) -> list[list[str]]:
    """The text message's drafts, longest first; each a list of sentences."""
    words = notice.words
    address = f", {notice.clinic.address}"
    if notice.kind != OFFERED:
        link = [words("sms", "link")] if notice.link else []
        tail = [*link, words("sms", "call"), words("sms", "stop")]
        return [[words("sms", notice.kind, place=place), *tail] for place in (address, "")]
    stop = words("sms", "stop")
    if not notice.link:  # the patient answers by phone: the call is the answer
        answer = [words("sms", "offered_call"), words("sms", "offered_stands")]
        return [[words("sms", OFFERED, place=place), *answer, stop] for place in (address, "")]
    # The page behind the link says when and where, and gives the phone: those go first when room runs out.
    answer = [words("sms", "offered_link"), words("sms", "offered_stands")]
    return [
        [words("sms", OFFERED, place=address), *answer, words("sms", "call"), stop],
        [words("sms", OFFERED, place=""), *answer, words("sms", "call"), stop],
        [words("sms", OFFERED, place=""), *answer, stop],
        [words("sms", "offered_short"), *answer, stop],
        [words("sms", "offered_short"), answer[0], stop],
    ]


# GSM 03.38: the default alphabet (one septet each) and its extension table (two: escape + character).
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿"
    "abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = frozenset("^{}\\[~]|€\f")
# Typography that has a plain GSM equivalent.
# (quotes, dashes, ellipsis, no-break space)
_PLAIN = str.maketrans(
    {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'}
    | {"\u2013": "-", "\u2014": "-", "\u2026": "...", "\u00a0": " "}
)


def gsm_letters(text: str) -> str:
    """``text`` with each character outside the GSM alphabet replaced by its unaccented letter where that is in
    it (á -> a, Í -> I); characters with no such letter are kept (the message is then sent as UCS-2)."""
    out = []
    for char in text.translate(_PLAIN):
        if char in GSM_BASIC or char in GSM_EXTENDED:
            out.append(char)
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
        out.append(base if base and all(c in GSM_BASIC for c in base) else char)
    return "".join(out)


def sms_segments(text: str) -> int:
    """How many SMS segments ``text`` takes: GSM-7 (160, or 153 each when split) when every character is in the
    GSM alphabet, else UCS-2 (70, or 67 each when split, counted in UTF-16 code units)."""
    if all(char in GSM_BASIC or char in GSM_EXTENDED for char in text):
        units = sum(2 if char in GSM_EXTENDED else 1 for char in text)
        single, split = 160, 153
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, split = 70, 67
    return 1 if units <= single else math.ceil(units / split)
