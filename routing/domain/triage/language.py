"""Which language a patient's message is written in: English, Spanish, or another the reader cannot read.

Built on py3langid (a trained character n-gram model that ships inside the package: no download). The
model scores every language it knows; a message is called English or Spanish only when those two
together clearly outweigh every other language, so a code-switched message ("tengo back pain") stays
readable while Portuguese or Galician, close to Spanish, goes to a human. The decision rule and its
thresholds were chosen on messages written for the purpose (see README, "Languages"): a wrong "other"
only delays a booking (a person reads it), a wrong English/Spanish lets the machine read a language it
cannot.
"""

from __future__ import annotations

import re
from functools import cache

from py3langid.langid import MODEL_FILE, LanguageIdentifier

UNDETERMINED = "und"
#: The languages most often met in the practice's area; the English/Spanish margin is measured among them.
COMMON_OTHERS = ("fr", "pt", "it", "de", "tl", "vi", "zh", "ko", "ru", "ar", "ht", "pl", "ja", "hi")
COMMON = ("en", "es", *COMMON_OTHERS)
MIN_LETTERS = 4  # "ok", "si", "no": no language in it
MIN_SHARE = 0.5  # English + Spanish hold at least half the weight among the common languages ...
MIN_RATIO = 1.5  # ... and 1.5 times the likeliest other common language,
MIN_RATIO_ALL = 1.0  # and outweigh the likeliest of all other languages the model knows


@cache
def _identifier() -> LanguageIdentifier:
    # Loaded once per process (about 0.4 s and 100 MB); gunicorn's preload would share it between workers.
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def load_model() -> None:
    """Load the language model now (at start), so the first patient does not wait for it."""
    _identifier()


_NON_LATIN_LETTER = re.compile(r"[^\W\d_\u0000-\u024f\u1e00-\u1eff]")


def _letters(text: str) -> tuple[int, int]:
    """How many letters, and how many of them are not Latin letters."""
    return sum(map(str.isalpha, text)), len(_NON_LATIN_LETTER.findall(text))


def detect_language(message: str | None) -> str | None:
    """The ISO 639-1 code of the message's language ("en", "es", "fr" ...), "und" when it cannot be told.

    None when there is nothing to read (no message, or no letters in it).
    """
    if not message:
        return None
    letters, non_latin = _letters(message)
    if letters == 0:
        return None
    scores = dict(_identifier().rank(message))
    # Terse English ("back pain for 2 weeks") often scores as Nigerian Pidgin, an English-based creole:
    # its weight counts as English, and the English reader (with the safety screen) reads it.
    scores["en"] = scores.get("en", 0.0) + scores.pop("pcm", 0.0)
    english, spanish = scores["en"], scores.get("es", 0.0)
    other, other_score = max(((code, p) for code, p in scores.items() if code not in ("en", "es")), key=_score)
    if other == "zxx":  # the model's "not a language"
        other = UNDETERMINED
    if 2 * non_latin > letters:  # Chinese, Cyrillic, Arabic, Korean ... at any length
        return other
    if letters < MIN_LETTERS:
        return UNDETERMINED
    common_total = sum(scores.get(code, 0.0) for code in COMMON) or 1.0
    share = (english + spanish) / common_total
    likeliest_common_other = max(scores.get(code, 0.0) for code in COMMON_OTHERS) / common_total
    if (
        share >= MIN_SHARE
        and share >= MIN_RATIO * likeliest_common_other
        and english + spanish >= MIN_RATIO_ALL * other_score
    ):
        return "en" if english >= spanish else "es"
    return other


def _score(item: tuple[str, float]) -> float:
    return item[1]
