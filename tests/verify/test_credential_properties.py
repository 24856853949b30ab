"""Property tests: no input, however strange, makes verification raise or misreport."""

from __future__ import annotations

import base64
from collections.abc import Callable

import cbor2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from verify.credential import (
    REASONS,
    CredentialError,
    _verify,
    extract_token,
    qr_text,
    token_bytes,
    verify_text,
    verify_token_bytes,
)
from verify.trust import TrustStore

NOW = 1_800_000_000
fixtures_ok = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])

cbor_leaves = st.integers(-(1 << 64), (1 << 64) - 1) | st.binary(max_size=70) | st.text(max_size=30)
cbor_items = st.recursive(
    cbor_leaves,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.integers(-70000, 70000) | st.text(max_size=4), children, max_size=7)
    ),
    max_leaves=20,
)
# Shaped like a Sign1, so generated inputs reach the header, key and claim checks.
sign1_shaped = st.builds(
    lambda protected, unprotected, payload, signature: (
        b"\xd2"
        + cbor2.dumps(
            [
                cbor2.dumps(protected, canonical=True),
                unprotected,
                cbor2.dumps(payload, canonical=True),
                signature,
            ],
            canonical=True,
        )
    ),
    st.dictionaries(st.sampled_from([1, 2, 3, 4, 16]), cbor_items, max_size=4),
    st.dictionaries(st.integers(0, 5), cbor_leaves, max_size=2),
    st.dictionaries(st.sampled_from([1, 4, 5, 6, 7, "n", "s", -65537, 8]), cbor_items, max_size=8),
    st.binary(min_size=60, max_size=66),
)


def _check(data: bytes, trust: TrustStore) -> None:
    try:
        result = _verify(data, trust, NOW, None)
    except CredentialError as exc:
        assert exc.reason in REASONS
    else:
        assert result.reason in REASONS
    public = verify_token_bytes(data, trust, now=NOW)
    assert public.reason in REASONS
    assert public.valid is (public.reason == "ok")


@fixtures_ok
@given(st.text(max_size=3000))
def test_arbitrary_text_gives_a_known_reason(trust: TrustStore, text: str) -> None:
    result = verify_text(text, trust, now=NOW)
    assert result.reason in REASONS
    assert not result.valid


@fixtures_ok
@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ234567=#/:.abcxyz", max_size=600))
def test_base32_looking_text_raises_only_typed_errors(trust: TrustStore, text: str) -> None:
    try:
        token_bytes(extract_token("HTTPS://VERIFY.CITY.EXAMPLE/V#" + text))
    except CredentialError as exc:
        assert exc.reason == "malformed"
    assert verify_text(text, trust, now=NOW).reason in REASONS


@fixtures_ok
@given(st.binary(max_size=1100))
def test_arbitrary_bytes_give_a_known_reason(trust: TrustStore, data: bytes) -> None:
    _check(data, trust)


@fixtures_ok
@given(sign1_shaped)
def test_sign1_shaped_bytes_give_a_known_reason(trust: TrustStore, data: bytes) -> None:
    _check(data, trust)
    assert (
        verify_text(
            qr_text("https://verify.city.example", base64.b32encode(data).rstrip(b"=").decode()),
            trust,
            now=NOW,
        ).reason
        in REASONS
    )


@fixtures_ok
@given(st.data())
def test_mutated_real_tokens_are_never_valid(
    trust: TrustStore, make_token: Callable[..., str], data: st.DataObject
) -> None:
    original = bytearray(token_bytes(make_token()))
    position = data.draw(st.integers(0, len(original) - 1))
    replacement = data.draw(st.binary(min_size=0, max_size=4))
    mutated = bytes(original[:position] + replacement + original[position + 1 :])
    if mutated == bytes(original):
        return
    _check(mutated, trust)
    assert not verify_token_bytes(mutated, trust, now=NOW).valid


@given(st.binary(max_size=600))
def test_token_text_decodes_exactly_what_the_standard_encoder_wrote(data: bytes) -> None:
    import base64

    from verify.credential import token_bytes

    text = base64.b32encode(data).decode().rstrip("=")
    if text:
        assert token_bytes(text) == data
