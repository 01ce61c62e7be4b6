"""Query codes: random, readable over the phone, with a check character.

14 random symbols from Crockford's base-32 alphabet (no I, L, O, U: nothing that looks like
1 or 0) give 70 bits, so guessing a live code is hopeless. A 15th symbol is a Damm check
over GF(32), which catches every single wrong symbol and every swap of two neighbours.
Shown as three groups of five: ``7KQ2M-XR4TB-9HC0P``.
"""

from __future__ import annotations

import secrets

__all__ = ["ALPHABET", "InvalidCode", "check_symbol", "new_code", "normalize_code"]

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RANDOM_SYMBOLS = 14
LENGTH = RANDOM_SYMBOLS + 1
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
# What people type for a symbol that is not in the alphabet.
_LOOKALIKES = {"O": "0", "I": "1", "L": "1", "U": "V"}


class InvalidCode(ValueError):
    """Not a query code (wrong length, symbols, or check character)."""


def _gf32_mul2(x: int) -> int:
    """Multiply by the generator 2 in GF(32) with the primitive polynomial x^5 + x^2 + 1."""
    x <<= 1
    return x ^ 0b100101 if x & 0b100000 else x


def _damm(values: list[int]) -> int:
    # x * y = 2x + y over GF(32) is a totally anti-symmetric quasigroup (2 != 0, 1), so a
    # single substitution or adjacent transposition always changes the result.
    interim = 0
    for v in values:
        interim = _gf32_mul2(interim) ^ v
    return interim


def check_symbol(body: str) -> str:
    """The symbol that makes the Damm check of ``body + symbol`` zero."""
    return ALPHABET[_gf32_mul2(_damm([_VALUE[c] for c in body]))]


def new_code() -> str:
    # One draw of 70 random bits, five per symbol (a tenth of the time of 14 choices; an
    # import makes a million of these).
    value = secrets.randbits(5 * RANDOM_SYMBOLS)
    body = "".join(ALPHABET[(value >> (5 * i)) & 31] for i in range(RANDOM_SYMBOLS))
    raw = body + check_symbol(body)
    return "-".join(raw[i : i + 5] for i in range(0, LENGTH, 5))


def normalize_code(text: str) -> str:
    """The canonical grouped form of a typed code, or InvalidCode saying what is wrong."""
    raw = "".join(ch for ch in text.upper() if ch not in " -")
    raw = "".join(_LOOKALIKES.get(ch, ch) for ch in raw)
    if len(raw) != LENGTH:
        raise InvalidCode(f"a query code has {LENGTH} characters, this one has {len(raw)}")
    bad = sorted({ch for ch in raw if ch not in _VALUE})
    if bad:
        raise InvalidCode(f"a query code cannot contain {''.join(bad)!r}")
    if _damm([_VALUE[c] for c in raw]) != 0:
        raise InvalidCode("the check character does not match: a character is mistyped")
    return "-".join(raw[i : i + 5] for i in range(0, LENGTH, 5))
