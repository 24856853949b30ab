"""Known-answer tests against public vectors: cose-wg Examples and Wycheproof Ed25519.

Given the published keys and inputs, when we encode or verify, then the bytes and the
verdicts are exactly the published ones.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed448 import Ed448PrivateKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from verify.credential import (
    MalformedToken,
    check_eddsa_headers,
    ed25519_verify,
    sign1_decode,
    sign1_encode,
    verify_token_bytes,
)
from verify.trust import TrustStore

NOW = 1_800_000_000
# Same place the `vectors` fixture looks; needed here at collection time.
VECTORS = Path(__file__).resolve().parents[2].parent / "shared" / "vectors"
COSE_HEADER_LABELS = {"alg": 1, "ctyp": 3, "kid": 4}
COSE_ALGORITHMS = {"EdDSA": -8}


def _load(vectors: Path, relative: str) -> dict[str, Any]:
    return json.loads((vectors / "cose-wg" / relative).read_text(encoding="utf-8"))


def _header(members: dict[str, Any]) -> dict[int, Any]:
    header: dict[int, Any] = {}
    for name, value in members.items():
        label = COSE_HEADER_LABELS[name]
        if name == "alg":
            value = COSE_ALGORITHMS[value]
        elif name == "kid":
            value = value.encode("ascii")
        header[label] = value
    return header


@pytest.mark.parametrize("name", ["eddsa-sig-01.json", "eddsa-sig-02.json"])
def test_sign1_encode_reproduces_cose_wg_eddsa_examples(vectors: Path, name: str) -> None:
    example = _load(vectors, f"eddsa-examples/{name}")
    signer_input = example["input"]["sign0"]
    d = bytes.fromhex(signer_input["key"]["d_hex"])
    # Ed448 only appears in this vector; sign1_encode takes any signing callable.
    key = (
        Ed25519PrivateKey.from_private_bytes(d)
        if signer_input["key"]["crv"] == "Ed25519"
        else Ed448PrivateKey.from_private_bytes(d)
    )
    seen: list[bytes] = []

    def sign(message: bytes) -> bytes:
        seen.append(message)
        return key.sign(message)

    encoded = sign1_encode(
        _header(signer_input["protected"]),
        _header(signer_input["unprotected"]),
        example["input"]["plaintext"].encode("utf-8"),
        sign,
    )

    assert seen == [bytes.fromhex(example["intermediates"]["ToBeSign_hex"])]
    assert encoded == bytes.fromhex(example["output"]["cbor"])


def test_sign1_decode_and_verify_cose_wg_ed25519_example(vectors: Path) -> None:
    example = _load(vectors, "eddsa-examples/eddsa-sig-01.json")
    public_key = Ed25519PublicKey.from_public_bytes(
        bytes.fromhex(example["input"]["sign0"]["key"]["x_hex"])
    )
    sign1 = sign1_decode(bytes.fromhex(example["output"]["cbor"]))

    assert sign1.protected == {1: -8, 3: 0}
    assert sign1.unprotected == {4: b"11"}
    assert sign1.payload == b"This is the content."
    assert sign1.to_be_signed == bytes.fromhex(example["intermediates"]["ToBeSign_hex"])
    assert ed25519_verify(public_key, sign1.signature, sign1.to_be_signed)
    tampered = sign1.to_be_signed.replace(b"content", b"CONTENT")
    assert not ed25519_verify(public_key, sign1.signature, tampered)
    # It is valid COSE, but not our profile: kid unprotected and a content type present.
    with pytest.raises(MalformedToken, match="unprotected"):
        check_eddsa_headers(sign1)


def test_sign1_decode_reads_the_ed448_example_structure(vectors: Path) -> None:
    example = _load(vectors, "eddsa-examples/eddsa-sig-02.json")
    sign1 = sign1_decode(bytes.fromhex(example["output"]["cbor"]))
    assert sign1.protected == {1: -8}
    assert len(sign1.signature) == 114
    assert sign1.to_be_signed == bytes.fromhex(example["intermediates"]["ToBeSign_hex"])


@pytest.mark.parametrize(
    "relative",
    [
        "sign1-tests/sign-pass-01.json",
        "sign1-tests/sign-pass-02.json",
        "sign1-tests/sign-pass-03.json",
        "sign1-tests/sign-fail-01.json",
        "sign1-tests/sign-fail-02.json",
        "sign1-tests/sign-fail-03.json",
        "sign1-tests/sign-fail-04.json",
        "sign1-tests/sign-fail-06.json",
        "sign1-tests/sign-fail-07.json",
        "CWT/A_3.json",
        "CWT/A_4.json",
        "CWT/A_5.json",
        "CWT/A_6.json",
        "CWT/A_7.json",
        "eddsa-examples/eddsa-sig-01.json",
        "eddsa-examples/eddsa-sig-02.json",
    ],
)
def test_foreign_cose_objects_are_malformed_for_the_card_profile(
    vectors: Path, relative: str
) -> None:
    # ECDSA, MAC, encrypted, wrong-tag and untagged objects: none is a card credential.
    example = _load(vectors, relative)
    result = verify_token_bytes(bytes.fromhex(example["output"]["cbor"]), TrustStore(), now=NOW)
    assert (result.valid, result.reason) == (False, "malformed")


def _wycheproof_params() -> list[Any]:
    # Parametrised at collection time so each of the 151 cases is its own test id.
    path = VECTORS / "wycheproof" / "ed25519_test.json"
    if not path.is_file():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"vectors not found: {path}"))]
    document = json.loads(path.read_text(encoding="utf-8"))
    cases = [
        pytest.param(
            (group["publicKey"]["pk"], test["msg"], test["sig"], test["result"]),
            id=f"tc{test['tcId']}-{test['result']}",
        )
        for group in document["testGroups"]
        for test in group["tests"]
    ]
    assert len(cases) == document["numberOfTests"] == 151
    return cases


@pytest.mark.parametrize("case", _wycheproof_params())
def test_wycheproof_ed25519(case: tuple[str, str, str, str]) -> None:
    public_hex, message_hex, signature_hex, expected = case
    public_key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex))
    accepted = ed25519_verify(public_key, bytes.fromhex(signature_hex), bytes.fromhex(message_hex))
    assert accepted is (expected == "valid")
