"""The normalised facts the rulebook reads, their allowed values, and where each came from.

Unknown is explicit: ``"unknown"`` for the enumerated facts, ``None`` for numbers and booleans, an
empty set for the list facts (an empty list is not a negative: it means nothing was reported).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

UNKNOWN = "unknown"

ONSETS = ("sudden", "gradual", UNKNOWN)
EPISODES = ("first", "recurrent", UNKNOWN)
TRIGGERS = ("lifting", "twisting", "exercise", "other_exertion", "none", UNKNOWN)
LOCATIONS = ("lower_back", "mid_back", "upper_back", "neck", "other", UNKNOWN)
RELAXANT_EFFECTS = ("not_tried", "helped", "no_relief", UNKNOWN)
CONDITIONS = ("arthritis", "facet_joint_arthritis", "disc_herniation", "degenerative_disc", "spinal_stenosis")
RED_FLAGS = (
    "bladder_bowel_dysfunction",
    "saddle_numbness",
    "leg_weakness",
    "bilateral_leg_symptoms",
    "fever",
    "major_trauma",
    "cancer_history",
    "unexplained_weight_loss",
    "immunosuppression",
    "iv_drug_use",
)

#: Every fact: its kind and, for enumerations and sets, the allowed values.
FACT_KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "onset": ("choice", ONSETS),
    "duration_days": ("number", ()),
    "episodes": ("choice", EPISODES),
    "trigger": ("choice", TRIGGERS),
    "location": ("choice", LOCATIONS),
    "pain_score": ("number", ()),
    "muscle_relaxants": ("choice", RELAXANT_EFFECTS),
    "radiating_leg_pain": ("flag", ()),
    "diagnosed_conditions": ("set", CONDITIONS),
    "prior_imaging": ("flag", ()),
    "red_flags": ("set", RED_FLAGS),
}
SET_FACTS = frozenset(name for name, (kind, _) in FACT_KINDS.items() if kind == "set")

FORM = "form"
TEXT = "text"


@dataclass(frozen=True)
class Evidence:
    """Why a fact has its value: from the form, or from a phrase of the message."""

    fact: str
    value: Any
    source: str
    phrase: str | None = None


@dataclass(frozen=True)
class TextReading:
    """What the free-text reader found: values for the facts it could determine, and the phrases.

    ``possible_red_flags`` are the safety screen's finds that the exact reading did not account for
    (``reader.PossibleRedFlag``: the flag they may mean and the patient's words).
    """

    values: Mapping[str, Any] = field(default_factory=dict)
    evidence: tuple[Evidence, ...] = ()
    possible_red_flags: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Facts:
    """The normalised inputs of one triage decision."""

    onset: str = UNKNOWN
    duration_days: int | None = None
    episodes: str = UNKNOWN
    trigger: str = UNKNOWN
    location: str = UNKNOWN
    pain_score: int | None = None
    muscle_relaxants: str = UNKNOWN
    radiating_leg_pain: bool | None = None
    diagnosed_conditions: frozenset[str] = frozenset()
    prior_imaging: bool | None = None
    red_flags: frozenset[str] = frozenset()
    evidence: tuple[Evidence, ...] = field(default=(), compare=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (sets as sorted lists), without evidence."""
        out: dict[str, Any] = {}
        for name in FACT_KINDS:
            value = getattr(self, name)
            out[name] = sorted(value) if name in SET_FACTS else value
        return out

    def is_known(self, name: str) -> bool:
        """Whether ``name`` has a value other than unknown (``none``, ``not_tried`` and 0 are known)."""
        value = getattr(self, name)
        if name in SET_FACTS:
            return bool(value)
        return value is not None and value != UNKNOWN


def check_value(name: str, value: Any) -> Any:
    """Return ``value`` normalised for fact ``name``, or raise ValueError saying what is allowed."""
    if name not in FACT_KINDS:
        raise ValueError(f"unknown fact {name!r}; known facts: {', '.join(FACT_KINDS)}")
    kind, allowed = FACT_KINDS[name]
    if kind == "choice":
        if value not in allowed:
            raise ValueError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
        return value
    if kind == "number":
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a whole number of 0 or more, not {value!r}")
        if name == "pain_score" and value > 10:
            raise ValueError(f"pain_score must be between 0 and 10, not {value!r}")
        return value
    if kind == "flag":
        if value is not None and not isinstance(value, bool):
            raise ValueError(f"{name} must be true, false or null, not {value!r}")
        return value
    items = frozenset(value or ())
    unknown = items - set(allowed)
    if unknown:
        raise ValueError(f"{name} may hold {', '.join(allowed)}; not {', '.join(sorted(map(str, unknown)))}")
    return items


def combine(form: Mapping[str, Any], reading: TextReading) -> Facts:
    """Merge explicit form values with what the text said.

    A form value wins over text for single values (form ``unknown``/null counts as not given);
    ``red_flags`` and ``diagnosed_conditions`` are the union of both, since an empty list on a form
    is not a negative. Each fact keeps its evidence: the form, or the message phrase.
    """
    values: dict[str, Any] = {}
    evidence: list[Evidence] = []
    for name, raw in form.items():
        value = check_value(name, raw)
        if name in SET_FACTS:
            if value:
                values[name] = value
                evidence.extend(Evidence(name, item, FORM) for item in sorted(value))
        elif value is not None and value != UNKNOWN:
            values[name] = value
            evidence.append(Evidence(name, value, FORM))
    read: dict[str, list[Evidence]] = {}  # the message's evidence by fact, in order (one pass, not one per fact)
    for item in reading.evidence:
        read.setdefault(item.fact, []).append(item)
    for name, raw in reading.values.items():
        value = check_value(name, raw)
        if name in SET_FACTS:
            given = values.get(name, frozenset())
            added = value - given
            if added:
                values[name] = given | added
                evidence.extend(e for e in read.get(name, ()) if e.value in added)
        elif name not in values and value is not None and value != UNKNOWN:
            values[name] = value
            evidence.extend(read.get(name, ()))
    return Facts(**values, evidence=tuple(evidence))
