"""Shared fixtures for the verify package: fixed keys, an issuer JWKS, claim factories."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from verify.credential import (
    ALG_EDDSA,
    HEADER_ALG,
    HEADER_KID,
    CardClaims,
    Ed25519Signer,
    encode_token,
    kid_to_text,
)
from verify.status import StatusBits, StatusList, decode_status_list, encode_status_list
from verify.trust import TrustStore

REPO_ROOT = Path(__file__).resolve().parents[2]
VECTORS = REPO_ROOT.parent / "shared" / "vectors"
NOW = 1_800_000_000
BASE_URL = "https://verify.city.example"


def fixed_key(seed: int) -> Ed25519PrivateKey:
    """A deterministic Ed25519 key, so failures reproduce byte for byte."""
    return Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def jwk_for(key: Ed25519PrivateKey, status: str = "active") -> dict[str, str]:
    signer = Ed25519Signer(key)
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": b64url(key.public_key().public_bytes_raw()),
        "kid": kid_to_text(signer.kid),
        "alg": "EdDSA",
        "use": "sig",
        "status": status,
    }


def jwks_for(
    *keys: Ed25519PrivateKey,
    iss: str = "LIS",
    name: str = "Lisboa",
    verify_url: str = BASE_URL,
    retired: tuple[Ed25519PrivateKey, ...] = (),
    revoked: tuple[Ed25519PrivateKey, ...] = (),
) -> dict[str, Any]:
    return {
        "iss": iss,
        "issuer_name": name,
        "verify_url": verify_url,
        "keys": [jwk_for(k) for k in keys] + [jwk_for(k, "retired") for k in retired],
        "revoked_kids": [kid_to_text(Ed25519Signer(k).kid) for k in revoked],
    }


@pytest.fixture(scope="session")
def make_jwks() -> Callable[..., dict[str, Any]]:
    return jwks_for


@pytest.fixture(scope="session")
def vectors() -> Path:
    if not VECTORS.is_dir():
        pytest.skip(f"test vectors not found at {VECTORS} (CI provides ../shared/vectors)")
    return VECTORS


@pytest.fixture(scope="session")
def issuer_key() -> Ed25519PrivateKey:
    return fixed_key(1)


@pytest.fixture(scope="session")
def retired_key() -> Ed25519PrivateKey:
    return fixed_key(2)


@pytest.fixture(scope="session")
def revoked_key() -> Ed25519PrivateKey:
    return fixed_key(3)


@pytest.fixture(scope="session")
def other_city_key() -> Ed25519PrivateKey:
    return fixed_key(4)


@pytest.fixture(scope="session")
def signer(issuer_key: Ed25519PrivateKey) -> Ed25519Signer:
    return Ed25519Signer(issuer_key)


@pytest.fixture(scope="session")
def jwks(
    issuer_key: Ed25519PrivateKey, retired_key: Ed25519PrivateKey, revoked_key: Ed25519PrivateKey
) -> dict[str, Any]:
    return jwks_for(issuer_key, retired=(retired_key,), revoked=(revoked_key,))


@pytest.fixture(scope="session")
def trust(jwks: dict[str, Any], other_city_key: Ed25519PrivateKey) -> TrustStore:
    porto = jwks_for(
        other_city_key, iss="OPO", name="Porto", verify_url="https://verify.porto.example"
    )
    return TrustStore.from_jwks({"issuers": [jwks, porto]})


@pytest.fixture(scope="session")
def card_number() -> str:
    from verify.cardnumber import new_card_number

    class _Fixed:
        symbols: Iterator[str] = iter("K7QF3M9X2PD")

        def choice(self, seq: Any) -> str:
            return next(self.symbols)

    return new_card_number(_Fixed())


@pytest.fixture(scope="session")
def make_claims(card_number: str) -> Callable[..., CardClaims]:
    def _create(**overrides: Any) -> CardClaims:
        values: dict[str, Any] = {
            "issuer": "LIS",
            "issued_at": NOW - 86400,
            "expires_at": NOW + 365 * 86400,
            "card_number": card_number,
            "name": "Maria da Conceição Silva",
            "status_list": 3,
            "status_index": 4242,
        }
        values.update(overrides)
        return CardClaims(**values)

    return _create


@pytest.fixture(scope="session")
def make_token(make_claims: Callable[..., CardClaims], signer: Ed25519Signer) -> Callable[..., str]:
    def _create(signer_: Ed25519Signer | None = None, **overrides: Any) -> str:
        return encode_token(make_claims(**overrides), signer_ or signer)

    return _create


@pytest.fixture(scope="session")
def eddsa_protected(signer: Ed25519Signer) -> dict[int, Any]:
    return {HEADER_ALG: ALG_EDDSA, HEADER_KID: signer.kid}


class FreshLists:
    """A status source with a clean list (every card valid) for any list of LIS or OPO,
    signed ten minutes before NOW by that city's key: what a verifier online has."""

    def __init__(self, trust: TrustStore, signers: dict[str, Ed25519Signer]) -> None:
        self.trust = trust
        self.signers = signers
        self.lists: dict[tuple[str, int], StatusList] = {}

    def get(self, issuer_id: str, list_id: int) -> StatusList | None:
        key = (issuer_id, list_id)
        if key not in self.lists:
            issuer = self.trust.issuer(issuer_id)
            assert issuer is not None
            data = encode_status_list(
                StatusBits(),
                uri=issuer.status_url(list_id),
                issued_at=NOW - 600,
                expires_at=NOW + 7 * 86400,
                ttl=300,
                signer=self.signers[issuer_id],
            )
            self.lists[key] = decode_status_list(data, self.trust, now=NOW)
        return self.lists[key]


@pytest.fixture(scope="session")
def fresh_status(
    trust: TrustStore, signer: Ed25519Signer, other_city_key: Ed25519PrivateKey
) -> FreshLists:
    return FreshLists(trust, {"LIS": signer, "OPO": Ed25519Signer(other_city_key)})
