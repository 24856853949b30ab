"""The signed envelope and keys shared by cards and status lists: COSE_Sign1 with Ed25519.

A COSE_Sign1 (RFC 9052, CBOR tag 18) signed with EdDSA (-8) under a 6-byte kid, the
first bytes of the public key's RFC 7638 thumbprint. This module builds and parses the
envelope and checks its headers; what the payload means is for :mod:`verify.credential`
(a card) and :mod:`verify.status` (a status list) to say. Everything else in the package
imports from here; this module imports only the strict CBOR reader.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import cbor2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from nacl.bindings import crypto_sign_open
from nacl.exceptions import BadSignatureError

from verify._cbor import CborError, CborValue, loads_strict

MAX_TOKEN_BYTES = 1024  # a card's token; status lists give their own, larger cap
CLOCK_SKEW_SECONDS = 300
KID_BYTES = 6

COSE_SIGN1_TAG = 18
ALG_EDDSA = -8
HEADER_ALG = 1
HEADER_CRIT = 2
HEADER_KID = 4
HEADER_TYP = 16


class CredentialError(ValueError):
    """A token could not be accepted; ``reason`` is one of :data:`verify.credential.REASONS`."""

    def __init__(self, message: str, reason: str = "malformed") -> None:
        super().__init__(message)
        self.reason = reason


class MalformedToken(CredentialError):
    """The bytes or text are not a well-formed credential."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "malformed")


