"""Status lists: IETF Token Status List (draft-ietf-oauth-status-list), CWT form.

A list is a COSE_Sign1 with protected header ``{1: -8, 4: kid, 16:
"application/statuslist+cwt"}`` over the claims ``{2: uri, 6: iat, 4: exp, 65534: ttl,
65533: {"bits": 2, "lst": zlib(bits)}}``. Entry *i* sits in byte ``i // 4`` at bit offset
``2 * (i % 4)``, least significant first. Verifiers fetch whole lists, so the issuer
never learns which card was checked.
"""

from __future__ import annotations

import http.client
import re
import time
import urllib.request
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import cbor2

from verify._cbor import CborError, loads_strict
from verify.cose import (
    ALG_EDDSA,
    CLOCK_SKEW_SECONDS,
    HEADER_ALG,
    HEADER_KID,
    HEADER_TYP,
    MalformedToken,
    Signer,
    check_eddsa_headers,
    ed25519_verify,
    sign1_decode,
    sign1_encode,
)
from verify.trust import Issuer, TrustStore

__all__ = [
    "LIST_SIZE",
    "STATUS_MAX_AGE_SECONDS",
    "STATUS_REVOKED",
    "STATUS_SUSPENDED",
    "STATUS_VALID",
    "FileStatusSource",
    "HttpStatusSource",
    "StatusBits",
    "StatusList",
    "StatusListError",
    "StatusSource",
    "decode_status_list",
    "encode_status_list",
    "status_is_fresh",
]

# Status values (the draft's); a card's token refers to one entry of a list.
STATUS_VALID = 0
STATUS_REVOKED = 1
STATUS_SUSPENDED = 2
LIST_SIZE = 131072

STATUS_LIST_TYP = "application/statuslist+cwt"
BITS = 2
CLAIM_SUB = 2
CLAIM_IAT = 6
CLAIM_EXP = 4
CLAIM_TTL = 65534
CLAIM_STATUS_LIST = 65533
_LIST_BYTES = LIST_SIZE * BITS // 8
# An all-distinct list compresses to about its own size; this leaves room for overhead.
MAX_STATUS_LIST_BYTES = 2 * _LIST_BYTES
FETCH_TIMEOUT_SECONDS = 10.0

# How old a status list may be for a card to be called valid (unless the list's own exp
# comes first): older, and the answer is "cannot confirm" (reason status_unknown).
STATUS_MAX_AGE_SECONDS = 24 * 3600
STATUS_LIST_REASONS = frozenset(
    {"malformed", "unknown_key", "key_revoked", "bad_signature", "expired", "not_yet_valid"}
)


class StatusListError(ValueError):
    """A status list cannot be used; ``reason`` says why (see STATUS_LIST_REASONS)."""

    def __init__(self, reason: str, message: str | None = None) -> None:
        super().__init__(message or reason)
        self.reason = reason


