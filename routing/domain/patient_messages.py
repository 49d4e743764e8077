"""What the patient is told happens next, in plain words, the patient's language and the clinic's local time.

English and Spanish; any other language gets English (the clinic reads that message and calls).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from routing.domain.vocabulary import Urgency

SLOT_TYPE_WORDS = {
    "en": {
        "consult": "pain-management consultation",
        "imaging": "MRI scan (diagnostic imaging)",
        "injection": "injection appointment (for example a facet joint block)",
    },
    "es": {
        "consult": "consulta de manejo del dolor",
        "imaging": "resonancia magnética (estudio de imagen)",
        "injection": "cita para una inyección (por ejemplo, un bloqueo de las articulaciones facetarias)",
    },
}

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


def _language(language: str | None) -> str:
    return language if language in LANGUAGES else "en"


def local_time(moment: datetime, tz: ZoneInfo, language: str | None = "en") -> str:
    """``Thursday 26 November at 9:00 AM EST`` (``jueves 26 de noviembre a las 9:00 AM EST``), clinic time."""
    # Names from our own tables whatever the process locale (strftime's %A and %B follow it).
    lang = _language(language)
    local = moment.astimezone(tz)
    noon = "AM" if local.hour < 12 else "PM"
    when = f"{local.hour % 12 or 12}:{local.minute:02d} {noon} {local.tzname()}"
    day, month = _DAYS[lang][local.weekday()], _MONTHS[lang][local.month - 1]
    if lang == "es":
        return f"{day} {local.day} de {month} a las {when}"
    return f"{day} {local.day} {month} at {when}"


def booked(slot_type: str, start: datetime, tz: ZoneInfo, language: str | None = "en") -> str:
    """The appointment is booked."""
    lang = _language(language)
    kind = SLOT_TYPE_WORDS[lang].get(slot_type, slot_type)
    when = local_time(start, tz, lang)
    if lang == "es":
        return (
            f"Su {kind} está reservada para el {when}. "
            "Si ese horario no le conviene, llame a la clínica y le buscaremos otro."
        )
    return (
        f"Your {kind} is booked for {when}. If that time does not suit you, call the clinic and we will find another."
    )


def urgent_review(urgency: str, language: str | None = "en") -> str:
    """A red flag: nothing is booked; a clinician calls (and for an emergency, go now)."""
    lang = _language(language)
    if urgency == Urgency.EMERGENCY:
        if lang == "es":
            return (
                "Algo de lo que describe puede ser señal de una emergencia médica. Vaya ahora mismo a la sala de "
                "emergencias más cercana o llame al 911. No espere nuestra llamada. Un profesional de nuestra "
                "clínica también intentará comunicarse con usted hoy."
            )
        return (
            "Some of what you describe can be a sign of a medical emergency. Please go to the nearest "
            "emergency department or call 911 now. Do not wait for our call. A clinician from our practice "
            "will also try to reach you today."
        )
    if lang == "es":
        return (
            "Algo de lo que describe necesita la revisión de un profesional antes de reservar una cita. Un "
            "profesional de nuestra clínica le llamará dentro de un día hábil. Si se siente mucho peor, vaya a "
            "la sala de emergencias o llame al 911."
        )
    return (
        "Some of what you describe needs a clinician's review before we book anything. A clinician from "
        "our practice will call you within one working day. If you feel much worse, go to an emergency "
        "department or call 911."
    )


def held_for_staff(slot_type: str, proposed_start: datetime | None, tz: ZoneInfo, language: str | None = "en") -> str:
    """No slot was free soon enough: staff will call, with the earliest time we could offer."""
    lang = _language(language)
    kind = SLOT_TYPE_WORDS[lang].get(slot_type, slot_type)
    if lang == "es":
        if proposed_start is None:
            text = (
                f"No encontramos una {kind} libre con la prontitud necesaria. "
                "Nuestro personal le llamará para programarla."
            )
        else:
            text = (
                f"No encontramos una {kind} libre tan pronto como quisiéramos. Nuestro personal le llamará para "
                f"programarla; lo más pronto que podemos ofrecerle ahora es el {local_time(proposed_start, tz, lang)}."
            )
        return f"{text} {EMERGENCY_SIGNS[lang]}"
    if proposed_start is None:
        text = f"We could not find a free {kind} soon enough. Our staff will call you to arrange one."
    else:
        text = (
            f"We could not find a free {kind} as soon as we would like. Our staff will call you to arrange "
            f"one; the earliest we can offer now is {local_time(proposed_start, tz, lang)}."
        )
    return f"{text} {EMERGENCY_SIGNS[lang]}"


def held_for_reading(language: str | None = "en") -> str:
    """The safety net held the inquiry: a person reads the message and calls before anything is booked."""
    lang = _language(language)
    if lang == "es":
        text = (
            "Hemos recibido su mensaje. Una persona de nuestra clínica lo leerá y le llamará dentro de un día "
            "hábil para darle la cita adecuada."
        )
    else:
        text = (
            "We have received your message. A member of our clinic staff will read it and call you within one "
            "working day to arrange the right appointment."
        )
    return f"{text} {EMERGENCY_SIGNS[lang]}"


def pending(language: str | None = "en") -> str:
    """Stored, but booking could not be completed yet."""
    if _language(language) == "es":
        return "Hemos recibido su mensaje. La clínica se comunicará con usted para confirmar su cita."
    return "We have received your message. The clinic will contact you to confirm your appointment."
