"""Phone numbers as patients write them, made into the E.164 form an SMS provider takes (``+12125550100``).

Deliberately small: a number written with ``+`` or ``00`` keeps its own country code; one written without is
taken to be in the clinic's country (``ROUTING_SMS_COUNTRY_CODE``), its trunk prefix dropped (a leading 0; for
North America, a leading 1). What cannot be made into 8 to 15 digits is no SMS number at all (None), and the
patient is simply not texted: a wrong guess would text a stranger.
"""

from __future__ import annotations

import re

# Separators people write between digits; anything else (letters, an extension) makes the number unusable.
_WRITTEN = re.compile(r"\+?[\d\s().\-/]+")
#: E.164: a country code and subscriber number, at most 15 digits (ITU-T E.164 section 6).
_MAX_DIGITS = 15
#: Shorter than this is no full international number (the shortest in use have 8 digits with the country code).
_MIN_DIGITS = 8
# A number as patients dial it (the clinic's, a site's): digits with the usual separators, an optional extension.
_DIALABLE = re.compile(r"\+?[\d\s().\-]{7,30}(?:\s*(?:ext\.?|x)\s*\d{1,6})?", re.IGNORECASE)


def dialable(written: str) -> bool:
    """Whether ``written`` is a phone number patients can dial: 7 to 15 digits with spaces, dashes, dots or
    parentheses, an optional ``+`` and extension ("+1 (212) 555-0100", "212-555-0100 ext. 12")."""
    digits = sum(char.isdigit() for char in re.split(r"(?i)ext|x", written)[0])
    return bool(_DIALABLE.fullmatch(written)) and 7 <= digits <= 15


def e164(written: str | None, country_code: str) -> str | None:
    """``written`` as ``+<digits>``, or None when it cannot be read as a full number for certain."""
    if not written or not _WRITTEN.fullmatch(written.strip()):
        return None
    text = written.strip()
    digits = re.sub(r"\D", "", text)
    if text.startswith("+"):
        full = digits
    elif digits.startswith("00"):
        full = digits[2:]
    elif country_code == "1":
        # North American numbering: ten digits, sometimes written with the leading 1.
        if len(digits) == 11 and digits.startswith("1"):
            digits = digits[1:]
        full = f"1{digits}" if len(digits) == 10 else ""
    else:
        full = country_code + digits.removeprefix("0")
    if not _MIN_DIGITS <= len(full) <= _MAX_DIGITS or full.startswith("0"):
        return None
    return f"+{full}"


def masked(number: str) -> str:
    """A number as staff may see it in the audit trail: its last four digits only (``…0100``)."""
    return f"…{re.sub(r'[^0-9]', '', number)[-4:]}"
