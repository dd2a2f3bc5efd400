"""Taxpayer ids: the unified social credit code (GB 32100-2015) and the legacy forms.

An 18-character unified social credit code is: registration authority (1 char), organisation
type (1), administrative division (6 digits), organisation code (9) and a check character. The
check character is computed over the first 17 characters: each character's value is its index in
the 31-character alphabet ``0-9 A-H J-N P-R T U W-Y`` (no I, O, S, V, Z), weighted by 3^(i-1)
mod 31; check = alphabet[(31 - sum mod 31) mod 31].

Before 2015/2016 taxpayers were identified by 15-character tax registration numbers (6-digit
division + 9-character organisation code), 17-character numbers, and 20-character ones (an
18-character resident id + 2 digits for individual businesses). Those legacy forms carry no check
character we can verify; they are accepted on length and alphabet only. An 18-character value is
always judged as a unified social credit code (decision documented in docs/quality.md).

This module holds the pure-Python rule (for tests, generators and the sandbox) and the same rule
as an SQL expression, so a check over a table runs inside the database.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from syncverify.dialects import for_sa_dialect

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS: tuple[int, ...] = tuple(pow(3, i, 31) for i in range(17))   # 1, 3, 9, 27, 19, 26, ...
LEGACY_LENGTHS: tuple[int, ...] = (15, 17, 20)

# Positions 3-8 are the administrative division (digits); the rest use the 31-char alphabet.
CREDIT_CODE_REGEX = "^[0-9A-HJ-NP-RTUW-Y]{2}[0-9]{6}[0-9A-HJ-NP-RTUW-Y]{10}$"
LEGACY_CHARSET = "[0-9A-Z]"


def check_character(first17: str) -> str:
    """The check character of a unified social credit code from its first 17 characters."""
    if len(first17) != 17:
        raise ValueError(f"need the first 17 characters, got {len(first17)}")
    try:
        total = sum(ALPHABET.index(ch) * w for ch, w in zip(first17, WEIGHTS, strict=True))
    except ValueError:
        raise ValueError(f"{first17!r} has a character outside the credit-code alphabet") from None
    return ALPHABET[(31 - total % 31) % 31]


def is_valid_credit_code(value: str) -> bool:
    """True for a well-formed 18-character unified social credit code with a correct check char."""
    import re

    if not isinstance(value, str) or not re.fullmatch(CREDIT_CODE_REGEX, value):
        return False
    return check_character(value[:17]) == value[17]


def is_valid_taxpayer_id(value: str, legacy_lengths: Sequence[int] = LEGACY_LENGTHS) -> bool:
    """A unified social credit code, or a legacy id of one of ``legacy_lengths`` (upper-case A-Z, 0-9)."""
    import re

    if not isinstance(value, str):
        return False
    if len(value) == 18:
        return is_valid_credit_code(value)
    return len(value) in legacy_lengths and re.fullmatch(f"{LEGACY_CHARSET}+", value) is not None


def make_credit_code(rng: random.Random, division: str = "450100") -> str:
    """A random valid credit code (registration authority 9 = 工商, type 1 = enterprise)."""
    if len(division) != 6 or not division.isdigit():
        raise ValueError("division must be 6 digits")
    org = "".join(rng.choice(ALPHABET) for _ in range(9))
    first17 = "91" + division + org
    return first17 + check_character(first17)


# --- the same rule inside the database ----------------------------------------------------------

def invalid_taxpayer_id_condition(column: sa.ColumnElement[str], dialect: Dialect,
                                  legacy_lengths: Sequence[int] = LEGACY_LENGTHS) -> sa.ColumnElement[bool]:
    """SQL condition true for a NOT NULL value that is not a valid taxpayer id (see module doc).
    Letters are compared case-sensitively, as the standard requires, on every database."""
    ours = for_sa_dialect(dialect)
    exact = ours.case_sensitive(column)
    weighted = sum(
        ((ours.position(sa.literal(ALPHABET), sa.func.substr(column, i + 1, 1)) - 1) * w
         for i, w in enumerate(WEIGHTS)),
        start=sa.literal(0),
    )
    # (31 - sum mod 31) mod 31, written without the % operator (its escaping differs per driver):
    # x mod 31 = x - 31 * floor(x / 31).
    remainder = weighted - 31 * sa.cast(sa.func.floor(weighted / sa.literal(31.0)), sa.Integer)
    check_index = 31 - remainder
    expected = sa.func.substr(sa.literal(ALPHABET), sa.case((check_index == 31, 1), else_=check_index + 1), 1)
    bad_credit_code = sa.or_(
        sa.not_(exact.regexp_match(CREDIT_CODE_REGEX)),
        ours.case_sensitive(sa.func.substr(column, 18, 1)) != ours.case_sensitive(expected),
    )
    legacy_ok = sa.and_(
        sa.func.length(column).in_(list(legacy_lengths)),
        exact.regexp_match(f"^{LEGACY_CHARSET}+$"),
    ) if legacy_lengths else sa.false()
    return sa.and_(
        column.is_not(None),
        sa.case((sa.func.length(column) == 18, bad_credit_code), else_=sa.not_(legacy_ok)),
    )
