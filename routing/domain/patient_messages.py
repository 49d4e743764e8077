"""What the patient is told happens next, in plain words, the patient's language and the clinic's local time.

English and Spanish; any other language gets English (the clinic reads that message and calls). Every message
names the clinic and how to reach it (its :class:`~routing.domain.clinic.ClinicProfile`, passed in: these
functions read no settings). Without one, the demo clinic's details are used, so a forgotten argument still
gives the patient a number to call rather than none.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from routing.domain.clinic import DEMO_CLINIC, ClinicProfile
from routing.domain.labels import LABELS, LabelsError
from routing.domain.time_preferences import PreferenceResult
from routing.domain.vocabulary import Urgency

_DAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
}
_MONTHS = {
    "en": ("January", "February", "March", "April", "May", "June",
           "July", "August", "September", "October", "November", "December"),
    "es": ("enero", "febrero", "marzo", "abril", "mayo", "junio",
           "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre"),
}  # fmt: skip

# What to do at once, told with every message that leaves the patient waiting for a call.
EMERGENCY_SIGNS = {
    "en": (
        "If you lose control of your bladder or bowels, feel numb around your groin or buttocks, or your legs "
        "become weak or numb, go to the nearest emergency department or call 911 now."
    ),
    "es": (
        "Si pierde el control de la orina o del intestino, siente adormecida la zona de la ingle o los glúteos, "
        "o se le debilitan o adormecen las piernas, vaya ahora mismo a la sala de emergencias más cercana o "
        "llame al 911."
    ),
}


LANGUAGES = ("en", "es")  # the languages patients are written to; any other gets English

# Each language written to has its words for codes (slot types) in the labels table; checked at import so a
# missing file stops the service at start rather than giving a Spanish message English words.
if _unlabelled := [language for language in LANGUAGES if language not in LABELS.languages]:
    raise LabelsError(f"no labels file for {', '.join(_unlabelled)}: patient messages are written in it")


def _language(language: str | None) -> str:
    return language if language in LANGUAGES else "en"


def local_time(moment: datetime, tz: ZoneInfo, language: str | None = "en") -> str:
    """``Thursday 26 November at 9:00 AM EST`` (``jueves 26 de noviembre a las 9:00 AM EST``), clinic time."""
    # Names from our own tables whatever the process locale (strftime's %A and %B follow it).
    lang = _language(language)
    local = moment.astimezone(tz)
    when = local_clock(moment, tz)
    day, month = _DAYS[lang][local.weekday()], _MONTHS[lang][local.month - 1]
    if lang == "es":
        return f"{day} {local.day} de {month} a las {when}"
    return f"{day} {local.day} {month} at {when}"


def local_clock(moment: datetime, tz: ZoneInfo) -> str:
    """``9:00 AM EST``: the clock time alone, clinic time (the same words in English and Spanish)."""
    local = moment.astimezone(tz)
    noon = "AM" if local.hour < 12 else "PM"
    return f"{local.hour % 12 or 12}:{local.minute:02d} {noon} {local.tzname()}"


def booked(
    slot_type: str,
    start: datetime,
    tz: ZoneInfo,
    language: str | None = "en",
    *,
    clinic: ClinicProfile = DEMO_CLINIC,
    preference: PreferenceResult | None = None,
    site: SiteChoice | None = None,
) -> str:
    """The appointment is booked; where (and, when it is not where the patient asked, why), and how it relates
    to the times the patient said suit them."""
    lang = _language(language)
    kind = LABELS.patient_words("slot_type", slot_type, lang)
    when = local_time(start, tz, lang)
    if lang == "es":
        text = (
            f"Su {kind} en {clinic.name}, {clinic.address}, está reservada para el {when}. "
            f"{_site_note(site, lang)}{_preference_note(preference, lang)}"
            f"Si ese horario no le conviene, llame al {clinic.phone} y le buscaremos otro."
        )
    else:
        text = (
            f"Your {kind} at {clinic.name}, {clinic.address}, is booked for {when}. "
            f"{_site_note(site, lang)}{_preference_note(preference, lang)}"
            f"If that time does not suit you, call us on {clinic.phone} and we will find another."
        )
    return text


class SiteChoice(StrEnum):
    """How the booked site relates to where the patient asked to be seen."""

    #: The patient chose a site and it had no slot in time: a site within the travel radius had one.
    NEAR_CHOSEN = "near_chosen"
    #: The patient chose a site or gave a postal code, and nothing near had a slot in time: another site had one.
    ELSEWHERE = "elsewhere"


_SITE_NOTES = {
    (SiteChoice.NEAR_CHOSEN, "en"): "The site you chose had no free appointment soon enough, so we booked the "
    "nearest one that had. ",
    (SiteChoice.NEAR_CHOSEN, "es"): "El centro que eligió no tenía citas libres a tiempo, así que reservamos en el "
    "centro cercano que sí tenía. ",
    (SiteChoice.ELSEWHERE, "en"): "No site near you had a free appointment soon enough, so we booked the earliest "
    "one at another of our sites; call us if you would rather wait for one nearer. ",
    (SiteChoice.ELSEWHERE, "es"): "Ningún centro cercano a usted tenía citas libres a tiempo, así que reservamos la "
    "primera disponible en otro de nuestros centros; llámenos si prefiere esperar una más cerca. ",
}


def _site_note(site: SiteChoice | None, lang: str) -> str:
    return _SITE_NOTES[(site, lang)] if site is not None else ""


def _preference_note(preference: PreferenceResult | None, lang: str) -> str:
    """A sentence (with its trailing space) on the patient's preferred times, or nothing when none was given."""
    if preference is None:
        return ""
    notes = []
    if preference.fitted is True:
        notes.append(
            "Es uno de los horarios que nos indicó."
            if lang == "es"
            else "It is at one of the times you told us suit you."
        )
    elif preference.fitted is False:
        notes.append(
            "Ningún horario libre en el plazo que su caso necesita coincidía con los que nos indicó, así que "
            "reservamos el primero disponible."
            if lang == "es"
            else "None of the free times within the time frame your case needs matched the times you gave, so "
            "we booked the earliest one."
        )
    if preference.unread:
        notes.append(
            "No pudimos leer con seguridad alguno de los horarios que nos indicó; la clínica intentará tenerlo "
            "en cuenta."
            if lang == "es"
            else "We could not read some of the times you gave for certain; the clinic will try to accommodate them."
        )
    return "".join(f"{note} " for note in notes)


