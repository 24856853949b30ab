"""Interoperability with pycose, an independent COSE implementation, in both directions."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import cbor2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pycose.algorithms import EdDSA
from pycose.headers import KID, Algorithm
from pycose.keys import OKPKey
from pycose.keys.curves import Ed25519
from pycose.messages import Sign1Message

from verify.cardnumber import card_number_to_bytes
from verify.credential import CardClaims, Ed25519Signer, token_bytes, verify_token_bytes
from verify.trust import TrustStore

NOW = 1_800_000_000


def _pycose_decode(data: bytes) -> Sign1Message:
    # pycose 1.1's CoseMessage.decode wants a list and dicts inside the tag, but cbor2 6
    # decodes tagged content as a tuple and frozendicts. So strip the one-byte tag 18
    # ourselves and hand pycose the array through its own from_cose_obj.
    assert data[0] == 0xD2
    message = Sign1Message.from_cose_obj(cbor2.loads(data[1:]), True)
    assert isinstance(message, Sign1Message)
    return message


def _x_from_jwks(jwks: dict[str, Any], kid_text: str) -> bytes:
    (jwk,) = [key for key in jwks["keys"] if key["kid"] == kid_text]
    return base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))


def test_pycose_verifies_our_token_with_the_key_from_our_jwks(
    make_token: Callable[..., str], jwks: dict[str, Any]
) -> None:
    data = token_bytes(make_token())
    message = _pycose_decode(data)
    kid = message.phdr[KID]
    message.key = OKPKey(
        crv=Ed25519, x=_x_from_jwks(jwks, base64.urlsafe_b64encode(kid).rstrip(b"=").decode())
    )

    assert message.phdr[Algorithm] is EdDSA
    assert message.uhdr == {}
    assert message.verify_signature()
    assert cbor2.loads(message.payload)["n"] == "Maria da Conceição Silva"


def test_pycose_rejects_our_token_after_tampering(
    make_token: Callable[..., str], jwks: dict[str, Any], signer: Ed25519Signer
) -> None:
    data = bytearray(token_bytes(make_token()))
    data[-1] ^= 1
    message = _pycose_decode(bytes(data))
    message.key = OKPKey(crv=Ed25519, x=_x_from_jwks(jwks, jwks["keys"][0]["kid"]))
    assert not message.verify_signature()


def test_we_verify_a_token_pycose_signs_with_our_claim_layout(
    make_claims: Callable[..., CardClaims],
    issuer_key: Ed25519PrivateKey,
    signer: Ed25519Signer,
    trust: TrustStore,
    fresh_status: Any,
) -> None:
    claims = make_claims()
    payload = cbor2.dumps(
        {
            1: claims.issuer,
            6: claims.issued_at,
            4: claims.expires_at,
            7: card_number_to_bytes(claims.card_number),
            "n": claims.name,
            "s": [claims.status_list, claims.status_index],
        },
        canonical=True,
    )
    message = Sign1Message(phdr={Algorithm: EdDSA, KID: signer.kid}, uhdr={}, payload=payload)
    message.key = OKPKey(
        crv=Ed25519,
        d=issuer_key.private_bytes_raw(),
        x=issuer_key.public_key().public_bytes_raw(),
    )
    encoded = message.encode(tag=True)

    result = verify_token_bytes(encoded, trust, now=NOW, status=fresh_status)
    assert (result.valid, result.reason, result.name) == (True, "ok", claims.name)
