"""Example inquiries for a first look at the queue: English and Spanish, every route, an emergency, a hold.

Made-up patients (example.org addresses, 555-01xx numbers reserved for fiction). Each has a fixed webhook id,
so seeding them again finds the stored ones instead of adding copies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DemoInquiry:
    """One example web-form body, and what it shows."""

    shows: str
    body: dict[str, Any]


def _patient(first: str, last: str, number: int) -> dict[str, str]:
    return {
        "first_name": first,
        "last_name": last,
        "email": f"{first.lower()}.{last.lower()}@example.org",
        "phone": f"+1 555 01{number:02d}",
    }


EXAMPLES: tuple[DemoInquiry, ...] = (
    DemoInquiry(
        "a muscle strain, booked on the Thursday morning the patient asked for",
        {
            "patient": _patient("Dana", "Whitfield", 1),
            "message": "Lifted boxes moving house on Saturday and my lower back seized up. About 6/10. "
            "First time this has happened.",
            "preferred_times": ["Thursday mornings"],
            "language": "en",
        },
    ),
    DemoInquiry(
        "a strain in Spanish, booked on a Thursday afternoon (jueves por la tarde)",
        {
            "patient": _patient("Lucía", "Romero", 2),
            "message": "Ayer levanté a mi hijo y me dio un espasmo en la parte baja de la espalda. Dolor 5 de 10.",
            "preferred_times": ["jueves por la tarde"],
            "language": "es",
        },
    ),
    DemoInquiry(
        "ten weeks of pain down a leg, no scan yet: an MRI",
        {
            "patient": _patient("Marcus", "Bell", 3),
            "message": "My lower back has hurt for about ten weeks and the pain goes down my left leg.",
            "symptoms": {"duration_days": 70, "radiating_leg_pain": True, "prior_imaging": False},
            "language": "en",
        },
    ),
    DemoInquiry(
        "facet joint arthritis and relaxants that failed: an injection",
        {
            "patient": _patient("Helen", "Okafor", 4),
            "message": "I was diagnosed with facet joint arthritis last year. Muscle relaxants are not helping "
            "any more.",
            "symptoms": {"muscle_relaxants": "no_relief", "diagnosed_conditions": ["facet_joint_arthritis"]},
            "preferred_times": ["after 2pm"],
            "language": "en",
        },
    ),
    DemoInquiry(
        "spasms for months that relaxants did not help, in Spanish: an MRI soon",
        {
            "patient": _patient("Jorge", "Castillo", 5),
            "message": "Tengo espasmos en la espalda desde hace 3 meses y los relajantes musculares no me ayudaron.",
            "preferred_times": ["lunes o miércoles"],
            "language": "es",
        },
    ),
    DemoInquiry(
        "an emergency: numbness around the groin and a lost bladder (no booking; go to an emergency department)",
        {
            "patient": _patient("Robert", "Nguyen", 6),
            "message": "Since this morning my back is much worse, I can't feel anything around my groin and I "
            "couldn't control my bladder.",
            "language": "en",
        },
    ),
    DemoInquiry(
        "back pain with a fever: a clinician calls before anything is booked",
        {
            "patient": _patient("Grace", "Kim", 7),
            "message": "Back pain for a week and I have had a fever of 39 since Tuesday.",
            "language": "en",
        },
    ),
    DemoInquiry(
        "a message in French: held for staff to read",
        {
            "patient": _patient("Camille", "Laurent", 8),
            "message": "J'ai mal au dos depuis trois semaines, depuis que j'ai soulevé un meuble.",
        },
    ),
    DemoInquiry(
        "a preferred time the reader does not guess at ('any day but Monday'): the earliest, and the patient told",
        {
            "patient": _patient("Sam", "Porter", 9),
            "message": "My back has ached for two weeks since I started a new desk job. Nothing helps much.",
            "preferred_times": ["any day but Monday"],
            "language": "en",
        },
    ),
    DemoInquiry(
        "an emergency in Spanish: both legs weak and unable to urinate",
        {
            "patient": _patient("Ana", "Morales", 10),
            "message": "Desde anoche tengo las dos piernas débiles y no puedo orinar.",
            "language": "es",
        },
    ),
)


def demo_body(number: int) -> dict[str, Any]:
    """The ``number``-th example body (from 1); past the last, the examples again with other patients' names."""
    example = EXAMPLES[(number - 1) % len(EXAMPLES)].body
    round_ = (number - 1) // len(EXAMPLES)
    if round_ == 0:
        return example
    patient = {**example["patient"], "last_name": f"{example['patient']['last_name']}-{round_ + 1}"}
    return {**example, "patient": patient}


def demo_key(number: int) -> str:
    """The fixed webhook id of the ``number``-th example, so seeding again adds nothing."""
    return f"demo-inquiry-{number:04d}"