def urgent_review(urgency: str, language: str | None = "en", *, clinic: ClinicProfile = DEMO_CLINIC) -> str:
    """A red flag: nothing is booked; a clinician calls (and for an emergency, go now)."""
    lang = _language(language)
    if urgency == Urgency.EMERGENCY:
        if lang == "es":
            return (
                "Algo de lo que describe puede ser señal de una emergencia médica. Vaya ahora mismo a la sala de "
                "emergencias más cercana o llame al 911. No espere nuestra llamada. Un profesional de "
                f"{clinic.name} también intentará comunicarse con usted hoy; puede llamarnos al {clinic.phone}."
            )
        return (
            "Some of what you describe can be a sign of a medical emergency. Please go to the nearest "
            "emergency department or call 911 now. Do not wait for our call. A clinician from "
            f"{clinic.name} will also try to reach you today; you can call us on {clinic.phone}."
        )
    if lang == "es":
        return (
            "Algo de lo que describe necesita la revisión de un profesional antes de reservar una cita. Un "
            f"profesional de {clinic.name} le llamará dentro de un día hábil; si no recibe la llamada, llámenos "
            f"al {clinic.phone}. Si se siente mucho peor, vaya a la sala de emergencias o llame al 911."
        )
    return (
        "Some of what you describe needs a clinician's review before we book anything. A clinician from "
        f"{clinic.name} will call you within one working day; if you do not hear from us, call us on "
        f"{clinic.phone}. If you feel much worse, go to an emergency department or call 911."
    )


