"""How long the back pain has lasted, from the ways patients say it.

Every duration found is a candidate; one counts only when it belongs to the pain (or to the event that
started it) rather than to a medicine, a red flag, a leg symptom, a diagnosis or a scan. The longest
candidate wins, as the policy asks.
"""

from __future__ import annotations

import calendar
import datetime
import re
from dataclasses import dataclass

from routing.domain.triage.text_scope import Document, lexicon, starts

_SMALL_NUMBERS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
)  # fmt: skip
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_WORD_VALUES: dict[str, float] = {word: index for index, word in enumerate(_SMALL_NUMBERS)}
_WORD_VALUES.update(_TENS)
_WORD_VALUES.update({"a": 1, "an": 1, "couple": 2, "few": 3, "several": 3, "handful": 3, "dozen": 12, "half": 0.5})
_UNIT_DAYS = {"hour": 1 / 24, "hr": 1 / 24, "day": 1, "week": 7, "wk": 7, "fortnight": 14, "month": 30, "mo": 30}
_UNIT_DAYS.update({"mth": 30, "year": 365, "yr": 365, "decade": 3650})

_NUMBER = (
    r"(?:[0-9]+(?:\.[0-9]+)?|(?:" + "|".join(_TENS) + r")(?:[- ](?:" + "|".join(_SMALL_NUMBERS[1:10]) + r"))?"
    r"|" + "|".join(reversed(_SMALL_NUMBERS)) + r"|a\s+dozen|dozen|a\s+couple(?:\s+of)?|couple(?:\s+of)?"
    r"|a\s+few|few|several|a\s+handful\s+of|half\s+an?|an?)"
)
_UNIT = r"(?:hours?|hrs?|days?|weeks?|wks?|fortnights?|months?|mos|mths?|years?|yrs?|decades?)"
_UNIT_STARTS = ("d", "w", "m", "y", "h", "f")
_COUNTED = lexicon(
    r"(?:(?:about|around|roughly|approximately|approx\.?|nearly|almost|over|more\s+than|at\s+least|just\s+over"
    r"|just\s+under|close\s+to|under|less\s+than|a\s+good|a\s+solid|well\s+over|upwards\s+of|going\s+on)\s+)?"
    r"(?:between\s+(?P<between>"
    + _NUMBER
    + r")\s+and\s+"
    + _NUMBER
    + r"|(?<![0-9.])\b(?P<q1>"
    + _NUMBER
    + r")(?:\s*(?:-|to|or)\s*(?P<q2>"
    + _NUMBER
    + r"))?)"
    r"(?P<plus>\s*\+)?(?P<half1>\s+and\s+a\s+half)?\s*-?\s*(?P<unit>" + _UNIT + r")\b"
    r"(?P<half2>\s+and\s+a\s+half)?(?P<tail>\s+(?:ago|back|old|later|from\s+now|in\s+a\s+row|more))?",
    gate=(
        *starts("hours", "hr", "hrs", "days", "weeks", "wk", "wks", "fortnight", "months", "mos", "mths", "years"),
        *starts("yr", "yrs", "decade"),
        # "3days", "10wks": the unit written onto the number
        *(
            f"{digit}{unit}"
            for digit in "0123456789"
            for unit in ("da", "we", "wk", "mo", "mt", "ye", "yr", "ho", "hr")
        ),
        *(f"{digit}{unit}" for digit in "0123456789" for unit in ("fo", "de")),
        *(f"{number}{unit}" for number in range(10, 100) for unit in _UNIT_STARTS),
    ),
)
# The words before a quantity that say how it is meant: "for the past 3 weeks", "every 2 days", "in 2 weeks".
_LEAD = re.compile(
    r"(?:\b(?:for|since|over|in|during|within|after|every|each|per|next|another|the|past|last|this|these)\s+)+$"
)
_FREQUENCY_BEFORE = re.compile(r"\b(?:once|twice|times|x|days?|hours?|nights?|per|every|each)\s*$")
_FREQUENCY_AFTER = re.compile(
    r"\s+(?:a|per|each|every)\s+(?:day|week|month|year|night)\b|\s*(?:course|supply|prescription|dose|pack|trial)\b"
    r"|\s+(?:pregnant|postpartum|post-?op)\b"
)
_RANGE_GAP = re.compile(r"\s*(?:-|to|or|and)\s*")
_SINCE_LEADS = frozenset(("for", "since", "over", "past", "last"))  # lead words that belong to the duration
_NOT_SINCE_LEADS = frozenset(("every", "each", "per", "next", "another", "after", "within", "these"))  # not the past

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY_ALIASES = {"tues": 1, "weds": 2, "thurs": 3}
_MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_NAMED = lexicon(
    r"(?P<lead>\b(?:(?:since|from|as\s+of|starting|started|on|last|this\s+past|past|this|early|late|mid|the)\s+)*)"
    r"(?P<word>\bthe\s+day\s+before\s+yesterday\b|\byesterday\b|\btoday\b|\btonight\b|\bthis\s+(?:morning|afternoon"
    r"|evening)\b|\blast\s+(?:night|evening)\b|\bearlier\s+today\b|\blast\s+week\b|\blast\s+month\b|\blast\s+year\b"
    r"|\b(?:last\s+|this\s+(?:past\s+)?|over\s+the\s+|at\s+the\s+|on\s+the\s+|the\s+)weekend\b"
    r"|\b(?:" + "|".join(_WEEKDAYS) + "|" + "|".join(_WEEKDAY_ALIASES) + r")\b(?!s\b|'s\b)"
    r"|\b(?:" + "|".join(_MONTHS) + r")\b|\b(?:19|20)[0-9]{2}\b)",
    gate=(
        *starts("yesterday", "today", "tonight", "this", "last", "earlier", "weekend", *_WEEKDAYS, *_WEEKDAY_ALIASES),
        *starts(*_MONTHS),
        *(str(year)[:3] for year in range(1900, 2100, 10)),
    ),
)
_FIXED_DAYS = {
    "yesterday": 1,
    "today": 0,
    "tonight": 0,
    "this morning": 0,
    "this afternoon": 0,
    "this evening": 0,
    "last night": 0,
    "last evening": 0,
    "earlier today": 0,
    "last week": 7,
    "last month": 30,
    "last year": 365,
    "the day before yesterday": 2,
}
_NOT_PAST_BEFORE = re.compile(r"\b(?:next|coming|every|until|till|by|before|upcoming)\s+(?:\w+\s+)?$")
_VAGUE_LONG = lexicon(
    r"\bchronic(?:ally)?\s+(?:\w+\s+){0,2}?(?:pain|back|ache|aches|spasms?|problems?|issues?|condition|lbp|sciatica"
    r"|stiffness)\b",
    r"\b(?:for|over)\s+(?:(?:many|some|the\s+past|the\s+last)\s+)?(?:months|years)\b",
    r"\b(?:months|years)\s+(?:of|now)\b",
    r"\bsince\s+(?:i\s+was\s+(?:a\s+)?(?:kid|child|teen\w*|young)|childhood|high\s+school|college"
    r"|my\s+(?:teens|20s|30s|twenties|thirties))\b",
    gate=starts("chronic", "chronically", "months", "years", "since"),
)