class StatusBits:
    """A mutable list of 2-bit statuses, ``LIST_SIZE`` entries, all valid at first."""

    def __init__(self, data: bytes | bytearray | None = None) -> None:
        """Start empty, or from the uncompressed bytes of a list.

        :raises ValueError: when ``data`` is not exactly the list's size.
        """
        if data is None:
            data = bytes(_LIST_BYTES)
        if len(data) != _LIST_BYTES:
            raise ValueError(f"a status list has {_LIST_BYTES} bytes")
        self._data = bytearray(data)

    def __len__(self) -> int:
        return LIST_SIZE

    def get(self, index: int) -> int:
        """Return the status of entry ``index``.

        :raises IndexError: when ``index`` is outside the list.
        """
        if not 0 <= index < LIST_SIZE:
            raise IndexError(index)
        return (self._data[index // 4] >> (2 * (index % 4))) & 0b11

    def set(self, index: int, value: int) -> None:
        """Set entry ``index`` to ``value`` (0 valid, 1 revoked, 2 suspended).

        :raises IndexError: when ``index`` is outside the list.
        :raises ValueError: when ``value`` does not fit in two bits.
        """
        if not 0 <= index < LIST_SIZE:
            raise IndexError(index)
        if not 0 <= value <= 3:
            raise ValueError("a status is two bits")
        shift = 2 * (index % 4)
        self._data[index // 4] = (self._data[index // 4] & ~(0b11 << shift) & 0xFF) | (
            value << shift
        )

    def to_bytes(self) -> bytes:
        """Return the uncompressed bytes."""
        return bytes(self._data)

    def compress(self) -> bytes:
        """Return the ``lst`` bytes: DEFLATE in the zlib format, as the draft requires."""
        return zlib.compress(bytes(self._data), 9)


@dataclass(frozen=True)
class StatusList:
    """A verified status list of one issuer.

    Sources hand back the newest authentic list they have, even one past ``expires_at``:
    a revocation in an old list still holds. Whether a list is fresh enough to call a
    card valid is the verifier's decision (:func:`verify.credential.status_is_fresh`).
    """

    issuer_id: str
    list_id: int
    uri: str
    issued_at: int
    expires_at: int
    ttl: int
    bits: StatusBits = field(repr=False)

    def get(self, index: int) -> int:
        """Return the status of entry ``index``.

        :raises IndexError: when ``index`` is outside the list.
        """
        return self.bits.get(index)


class StatusSource(Protocol):
    """Where a verifier finds status lists."""

    def get(self, issuer_id: str, list_id: int) -> StatusList | None:
        """Return the newest authentic list available (possibly past its ``exp``: the
        verifier judges its age), or None when there is none.

        :raises StatusListError: when the list found is not authentic or not the one
            asked for.
        """
        ...


def status_is_fresh(
    status_list: StatusList, now: int, max_age: int = STATUS_MAX_AGE_SECONDS
) -> bool:
    """Whether a list is recent enough to call a card on it valid: signed at most
    ``max_age`` seconds ago, and not past its own ``exp``."""
    return now - status_list.issued_at <= max_age and status_list.expires_at > now


def encode_status_list(
    bits: StatusBits,
    *,
    uri: str,
    issued_at: int,
    expires_at: int,
    ttl: int,
    signer: Signer,
) -> bytes:
    """Return the signed status list (COSE_Sign1 bytes) to publish at ``uri``.

    :raises ValueError: on a negative time or ttl.
    """
    if min(issued_at, expires_at, ttl) < 0:
        raise ValueError("times and ttl are unsigned")
    claims = {
        CLAIM_SUB: uri,
        CLAIM_IAT: issued_at,
        CLAIM_EXP: expires_at,
        CLAIM_TTL: ttl,
        CLAIM_STATUS_LIST: {"bits": BITS, "lst": bits.compress()},
    }
    protected = {HEADER_ALG: ALG_EDDSA, HEADER_KID: signer.kid, HEADER_TYP: STATUS_LIST_TYP}
    return sign1_encode(protected, {}, cbor2.dumps(claims, canonical=True), signer.sign)


def decode_status_list(
    data: bytes, trust: TrustStore, *, now: int, allow_expired: bool = False
) -> StatusList:
    """Verify a signed status list and return it.

    The signing key's issuer must own the list URI (``<verify_url>/status/<id>``), so
    one city cannot publish another's revocations. With ``allow_expired`` a list past its
    ``exp`` is returned too (sources do so: an old list still proves a revocation).

    :raises StatusListError: with reason ``malformed``, ``unknown_key``, ``key_revoked``,
        ``bad_signature``, ``expired`` (unless ``allow_expired``) or ``not_yet_valid``.
    """
    try:
        sign1 = sign1_decode(data, max_bytes=MAX_STATUS_LIST_BYTES)
        kid = check_eddsa_headers(sign1, typ=STATUS_LIST_TYP)
    except MalformedToken as exc:
        raise StatusListError("malformed", str(exc)) from exc
    trusted_key = trust.lookup(kid)
    if trusted_key is None:
        raise StatusListError("unknown_key")
    if trusted_key.public_key is None:
        raise StatusListError("key_revoked")
    if not ed25519_verify(trusted_key.public_key, sign1.signature, sign1.to_be_signed):
        raise StatusListError("bad_signature")
    try:
        claims = loads_strict(sign1.payload)
    except CborError as exc:
        raise StatusListError("malformed", str(exc)) from exc
    if not isinstance(claims, dict) or set(claims) != {
        CLAIM_SUB,
        CLAIM_IAT,
        CLAIM_EXP,
        CLAIM_TTL,
        CLAIM_STATUS_LIST,
    }:
        raise StatusListError("malformed", "wrong set of status list claims")
    uri, iat, exp, ttl = claims[CLAIM_SUB], claims[CLAIM_IAT], claims[CLAIM_EXP], claims[CLAIM_TTL]
    status_list = claims[CLAIM_STATUS_LIST]
    if not isinstance(uri, str):
        raise StatusListError("malformed", "sub must be text")
    if not (isinstance(iat, int) and isinstance(exp, int) and isinstance(ttl, int)):
        raise StatusListError("malformed", "iat, exp and ttl must be integers")
    if min(iat, exp, ttl) < 0:
        raise StatusListError("malformed", "iat, exp and ttl must be unsigned")
    if not isinstance(status_list, dict) or set(status_list) != {"bits", "lst"}:
        raise StatusListError("malformed", "status_list must be {bits, lst}")
    lst = status_list["lst"]
    if status_list["bits"] != BITS or not isinstance(lst, bytes):
        raise StatusListError("malformed", "only 2-bit lists are used")
    list_id = _list_id(trusted_key.issuer, uri)
    if exp <= now and not allow_expired:
        raise StatusListError("expired")
    if iat > now + CLOCK_SKEW_SECONDS:
        raise StatusListError("not_yet_valid")
    return StatusList(
        issuer_id=trusted_key.issuer.issuer_id,
        list_id=list_id,
        uri=uri,
        issued_at=iat,
        expires_at=exp,
        ttl=ttl,
        bits=StatusBits(_inflate(lst)),
    )


def _list_id(issuer: Issuer, uri: str) -> int:
    prefix = issuer.status_url(0)[:-1]
    suffix = uri[len(prefix) :]
    # Scheme and host are case-insensitive; the issuer may sign its URL as configured.
    same_prefix = uri[: len(prefix)].lower() == prefix.lower()
    if not same_prefix or re.fullmatch(r"0|[1-9][0-9]{0,17}", suffix) is None:
        raise StatusListError("malformed", "list URI is not one of the signing issuer's")
    return int(suffix)


def _inflate(lst: bytes) -> bytes:
    # Bounded inflation: a small hostile input must not expand into gigabytes.
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(lst, _LIST_BYTES + 1)
    except zlib.error as exc:
        raise StatusListError("malformed", "lst is not zlib data") from exc
    if len(raw) != _LIST_BYTES or not inflater.eof or inflater.unused_data:
        raise StatusListError("malformed", f"lst must inflate to exactly {_LIST_BYTES} bytes")
    return raw


def _cache_path(directory: Path, issuer_id: str, list_id: int) -> Path:
    # Issuer ids are restricted to [A-Za-z0-9_-] by trust.py, so this stays inside.
    return directory / issuer_id / f"{list_id}.cwt"


Clock = Callable[[], int]


def _wall_clock() -> int:
    return int(time.time())


class FileStatusSource:
    """Status lists saved under ``<directory>/<issuer id>/<list id>.cwt`` (offline use)."""

    def __init__(self, directory: str | Path, trust: TrustStore, *, now: Clock = _wall_clock):
        self.directory = Path(directory)
        self.trust = trust
        self.now = now

    def get(self, issuer_id: str, list_id: int) -> StatusList | None:
        """Return the saved list (even past its ``exp``), or None when there is no file.

        :raises StatusListError: when the file holds an invalid or foreign list.
        """
        path = _cache_path(self.directory, issuer_id, list_id)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        return _checked(_decode_kept(data, self.trust, self.now()), issuer_id, list_id)


class HttpStatusSource:
    """Fetches ``<verify_url>/status/<id>``; keeps lists in memory for their ``ttl`` and,
    with a ``cache_dir``, on disk to fall back on when the network fails.
    """

    def __init__(
        self,
        trust: TrustStore,
        cache_dir: str | Path | None = None,
        *,
        timeout: float = FETCH_TIMEOUT_SECONDS,
        now: Clock = _wall_clock,
    ) -> None:
        self.trust = trust
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.timeout = timeout
        self.now = now
        self._memory: dict[tuple[str, int], tuple[int, StatusList]] = {}

    def get(self, issuer_id: str, list_id: int) -> StatusList | None:
        """Return the list as served now, else the saved copy (even past its ``exp``: the
        verifier judges its age), else None.

        :raises StatusListError: when the issuer serves an invalid list and no authentic
            saved copy exists.
        """
        issuer = self.trust.issuer(issuer_id)
        if issuer is None:
            return None
        now = self.now()
        remembered = self._memory.get((issuer_id, list_id))
        if remembered is not None:
            fetched_at, status_list = remembered
            if now - fetched_at < status_list.ttl and status_list.expires_at > now:
                return status_list
        try:
            data = self._fetch(issuer.status_url(list_id))
            status_list = _checked(_decode_kept(data, self.trust, now), issuer_id, list_id)
        except (OSError, http.client.HTTPException, StatusListError) as exc:
            cached = self._cached(issuer_id, list_id, now)
            if cached is not None:
                return cached
            if isinstance(exc, StatusListError):
                raise
            return None
        self._memory[(issuer_id, list_id)] = (now, status_list)
        if self.cache_dir is not None:
            path = _cache_path(self.cache_dir, issuer_id, list_id)
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(".tmp")
            temporary.write_bytes(data)
            temporary.replace(path)  # atomic, so a reader never sees half a list
        return status_list

    def _cached(self, issuer_id: str, list_id: int, now: int) -> StatusList | None:
        if self.cache_dir is None:
            return None
        try:
            data = _cache_path(self.cache_dir, issuer_id, list_id).read_bytes()
            return _checked(_decode_kept(data, self.trust, now), issuer_id, list_id)
        except (OSError, StatusListError):
            return None

    def _fetch(self, url: str) -> bytes:
        if not url.startswith(("https://", "http://")):
            raise OSError(f"refusing to fetch {url}")
        request = urllib.request.Request(url, headers={"Accept": "application/statuslist+cwt"})  # noqa: S310 -- http(s) checked above
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 -- same
            data = bytes(response.read(MAX_STATUS_LIST_BYTES + 1))
        if len(data) > MAX_STATUS_LIST_BYTES:
            raise StatusListError("malformed", "status list too large")
        return data


def _decode_kept(data: bytes, trust: TrustStore, now: int) -> StatusList:
    return decode_status_list(data, trust, now=now, allow_expired=True)


def _checked(status_list: StatusList, issuer_id: str, list_id: int) -> StatusList:
    if (status_list.issuer_id, status_list.list_id) != (issuer_id, list_id):
        raise StatusListError("malformed", "the list found is not the list asked for")
    return status_list
