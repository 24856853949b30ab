"""Issuer keys (JWKS) and trust lists: which cities' cards this verifier believes.

An issuer publishes one JWKS with a few extra top-level members (RFC 7517 §5 allows
them)::

    {"iss": "LIS", "issuer_name": "Lisboa", "verify_url": "https://verify.lisboa.example",
     "keys": [{"kty": "OKP", "crv": "Ed25519", "x": "...", "kid": "<8 chars>",
               "alg": "EdDSA", "use": "sig", "status": "active" | "retired"}],
     "revoked_kids": ["<8 chars>", ...]}

A trust list is ``{"issuers": [jwks, ...]}``. Input is validated strictly: a verifier
that half-loads a key set would give answers nobody can explain.
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from verify.cose import (
    b64url_decode,
    b64url_encode,
    jwk_thumbprint_kid,
    kid_from_text,
    kid_to_text,
)

KeyState = Literal["active", "retired", "revoked"]
# Issuer ids name cache files and appear in every token; keep them short and plain.
_ISSUER_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,16}")
_BASE_URL_RE = re.compile(r"(?i:(https?)://([a-z0-9.-]+(?::[0-9]{1,5})?))/?")
MAX_TRUST_BYTES = 1 << 20
FETCH_TIMEOUT_SECONDS = 10.0


class TrustError(ValueError):
    """A JWKS or trust list is invalid, unreadable, or contradicts another one."""


def normalize_base_url(url: str) -> str:
    """Return ``scheme://host[:port]`` in lower case for an issuer's verify URL.

    :raises ValueError: when ``url`` has a path, query, fragment, user info or a scheme
        other than http(s); the base is upper-cased into the QR, so a path would break.
    """
    match = _BASE_URL_RE.fullmatch(url)
    if match is None:
        raise ValueError(f"not a bare http(s) base URL: {url!r}")
    return match.group(1).lower() + "://" + match.group(2).lower()


@dataclass(frozen=True)
class TrustedKey:
    """A kid as one issuer publishes it; ``public_key`` is None for a revoked-only kid."""

    issuer: Issuer
    kid: bytes
    public_key: Ed25519PublicKey | None
    state: KeyState


@dataclass(frozen=True)
class Issuer:
    """One issuing city: its id (the ``iss`` claim), name, verify URL and keys."""

    issuer_id: str
    name: str
    verify_url: str
    keys: Mapping[bytes, Ed25519PublicKey] = field(repr=False)
    retired_kids: frozenset[bytes] = frozenset()
    revoked_kids: frozenset[bytes] = frozenset()

    def lookup(self, kid: bytes) -> TrustedKey | None:
        """Return the key with this kid, a revoked marker, or None when unknown."""
        if kid in self.revoked_kids:
            return TrustedKey(self, kid, None, "revoked")
        public_key = self.keys.get(kid)
        if public_key is None:
            return None
        state: KeyState = "retired" if kid in self.retired_kids else "active"
        return TrustedKey(self, kid, public_key, state)

    def status_url(self, list_id: int) -> str:
        """Return where this issuer publishes status list ``list_id``."""
        return f"{self.verify_url}/status/{list_id}"


class TrustStore:
    """The issuers a verifier trusts, looked up by issuer id or by kid."""

    def __init__(self, issuers: Iterable[Issuer] = ()) -> None:
        """Build a store.

        :raises TrustError: when an issuer id or a kid appears under two issuers.
        """
        self._issuers: dict[str, Issuer] = {}
        self._by_kid: dict[bytes, Issuer] = {}
        for issuer in issuers:
            self._add(issuer)

    def _add(self, issuer: Issuer) -> None:
        if issuer.issuer_id in self._issuers:
            raise TrustError(f"issuer {issuer.issuer_id!r} given twice")
        for kid in set(issuer.keys) | issuer.revoked_kids:
            other = self._by_kid.get(kid)
            if other is not None:
                raise TrustError(
                    f"kid {kid_to_text(kid)} published by both {other.issuer_id!r} "
                    f"and {issuer.issuer_id!r}"
                )
            self._by_kid[kid] = issuer
        self._issuers[issuer.issuer_id] = issuer

    @classmethod
    def from_jwks(cls, source: Mapping[str, Any] | Iterable[Mapping[str, Any]]) -> TrustStore:
        """Build a store from one JWKS, a list of them, or a trust list ``{"issuers": [...]}``.

        :raises TrustError: when any of them is invalid.
        """
        if isinstance(source, Mapping):
            if "issuers" in source and "keys" not in source:
                documents = source["issuers"]
                if not isinstance(documents, list):
                    raise TrustError("issuers must be a list")
            else:
                documents = [source]
        else:
            documents = list(source)
        return cls(parse_jwks(document) for document in documents)

    def merged(self, other: TrustStore) -> TrustStore:
        """Return a store with the issuers of both.

        :raises TrustError: when they share an issuer id or a kid.
        """
        return TrustStore([*self.issuers, *other.issuers])

    @property
    def issuers(self) -> list[Issuer]:
        """All trusted issuers, in the order they were loaded."""
        return list(self._issuers.values())

    def issuer(self, issuer_id: str) -> Issuer | None:
        """Return the issuer with this id (the token's ``iss``), or None."""
        return self._issuers.get(issuer_id)

    def lookup(self, kid: bytes) -> TrustedKey | None:
        """Return (issuer, key, state) for a kid of any trusted issuer, or None."""
        issuer = self._by_kid.get(kid)
        return None if issuer is None else issuer.lookup(kid)


def parse_jwks(document: object) -> Issuer:
    """Validate one issuer's JWKS and return the issuer.

    :raises TrustError: on a missing or ill-typed member, a key that is not Ed25519, a
        kid that is not the key's thumbprint kid, private key material, or a bad URL.
    """
    if not isinstance(document, Mapping):
        raise TrustError("a JWKS must be a JSON object")
    issuer_id = document.get("iss")
    if not isinstance(issuer_id, str) or _ISSUER_ID_RE.fullmatch(issuer_id) is None:
        raise TrustError("iss must be 1-16 letters, digits, '-' or '_'")
    name = document.get("issuer_name")
    if not isinstance(name, str) or not 1 <= len(name) <= 200:
        raise TrustError(f"{issuer_id}: issuer_name must be text")
    verify_url = document.get("verify_url")
    if not isinstance(verify_url, str):
        raise TrustError(f"{issuer_id}: verify_url must be text")
    try:
        verify_url = normalize_base_url(verify_url)
    except ValueError as exc:
        raise TrustError(f"{issuer_id}: {exc}") from exc
    keys_member = document.get("keys")
    revoked_member = document.get("revoked_kids", [])
    if not isinstance(keys_member, list) or not isinstance(revoked_member, list):
        raise TrustError(f"{issuer_id}: keys and revoked_kids must be lists")
    keys: dict[bytes, Ed25519PublicKey] = {}
    retired: set[bytes] = set()
    for jwk in keys_member:
        kid, public_key, status = _parse_jwk(issuer_id, jwk)
        if kid in keys:
            raise TrustError(f"{issuer_id}: kid {kid_to_text(kid)} listed twice")
        keys[kid] = public_key
        if status == "retired":
            retired.add(kid)
    revoked: set[bytes] = set()
    for kid_text in revoked_member:
        try:
            revoked.add(kid_from_text(kid_text) if isinstance(kid_text, str) else b"")
        except ValueError as exc:
            raise TrustError(f"{issuer_id}: bad revoked kid {kid_text!r}") from exc
    if b"" in revoked:
        raise TrustError(f"{issuer_id}: revoked_kids must be kid strings")
    return Issuer(
        issuer_id=issuer_id,
        name=name,
        verify_url=verify_url,
        keys=keys,
        retired_kids=frozenset(retired),
        revoked_kids=frozenset(revoked),
    )


def jwks_document(issuer: Issuer) -> dict[str, Any]:
    """The JWKS an issuer publishes: the inverse of :func:`parse_jwks`.

    Active and retired keys with their state; revoked kids listed without a key.
    """
    return {
        "keys": [
            {
                "kty": "OKP",
                "crv": "Ed25519",
                "x": b64url_encode(public_key.public_bytes_raw()),
                "kid": kid_to_text(kid),
                "alg": "EdDSA",
                "use": "sig",
                "status": "retired" if kid in issuer.retired_kids else "active",
            }
            for kid, public_key in issuer.keys.items()
        ],
        "iss": issuer.issuer_id,
        "issuer_name": issuer.name,
        "verify_url": issuer.verify_url,
        "revoked_kids": sorted(kid_to_text(kid) for kid in issuer.revoked_kids),
    }


def _parse_jwk(issuer_id: str, jwk: object) -> tuple[bytes, Ed25519PublicKey, str]:
    if not isinstance(jwk, Mapping):
        raise TrustError(f"{issuer_id}: each key must be a JSON object")
    if "d" in jwk:
        raise TrustError(f"{issuer_id}: a published key holds private key material")
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise TrustError(f"{issuer_id}: only OKP Ed25519 keys are accepted")
    for member, allowed in (("alg", "EdDSA"), ("use", "sig")):
        if member in jwk and jwk[member] != allowed:
            raise TrustError(f"{issuer_id}: {member} must be {allowed!r}")
    status = jwk.get("status", "active")
    if status not in ("active", "retired"):
        raise TrustError(f"{issuer_id}: key status must be 'active' or 'retired'")
    x, kid_text = jwk.get("x"), jwk.get("kid")
    if not isinstance(x, str) or not isinstance(kid_text, str):
        raise TrustError(f"{issuer_id}: x and kid must be text")
    try:
        raw = b64url_decode(x)
    except ValueError as exc:
        raise TrustError(f"{issuer_id}: x is not base64url") from exc
    if len(raw) != 32:
        raise TrustError(f"{issuer_id}: x must be 32 bytes")
    kid = jwk_thumbprint_kid(raw)
    if kid_text != kid_to_text(kid):
        raise TrustError(f"{issuer_id}: kid {kid_text!r} is not the key's thumbprint kid")
    return kid, Ed25519PublicKey.from_public_bytes(raw), str(status)


def load_trust(source: str | Path | Mapping[str, Any]) -> TrustStore:
    """Load issuers from a JWKS or trust-list file, an http(s) URL, or a parsed object.

    :raises TrustError: when the source cannot be read or is invalid.
    """
    if isinstance(source, Mapping):
        return TrustStore.from_jwks(source)
    text = str(source)
    if isinstance(source, str) and re.match(r"(?i)https?://", text):
        raw = _fetch(text)
    else:
        try:
            with Path(text).open("rb") as handle:
                raw = handle.read(MAX_TRUST_BYTES + 1)
        except OSError as exc:
            raise TrustError(f"cannot read {text}: {exc.strerror}") from exc
    if len(raw) > MAX_TRUST_BYTES:
        raise TrustError(f"{text}: too large for a trust file")
    try:
        document = json.loads(raw)
    # ValueError covers bad UTF-8 and syntax, and integers of more than 4,300 digits.
    except (ValueError, RecursionError) as exc:
        raise TrustError(f"{text}: not JSON") from exc
    if not isinstance(document, Mapping | list):
        raise TrustError(f"{text}: expected a JWKS, a list or a trust list")
    return TrustStore.from_jwks(document)


def _fetch(url: str) -> bytes:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310 -- scheme checked by the caller: http(s) only
    try:
        with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_SECONDS) as response:  # noqa: S310 -- same
            return bytes(response.read(MAX_TRUST_BYTES + 1))
    except (OSError, ValueError) as exc:
        raise TrustError(f"cannot fetch {url}: {exc}") from exc
