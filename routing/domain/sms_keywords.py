"""What a patient's reply to our text messages asks for: stop them, or start them again.

A reply is a keyword only when it is the whole message (``STOP``, ``stop``, `` Stop. ``), as carriers and Twilio
read it: "stop calling me about the MRI" is a message, not a keyword. Twilio's standard opt-out and opt-in words
are read, plus the Spanish words a patient we text in Spanish may use; with Twilio's Advanced Opt-Out the
provider says which it was (``OptOutType``), and that wins.
"""

from __future__ import annotations

STOP, START = "stop", "start"
#: Twilio's default opt-out keywords, the newer REVOKE and OPTOUT, and Spanish ones.
STOP_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "PARAR", "BAJA", "ALTO"}
)
#: Twilio's default opt-in keywords.
START_WORDS = frozenset({"START", "YES", "UNSTOP"})


def keyword(body: str | None, opt_out_type: str | None = None) -> str | None:
    """STOP, START, or None for a reply that is neither (HELP included: the provider answers that itself)."""
    told = (opt_out_type or "").strip().upper()
    if told in ("STOP", "START"):
        return told.lower()
    word = (body or "").strip().strip(".!¡").strip().upper()
    if word in STOP_WORDS:
        return STOP
    if word in START_WORDS:
        return START
    return None
