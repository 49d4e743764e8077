"""What muscle relaxants did, read only where a relaxant is the subject of the effect.

The reader finds treatment mentions (subjects) and effect phrases ("didn't help", "helped a bit", "no
relief from"), then gives each effect to the nearest subject it grammatically points at. Only effects
that land on a muscle relaxant count; painkillers, NSAIDs, opioids, gabapentin and physiotherapy are
subjects too, so that their effects are never mistaken for the relaxants'.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from routing.domain.triage.text_lexicon import RELAXANT, RELAXANT_NAMES
from routing.domain.triage.text_scope import Document, Hints, lexicon, rx, words

_OTHER_TREATMENTS = (
    "painkiller",
    "painkillers",
    "pain killer",
    "pain killers",
    "pain meds",
    "pain medication",
    "pain medications",
    "pain medicine",
    "pain reliever",
    "pain relievers",
    "ibuprofen",
    "advil",
    "motrin",
    "nurofen",
    "naproxen",
    "aleve",
    "naprosyn",
    "nsaid",
    "nsaids",
    "anti-inflammatory",
    "anti-inflammatories",
    "anti inflammatories",
    "antiinflammatories",
    "tylenol",
    "acetaminophen",
    "paracetamol",
    "panadol",
    "aspirin",
    "opioid",
    "opioids",
    "opiates",
    "oxycodone",
    "oxycontin",
    "percocet",
    "hydrocodone",
    "vicodin",
    "norco",
    "tramadol",
    "ultram",
    "codeine",
    "morphine",
    "dilaudid",
    "hydromorphone",
    "fentanyl",
    "gabapentin",
    "neurontin",
    "pregabalin",
    "lyrica",
    "meloxicam",
    "mobic",
    "celecoxib",
    "celebrex",
    "diclofenac",
    "voltaren",
    "ketorolac",
    "toradol",
    "prednisone",
    "steroid",
    "steroids",
    "injection",
    "injections",
    "epidural",
    "shot",
    "shots",
    "physio",
    "physiotherapy",
    "physical therapy",
    "pt",
    "therapy",
    "chiropractor",
    "chiropractic",
    "chiro",
    "massage",
    "massages",
    "heat",
    "ice",
    "heating pad",
    "heat pad",
    "hot water bottle",
    "hot bath",
    "hot baths",
    "bath",
    "stretching",
    "stretches",
    "yoga",
    "resting",
    "acupuncture",
    "tens",
    "tens machine",
    "cream",
    "creams",
    "gel",
    "patch",
    "patches",
    "lidocaine",
    "exercises",
    "cbd",
    "marijuana",
    "cannabis",
    "tiger balm",
    "icy hot",
    "bengay",
    "walking",
    "brace",
)
_SUBJECT = lexicon(
    relaxant=RELAXANT,
    other=words(*_OTHER_TREATMENTS) + r"|\brest\b(?!\s+of)",
    generic=words(
        "they",
        "them",
        "it",
        "these",
        "those",
        "which",
        "both",
        "meds",
        "medication",
        "medications",
        "medicine",
        "pills",
        "tablets",
        "drugs",
        "prescription",
    ),
)
_JOIN = re.compile(
    r"[\s,/&]*(?:(?:and|or|nor|plus|as\s+well\s+as|along\s+with|with|together\s+with|then|and\s+then|&)\s+)?"
    r"(?:(?:the|my|some|also|even|then|a|an|any)\s+)*"
)
_DENIED_SUBJECT = rx(
    r"\b(?:no|none\s+of(?:\s+(?:the|my|them))?|neither(?:\s+the)?|not\s+even(?:\s+the)?|not\s+one\s+of(?:\s+the)?)\s*$"
)

_RELATIVES = (
    r"(?:friend|neighbou?r|mate|buddy|colleague|coworker|co-worker|relative|family|mom|mum|dad|mother|father|brother"
    r"|sister|son|daughter|wife|husband|partner)"
)
_MODAL_BEFORE = r"(?<!to\s)(?<!can\s)(?<!could\s)(?<!might\s)(?<!may\s)(?<!would\s)(?<!will\s)(?<!should\s)(?<!hope\s)"
_NO_HELP = (
    r"\b(?:didn't|did\s+not|doesn't|does\s+not|don't|do\s+not|haven't|have\s+not|hasn't|has\s+not|never|won't"
    r"|wouldn't|isn't|aren't|wasn't|weren't|not)\s+(?:\w+\s+){0,2}?(?:help\w*|(?<!to\s)work\w*"
    r"|do\s+(?:anything|much|a\s+thing|squat|jack)|done\s+(?:anything|much)|(?:make|made)\s+(?:a|any|much)\s+difference"
    r"|reliev\w*|eas(?:e|ed|ing)\b|touch(?:ed)?\s+(?:it|the\s+pain)|effective|improv\w*"
    r"|(?:give|gave)\s+(?:me\s+)?(?:any\s+)?relief)",
    r"\b(?:did|does|do|done|doing)\s+(?:absolutely\s+|literally\s+|basically\s+|pretty\s+much\s+)?nothing\b",
    r"\b(?:no|zero|not\s+any|not\s+much|without(?:\s+any|\s+much)?|with\s+(?:no|little|zero)|(?<!a\s)little"
    r"|(?:gave|give|gives|giving|provided?|provides|got|get|had)\s+(?:me\s+)?(?:no|zero|little)|no\s+real"
    r"|hardly\s+any|barely\s+any|(?:didn't|did\s+not)\s+(?:get|give|provide|have)\s+(?:me\s+)?(?:any|much))\s+"
    r"(?:real\s+|significant\s+|noticeable\s+|lasting\s+)?(?:relief|help|improvement|effect|difference|change|benefit"
    r"|luck|success|results?)\b",
    r"\bno\s+longer\s+(?:\w+\s+)?(?:work\w*|help\w*|effective|do\s+anything|do\s+much)\b",
    r"\bstopped\s+(?:working|helping)\b|\b(?:but\s+)?not\s+any\s*more\b",
    r"\b(?:don't|doesn't|do\s+not|does\s+not)\s+any\s*more\b|\bused\s+to\s+(?:help|work)\b",
    r"\b(?:useless|ineffective|no\s+good|no\s+use)\b|\bnot\s+effective\b",
    r"\b(?:barely|hardly|scarcely)\s+(?:\w+\s+)?(?:help\w*|work\w*|touch\w*|do\s+anything)\b",
    r"\bnothing\s+(?:\w+\s+){0,3}?(?:helps|helped|works|worked|help|work|has\s+helped|has\s+worked"
    r"|made\s+(?:a|any)\s+difference)\b",
    r"\bnone\s+of\s+(?:them|these|those|the\s+\w+)\s+(?:\w+\s+)?(?:help\w*|work\w*)\b",
    r"\bneither\s+(?:\w+\s+)?(?:help\w*|work\w*)\b",
)
_HELP = (
    _MODAL_BEFORE + r"\bhelp(?:s|ed|ing)?\b(?!\s+(?:a|an|my|his|her|our|their)\s+" + _RELATIVES + r")"
    r"(?!\s+(?:him|us|out|someone|somebody|people)\b)(?!\s+\w+\s+(?:move|moving|carry|lift))",
    _MODAL_BEFORE + r"(?<!at\s)(?<!for\s)(?<!from\s)(?<!of\s)(?<!my\s)(?<!nt\s)(?<!n.t\s)\bwork(?:s|ed|ing)?\b"
    r"(?!\s+(?:as|at|in|on|out|from|for|shifts?|hours|days|nights|full|part|today|tomorrow)\b)",
    r"\b(?:gave|give|gives|giving|got|get|gets|getting|provides?|provided|bring\w*|brought)\s+(?:me\s+)?"
    r"(?:(?:some|a\s+little|a\s+bit\s+of|partial|slight|temporary|good|great|decent|much|real|moderate|mild|enough)\s+)?"
    r"relief\b(?!\s+(?:from|with|on|using|by)\b)",
    r"\b(?:some|a\s+little|a\s+bit\s+of|partial|slight|temporary|good|great|decent|moderate|mild|real|much)\s+"
    r"(?:relief|improvement|benefit|help)\b",
    r"\breliev(?:e|es|ed|ing)\b|\beas(?:e|es|ed|ing)\s+(?:it|the\s+(?:pain|spasms?)|things|up)\b",
    r"\b(?:took|takes?|taking)\s+the\s+edge\s+off\b",
    r"\b(?:make|makes|made|making)\s+(?:it|things|a)\s+(?:\w+\s+)?(?:better|bearable|easier|tolerable|difference)\b",
    r"\b(?:did|does|do)\s+the\s+trick\b|\beffective\b|\bcalm\w*\s+(?:it|the\s+spasms?|things)\s+down\b|\bloosen\w*",
    r"\b(?:feel|felt|feels|is|was|it's|got|get|gets|getting)\s+(?:a\s+(?:bit|little|lot)\s+|much\s+|slightly\s+"
    r"|somewhat\s+)?better\b",
)
_EFFECT = lexicon(
    forward_none=r"\b(?:no|not\s+any|not\s+much|zero|without(?:\s+any)?|little|no\s+real|(?:didn't|did\s+not)\s+get"
    r"\s+(?:any|much)|(?:haven't|have\s+not)\s+(?:had|gotten|got)\s+(?:any|much)|never\s+got\s+any|got\s+no)\s+relief"
    r"\s+(?:from|with|on|using|by)\b"
    r"|\bnothing\s+(?:\w+\s+)?(?:helps|helped|works|worked)[,\s-]+(?:including|even|not\s+even|incl|such\s+as|like)",
    forward_help=r"\b(?:(?:some|a\s+little|a\s+bit\s+of|partial|slight|temporary|good|great|decent|mild|moderate"
    r"|real|much)\s+)?relief\s+(?:from|with|on|using|by)\b|\bhelped\s+by\b|\bbetter\s+(?:with|on|since\s+(?:starting"
    r"|taking)|after\s+taking)\b",
    none=_NO_HELP,
    help=_HELP,
    ellipsis_none=r"\b(?:didn't|did\s+not|don't|do\s+not|doesn't|does\s+not|haven't|hasn't|weren't|wasn't|aren't"
    r"|isn't|won't)(?=\s*(?:[.,;!?)]|$|\bat\s+all\b|\bthough\b|\breally\b|\bmuch\b|\beither\b))"
    r"|\bnot\s+(?:really|so\s+much|at\s+all|much)\b(?=\s*(?:[.,;!?)]|$))",
    ellipsis_help=r"\b(?:did|do|does|has|have)\b(?=\s*(?:[.,;!?)]|$|\ba\s+bit\b|\ba\s+little\b|\bthough\b"
    r"|\bsomewhat\b|\bslightly\b))",
)
_NOT_TRIED = lexicon(
    r"\b(?:haven't|have\s+not|hasn't|has\s+not|never|not\s+yet|not|didn't|did\s+not|don't|do\s+not|yet\s+to"
    r"|have\s+yet\s+to)\s+(?:\w+\s+){0,2}?(?:tried|try|taken|take|taking|used|use|using|had|been\s+(?:on|given"
    r"|prescribed|offered)|gotten|got|started|start|prescribed|given|offered|on)\s+(?:\w+\s+){0,3}?(?:"
    + RELAXANT
    + r")",
    r"\b(?:no|not\s+on\s+any|never\s+any|without)\s+(?:\w+\s+)?(?:" + RELAXANT + r")"
    r"(?!\s+(?:\w+\s+)?(?:help\w*|work\w*|did|have|has|gave|give|made))",
    r"(?:" + RELAXANT + r")\s*(?:[:=-]\s*|\?\s*|\s+)(?:not\s+(?:yet\s+)?tried|never\s+tried|haven't\s+tried|not\s+yet"
    r"|not\s+taken|never\s+taken|haven't\s+taken|none|no)\b",
    r"\b(?:going\s+to|gonna|will|want\s+to|wants\s+me\s+to|would\s+like\s+to|planning\s+to|plan\s+to|about\s+to"
    r"|thinking\s+(?:of|about)|considering|should\s+i|could\s+i|can\s+i|might|may|supposed\s+to|told\s+me\s+to"
    r"|advised\s+me\s+to|asked\s+me\s+to|recommend\w*|suggest\w*|hoping\s+to)\s+(?:\w+\s+){0,2}?(?:try|trying|take"
    r"|taking|start|starting|get|getting|use|using)\s+(?:\w+\s+){0,2}?(?:" + RELAXANT + ")",
)
_NOT_TRIED_EXCEPT = re.compile(r"\b(?:but|except|other\s+than|besides|apart\s+from|only|aside\s+from)\b")
_RELAXANT_HINTS = Hints("relax", *RELAXANT_NAMES)  # every relaxant mention contains one of these
_FILLER = frozenset(
    (
        "it", "they", "these", "those", "that", "this", "which", "but", "and", "unfortunately", "sadly", "however",
        "so", "far", "honestly", "really", "just", "also", "still", "both", "all", "the", "them", "of", "none",
        "neither", "nothing", "though", "then", "at", "first", "initially", "even",
    )
)  # fmt: skip
_PRONOUNS = frozenset(("they", "them", "it", "these", "those", "which", "both"))
# The kinds of ``_EFFECT`` that look forward to their subject, and those that only echo an earlier effect.
_FORWARD = frozenset(kind for kind, _ in _EFFECT.sources if kind.startswith("forward"))
_ELLIPSIS = frozenset(kind for kind, _ in _EFFECT.sources if kind.startswith("ellipsis"))


@dataclass(frozen=True, init=False)
class RelaxantEffect:
    """The relaxant effect read from the message and the span that says it."""

    value: str
    start: int
    end: int

    def __init__(self, value: str, start: int, end: int) -> None:
        # Cheaper than the generated frozen __init__ (see ``facts.Evidence``).
        fields = self.__dict__
        fields["value"] = value
        fields["start"] = start
        fields["end"] = end


@dataclass
class _Group:
    start: int
    end: int
    kinds: set[str]
    relaxant_start: int


def _subject_groups(doc: Document) -> list[_Group]:
    """Treatment mentions, with coordinated ones ("relaxants and ibuprofen") merged into one group."""
    groups: list[_Group] = []
    for kind, match in doc.find(_SUBJECT):
        relaxant_start = match.start() if kind == "relaxant" else -1
        previous = groups[-1] if groups else None
        if (
            previous is not None
            and kind != "generic"
            and "generic" not in previous.kinds
            and _JOIN.fullmatch(doc.low, previous.end, match.start())
        ):
            previous.end = match.end()
            previous.kinds.add(kind)
            if previous.relaxant_start < 0:
                previous.relaxant_start = relaxant_start
            continue
        groups.append(_Group(match.start(), match.end(), {kind}, relaxant_start))
    return groups


def _resolve(doc: Document, groups: list[_Group], index: int, effect_start: int) -> _Group | None:
    """The specific treatment a group stands for: itself, or what a pronoun or "the pills" refers to."""
    group = groups[index]
    if "generic" not in group.kinds:
        return group
    word = doc.low[group.start : group.end]
    if word in _PRONOUNS and len(doc.low[group.end : effect_start].split()) > 3:
        return None  # "it" far from the effect is more likely the pain than a medicine
    floor = doc.sentence(doc.sentence(group.start)[0] - 1)[0] if doc.sentence(group.start)[0] > 0 else 0
    for earlier in reversed(groups[:index]):
        if earlier.end <= floor:
            return None
        if "generic" not in earlier.kinds:
            return earlier
    return None


def _backward(doc: Document, groups: list[_Group], start: int) -> int | None:
    """Index of the subject group an effect at ``start`` refers back to, or None."""
    sentence_start = doc.sentence(start)[0]
    index = None
    for position, group in enumerate(groups):
        if group.end > start:
            break
        index = position
    if index is not None and groups[index].start >= sentence_start:
        return index
    # "Tried relaxants. Didn't help." — a sentence with no subject of its own continues the last one.
    prefix = doc.low[sentence_start:start].split()
    if index is not None and all(word.strip(",") in _FILLER for word in prefix):
        previous_sentence_start = doc.sentence(sentence_start - 1)[0] if sentence_start > 0 else 0
        if groups[index].start >= previous_sentence_start:
            return index
    return None


def read_relaxant_effect(doc: Document) -> RelaxantEffect | None:
    """``helped``, ``no_relief`` or ``not_tried`` for muscle relaxants, when the message says so."""
    if not doc.mentions(_RELAXANT_HINTS):
        return None
    low = doc.low
    groups = _subject_groups(doc)
    for group in groups:
        if "relaxant" in group.kinds:
            break
    else:
        return None  # no relaxant among the treatments
    result: RelaxantEffect | None = None
    last_polarity: dict[int, str] = {}
    for kind, match in doc.find(_EFFECT):
        sentence_start = doc.sentence(match.start())[0]
        if kind in _ELLIPSIS and sentence_start not in last_polarity:
            continue
        if kind in _FORWARD:
            target = next(
                (i for i, g in enumerate(groups) if match.end() <= g.start <= match.end() + 40),
                None,
            )
            if target is not None and groups[target].start >= doc.sentence(match.start())[1]:
                target = None
        else:
            target = _backward(doc, groups, match.start())
        polarity = "helped" if kind in ("help", "forward_help", "ellipsis_help") else "no_relief"
        if kind not in ("ellipsis_none", "ellipsis_help"):
            last_polarity[sentence_start] = polarity
        if target is None:
            continue
        group = _resolve(doc, groups, target, match.start())
        if group is None or "relaxant" not in group.kinds:
            continue
        if (
            polarity == "helped"
            and kind not in _FORWARD
            and _DENIED_SUBJECT.search(low, max(0, group.start - 30), group.start)
        ):
            polarity = "no_relief"  # "no relaxants have helped", "not even the relaxants helped"
        start = min(group.relaxant_start, match.start())
        end = max(group.end, match.end())
        if end - start > 100:
            start, end = match.start(), match.end()
        result = RelaxantEffect(polarity, start, end)
    if result is not None:
        return result
    for _, match in doc.find(_NOT_TRIED):
        if not _NOT_TRIED_EXCEPT.search(match.group()):
            return RelaxantEffect("not_tried", match.start(), match.end())
    return None
