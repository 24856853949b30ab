"""The strict CBOR reader under the credential: every leniency of cbor2 is refused."""

from __future__ import annotations

import cbor2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from verify._cbor import MAX_DEPTH, CborError, loads_strict


@pytest.mark.parametrize(
    ("encoded", "value"),
    [
        ("00", 0),
        ("17", 23),
        ("1818", 24),
        ("18ff", 255),
        ("190100", 256),
        ("1a00010000", 65536),
        ("1b0000000100000000", 1 << 32),
        ("20", -1),
        ("3a00010000", -65537),
        ("40", b""),
        ("4401020304", b"\x01\x02\x03\x04"),
        ("6449455446", "IETF"),
        ("62c3bc", "ü"),
        ("83010203", [1, 2, 3]),
        ("a201020304", {1: 2, 3: 4}),
        ("a2016161616102", {1: "a", "a": 2}),
    ],
)
def test_deterministic_items_decode(encoded: str, value: object) -> None:
    assert loads_strict(bytes.fromhex(encoded)) == value


@pytest.mark.parametrize(
    ("encoded", "complaint"),
    [
        ("1817", "shortest"),  # 23 in two bytes
        ("190017", "shortest"),
        ("1a000000ff", "shortest"),
        ("1b00000000ffffffff", "shortest"),
        ("3800", "shortest"),
        ("5801ff", "shortest"),  # one-byte string with a long length
        ("5f41ff", "indefinite"),
        ("9f01ff", "indefinite"),
        ("bf0102ff", "indefinite"),
        ("1c", "reserved"),
        ("a201020103", "duplicate"),
        ("a203040102", "order"),
        ("a2616202616101", "order"),
        ("d818412a", "tag"),
        ("f5", "simple"),
        ("f93c00", "simple"),
        ("fb3ff0000000000000", "simple"),
        ("0001", "trailing"),
        ("", "truncated"),
        ("19", "truncated"),
        ("430102", "truncated"),
        ("9a7fffffff", "truncated"),
        ("62c328", "UTF-8"),
        ("a1400102", "keys"),  # byte-string key
    ],
)
def test_lenient_encodings_are_refused(encoded: str, complaint: str) -> None:
    with pytest.raises(CborError, match=complaint):
        loads_strict(bytes.fromhex(encoded))


def test_nesting_is_bounded() -> None:
    deep = bytes.fromhex("81" * (MAX_DEPTH + 2) + "00")
    with pytest.raises(CborError, match="deep"):
        loads_strict(deep)
    assert loads_strict(bytes.fromhex("81" * MAX_DEPTH + "00")) is not None


cbor_values = st.recursive(
    st.integers(min_value=-(1 << 64), max_value=(1 << 64) - 1)
    | st.binary(max_size=40)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.integers(-300, 300) | st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=12,
)


@given(cbor_values)
def test_canonical_cbor2_output_round_trips(value: object) -> None:
    encoded = cbor2.dumps(value, canonical=True)
    try:
        decoded = loads_strict(encoded)
    except CborError as exc:
        # cbor2 orders keys length-first (RFC 7049); the reader wants RFC 8949 bytewise
        # order. They differ only when a shorter key sorts after a longer one bytewise.
        assert "order" in str(exc)
    else:
        assert decoded == value


@given(st.binary(max_size=64))
def test_whatever_the_strict_reader_accepts_cbor2_reads_the_same(data: bytes) -> None:
    try:
        value = loads_strict(data)
    except CborError:
        return
    assert cbor2.loads(data) == value
