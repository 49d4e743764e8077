"""The reader's safety net through the webhook: what the reader cannot read for certain, a person reads.

A message in another language, or a possible red flag the exact reading could not place, is stored,
triaged and held for staff (status needs_review) with the fitting slot proposed and nothing booked; the
patient is told the clinic will call and what to do at once, in their language. The public vignettes
pass through POST /v1/inquiries.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from routing.adapters.db.models import Appointment
from tests.http.admin_helpers import bearer, make_token
from tests.http.intake_helpers import add_slots, count, inquiry

VIGNETTES = json.loads((Path(__file__).resolve().parents[1] / "data" / "vignettes.json").read_text(encoding="utf-8"))
FRENCH = "J'ai mal au dos depuis une semaine, la douleur descend dans la jambe gauche."
POSSIBLE_FLAG = "Back pain for a week after gardening. Also some weird stuff going on with my waterworks lately."
SPANISH_STRAIN = "me lastimé la espalda levantando una caja hace 3 dias, no tengo fiebre"


@pytest.fixture
def slots(app):
    add_slots(app, "consult", [26, 27, 50])
    add_slots(app, "imaging", [72], minutes=60)
    add_slots(app, "injection", [24 * 5], minutes=60)
    return app


@pytest.mark.parametrize("case", [pytest.param(case, id=case["id"]) for case in VIGNETTES])
def test_every_public_vignette_gets_its_outcome_through_the_webhook(client, slots, case):
    body = inquiry(case["message"] or None)
    if not case["message"]:
        body.pop("message")
    body["symptoms"] = case.get("symptoms") or {}

    response = client.post("/v1/inquiries", json=body)

    assert response.status_code in (200, 201, 202), response.get_json()
    outcome = response.get_json()
    expected = case["expect"]
    triage = outcome["triage"]
    if expected.get("held"):
        if expected.get("or_red_flag") and triage["route"] == "urgent_review":
            assert outcome["status"] == "urgent_review"
        else:
            assert outcome["status"] == "needs_review"
            assert triage["hold"] in ("language", "possible_red_flag")
        assert outcome["appointment"] is None
        return
    assert (triage["route"], triage["urgency"], triage["rule"]) == (
        expected["route"],
        expected["urgency"],
        expected["rule"],
    )
    if "language" in expected:
        assert outcome["language"] == expected["language"]
    if triage["route"] == "urgent_review":
        assert outcome["status"] == "urgent_review"
        assert outcome["appointment"] is None
    else:
        assert outcome["status"] in ("booked", "needs_review")


def test_a_message_in_another_language_is_held_unbooked_with_the_slot_proposed(client, slots):
    response = client.post("/v1/inquiries", json=inquiry(FRENCH))

    body = response.get_json()
    assert response.status_code == 201
    assert (body["status"], body["language"], body["appointment"]) == ("needs_review", "fr", None)
    assert body["triage"]["hold"] == "language"
    assert body["triage"]["needs_review"] is True
    safety = [reason["text"] for reason in body["triage"]["reasons"] if reason["rule"] == "SAFETY"]
    assert safety == ["Language not read (fr): the message looks written in French; staff must read it."]
    assert body["proposed_slot"]["slot_type"] == "consult"
    assert "will read it and call you" in body["patient_message"]
    assert "emergency department or call 911 now" in body["patient_message"]
    assert count(slots, Appointment) == 0


def test_a_possible_red_flag_is_held_unbooked_with_the_words_quoted(client, slots):
    body = client.post("/v1/inquiries", json=inquiry(POSSIBLE_FLAG)).get_json()

    assert (body["status"], body["appointment"], body["triage"]["hold"]) == ("needs_review", None, "possible_red_flag")
    safety = [reason["text"] for reason in body["triage"]["reasons"] if reason["rule"] == "SAFETY"]
    assert len(safety) == 1
    assert "waterworks" in safety[0]
    assert body["proposed_slot"]["slot_type"] == "consult"
    assert count(slots, Appointment) == 0


def test_a_form_red_flag_still_applies_to_a_message_in_another_language(client, slots):
    body = inquiry(FRENCH, symptoms={"red_flags": ["fever"]})

    outcome = client.post("/v1/inquiries", json=body).get_json()

    assert (outcome["status"], outcome["triage"]["rule"], outcome["triage"]["route"]) == (
        "urgent_review",
        "R2",
        "urgent_review",
    )
    assert any(reason["rule"] == "SAFETY" for reason in outcome["triage"]["reasons"])


def test_the_forms_language_is_stored_and_the_patient_is_answered_in_it(client, slots):
    outcome = client.post("/v1/inquiries", json=inquiry(SPANISH_STRAIN, language="es")).get_json()

    assert (outcome["status"], outcome["language"]) == ("booked", "es")
    assert outcome["patient_message"].startswith("Su consulta de manejo del dolor en Riverside Spine & Pain Clinic ")
    own_page = client.get(outcome["patient_link"]).get_data(as_text=True)
    assert '<html lang="es">' in own_page


def test_without_a_language_field_the_message_language_is_detected(client, slots):
    outcome = client.post("/v1/inquiries", json=inquiry(SPANISH_STRAIN)).get_json()

    assert outcome["language"] == "es"


def test_an_emergency_in_spanish_tells_the_patient_in_spanish_to_go_now(client, slots):
    message = "Desde esta mañana no puedo orinar y me duele mucho la espalda"

    outcome = client.post("/v1/inquiries", json=inquiry(message)).get_json()

    assert (outcome["status"], outcome["triage"]["urgency"]) == ("urgent_review", "emergency")
    assert "Vaya ahora mismo a la sala de emergencias" in outcome["patient_message"]


@pytest.mark.parametrize("language", ["fr", "EN", "", 3])
def test_a_language_other_than_en_or_es_on_the_form_is_a_422_naming_the_field(client, slots, language):
    response = client.post("/v1/inquiries", json=inquiry(language=language))

    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["language"]


def test_held_for_reading_comes_after_urgent_review_and_before_routine_in_the_queue(client, slots):
    routine = client.post("/v1/inquiries", json=inquiry()).get_json()["id"]
    held = client.post("/v1/inquiries", json=inquiry(FRENCH)).get_json()["id"]
    infection = client.post("/v1/inquiries", json=inquiry("Back pain with a fever of 39 for three days.")).get_json()[
        "id"
    ]
    staff = bearer(make_token(slots, "Sam Staff", "staff"))

    items = client.get("/v1/admin/inquiries", headers=staff).get_json()["items"]

    assert [item["id"] for item in items] == [infection, held, routine]
    assert (items[1]["hold"], items[1]["language"]) == ("language", "fr")


def test_a_message_in_another_language_is_held_whatever_language_the_form_says(client, slots):
    portuguese = "Dor nas costas há uma semana, não consigo controlar a bexiga e perdi a sensibilidade na virilha."

    outcome = client.post("/v1/inquiries", json=inquiry(portuguese, language="en")).get_json()

    assert (outcome["status"], outcome["language"], outcome["triage"]["hold"]) == ("needs_review", "en", "language")
    assert outcome["appointment"] is None
