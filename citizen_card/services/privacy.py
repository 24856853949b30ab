"""Field encryption, key wrapping and blind indexes.

Layout of every sealed value: ``version (1 byte) | nonce (12) | AES-GCM ciphertext+tag``.
The associated data binds a ciphertext to its purpose and record, so a sealed name
copied into another row or column does not decrypt.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import unicodedata

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from citizen_card.services.names import without_joiners

SEAL_VERSION = 1
NONCE_BYTES = 12
BLIND_INDEX_BYTES = 8
# Prefixes shorter than this are not indexed: they would match too much and say too
# much about the distribution of names.
MIN_PREFIX = 3


class DecryptionError(Exception):
    """A sealed value could not be opened: wrong key, wrong record, or tampered."""


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return bytes([SEAL_VERSION]) + nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def open_sealed(key: bytes, sealed: bytes, aad: bytes) -> bytes:
    """Decrypt a value made by :func:`seal`.

    :raises DecryptionError: the value is malformed, or key or ``aad`` do not match.
    """
    if len(sealed) < 1 + NONCE_BYTES + 16 or sealed[0] != SEAL_VERSION:
        raise DecryptionError("malformed sealed value")
    nonce, body = sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :]
    try:
        return AESGCM(key).decrypt(nonce, body, aad)
    except InvalidTag as exc:
        raise DecryptionError("sealed value does not open with this key") from exc


def wrap_data_key(master_key: bytes, data_key: bytes, record: str) -> bytes:
    return seal(master_key, data_key, b"data-key:" + record.encode())


def unwrap_data_key(master_key: bytes, wrapped: bytes, record: str) -> bytes:
    return open_sealed(master_key, wrapped, b"data-key:" + record.encode())


_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def normalise_name(text: str) -> list[str]:
    """Search tokens of a name: case-folded, without diacritics, split on non-letters.

    "García-López" gives ["garcia", "lopez"]; "Ñuño" gives ["nuno"]. Joiners (ZWNJ, ZWJ)
    are dropped, so a Persian name is found whether it was typed with them or not.
    """
    decomposed = unicodedata.normalize("NFKD", without_joiners(text))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    folded = unicodedata.normalize("NFKC", stripped).casefold()
    return _WORD.findall(folded)


def blind_index(key: bytes, token: str) -> bytes:
    digest = hmac.new(key, b"name-token:" + token.encode("utf-8"), hashlib.sha256).digest()
    return digest[:BLIND_INDEX_BYTES]


def index_tokens(name: str) -> list[str]:
    """The tokens a name is indexed under: its words, and the words of each name written
    together, so that "Abdel Rahman" (or "عبد الرحمن") is found by "Abdelrahman"."""
    tokens = normalise_name(name)
    return [*tokens, "".join(tokens)] if len(tokens) > 1 else tokens


def index_digests(key: bytes, names: list[str]) -> set[bytes]:
    """Blind index entries for a resident: every token and its prefixes from MIN_PREFIX."""
    digests: set[bytes] = set()
    for name in names:
        for token in index_tokens(name):
            digests.add(blind_index(key, token))
            for end in range(MIN_PREFIX, len(token)):
                digests.add(blind_index(key, token[:end]))
    return digests


def query_digests(key: bytes, query: str) -> list[bytes]:
    """Digests a search must all match: one per query token, in any order."""
    return [blind_index(key, token) for token in dict.fromkeys(normalise_name(query))]


def joined_query_digest(key: bytes, query: str) -> bytes | None:
    """For a query of several words, the digest of those words written together: "Xiao
    Long" also finds "Xiaolong", "李 小龙" also "李小龙"."""
    tokens = normalise_name(query)
    return blind_index(key, "".join(tokens)) if len(tokens) > 1 else None


def hash_secret(value: str) -> bytes:
    """SHA-256 for high-entropy random secrets (session ids, API tokens, download codes).

    These are generated with >= 50 bits of entropy, so a fast hash is enough: nobody can
    enumerate them, and a database dump alone does not yield a usable value.
    """
    return hashlib.sha256(value.encode("utf-8")).digest()
