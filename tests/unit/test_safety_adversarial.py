"""A clear red flag is read, or held for staff, never booked: messages a reviewer wrote to break the reader.

Each one once slipped through both the exact reading and the safety screen: a temperature phrase that
swallowed "fever for 3 days", a negation carried across "and" or a comma, someone else's scope reaching the
patient ("my friend rear-ended me"), a look-alike beside the real thing, steroid words never screened, a
number glued to its unit ("102F").
"""

from __future__ import annotations

from datetime import date

import pytest

from routing.domain.triage import load_rulebook, triage

RULEBOOK = load_rulebook()
MESSAGES = [
    "Fever for 2 days and back pain.",
    "I've had a high fever for 5 days with back pain",
    "Fever every night for 2 weeks.",
    "Fever 2 nights ago.",
    "Tengo fiebre hace 2 semanas.",
    "Fiebre de 3 días.",
    "Fever 99.5 yesterday, 102 today.",
    "My temp was 37.8 this morning and 39 tonight.",
    "No fever, I wet myself 2 or 3 times.",
    "No fever, legs give way or buckle.",
    "Never had this, I can't feel my groin or bum.",
    "Sin fiebre, se me doblan las piernas o me caigo.",
    "If it matters, I inject heroin once or twice a week.",
    "Possible sciatica, legs feel weak or numb.",
    "The relaxants didn't help and I keep wetting myself.",
    "Ibuprofen doesn't help and I have lost control of my bowels.",
    "Nothing helps and I can't control my bladder.",
    "No appetite and I've lost 20 pounds.",
    "No tengo insurance and I can't control my bladder.",
    "Fell off a ladder yesterday and feel fine otherwise.",
    "I fell off the roof on Sunday and I feel ok.",
    "Lost 20 pounds without trying and I feel good.",
    "I fell off the roof and an MRI is scheduled.",
    "I've had a fever and I see my doctor next week.",
    "I wasn't able to pee this morning.",
    "I didn't notice that I wet myself.",
    "Ni siquiera puedo orinar.",
    "Never had a fever this high before.",
    "Nunca había tenido una fiebre tan alta.",
    "My wife noticed I wet the bed.",
    "My husband thinks I'm losing weight.",
    "My son helped me up after I fell down the stairs.",
    "My daughter says I am running a fever.",
    "My friend rear-ended me on the highway.",
    "His dog knocked me off the ladder.",
    "I told her I can't control my bladder.",
    "Mi hija me vio caerme de la escalera.",
    "My mom had cancer and so did I",
    "My mom had cancer and me too",
    "Mi mamá tuvo cáncer y yo también",
    "My dad has HIV and I do as well.",
    "I inject heroin, also diabetic on insulin.",
    "Had breast cancer in 2015, my last cancer screening was fine.",
    "On prednisone for 5 years, plus a burst last month.",
    "Kidney transplant 2019, on tacrolimus, had a cortisone shot last year.",
    "I've had fevers at night, and cold sweats.",
    "Lost 30 pounds without trying, same diet as always.",
    "I slipped off the roof and fell 3 metres.",
    "I take prednisone every morning for my lupus.",
    "Taking steroids for my asthma for ages.",
    "I use steroid pills for my Crohn's.",
    "Can I be seen soon, since I can't control my bladder? Next week is too late.",
    "Why do my legs keep giving way? Scheduled MRI is in March.",
    "I fell off a ladder last week,negative xray.",
    "Lost control of my bladder twice,none of the meds help.",
    "Back pain since Monday, 102F last night.",
    "Back pain since Monday, 39C last night.",
]


@pytest.mark.parametrize("message", MESSAGES)
def test_a_clear_red_flag_goes_to_a_clinician_or_is_held_never_booked(message):
    decision = triage({}, message, date(2026, 12, 2), RULEBOOK)

    assert decision.route == "urgent_review" or decision.hold == "possible_red_flag", decision.facts.to_dict()


@pytest.mark.parametrize(
    ("message", "route", "hold"),
    [
        # A carer writing for the patient, in the third person: read exactly ...
        ("Escribo por mi mamá. No puede controlar la orina desde ayer", "urgent_review", None),
        ("Escribo por mi papá: se orina encima y no siente las piernas", "urgent_review", None),
        ("writing for my dad: he wet himself last night and cant feel his legs", "urgent_review", None),
        ("escribo por mi papa, se le doblan las piernas", "urgent_review", None),
        ("escribo por mi mama: no siente nada cuando se limpia", "urgent_review", None),
        # ... or, where the relative seems to be someone else, an emergency sign is still held for staff.
        ("mi esposo no puede orinar desde ayer, yo lleno esto por el", "consult", "possible_red_flag"),
        # A relative's history is not the patient's, and its words are not held either.
        ("my mom had breast cancer, my back hurts since I lifted a box on monday", "consult", None),
        ("im 34, no history of cancer in me, grandma had bowel cancer tho, back hurts from the gym", "consult", None),
    ],
)
def test_a_carer_writing_for_the_patient_is_read_or_held_never_booked(message, route, hold):
    decision = triage({}, message, date(2026, 12, 2), RULEBOOK)

    assert (decision.route, decision.hold) == (route, hold), decision.facts.to_dict()


@pytest.mark.parametrize(
    "message",
    [
        "mi esposa no aguanta la orina",
        "mi mama no siente cuando se limpia",
        "my wife has been wetting the bed since her surgery, and my back hurts from changing sheets",
    ],
)
def test_a_relatives_emergency_sign_in_the_form_is_held_for_staff(message):
    decision = triage({}, message, date(2026, 12, 2), RULEBOOK)

    assert (decision.route, decision.hold) == ("consult", "possible_red_flag"), decision.facts.to_dict()