# What a duration is about: the pain or its start (counts), or something else (does not).
_TOPIC = lexicon(
    pain=r"\bpain(?:ful|s)?\b|\bhurt\w*|\bach(?:e|es|ed|ing|y)\b|\bsore\w*|\bspasm\w*|\bstiff\w*|\bback\b"
    r"|\bspine\b|\blumbago\b|\bneck\b|\bsciatica\b|\bshoot\w*|\bradiat\w*|\bthrob\w*|\btwinge\w*|\btight\w*"
    r"|\bcramp\w*|\bflare\w*|\blift\w*|\bfell\b|\bfall\w*|\bpulled\b|\btwist\w*|\binjur\w*|\bstrain\w*|\bmov(?:ed|ing)\b"
    r"|\bgym\b|\bstart\w*|\bbegan\b|\bbegun\b|\bhappen\w*|\bsneez\w*|\bcough\w*|\bwoke\b|\blocked\b|\bseized\b"
    r"|\btweak\w*|\bcarr(?:y|ied|ying)\b|\bbent\b|\bshovel\w*|\bgarden\w*|\bworkout\b|\bexercis\w*",
    other=r"\bnumb\w*|\btingl\w*|\bpins\s+and\s+needles\b|\bweak\w*|\bfevers?\b|\bchills\b|\bsweats\b"
    r"|\btemperature\b|\bbladder\b|\bbowels?\b|\burin\w*|\bincontinen\w*|\bgroin\b|\bweight\b|\bpounds\b|\blbs\b"
    r"|\bcancer\w*|\blymphoma\b|\bleuka?emia\b|\btumou?r\w*|\bchemo\w*|\btransplant\w*|\bprednison\w*|\bsteroids?\b"
    r"|\bdrugs\b|\bheroin\b|\brelax\w*|\bmedications?\b|\bmedicines?\b|\bmeds\b|\bpills\b|\btablets\b|\btak(?:e|en|ing)\b"
    r"|\bprescri\w*|\bphysio\w*|\btherapy\b|\bchiro\w*|\bdiagnos\w*|\barthritis\b|\bosteoarthritis\b|\bdis[ck]s?\b"
    r"|\bstenosis\b|\bdegenerat\w*|\bherniat\w*|\bmris?\b|\bx-?rays?\b|\bscans?\b|\bct\b|\bimaging\b|\bsurgery\b"
    r"|\boperation\b|\bfusion\b|\bappointment\b|\bscheduled\b|\bbooked\b|\bjob\b|\bworked\b|\bmarried\b"
    r"|\bpregnan\w*|\bsmok\w*|\binjections?\b|\bepidural\b|\bibuprofen\b|\bnaproxen\b|\bgabapentin\b|\bopioids?\b"
    r"|\b(?:cyclobenzaprine|flexeril|tizanidine|zanaflex|baclofen|methocarbamol|robaxin|carisoprodol|soma"
    r"|metaxalone|skelaxin|tylenol|advil|aleve|oxycodone|tramadol)\b",
)


