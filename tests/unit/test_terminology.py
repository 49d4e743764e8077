"""The terminology file: real codes by default, and a bad entry stops the start with its name."""

from __future__ import annotations

from pathlib import Path

import pytest

from routing.config import load_settings
from routing.domain.terminology import DEFAULT_TERMINOLOGY_PATH, Coding, TerminologyError, load_terminology
from routing.wiring import wire

pytestmark = pytest.mark.fast


def test_the_shipped_terminology_uses_real_hl7_snomed_and_cpt_codes():
    codes = load_terminology()

    assert codes.service_type == {
        "consult": Coding(
            "http://terminology.hl7.org/CodeSystem/service-type", "164", "Anaesthesiology - Pain Medicine"
        ),
        "imaging": Coding(
            "http://terminology.hl7.org/CodeSystem/service-type", "211", "Magnetic Resonance Imaging (MRI)"
        ),
        "injection": Coding("http://terminology.hl7.org/CodeSystem/service-type", "400", "Pain"),
    }
    assert {key: c.code for key, c in codes.specialty.items()} == {
        "consult": "394882004",
        "imaging": "394914008",
        "injection": "394882004",
    }
    assert {key: c.code for key, c in codes.appointment_type.items()} == {
        "emergency": "EMERGENCY",
        "urgent": "ROUTINE",
        "soon": "ROUTINE",
        "routine": "ROUTINE",
    }
    assert {key: (c.system, c.code) for key, c in codes.procedure.items()} == {
        "imaging": ("http://www.ama-assn.org/go/cpt", "72148"),
        "injection": ("http://www.ama-assn.org/go/cpt", "64493"),
    }
    assert {key: c.code for key, c in codes.category.items()} == {"imaging": "363679005", "injection": "387713003"}


def test_no_shipped_code_lives_under_an_invented_urn():
    codes = load_terminology()
    tables = (codes.service_type, codes.specialty, codes.appointment_type, codes.procedure, codes.category)

    assert [c for table in tables for c in table.values() if c.system.startswith("urn:")] == []


def with_change(tmp_path: Path, old: str, new: str) -> Path:
    text = DEFAULT_TERMINOLOGY_PATH.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "codes.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "[procedure.injection]",
            "[procedure.massage]",
            r"\[procedure\] needs exactly imaging, injection \(missing injection; unknown massage\)",
        ),
        ('code = "72148"', 'code = ""', r"\[procedure.imaging\] code must be a non-empty string"),
        (
            'system = "http://www.ama-assn.org/go/cpt"',
            'system = "cpt"',
            r"\[procedure.imaging\] system must be an absolute URI",
        ),
        (
            'display = "Pain"\n',
            'display = "Pain"\ncolour = "red"\n',
            r"\[service_type.injection\] takes only system, code and display",
        ),
        ("[category.imaging]", "[categry.imaging]", r"unknown table\(s\) categry"),
        ("[service_type.consult]", "service_type.consult = [", "cannot be read"),
    ],
)
def test_a_bad_entry_is_named(tmp_path, old, new, message):
    with pytest.raises(TerminologyError, match=message):
        load_terminology(with_change(tmp_path, old, new))


def test_a_bad_terminology_file_stops_the_service_at_start(tmp_path):
    path = with_change(tmp_path, 'code = "64493"', "code = 64493")
    settings = load_settings({"ROUTING_TERMINOLOGY_FILE": str(path), "TESTING": "1"}, environ={})

    with pytest.raises(ValueError, match=r"ROUTING_TERMINOLOGY_FILE: .*\[procedure.injection\] code must be"):
        wire(settings)


def test_a_practice_file_changes_the_codes_orders_are_written_with(tmp_path):
    path = with_change(tmp_path, 'code = "72148"', 'code = "72158"')

    assert load_terminology(path).procedure["imaging"].code == "72158"
