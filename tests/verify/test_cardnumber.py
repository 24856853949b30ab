"""Card numbers: format, normalisation, and the GF(32) check symbol's guarantees."""

from __future__ import annotations

import random
import string

import pytest

from verify.cardnumber import (
    ALPHABET,
    InvalidCardNumber,
    card_number_from_bytes,
    card_number_to_bytes,
    format_card_number,
    is_valid_card_number,
    new_card_number,
    normalize_card_number,
)

SAMPLES = [new_card_number(random.Random(seed)) for seed in range(40)]


def test_new_numbers_are_canonical_and_valid() -> None:
    number = new_card_number()
    assert len(number) == 12
    assert set(number) <= set(ALPHABET)
    assert normalize_card_number(number) == number


def test_alphabet_is_crockford() -> None:
    assert "".join(c for c in string.digits + string.ascii_uppercase if c not in "ILOU") == ALPHABET


def test_format_and_normalise_round_trip() -> None:
    number = SAMPLES[0]
    printed = format_card_number(number)
    assert printed == f"{number[:4]}-{number[4:8]}-{number[8:]}"
    assert normalize_card_number(printed) == number
    assert normalize_card_number(" " + printed.lower().replace("-", " - ") + " ") == number


def test_lookalike_letters_read_as_digits() -> None:
    number = next(n for n in SAMPLES if "1" in n and "0" in n)
    typed = number.replace("1", "l").replace("0", "O")
    assert normalize_card_number(typed) == number
    assert normalize_card_number(number.replace("1", "I")) == number


@pytest.mark.parametrize(
    "text",
    ["", "ABC", "0" * 11, "0" * 13, "U" * 12, "ABCD-EFGH-JKM!", "ÄBCDEFGHJKMN", "x" * 100],
)
def test_wrong_length_or_symbol_is_rejected(text: str) -> None:
    with pytest.raises(InvalidCardNumber):
        normalize_card_number(text)
    assert not is_valid_card_number(text)


@pytest.mark.parametrize("number", SAMPLES)
def test_every_single_substitution_is_detected(number: str) -> None:
    for position in range(12):
        for symbol in ALPHABET:
            if symbol != number[position]:
                changed = number[:position] + symbol + number[position + 1 :]
                assert not is_valid_card_number(changed), (number, position, symbol)


@pytest.mark.parametrize("number", SAMPLES)
def test_every_transposition_of_two_symbols_is_detected(number: str) -> None:
    for i in range(12):
        for j in range(i + 1, 12):
            if number[i] != number[j]:
                swapped = list(number)
                swapped[i], swapped[j] = swapped[j], swapped[i]
                assert not is_valid_card_number("".join(swapped)), (number, i, j)


def test_bytes_form_is_the_60_bit_big_endian_integer() -> None:
    number = SAMPLES[1]
    encoded = card_number_to_bytes(number)
    expected = 0
    for symbol in number:
        expected = expected * 32 + ALPHABET.index(symbol)
    assert encoded == expected.to_bytes(8, "big")
    assert encoded[0] >> 4 == 0
    assert card_number_from_bytes(encoded) == number


def test_all_zero_number_is_valid_and_encodes_to_zero_bytes() -> None:
    # Zero data symbols give a zero check symbol; a fixed point worth pinning down.
    assert normalize_card_number("0000-0000-0000") == "000000000000"
    assert card_number_to_bytes("000000000000") == bytes(8)


@pytest.mark.parametrize(
    "data",
    [bytes(7), bytes(9), b"\x10" + bytes(7), b"\xff" * 8],
)
def test_bad_bytes_are_rejected(data: bytes) -> None:
    with pytest.raises(InvalidCardNumber):
        card_number_from_bytes(data)


def test_bytes_with_a_wrong_check_symbol_are_rejected() -> None:
    encoded = bytearray(card_number_to_bytes(SAMPLES[2]))
    encoded[-1] ^= 0x01  # changes only the check symbol's lowest bit
    with pytest.raises(InvalidCardNumber, match="check"):
        card_number_from_bytes(bytes(encoded))
