"""Identifiers of the sandbox world: credit codes, organisation codes, invoice numbers."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncverify.quality.credit_code import check_character as quality_check_character
from syncverify.sandbox import ids


def test_organisation_code_matches_the_standards_example() -> None:
    # GB 11714-1997 gives D2143569-X as its worked example.
    assert ids.organisation_code("D2143569") == "D2143569X"


def test_credit_check_character_by_hand() -> None:
    # Weighted sum of 91450100MA5K0C2T1 computed independently of the module:
    first17 = "91450100MA5KA0C2T"
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    total = sum(alphabet.index(c) * (3 ** i % 31) for i, c in enumerate(first17))
    assert ids.credit_check_character(first17) == alphabet[(31 - total % 31) % 31]


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 10**9), division=st.sampled_from(["450100", "450203", "440300", "530102"]))
def test_generated_credit_codes_are_valid(seed: int, division: str) -> None:
    code = ids.make_credit_code(random.Random(seed), division)
    assert len(code) == 18 and code[2:8] == division
    assert ids.is_valid_credit_code(code)
    # The quality suite's independent implementation agrees on the check character.
    assert quality_check_character(code[:17]) == code[17]
    assert not ids.is_valid_credit_code(ids.corrupt_check_character(code))


def test_invalid_credit_codes() -> None:
    assert not ids.is_valid_credit_code("91450100MA5KA0C2TI")     # I is not in the alphabet
    assert not ids.is_valid_credit_code("914501")
    with pytest.raises(ValueError, match="6 digits"):
        ids.make_credit_code(random.Random(1), "45010")
    with pytest.raises(ValueError, match="17"):
        ids.credit_check_character("123")


def test_office_and_invoice_number_formats() -> None:
    office = ids.tax_office("45", 1, 2)
    assert office == "14501020000" and len(office) == 11
    assert ids.division_of(office) == "450102"
    number = ids.digital_invoice_number(2026, "45", 1, 123)
    assert len(number) == 20 and number.startswith("26451") and number.isdigit()
    code = ids.tax_control_code(2026, "45", 3, "04")
    assert len(code) == 12 and code.isdigit()
    with pytest.raises(ValueError):
        ids.digital_invoice_number(2026, "45", 1, 10**15)
