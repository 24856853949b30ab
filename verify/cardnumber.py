"""Card numbers: 12 Crockford base-32 symbols, 11 random and one GF(32) check symbol.

The check symbol makes ``sum(alpha**(i + 1) * s[i] for i in range(12)) == 0`` in GF(32),
where ``alpha`` is a primitive element (a root of x^5 + x^2 + 1). Every weight is a
distinct non-zero field element, so a single substitution (error ``e != 0`` at position
``i`` changes the sum by ``alpha**(i + 1) * e != 0``) and any transposition of two
different symbols (changes it by ``(alpha**(i + 1) + alpha**(j + 1)) * (a + b) != 0``) are
always detected. A decimal mod-97 or Luhn check cannot promise both over this alphabet.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Protocol

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 12
_DATA_LENGTH = LENGTH - 1
_VALUE = {symbol: value for value, symbol in enumerate(ALPHABET)}
# Crockford's decoding rules: letters that look like digits read as those digits.
_LOOKALIKES = str.maketrans({"I": "1", "L": "1", "O": "0"})
_PRIMITIVE_POLY = 0b100101  # x^5 + x^2 + 1, primitive over GF(2)


def _build_tables() -> tuple[list[int], list[int]]:
    exp = [0] * 62  # doubled so products need no modular reduction of the exponent
    log = [0] * 32
    value = 1
    for power in range(31):
        exp[power] = value
        log[value] = power
        value <<= 1
        if value & 0b100000:
            value ^= _PRIMITIVE_POLY
    for power in range(31, 62):
        exp[power] = exp[power - 31]
    return exp, log


_EXP, _LOG = _build_tables()


def _gf_mul(a: int, b: int) -> int:
    if a == 0 or b == 0:
        return 0
    return _EXP[_LOG[a] + _LOG[b]]


class InvalidCardNumber(ValueError):
    """The text is not a card number: wrong length, symbol or check symbol."""


class _Chooser(Protocol):
    def choice(self, seq: Sequence[str], /) -> str: ...


def _syndrome(values: Sequence[int]) -> int:
    total = 0
    for position, value in enumerate(values):
        total ^= _gf_mul(_EXP[position + 1], value)
    return total


def _check_symbol(data: str) -> str:
    partial = _syndrome([_VALUE[symbol] for symbol in data])
    # Solve alpha^12 * c == partial (addition is XOR, so minus is plus).
    check = _gf_mul(partial, _EXP[31 - LENGTH])
    return ALPHABET[check]


def new_card_number(rng: _Chooser = secrets) -> str:
    """Return a fresh random card number in canonical form (12 symbols, no dashes).

    :param rng: anything with ``choice``; the default is the ``secrets`` module.
    """
    data = "".join(rng.choice(ALPHABET) for _ in range(_DATA_LENGTH))
    return data + _check_symbol(data)


def normalize_card_number(text: str) -> str:
    """Return the canonical 12-symbol form of a typed or printed card number.

    Case is ignored, spaces and dashes are dropped, I and L read as 1 and O as 0.

    :raises InvalidCardNumber: on a wrong length, a symbol outside the alphabet, or a
        wrong check symbol.
    """
    if len(text) > 64:
        raise InvalidCardNumber("card number is too long")
    compact = text.upper().replace(" ", "").replace("-", "").translate(_LOOKALIKES)
    if len(compact) != LENGTH:
        raise InvalidCardNumber(f"a card number has {LENGTH} symbols")
    if any(symbol not in _VALUE for symbol in compact):
        raise InvalidCardNumber("card number contains a symbol outside the alphabet")
    if _syndrome([_VALUE[symbol] for symbol in compact]) != 0:
        raise InvalidCardNumber("card number check symbol does not match")
    return compact


def is_valid_card_number(text: str) -> bool:
    """Tell whether ``text`` normalises to a valid card number."""
    try:
        normalize_card_number(text)
    except InvalidCardNumber:
        return False
    return True


def format_card_number(card_number: str) -> str:
    """Return the printed form ``XXXX-XXXX-XXXX``.

    :raises InvalidCardNumber: when ``card_number`` is not a valid card number.
    """
    canonical = normalize_card_number(card_number)
    return f"{canonical[0:4]}-{canonical[4:8]}-{canonical[8:12]}"


def card_number_to_bytes(card_number: str) -> bytes:
    """Return the 8-byte big-endian form of the 60-bit number (the ``cti`` claim).

    :raises InvalidCardNumber: when ``card_number`` is not a valid card number.
    """
    value = 0
    for symbol in normalize_card_number(card_number):
        value = (value << 5) | _VALUE[symbol]
    return value.to_bytes(8, "big")


def card_number_from_bytes(data: bytes) -> str:
    """Return the canonical card number held in an 8-byte ``cti`` claim.

    :raises InvalidCardNumber: on a length other than 8, bits above the 60th, or a wrong
        check symbol.
    """
    if len(data) != 8:
        raise InvalidCardNumber("a card number is 8 bytes")
    value = int.from_bytes(data, "big")
    if value >> (5 * LENGTH):
        raise InvalidCardNumber("a card number has only 60 bits")
    symbols = "".join(ALPHABET[(value >> (5 * shift)) & 0x1F] for shift in reversed(range(LENGTH)))
    # Already upper-case alphabet symbols of the right length: only the check remains.
    if _syndrome([_VALUE[symbol] for symbol in symbols]) != 0:
        raise InvalidCardNumber("card number check symbol does not match")
    return symbols
