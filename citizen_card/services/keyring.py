"""Signing keys: generate, keep encrypted at rest, rotate, retire, revoke.

Private keys are sealed with AES-GCM under a key-encryption key derived (HKDF) from the
instance master key, which lives outside the database. The kid is the shortened RFC 7638
thumbprint defined in :mod:`verify.credential`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from sqlalchemy import select

from citizen_card.config import Settings
from citizen_card.models import SigningKey, Staff
from citizen_card.services import audit, privacy, signals
from citizen_card.services.errors import N_, Conflict, NotFound
from citizen_card.services.types import DbSession
from verify.cose import Ed25519Signer, jwk_thumbprint_kid, kid_from_text, kid_to_text
from verify.trust import Issuer, jwks_document


@cache
def _kek(master_key: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"citizen-card signing-key kek"
    ).derive(master_key)


def _seal_private(master_key: bytes, private_key: Ed25519PrivateKey, kid: str) -> bytes:
    raw = private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return privacy.seal(_kek(master_key), raw, b"signing-key:" + kid.encode())


def generate_key(session: DbSession, settings: Settings, *, now: datetime) -> SigningKey:
    private_key = Ed25519PrivateKey.generate()
    public = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    kid = kid_to_text(jwk_thumbprint_kid(public))
    key = SigningKey(
        kid=kid,
        public_key=public,
        private_key_sealed=_seal_private(settings.master_key, private_key, kid),
        state="active",
        created_at=now,
    )
    session.add(key)
    session.flush()
    return key


def ensure_signing_key(session: DbSession, settings: Settings, *, now: datetime) -> bool:
    """Create the first signing key when there is none; True when one was made."""
    if active_key(session) is not None:
        return False
    key = generate_key(session, settings, now=now)
    signals.keys_changed(session)
    audit.record(
        session, actor=None, action="key.create", target_type="key", target_ref=key.kid, now=now
    )
    return True


def active_key(session: DbSession) -> SigningKey | None:
    return session.execute(
        select(SigningKey).where(SigningKey.state == "active").order_by(SigningKey.id.desc())
    ).scalar_one_or_none()


def list_keys(session: DbSession) -> list[SigningKey]:
    return list(session.execute(select(SigningKey).order_by(SigningKey.id)).scalars())


def signer(key: SigningKey, settings: Settings) -> Ed25519Signer:
    """The signer for an active key.

    :raises Conflict: ``key_not_active`` for retired or revoked keys.
    """
    if key.state != "active" or key.private_key_sealed is None:
        raise Conflict(N_("This key no longer signs."), "key_not_active")
    raw = privacy.open_sealed(
        _kek(settings.master_key), key.private_key_sealed, b"signing-key:" + key.kid.encode()
    )
    return Ed25519Signer(Ed25519PrivateKey.from_private_bytes(raw))


def rotate(
    session: DbSession, settings: Settings, *, now: datetime, actor: Staff | None
) -> SigningKey:
    """Make a new key the signing key; the old one is retired and still verifies."""
    previous = active_key(session)
    if previous is not None:
        previous.state = "retired"
        previous.retired_at = now
        # A retired key never signs again: drop its private half.
        previous.private_key_sealed = None
        session.flush()
    key = generate_key(session, settings, now=now)
    signals.keys_changed(session)
    audit.record(
        session,
        actor=actor,
        action="key.rotate",
        target_type="key",
        target_ref=key.kid,
        now=now,
        detail={"retired": previous.kid if previous else None},
    )
    return key


def revoke(
    session: DbSession, settings: Settings, kid: str, *, now: datetime, actor: Staff | None
) -> SigningKey:
    """Revoke a compromised key: every card it signed fails with ``key_revoked``.

    Revoking the signing key makes a new one first, so issuing can go on.

    :raises NotFound: ``key_not_found``.
    """
    key = session.execute(select(SigningKey).where(SigningKey.kid == kid)).scalar_one_or_none()
    if key is None:
        raise NotFound(N_("No key with this id."), "key_not_found")
    if key.state == "revoked":
        return key
    if key.state == "active":
        rotate(session, settings, now=now, actor=actor)
    key.state = "revoked"
    key.revoked_at = now
    key.private_key_sealed = None
    signals.keys_changed(session)
    audit.record(
        session, actor=actor, action="key.revoke", target_type="key", target_ref=kid, now=now
    )
    return key


@dataclass(frozen=True)
class PublishedKeys:
    """What verifiers get: the issuer with its public keys, and the JWKS document."""

    issuer: Issuer
    jwks: dict[str, Any]


def published_keys(session: DbSession, settings: Settings) -> PublishedKeys:
    """The issuer as verifiers know it (public keys and their states) and its JWKS."""
    keys: dict[bytes, Ed25519PublicKey] = {}
    retired: set[bytes] = set()
    revoked: set[bytes] = set()
    for key in list_keys(session):
        kid = kid_from_text(key.kid)
        if key.state == "revoked":
            # A revoked key is published by kid only: cards it signed fail key_revoked.
            revoked.add(kid)
            continue
        keys[kid] = Ed25519PublicKey.from_public_bytes(key.public_key)
        if key.state == "retired":
            retired.add(kid)
    issuer = Issuer(
        issuer_id=settings.issuer_id,
        name=settings.issuer_name,
        verify_url=settings.verify_base_url.rstrip("/"),
        keys=keys,
        retired_kids=frozenset(retired),
        revoked_kids=frozenset(revoked),
    )
    return PublishedKeys(issuer, jwks_document(issuer))
