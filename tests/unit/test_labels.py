"""The one labels table: every code in words for staff, in the patient's language for patients, checked at load."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from routing.domain import patient_messages
from routing.domain.labels import LABELS, LABELS_DIR, LabelsError, load_labels
from routing.domain.triage import HOLD_LANGUAGE, HOLD_POSSIBLE_RED_FLAG
from routing.domain.triage.facts import FACT_KINDS, RED_FLAGS
from routing.domain.triage.rulebook import DEFAULT_RULEBOOK_PATH, LIKELY_CAUSES
from routing.domain.vocabulary import (
    AppointmentStatus,
    CallbackOutcome,
    InquiryStatus,
    OfferStatus,
    Route,
    SlotType,
    Urgency,
    WaitlistStatus,
)

VOCABULARIES = {
    "status": [s.value for s in InquiryStatus],
    "route": [r.value for r in Route],
    "urgency": [u.value for u in Urgency],
    "likely_cause": list(LIKELY_CAUSES),
    "outcome": [o.value for o in CallbackOutcome],
    "hold": [HOLD_LANGUAGE, HOLD_POSSIBLE_RED_FLAG],
    "fact": list(FACT_KINDS),
    "red_flag": list(RED_FLAGS),
    "source": ["form", "text"],
    "slot_type": [s.value for s in SlotType],
    "appointment": [s.value for s in AppointmentStatus],
    "reason_rule": ["TEXT", "NR", "STAFF"],
    "language": list(patient_messages.LANGUAGES),
    "waitlist": [s.value for s in WaitlistStatus],
    "offer": [s.value for s in OfferStatus],
}


@pytest.mark.parametrize("kind", sorted(VOCABULARIES))
def test_every_code_of_every_vocabulary_has_english_words(kind):
    assert sorted(LABELS.staff[kind]) == sorted(VOCABULARIES[kind])


@pytest.mark.parametrize("language", patient_messages.LANGUAGES)
def test_every_slot_type_a_patient_message_names_has_words_in_each_language_patients_are_written_to(language):
    assert sorted(LABELS.patient[language]["slot_type"]) == sorted(s.value for s in SlotType)


def test_the_rulebook_s_red_flag_words_agree_with_the_table():
    rulebook_labels = json.loads(DEFAULT_RULEBOOK_PATH.read_text())["labels"]

    assert rulebook_labels["red_flags"] == dict(LABELS.staff["red_flag"])


def test_staff_words_name_a_code_and_an_unlisted_code_reads_spaced():
    assert LABELS.staff_words("route", "imaging") == "imaging (MRI)"
    assert LABELS.staff_words("red_flag", "saddle_numbness") == "numbness around the groin or buttocks"
    assert LABELS.staff_words("language", "pt_br") == "pt br"
    with pytest.raises(KeyError, match="'routes' is not a kind of code with words"):
        LABELS.staff_words("routes", "imaging")


def test_patient_words_are_in_the_patient_s_language_and_english_for_any_other():
    assert LABELS.patient_words("slot_type", "consult", "es") == "consulta de manejo del dolor"
    assert LABELS.patient_words("slot_type", "consult", "en") == "pain-management consultation"
    assert LABELS.patient_words("slot_type", "consult", "fr") == "pain-management consultation"
    assert LABELS.patient_words("slot_type", "consult", None) == "pain-management consultation"


def test_an_api_description_lists_each_code_with_its_words():
    assert LABELS.described("route", "Where the inquiry goes.") == (
        "Where the inquiry goes. `urgent_review`: urgent clinician review; `consult`: consultation; "
        "`imaging`: imaging (MRI); `injection`: injection."
    )
    assert LABELS.described("urgency", "Another urgency.", ["soon", "routine"]) == (
        "Another urgency. `soon`: soon; `routine`: routine."
    )


# --- checked at load ------------------------------------------------------------------------------------------


@pytest.fixture
def labels_dir(tmp_path) -> Path:
    """A copy of the shipped labels files to break."""
    for path in LABELS_DIR.glob("*.toml"):
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_the_shipped_files_load_into_the_table_the_service_uses(labels_dir):
    assert load_labels(labels_dir) == LABELS
    assert LABELS.languages == ("en", "es")


def test_a_missing_spanish_word_for_a_code_patients_read_stops_the_load(labels_dir):
    _edit(labels_dir / "es.toml", 'imaging = "resonancia magnética (estudio de imagen)"\n', "")

    with pytest.raises(LabelsError) as error:
        load_labels(labels_dir)

    assert str(error.value) == "es.toml [patient.slot_type]: no words for imaging"


def test_an_unknown_kind_stops_the_load(labels_dir):
    _edit(labels_dir / "en.toml", "[staff.route]", "[staff.routes]")

    with pytest.raises(LabelsError) as error:
        load_labels(labels_dir)

    assert str(error.value).startswith("en.toml [staff.routes]: not a kind of code (known: status, route, urgency,")


def test_a_code_outside_its_vocabulary_stops_the_load(labels_dir):
    _edit(labels_dir / "en.toml", "noshow = ", "no_show = ")

    with pytest.raises(LabelsError) as error:
        load_labels(labels_dir)

    assert (
        str(error.value)
        == "en.toml [staff.appointment]: no_show is not one of the appointment codes (known: booked, cancelled, noshow)"
    )


def test_a_code_of_a_vocabulary_left_out_stops_the_load(labels_dir):
    _edit(labels_dir / "en.toml", 'fever = "fever"\n', "")

    with pytest.raises(LabelsError) as error:
        load_labels(labels_dir)

    assert str(error.value) == "en.toml [staff.red_flag]: no words for fever"


def test_empty_words_stop_the_load(labels_dir):
    _edit(labels_dir / "en.toml", 'closed = "closed"', 'closed = ""')

    with pytest.raises(LabelsError) as error:
        load_labels(labels_dir)

    assert str(error.value) == "en.toml [staff.status]: closed must be words (a non-empty string), not ''"


def test_staff_words_outside_english_stop_the_load(labels_dir):
    (labels_dir / "es.toml").write_text(
        (labels_dir / "es.toml").read_text() + '\n[staff.route]\nconsult = "consulta"\n'
    )

    with pytest.raises(LabelsError) as error:
        load_labels(labels_dir)

    assert str(error.value) == "es.toml: [staff.*] tables belong in en.toml; staff read English"


def test_a_file_naming_another_language_stops_the_load(labels_dir):
    _edit(labels_dir / "es.toml", 'language = "es"', 'language = "en"')

    with pytest.raises(LabelsError) as error:
        load_labels(labels_dir)

    assert str(error.value) == "es.toml: language = 'en'; it must be 'es', the file's name"


def test_a_file_that_is_not_toml_stops_the_load(labels_dir):
    (labels_dir / "es.toml").write_text("[patient.slot_type\n")

    with pytest.raises(LabelsError) as error:
        load_labels(labels_dir)

    assert str(error.value).startswith("es.toml: cannot be read: ")


def test_without_english_nothing_loads(labels_dir):
    (labels_dir / "en.toml").unlink()

    with pytest.raises(LabelsError) as error:
        load_labels(labels_dir)

    assert str(error.value) == f"{labels_dir}: no en.toml; staff words and every patient word start there"


# --- the patient pages' texts ----------------------------------------------------------------------------------


def test_every_page_text_is_in_every_language_with_the_same_placeholders():
    english = LABELS.pages["en"]
    for language in LABELS.languages:
        assert {section: sorted(texts) for section, texts in LABELS.pages[language].items()} == {
            section: sorted(texts) for section, texts in english.items()
        }


def test_a_page_text_is_filled_in_and_falls_back_to_english():
    assert LABELS.page_text("answer", "call_us", "es", phone="555") == "Llámenos al 555"
    assert LABELS.page_text("answer", "call_us", "fr", phone="555") == "Call us on 555"
    with pytest.raises(KeyError):
        LABELS.page_text("answer", "no_such_text", "en")


@pytest.mark.parametrize(
    "kind", ["red_flags", "onset", "episodes", "trigger", "location", "muscle_relaxants", "diagnosed_conditions"]
)
def test_every_answer_of_the_form_has_patient_words_in_each_language(kind):
    from routing.domain.labels import VOCABULARIES

    for language in LABELS.languages:
        assert sorted(LABELS.patient[language][kind]) == sorted(VOCABULARIES[kind])


def test_a_page_text_missing_in_spanish_stops_the_load(labels_dir):
    _edit(labels_dir / "es.toml", 'yes = "Sí"\n', "")

    with pytest.raises(LabelsError) as error:
        load_labels(labels_dir)

    assert str(error.value) == "es.toml [page.form]: no text for yes (the patient reads it)"


def test_a_translation_that_drops_a_placeholder_stops_the_load(labels_dir):
    _edit(labels_dir / "es.toml", 'call_us = "Llámenos al {phone}"', 'call_us = "Llámenos"')

    with pytest.raises(LabelsError) as error:
        load_labels(labels_dir)

    assert str(error.value) == "es.toml [page.answer]: call_us must use the placeholders of en.toml's, ['phone']"


def test_a_page_text_only_spanish_has_stops_the_load(labels_dir):
    _edit(labels_dir / "es.toml", 'yes = "Sí"\n', 'yes = "Sí"\nsi = "Sí"\n')

    with pytest.raises(LabelsError) as error:
        load_labels(labels_dir)

    assert str(error.value) == "es.toml [page.form]: si is not in en.toml's [page.form]"


def test_an_unpaired_brace_in_a_page_text_stops_the_load(labels_dir):
    _edit(labels_dir / "en.toml", 'call_us = "Call us on {phone}"', 'call_us = "Call us on {phone"')

    with pytest.raises(LabelsError) as error:
        load_labels(labels_dir)

    assert str(error.value) == "en.toml [page.answer]: call_us has a { or } without its pair"