def held_for_staff(
    slot_type: str,
    proposed_start: datetime | None,
    tz: ZoneInfo,
    language: str | None = "en",
    *,
    clinic: ClinicProfile = DEMO_CLINIC,
    waitlist: tuple[str, ...] | None = None,
) -> str:
    """No slot was free soon enough: staff will call, with the earliest time we could offer.

    ``waitlist``: the inquiry is also on the waitlist, and an earlier slot that frees up is offered on the
    patient's own page and on these notice channels (``email``, ``sms``; none: the page alone). None: it is not.
    """
    lang = _language(language)
    kind = LABELS.patient_words("slot_type", slot_type, lang)
    if waitlist is not None:
        return _waitlisted(kind, proposed_start, tz, lang, clinic, waitlist)
    if lang == "es":
        if proposed_start is None:
            text = (
                f"No encontramos una {kind} libre con la prontitud necesaria. "
                f"El personal de {clinic.name} le llamará para programarla."
            )
        else:
            text = (
                f"No encontramos una {kind} libre tan pronto como quisiéramos. El personal de {clinic.name} le "
                "llamará para programarla; lo más pronto que podemos ofrecerle ahora es el "
                f"{local_time(proposed_start, tz, lang)}."
            )
        text += f" También puede llamarnos al {clinic.phone}."
        return f"{text} {EMERGENCY_SIGNS[lang]}"
    if proposed_start is None:
        text = f"We could not find a free {kind} soon enough. Staff at {clinic.name} will call you to arrange one."
    else:
        text = (
            f"We could not find a free {kind} as soon as we would like. Staff at {clinic.name} will call you to "
            f"arrange one; the earliest we can offer now is {local_time(proposed_start, tz, lang)}."
        )
    text += f" You can also call us on {clinic.phone}."
    return f"{text} {EMERGENCY_SIGNS[lang]}"


#: How an offer from the waitlist reaches the patient besides their own page, by notice channel.
_OFFERED_BY = {
    "en": {"email": "by email and on your own page", "sms": "by text message and on your own page"},
    "es": {
        "email": "por correo electrónico y en su propia página",
        "sms": "por mensaje de texto y en su propia página",
    },
}
_OWN_PAGE = {"en": "on your own page", "es": "en su propia página"}


def _waitlisted(
    kind: str,
    proposed_start: datetime | None,
    tz: ZoneInfo,
    lang: str,
    clinic: ClinicProfile,
    channels: tuple[str, ...],
) -> str:
    """:func:`held_for_staff` for an inquiry on the waitlist: no slot yet, but an earlier one may be offered."""
    by = next((_OFFERED_BY[lang][channel] for channel in channels if channel in _OFFERED_BY[lang]), _OWN_PAGE[lang])
    if lang == "es":
        if proposed_start is None:
            text = f"No encontramos una {kind} libre con la prontitud necesaria."
        else:
            text = (
                f"No encontramos una {kind} libre tan pronto como quisiéramos; lo más pronto que podemos ofrecerle "
                f"ahora es el {local_time(proposed_start, tz, lang)}."
            )
        text += (
            f" Está en nuestra lista de espera para una {kind} más pronto: si se libera una, se la ofreceremos {by}. "
            f"Si no, el personal de {clinic.name} le llamará para programarla. También puede llamarnos al "
            f"{clinic.phone}."
        )
        return f"{text} {EMERGENCY_SIGNS[lang]}"
    if proposed_start is None:
        text = f"We could not find a free {kind} soon enough."
    else:
        text = (
            f"We could not find a free {kind} as soon as we would like; the earliest we can offer now is "
            f"{local_time(proposed_start, tz, lang)}."
        )
    text += (
        f" You are on our waitlist for an earlier {kind}: if one frees up, we will offer it to you {by}. "
        f"Otherwise staff at {clinic.name} will call you to arrange one. You can also call us on {clinic.phone}."
    )
    return f"{text} {EMERGENCY_SIGNS[lang]}"


def held_for_reading(language: str | None = "en", *, clinic: ClinicProfile = DEMO_CLINIC) -> str:
    """The safety net held the inquiry: a person reads the message and calls before anything is booked."""
    lang = _language(language)
    if lang == "es":
        text = (
            f"Hemos recibido su mensaje. Una persona de {clinic.name} lo leerá y le llamará dentro de un día "
            f"hábil para darle la cita adecuada. También puede llamarnos al {clinic.phone}."
        )
    else:
        text = (
            f"We have received your message. A member of staff at {clinic.name} will read it and call you within "
            f"one working day to arrange the right appointment. You can also call us on {clinic.phone}."
        )
    return f"{text} {EMERGENCY_SIGNS[lang]}"


def pending(language: str | None = "en", *, clinic: ClinicProfile = DEMO_CLINIC) -> str:
    """Stored, but booking could not be completed yet."""
    website = f" ({clinic.website})" if clinic.website else ""
    if _language(language) == "es":
        return (
            f"Hemos recibido su mensaje. {clinic.name} se comunicará con usted para confirmar su cita. "
            f"Si tiene preguntas, llámenos al {clinic.phone}{website}."
        )
    return (
        f"We have received your message. {clinic.name} will contact you to confirm your appointment. "
        f"If you have questions, call us on {clinic.phone}{website}."
    )
