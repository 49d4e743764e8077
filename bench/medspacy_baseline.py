"""medspaCy ConText baseline for the triage reader's speed, on the messages of bench/triage_bench.py.

Usage: ``bench/.venv-medspacy/bin/python bench/medspacy_baseline.py [--seconds 3]`` (or bench/run_triage_bench.sh)

The pipeline is ``medspacy.load()`` on a blank English model (no trained model): medspaCy's tokenizer, a
TargetMatcher with the rules below (the concepts our reader looks for) and ConText with medspaCy's default
English rules (negation, historical, hypothetical, family, possible). The headline figures split sentences
with spaCy's rule-based sentencizer, the fastest choice; medspaCy's default PyRuSH sentencizer is timed too
(it is pure Python and costs about 10 ms per 500-character message on its own).
It runs in its own virtualenv (bench/requirements-medspacy.txt) and never imports the ``routing`` package.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import os
import sys
import time
from pathlib import Path

import medspacy
import spacy
from loguru import logger
from medspacy.target_matcher import TargetRule

logger.disable("PyRuSH")  # PyRuSH 1.0.13 logs every sentence at DEBUG to stderr by default

MESSAGES = json.loads(Path(__file__).with_name("triage_messages.json").read_text(encoding="utf-8"))

_RELAXANT_NAMES = (
    "cyclobenzaprine flexeril tizanidine zanaflex baclofen methocarbamol robaxin carisoprodol soma metaxalone skelaxin"
)

# Phrases matched case-insensitively (PhraseMatcher on LOWER), by concept.
PHRASES: dict[str, list[str]] = {
    "BLADDER_BOWEL": [
        "bladder incontinence",
        "bowel incontinence",
        "incontinence",
        "incontinent",
        "loss of bladder control",
        "loss of bowel control",
        "bladder trouble",
        "bladder problems",
        "wet myself",
    ],
    "RETENTION": ["urinary retention", "retention", "can't pee", "unable to urinate", "trouble peeing"],
    "SADDLE_NUMBNESS": ["saddle numbness", "saddle anesthesia", "numb groin", "numb buttocks"],
    "LEG_WEAKNESS": [
        "leg weakness",
        "weak legs",
        "weakness in my legs",
        "weakness in my leg",
        "foot drop",
        "legs giving way",
        "legs give out",
    ],
    "BILATERAL_LEGS": ["numbness in both legs", "tingling in both legs", "numb legs", "both legs"],
    "NUMB_TINGLING": ["numbness", "tingling", "pins and needles"],
    "FEVER": ["fever", "feverish", "chills", "night sweats"],
    "TRAUMA": ["car accident", "motor vehicle accident", "rear-ended"],
    "CANCER": ["cancer", "tumor", "tumour", "carcinoma"],
    "WEIGHT_LOSS": ["weight loss", "lost weight", "losing weight"],
    "IMMUNOSUPPRESSION": ["steroids", "prednisone", "transplant", "chemo", "chemotherapy", "hiv"],
    "IV_DRUG_USE": ["injecting drugs", "inject drugs", "iv drug use", "heroin"],
    "MUSCLE_RELAXANT": ["muscle relaxant", "muscle relaxants", "muscle relaxers", *_RELAXANT_NAMES.split()],
    "FACET_ARTHRITIS": ["facet arthritis", "facet joint arthritis", "facet arthropathy"],
    "ARTHRITIS": ["arthritis", "osteoarthritis"],
    "DISC_HERNIATION": [
        "herniated disc",
        "bulging disc",
        "slipped disc",
        "disc herniation",
        "ruptured disc",
    ],
    "DEGENERATIVE_DISC": ["degenerative disc", "degenerative disc disease"],
    "STENOSIS": ["stenosis", "spinal stenosis"],
    "IMAGING": ["mri", "x-ray", "ct scan", "scan"],
    "TRIGGER_LIFTING": ["lifting", "lifted", "lift"],
    "TRIGGER_TWISTING": ["twisting", "twisted", "twist"],
    "TRIGGER_GYM": ["gym"],
}
# Token patterns for what a phrase list would spell out word by word.
PATTERNS: dict[str, list[list[dict]]] = {
    "TRAUMA": [
        [
            {"LOWER": {"IN": ["fell", "fall", "falling", "fallen"]}},
            {"LOWER": {"IN": ["off", "from", "down"]}},
            {"LOWER": {"IN": ["a", "the", "my"]}, "OP": "?"},
            {"LOWER": {"IN": ["ladder", "roof", "stairs"]}},
        ],
    ],
    "BILATERAL_LEGS": [
        [
            {"LOWER": "both"},
            {"LOWER": {"IN": ["legs", "feet"]}},
            {"LOWER": {"IN": ["are", "feel", "went"]}, "OP": "?"},
            {"LOWER": {"IN": ["numb", "tingly", "tingling", "weak"]}},
        ],
    ],
}


def target_rules() -> list[TargetRule]:
    """The TargetRules for the concepts our reader looks for (red flags, relaxants, conditions, imaging, triggers)."""
    rules = [TargetRule(phrase, label) for label, phrases in PHRASES.items() for phrase in phrases]
    rules += [TargetRule(label.lower(), label, pattern=p) for label, pats in PATTERNS.items() for p in pats]
    return rules


@functools.cache
def build_nlp(sentencizer: str = "spacy") -> spacy.language.Language:
    """medspaCy on ``spacy.blank("en")`` with our TargetRules and the default ConText rules.

    ``sentencizer`` is "spacy" (spaCy's rule-based sentencizer) or "pyrush" (medspaCy's default).
    """
    nlp = medspacy.load()  # medspacy tokenizer, PyRuSH, TargetMatcher, ConText (default rules)
    if sentencizer == "spacy":
        nlp.replace_pipe("medspacy_pyrush", "sentencizer")
    nlp.get_pipe("medspacy_target_matcher").add(target_rules())
    return nlp


def _findings(doc) -> dict:
    return {
        "targets": [
            {
                "text": ent.text,
                "label": ent.label_,
                "negated": ent._.is_negated,
                "family": ent._.is_family,
                "hypothetical": ent._.is_hypothetical,
                "historical": ent._.is_historical,
            }
            for ent in doc.ents
        ]
    }


def read(message: str) -> dict:
    """Run the pipeline on one message: ``{"targets": [{text, label, negated, family, hypothetical, historical}]}``."""
    return _findings(build_nlp()(message))


def _rate(process, seconds: float) -> float:
    """Messages per second of ``process(n)``, which handles the next n messages; warmed up first."""
    process(50)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        process(20)
        count += 20
    return count / (time.perf_counter() - start)


def main() -> None:
    """Print medspaCy's messages/s: one ``nlp(text)`` call per message, batched with ``nlp.pipe``, and with PyRuSH."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="measuring time per scenario (at least 2)")
    args = parser.parse_args()
    seconds = max(args.seconds, 2.0)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core, like triage_bench.py

    nlp, pyrush, messages = build_nlp(), build_nlp("pyrush"), itertools.cycle(MESSAGES)
    single = _rate(lambda n: [read(next(messages)) for _ in range(n)], seconds)
    piped = _rate(lambda n: [_findings(d) for d in nlp.pipe(itertools.islice(messages, n), batch_size=n)], seconds)
    default = _rate(lambda n: [_findings(pyrush(next(messages))) for _ in range(n)], seconds)

    print(
        f"python {sys.version.split()[0]}, medspacy {medspacy.__version__}, spacy {spacy.__version__}, "
        f"{len(target_rules())} target rules, {len(nlp.get_pipe('medspacy_context').rules)} ConText rules, "
        f"{seconds:g}s per scenario, one core"
    )
    length = sum(map(len, MESSAGES)) // len(MESSAGES)
    print(f"medspaCy nlp(text) ({length} ch): {single:10,.1f} messages/s")
    print(f"medspaCy nlp.pipe  ({length} ch): {piped:10,.1f} messages/s")
    print(f"medspaCy PyRuSH    ({length} ch): {default:10,.1f} messages/s  (medspacy.load() default sentencizer)")
    for message in MESSAGES:
        found = read(message)["targets"]
        print("  found: " + ", ".join(f"{t['label']}{'(negated)' if t['negated'] else ''}" for t in found))


if __name__ == "__main__":
    main()