@dataclass(frozen=True, init=False)
class Duration:
    """A duration of the pain, in whole days, and the span of the message that said it."""

    days: int
    start: int
    end: int

    def __init__(self, days: int, start: int, end: int) -> None:
        # Cheaper than the generated frozen __init__ (see ``facts.Evidence``).
        fields = self.__dict__
        fields["days"] = days
        fields["start"] = start
        fields["end"] = end


def _number(text: str) -> float | None:
    tokens = [word for word in text.replace("-", " ").split() if word != "of"]
    if len(tokens) == 1 and tokens[0] not in _WORD_VALUES:  # no number word reads as a float: skip the raise
        try:
            return float(tokens[0])
        except ValueError:
            pass
    # "a couple", "a few", "half an": the article only introduces the quantity.
    if len(tokens) > 1 and tokens[0] in ("a", "an"):
        tokens = tokens[1:]
    if len(tokens) > 1 and tokens[-1] in ("a", "an"):
        tokens = tokens[:-1]
    values = [_WORD_VALUES.get(word) for word in tokens]
    if not values or None in values:
        return None
    return float(sum(values))  # type: ignore[arg-type]


def _unit_days(unit: str) -> float:
    unit = unit.rstrip("s") if unit not in ("mos",) else "mo"
    return _UNIT_DAYS.get(unit, 0)


def _days_back_to(received_on: datetime.date, weekday: int) -> int:
    # The most recent such weekday before the day received; the same weekday means a week ago.
    return (received_on.weekday() - weekday) % 7 or 7


