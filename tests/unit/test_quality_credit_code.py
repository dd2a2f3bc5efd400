"""The unified social credit code check character (GB 32100-2015) and the legacy id forms."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncverify.quality.credit_code import (
    ALPHABET,
    WEIGHTS,
    check_character,
    is_valid_credit_code,
    is_valid_taxpayer_id,
    make_credit_code,
)

# Publicly listed codes (business licence / annual reports), checked by hand against the standard.
PUBLIC_VALID = ["91350100M000100Y43", "91110000600037341L", "91440300708461136T"]


def test_weights_are_powers_of_three_mod_31() -> None:
    assert WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
    assert len(ALPHABET) == 31 and not set("IOSVZ") & set(ALPHABET)


@pytest.mark.parametrize("code", PUBLIC_VALID)
def test_public_codes_are_valid(code: str) -> None:
    assert check_character(code[:17]) == code[17]
    assert is_valid_credit_code(code) and is_valid_taxpayer_id(code)


@pytest.mark.parametrize("code", [
    "91350100M000100Y44",      # wrong check character
    "91350100m000100y43",      # lower case
    "91350100M000100YI3",      # I is not in the alphabet
    "913501A0M000100Y43",      # division must be digits
    "911100001000012345",
])
def test_invalid_codes(code: str) -> None:
    assert not is_valid_credit_code(code)
    assert not is_valid_taxpayer_id(code)


@pytest.mark.parametrize("value, ok", [
    ("450100123456789", True),             # 15: old tax registration number
    ("45010012345678901", True),           # 17
    ("45010219800101123X01", True),        # 20: resident id + 2 digits
    ("4501001234567890", False),           # 16
    ("45010219800101123x01", False),       # lower case
    ("", False),
])
def test_legacy_forms(value: str, ok: bool) -> None:
    assert is_valid_taxpayer_id(value) is ok


def test_a_truncated_code_is_no_credit_code_but_a_legacy_17_character_id() -> None:
    assert not is_valid_credit_code("91350100M000100Y4")
    assert is_valid_taxpayer_id("91350100M000100Y4")
    assert not is_valid_taxpayer_id("91350100M000100Y4", legacy_lengths=(15, 20))


@given(st.integers(min_value=0, max_value=2**32))
def test_generated_codes_are_valid_and_every_single_substitution_is_caught(seed: int) -> None:
    rng = random.Random(seed)
    code = make_credit_code(rng, "450100")
    assert is_valid_credit_code(code)
    position = rng.randrange(18)
    replacement = rng.choice([c for c in ALPHABET if c != code[position]])
    changed = code[:position] + replacement + code[position + 1:]
    # 31 is prime and no weight is 0 mod 31, so any single substitution changes the check
    # (or breaks the format, e.g. a letter in the 6-digit division).
    assert not is_valid_credit_code(changed)


def test_check_character_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="17"):
        check_character("123")
    with pytest.raises(ValueError, match="alphabet"):
        check_character("9135010OM000100Y4")