# --- keys ---------------------------------------------------------------------------


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url strictly (no padding, no other alphabet, canonical).

    :raises ValueError: when ``text`` is not canonical unpadded base64url.
    """
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text) or len(text) % 4 == 1:
        raise ValueError("not unpadded base64url")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64url_encode(data) != text:
        raise ValueError("non-canonical base64url (trailing bits set)")
    return data


def _raw_public(public_key: Ed25519PublicKey | bytes) -> bytes:
    if isinstance(public_key, bytes):
        if len(public_key) != 32:
            raise ValueError("an Ed25519 public key is 32 bytes")
        return public_key
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def jwk_thumbprint_kid(public_key: Ed25519PublicKey | bytes) -> bytes:
    """Return the kid: the first 6 bytes of the RFC 7638 SHA-256 JWK thumbprint.

    :raises ValueError: when raw key bytes are not 32 bytes long.
    """
    members = {"crv": "Ed25519", "kty": "OKP", "x": b64url_encode(_raw_public(public_key))}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode("ascii")
    return hashlib.sha256(canonical).digest()[:KID_BYTES]


def kid_to_text(kid: bytes) -> str:
    """Return the JWKS form of a kid: unpadded base64url (8 characters for 6 bytes)."""
    return b64url_encode(kid)


def kid_from_text(text: str) -> bytes:
    """Parse the JWKS form of a kid.

    :raises ValueError: when ``text`` is not 8 characters of canonical base64url.
    """
    kid = b64url_decode(text)
    if len(kid) != KID_BYTES:
        raise ValueError(f"a kid is {KID_BYTES} bytes")
    return kid


def ed25519_verify(public_key: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    """Check an Ed25519 signature; the only signature check the verifier uses.

    libsodium (through PyNaCl) checks it: it takes half the time of OpenSSL's check on
    this hot path, and it accepts and refuses exactly the 151 Wycheproof cases the way
    they say (tests/verify/test_credential_vectors.py). Keys are still parsed and
    signatures still made with ``cryptography``.
    """
    if len(signature) != 64:
        return False
    try:
        crypto_sign_open(signature + message, public_key.public_bytes_raw())
    except (BadSignatureError, ValueError, TypeError):
        return False
    return True


class Signer(Protocol):
    """Something that signs with Ed25519 under a 6-byte kid (the issuer's keyring)."""

    @property
    def kid(self) -> bytes: ...

    def sign(self, message: bytes) -> bytes: ...


class Ed25519Signer:
    """A :class:`Signer` over an in-memory private key; the kid comes from its public key."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private_key = private_key
        self.kid = jwk_thumbprint_kid(private_key.public_key())

    def sign(self, message: bytes) -> bytes:
        """Return the 64-byte Ed25519 signature of ``message``."""
        return self._private_key.sign(message)


# --- COSE_Sign1 ---------------------------------------------------------------------


@dataclass(frozen=True)
class Sign1:
    """A parsed COSE_Sign1; ``to_be_signed`` is the Sig_structure the signature covers."""

    protected: dict[int | str, CborValue]
    unprotected: dict[int | str, CborValue]
    payload: bytes
    signature: bytes
    protected_bytes: bytes
    to_be_signed: bytes


def _sig_structure(protected_bytes: bytes, payload: bytes) -> bytes:
    # RFC 9052 §4.4: external_aad is always empty here.
    return cbor2.dumps(["Signature1", protected_bytes, b"", payload])


def sign1_encode(
    protected: Mapping[int, Any],
    unprotected: Mapping[int, Any],
    payload: bytes,
    sign: Callable[[bytes], bytes],
) -> bytes:
    """Return a tagged COSE_Sign1 (tag 18) signing ``payload`` under ``protected``.

    Headers are encoded deterministically (sorted keys, shortest forms).

    :raises Exception: whatever ``sign`` raises.
    """
    protected_bytes = cbor2.dumps(dict(protected), canonical=True) if protected else b""
    signature = sign(_sig_structure(protected_bytes, payload))
    message = [protected_bytes, dict(unprotected), payload, signature]
    return cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, message), canonical=True)


def sign1_decode(data: bytes, *, max_bytes: int = MAX_TOKEN_BYTES) -> Sign1:
    """Parse a tagged COSE_Sign1 strictly; nothing is verified here.

    :raises MalformedToken: when ``data`` is larger than ``max_bytes``, not tag 18, not
        strict deterministic CBOR, or not a four-element array of the right types.
    """
    if len(data) > max_bytes:
        raise MalformedToken("token too large")
    # 0xD2 is the only (shortest) encoding of tag 18; any other start is another tag,
    # an untagged array, or not CBOR at all.
    if data[:1] != b"\xd2":
        raise MalformedToken("not a tagged COSE_Sign1")
    try:
        structure = loads_strict(data[1:])
        if not isinstance(structure, list) or len(structure) != 4:
            raise MalformedToken("COSE_Sign1 must be an array of four elements")
        protected_bytes, unprotected, payload, signature = structure
        if not isinstance(protected_bytes, bytes):
            raise MalformedToken("protected header must be a byte string")
        if not isinstance(unprotected, dict):
            raise MalformedToken("unprotected header must be a map")
        if not isinstance(payload, bytes) or not isinstance(signature, bytes):
            raise MalformedToken("payload and signature must be byte strings")
        protected = loads_strict(protected_bytes) if protected_bytes else {}
    except CborError as exc:
        raise MalformedToken(str(exc)) from exc
    if not isinstance(protected, dict):
        raise MalformedToken("protected header must encode a map")
    return Sign1(
        protected=protected,
        unprotected=unprotected,
        payload=payload,
        signature=signature,
        protected_bytes=protected_bytes,
        to_be_signed=_sig_structure(protected_bytes, payload),
    )


def check_eddsa_headers(sign1: Sign1, *, typ: str | None = None) -> bytes:
    """Check the headers are exactly ``{1: -8, 4: kid}`` (plus ``16: typ`` when given).

    :returns: the 6-byte kid.
    :raises MalformedToken: on any other algorithm, a header in the unprotected bucket,
        ``crit``, an unknown parameter, a missing or wrong-sized kid, or a wrong ``typ``.
    """
    if sign1.unprotected:
        raise MalformedToken("the unprotected header must be empty")
    header = sign1.protected
    if HEADER_CRIT in header:
        raise MalformedToken("crit header parameter is not accepted")
    expected = {HEADER_ALG, HEADER_KID} | ({HEADER_TYP} if typ is not None else set())
    if set(header) != expected:
        raise MalformedToken("protected header must hold exactly alg and kid")
    if header[HEADER_ALG] != ALG_EDDSA:
        raise MalformedToken("only EdDSA (-8) is accepted")
    if typ is not None and header[HEADER_TYP] != typ:
        raise MalformedToken("wrong typ header")
    kid = header[HEADER_KID]
    if not isinstance(kid, bytes) or len(kid) != KID_BYTES:
        raise MalformedToken(f"kid must be {KID_BYTES} bytes")
    return kid