def _counted(doc: Document) -> list[tuple[int, int, int]]:
    """Quantities of time ("for 3 weeks", "two days ago", "a couple of months"), as (days, start, end)."""
    low = doc.low
    found: list[tuple[int, int, int]] = []
    previous_end = -10
    for _, match in doc.find(_COUNTED):
        lead_match = _LEAD.search(low, max(0, match.start() - 40), match.start())
        lead = lead_match.group().split() if lead_match else []
        quantity_start = match.start("between") if match["between"] else match.start("q1")
        start = match.start()
        if lead_match and not _SINCE_LEADS.isdisjoint(lead):
            start = lead_match.start()
        if (
            not _NOT_SINCE_LEADS.isdisjoint(lead)
            or ("in" in lead and not {"past", "last"} & set(lead))
            or ("this" in lead and not {"past", "last"} & set(lead))
            or (match["tail"] and match["tail"].split()[0] in ("later", "from", "more"))
            or (match["tail"] and match["tail"].strip() == "old" and match["unit"][0] in "ym")
        ):
            previous_end = match.end()
            continue
        # (The cheap tests first: each regex try costs more than the rest of the loop.)
        if match["q1"] in ("a", "an") and _FREQUENCY_BEFORE.search(low, max(0, quantity_start - 12), quantity_start):
            continue
        if _FREQUENCY_AFTER.match(low, match.end("unit")):
            continue
        if previous_end >= 0 and _RANGE_GAP.fullmatch(low, previous_end, quantity_start):
            # The upper end of a range such as "3 months to a year": the lower bound already counted.
            previous_end = match.end()
            continue
        amount = _number(match["between"] or match["q1"])
        if amount is None:
            continue
        if match["half1"] or match["half2"]:
            amount += 0.5
        days = int(amount * _unit_days(match["unit"]) + 1e-9)
        end = match.end("tail") if match["tail"] and match["tail"].split()[0] in ("ago", "back") else match.end("unit")
        found.append((days, start, end))
        previous_end = match.end()
    return found


def _named(doc: Document, received_on: datetime.date) -> list[tuple[int, int, int]]:
    """Named days and dates ("yesterday", "since Monday", "last week", "since March")."""
    low = doc.low
    found: list[tuple[int, int, int]] = []
    for _, match in doc.find(_NAMED):
        word = " ".join(match["word"].split())
        lead = match["lead"].split()
        start = match.start("lead") if any(w in lead for w in ("since", "on", "last", "from")) else match.start("word")
        if _NOT_PAST_BEFORE.search(low, max(0, match.start() - 20), match.start()):
            continue
        if word in _FIXED_DAYS:
            found.append((_FIXED_DAYS[word], start, match.end()))
            continue
        if word.endswith("weekend"):
            found.append((_days_back_to(received_on, 5), start, match.end()))
            continue
        first = word.split()[0]
        if first in _WEEKDAYS or first in _WEEKDAY_ALIASES:
            weekday = _WEEKDAYS.index(first) if first in _WEEKDAYS else _WEEKDAY_ALIASES[first]
            found.append((_days_back_to(received_on, weekday), start, match.end()))
            continue
        if "since" not in lead:
            continue  # "an MRI in June" dates something else; only "since June" dates the pain
        if first in _MONTHS:
            month = _MONTHS.index(first) + 1
            if month == received_on.month:
                continue  # the same as "this month": unknown
            year = received_on.year if month < received_on.month else received_on.year - 1
            last_day = datetime.date(year, month, calendar.monthrange(year, month)[1])
        else:
            year = int(first)
            if year >= received_on.year:
                continue
            last_day = datetime.date(year, 12, 31)
        # The lower bound, as for a range: "since March" is at least since the end of March.
        found.append(((received_on - last_day).days, start, match.end()))
    return found


def _about_the_pain(doc: Document, start: int, end: int) -> bool:
    """Whether the duration at ``start``..``end`` belongs to the pain rather than to something else."""
    clause_start, clause_end = doc.clause(start)
    clause_end = max(clause_end, end)
    before = doc.last(_TOPIC, clause_start, start)
    if before is not None:
        return before[0] == "pain"
    after = doc.first(_TOPIC, end, clause_end)
    return after is None or after[0] == "pain"


def read_duration(doc: Document, received_on: datetime.date) -> Duration | None:
    """The longest duration the message gives for the back pain, or None when it gives none."""
    candidates = [item for item in _counted(doc) + _named(doc, received_on) if _about_the_pain(doc, item[1], item[2])]
    for _, match in doc.find(_VAGUE_LONG):
        # "Chronic", "for years", "for months" mean 90 days unless a number is stated alongside.
        clause = doc.clause(match.start())
        if any(clause[0] <= item[1] < clause[1] for item in candidates):
            continue
        if _about_the_pain(doc, match.start(), match.end()):
            candidates.append((90, match.start(), match.end()))
    if not candidates:
        return None
    days, start, end = max(candidates, key=lambda item: (item[0], -item[1]))
    return Duration(days, start, end)
