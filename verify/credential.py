"""THE card credential: a CWT (RFC 8392) in a COSE_Sign1 (RFC 9052) signed with Ed25519.

The byte layout is specified in docs/architecture.md; this module is its only
implementation: the card's claims, its text form and the order of verification. The
signed envelope and the key helpers it builds on are in :mod:`verify.cose` (shared with
status lists), the reasons and the result in :mod:`verify.verdict`, the freshness rule
in :mod:`verify.status`; all are re-exported here. Encoding needs a :class:`~verify.cose.Signer`;
verification needs a :class:`~verify.trust.TrustStore` and a
:class:`~verify.status.StatusSource`: without a recent enough status list no card is
called valid.

Verification order matters: the token is parsed strictly, the issuer id is read only to
choose that issuer's key set, the signature is checked, and only then are the claims
validated and believed. The answer is one of three: valid (signature, dates and a fresh
status list agree), not valid (with the reason), or cannot confirm (``status_unknown``:
no list, or none recent enough).
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

import cbor2

from verify._cbor import CborError, CborValue, loads_strict
from verify.cardnumber import (
    InvalidCardNumber,
    card_number_from_bytes,
    card_number_to_bytes,
)
from verify.cose import (
    ALG_EDDSA,
    CLOCK_SKEW_SECONDS,
    COSE_SIGN1_TAG,
    HEADER_ALG,
    HEADER_CRIT,
    HEADER_KID,
    HEADER_TYP,
    KID_BYTES,
    MAX_TOKEN_BYTES,
    CredentialError,
    Ed25519Signer,
    MalformedToken,
    Sign1,
    Signer,
    b64url_decode,
    b64url_encode,
    check_eddsa_headers,
    ed25519_verify,
    jwk_thumbprint_kid,
    kid_from_text,
    kid_to_text,
    sign1_decode,
    sign1_encode,
)
from verify.status import (
    LIST_SIZE,
    STATUS_MAX_AGE_SECONDS,
    STATUS_REVOKED,
    STATUS_SUSPENDED,
    STATUS_VALID,
    StatusList,
    StatusListError,
    StatusSource,
    status_is_fresh,
)
from verify.trust import TrustStore, normalize_base_url
from verify.verdict import (
    ANSWER_CANNOT_CONFIRM,
    ANSWER_NOT_VALID,
    ANSWER_VALID,
    REASONS,
    VerificationResult,
    answer_for,
)

MAX_TEXT_CHARS = 2048
MAX_ISSUER_CHARS = 16
MAX_NAME_CHARS = 80

CLAIM_ISS = 1
CLAIM_EXP = 4
CLAIM_NBF = 5
CLAIM_IAT = 6
CLAIM_CTI = 7
# Private claim names (RFC 8392 allows text keys): one-letter text keys take 2 bytes where
# private-use integer keys (< -65536) take 5, and every byte counts against QR version 10.
CLAIM_NAME = "n"
CLAIM_STATUS = "s"
CLAIM_LATIN_NAME = "l"
_REQUIRED_CLAIMS = frozenset({CLAIM_ISS, CLAIM_IAT, CLAIM_EXP, CLAIM_CTI, CLAIM_NAME, CLAIM_STATUS})
# Layouts of the claims set, oldest first: the optional claims each one allows. No
# version number travels in the token (it would cost 3 bytes, and push a 40-character
# name with accents past QR version 10): layout 2 only adds an optional claim, so every
# layout-1 card verifies unchanged, and a layout-2 token without a Latin form is byte for
# byte what layout 1 made. A layout that changes what a claim means must add a version
# claim; this verifier refuses any claim it does not know.
LAYOUT_OPTIONAL_CLAIMS: dict[int, frozenset[int | str]] = {
    1: frozenset({CLAIM_NBF}),
    2: frozenset({CLAIM_NBF, CLAIM_LATIN_NAME}),
}
LAYOUT = max(LAYOUT_OPTIONAL_CLAIMS)
_OPTIONAL_CLAIMS = LAYOUT_OPTIONAL_CLAIMS[LAYOUT]

_QR_PREFIX_RE = re.compile(r"(?i:(https?://[a-z0-9.-]+(?::[0-9]{1,5})?))/[Vv]")
_TOKEN_RE = re.compile(r"[A-Z2-7]+")


class InvalidTokenText(MalformedToken):
    """The scanned text is not ``<BASE>/V#<TOKEN>`` or a canonical bare token."""


class WrongUrlPrefix(InvalidTokenText):
    """The scanned URL is not a verify URL, or not the one the caller expected."""


# --- claims -------------------------------------------------------------------------


@dataclass(frozen=True)
class CardClaims:
    """What a card's token asserts; ``card_number`` in canonical or printed form.

    ``name`` is the holder's name exactly as printed on the card; ``latin_name`` the
    Latin form printed under it when the name is in another script (layout 2), else None.
    """

    issuer: str
    issued_at: int
    expires_at: int
    card_number: str
    name: str
    status_list: int
    status_index: int
    not_before: int | None = None
    latin_name: str | None = None

    @property
    def layout(self) -> int:
        """The oldest claims layout that holds these claims."""
        return 2 if self.latin_name is not None else 1


def _is_uint(value: object) -> bool:
    return type(value) is int and value >= 0


def _check_claim_values(claims: CardClaims) -> None:
    if not (isinstance(claims.issuer, str) and 1 <= len(claims.issuer) <= MAX_ISSUER_CHARS):
        raise MalformedToken(f"iss must be 1-{MAX_ISSUER_CHARS} characters")
    if not (isinstance(claims.name, str) and 1 <= len(claims.name) <= MAX_NAME_CHARS):
        raise MalformedToken(f"name must be 1-{MAX_NAME_CHARS} characters")
    latin = claims.latin_name
    if latin is not None and not (isinstance(latin, str) and 1 <= len(latin) <= MAX_NAME_CHARS):
        raise MalformedToken(f"the Latin form must be 1-{MAX_NAME_CHARS} characters")
    for label, value in (
        ("iat", claims.issued_at),
        ("exp", claims.expires_at),
        ("status list id", claims.status_list),
        ("status index", claims.status_index),
    ):
        if not _is_uint(value):
            raise MalformedToken(f"{label} must be an unsigned integer")
    if claims.not_before is not None and not _is_uint(claims.not_before):
        raise MalformedToken("nbf must be an unsigned integer")
    if claims.status_index >= LIST_SIZE:
        raise MalformedToken("status index outside the status list")


def _claims_to_cbor(claims: CardClaims) -> bytes:
    _check_claim_values(claims)
    try:
        cti = card_number_to_bytes(claims.card_number)
    except InvalidCardNumber as exc:
        raise MalformedToken(str(exc)) from exc
    claim_map: dict[int | str, object] = {
        CLAIM_ISS: claims.issuer,
        CLAIM_IAT: claims.issued_at,
        CLAIM_EXP: claims.expires_at,
        CLAIM_CTI: cti,
        CLAIM_NAME: claims.name,
        CLAIM_STATUS: [claims.status_list, claims.status_index],
    }
    if claims.not_before is not None:
        claim_map[CLAIM_NBF] = claims.not_before
    if claims.latin_name is not None:
        claim_map[CLAIM_LATIN_NAME] = claims.latin_name
    return cbor2.dumps(claim_map, canonical=True)


def _claims_from_map(claim_map: dict[int | str, CborValue]) -> CardClaims:
    keys = set(claim_map)
    if _REQUIRED_CLAIMS - keys:
        raise MalformedToken("a required claim is missing")
    if keys - _REQUIRED_CLAIMS - _OPTIONAL_CLAIMS:
        raise MalformedToken("unexpected claim")
    iss, name, cti = claim_map[CLAIM_ISS], claim_map[CLAIM_NAME], claim_map[CLAIM_CTI]
    iat, exp, nbf = claim_map[CLAIM_IAT], claim_map[CLAIM_EXP], claim_map.get(CLAIM_NBF)
    status, latin = claim_map[CLAIM_STATUS], claim_map.get(CLAIM_LATIN_NAME)
    if not isinstance(cti, bytes):
        raise MalformedToken("cti must be a byte string")
    if not (isinstance(status, list) and len(status) == 2):
        raise MalformedToken("status must be [list id, index]")
    if not (isinstance(iss, str) and isinstance(name, str)):
        raise MalformedToken("iss and name must be text")
    if latin is not None and not isinstance(latin, str):
        raise MalformedToken("the Latin form of the name must be text")
    list_id, index = status
    if not (_is_uint(iat) and _is_uint(exp) and _is_uint(list_id) and _is_uint(index)):
        raise MalformedToken("iat, exp and the status reference must be unsigned integers")
    if nbf is not None and not _is_uint(nbf):
        raise MalformedToken("nbf must be an unsigned integer")
    try:
        card_number = card_number_from_bytes(cti)
    except InvalidCardNumber as exc:
        raise MalformedToken(str(exc)) from exc
    assert isinstance(iat, int) and isinstance(exp, int)  # noqa: S101 -- narrows for mypy
    assert isinstance(list_id, int) and isinstance(index, int)  # noqa: S101 -- same
    claims = CardClaims(
        issuer=iss,
        issued_at=iat,
        expires_at=exp,
        card_number=card_number,
        name=name,
        status_list=list_id,
        status_index=index,
        not_before=nbf if isinstance(nbf, int) else None,
        latin_name=latin if isinstance(latin, str) else None,
    )
    _check_claim_values(claims)
    return claims


# --- text form ----------------------------------------------------------------------


def encode_token(claims: CardClaims, signer: Signer) -> str:
    """Sign ``claims`` and return the token: base32, upper case, no padding.

    :raises MalformedToken: when a claim is out of range (the same rules verification
        applies), the kid is not 6 bytes, or the token would exceed the size cap.
    """
    kid = signer.kid
    if len(kid) != KID_BYTES:
        raise MalformedToken(f"kid must be {KID_BYTES} bytes")
    payload = _claims_to_cbor(claims)
    token = sign1_encode({HEADER_ALG: ALG_EDDSA, HEADER_KID: kid}, {}, payload, signer.sign)
    if len(token) > MAX_TOKEN_BYTES:
        raise MalformedToken("token too large")
    return base64.b32encode(token).rstrip(b"=").decode("ascii")


def qr_text(verify_base_url: str, token: str) -> str:
    """Return the exact text of the QR code: ``<BASE>/V#<TOKEN>``, base in upper case.

    :raises ValueError: when ``verify_base_url`` is not a bare http(s) base URL.
    """
    return normalize_base_url(verify_base_url).upper() + "/V#" + token


def extract_token(text: str, expected_base: str | None = None) -> str:
    """Return the base32 token from scanned text (a verify URL or a bare token).

    :raises WrongUrlPrefix: when the text before ``#`` is not ``<base>/V`` or ``/v``, or
        its scheme and host differ from ``expected_base``.
    :raises InvalidTokenText: when the token is empty, too long, lower case, padded, or
        not canonical base32 (impossible length, trailing bits set).
    """
    if len(text) > MAX_TEXT_CHARS:
        raise InvalidTokenText("text too long")
    # Scanner apps often append a newline; surrounding whitespace carries no meaning.
    text = text.strip()
    prefix, hash_sign, token = text.partition("#")
    if not hash_sign:
        token = prefix
    else:
        match = _QR_PREFIX_RE.fullmatch(prefix)
        if match is None:
            raise WrongUrlPrefix("not a verify URL")
        if expected_base is not None and match.group(1).lower() != normalize_base_url(
            expected_base
        ):
            raise WrongUrlPrefix("verify URL of another site")
    if not token:
        raise InvalidTokenText("no token")
    if len(token) > (MAX_TOKEN_BYTES * 8 + 4) // 5:
        raise InvalidTokenText("token too long")
    if _TOKEN_RE.fullmatch(token) is None:
        if _TOKEN_RE.fullmatch(token.upper()) is not None:
            raise InvalidTokenText("token must be upper case")
        raise InvalidTokenText("token is not unpadded base32")
    _check_base32_tail(token)
    return token


_B32_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
# Bits of the last symbol that carry no data, by unpadded length modulo 8.
_UNUSED_BITS = {2: 2, 4: 4, 5: 1, 7: 3, 0: 0}


# RFC 4648 base32 digits to the digits int(..., 32) reads (0-9, A-V: base32hex).
_TO_BASE32HEX = str.maketrans(_B32_ALPHABET, "0123456789ABCDEFGHIJKLMNOPQRSTUV")


def _check_base32_tail(token: str) -> None:
    unused = _UNUSED_BITS.get(len(token) % 8)
    if unused is None:
        raise InvalidTokenText("impossible base32 length")
    # Nonzero unused bits decode to the same bytes: two texts for one token.
    if _B32_ALPHABET.index(token[-1]) & ((1 << unused) - 1):
        raise InvalidTokenText("non-canonical base32 (trailing bits set)")


def token_bytes(token: str) -> bytes:
    """Decode an upper-case unpadded base32 token into COSE bytes.

    :raises InvalidTokenText: when the token is not canonical unpadded upper-case base32
        (impossible length, or unused trailing bits set: two texts for one token).
    """
    if not token or _TOKEN_RE.fullmatch(token) is None:
        raise InvalidTokenText("token is not unpadded upper-case base32")
    _check_base32_tail(token)
    # int(..., 32) decodes base32hex in C; the stdlib's b32decode is a Python loop and
    # cost as much as a fifth of a verification. The checks above already guarantee the
    # alphabet, the length and zero unused bits, so only the arithmetic remains.
    bits = len(token) * 5
    value = int(token.translate(_TO_BASE32HEX), 32) >> (bits % 8)
    return value.to_bytes(bits // 8, "big")


# --- verification -------------------------------------------------------------------


def verify_text(
    text: str,
    trust: TrustStore,
    *,
    now: int,
    status: StatusSource | None = None,
    expected_base: str | None = None,
    status_max_age: int = STATUS_MAX_AGE_SECONDS,
) -> VerificationResult:
    """Verify scanned text (verify URL or bare token). Never raises, for any input.

    The reason is one of :data:`REASONS`. A card is valid only when a status list no
    older than ``status_max_age`` seconds (and not past its ``exp``) says so; without a
    ``status`` source, without a usable list, or with an older one, the reason is
    ``status_unknown`` (cannot confirm). A revocation or suspension holds in a list of
    any age.
    """
    try:
        if not isinstance(text, str):
            raise MalformedToken("text must be a string")
        data = token_bytes(extract_token(text, expected_base))
        return _verify(data, trust, now, status, status_max_age)
    except CredentialError as exc:
        return VerificationResult(valid=False, reason=exc.reason)
    except Exception:
        # Last line of the "never raises" promise (e.g. a broken trust or status object).
        # The property tests call _verify directly so a bug here cannot hide.
        return VerificationResult(valid=False, reason="malformed")


def verify_token_bytes(
    data: bytes,
    trust: TrustStore,
    *,
    now: int,
    status: StatusSource | None = None,
    status_max_age: int = STATUS_MAX_AGE_SECONDS,
) -> VerificationResult:
    """Verify the COSE bytes of a token. Never raises, for any input.

    See :func:`verify_text` for the result.
    """
    try:
        if not isinstance(data, bytes):
            raise MalformedToken("token must be bytes")
        return _verify(data, trust, now, status, status_max_age)
    except CredentialError as exc:
        return VerificationResult(valid=False, reason=exc.reason)
    except Exception:
        # Same last line as in verify_text.
        return VerificationResult(valid=False, reason="malformed")


def _verify(
    data: bytes,
    trust: TrustStore,
    now: int,
    status: StatusSource | None,
    status_max_age: int = STATUS_MAX_AGE_SECONDS,
) -> VerificationResult:
    """Verify token bytes; raises only :class:`CredentialError` for a bad token."""
    sign1 = sign1_decode(data)
    kid = check_eddsa_headers(sign1)
    try:
        unverified = loads_strict(sign1.payload)
    except CborError as exc:
        raise MalformedToken(str(exc)) from exc
    if not isinstance(unverified, dict):
        raise MalformedToken("payload must be a claims map")
    # The issuer id is read before the signature only to pick whose keys to try.
    unverified_iss = unverified.get(CLAIM_ISS)
    if not isinstance(unverified_iss, str) or not 1 <= len(unverified_iss) <= MAX_ISSUER_CHARS:
        raise MalformedToken(f"iss must be 1-{MAX_ISSUER_CHARS} characters of text")
    issuer = trust.issuer(unverified_iss)
    if issuer is None:
        raise CredentialError("issuer not trusted", "unknown_issuer")
    trusted_key = issuer.lookup(kid)
    if trusted_key is None:
        raise CredentialError("no such key for this issuer", "unknown_key")
    if trusted_key.state == "revoked" or trusted_key.public_key is None:
        raise CredentialError("key revoked", "key_revoked")
    if not ed25519_verify(trusted_key.public_key, sign1.signature, sign1.to_be_signed):
        raise CredentialError("signature does not verify", "bad_signature")

    claims = _claims_from_map(unverified)
    number = claims.card_number
    status_list: StatusList | None = None
    if claims.expires_at <= now:
        reason = "expired"
    elif claims.issued_at > now + CLOCK_SKEW_SECONDS or (
        claims.not_before is not None and claims.not_before > now + CLOCK_SKEW_SECONDS
    ):
        reason = "not_yet_valid"
    else:
        # Looked up only for a card whose dates hold: an expired card needs no list.
        status_list = _status_list(status, issuer.issuer_id, claims.status_list)
        reason = _status_reason(status_list, claims.status_index, now, status_max_age)
    return VerificationResult(
        valid=reason == "ok",
        reason=reason,
        name=claims.name,
        latin_name=claims.latin_name,
        # Already canonical and checked by card_number_from_bytes: only group it.
        card_number=f"{number[0:4]}-{number[4:8]}-{number[8:12]}",
        issued_at=claims.issued_at,
        expires_at=claims.expires_at,
        not_before=claims.not_before,
        issuer_id=issuer.issuer_id,
        issuer_name=issuer.name,
        kid=kid_to_text(kid),
        status_list=claims.status_list,
        status_index=claims.status_index,
        status_checked_at=None if status_list is None else status_list.issued_at,
        status_age_seconds=None if status_list is None else max(0, now - status_list.issued_at),
    )


def _status_reason(status_list: StatusList | None, index: int, now: int, max_age: int) -> str:
    if status_list is None:
        return "status_unknown"
    entry = status_list.get(index)
    # The issuer signed that the card was withdrawn: true however old the list is.
    if entry == STATUS_REVOKED:
        return "revoked"
    if entry == STATUS_SUSPENDED:
        return "suspended"
    if entry != STATUS_VALID:
        # Value 3 is application-specific in the draft; this format never sets it.
        return "malformed"
    # "Not withdrawn" is only worth something while it is recent.
    return "ok" if status_is_fresh(status_list, now, max_age) else "status_unknown"


def _status_list(source: StatusSource | None, issuer_id: str, list_id: int) -> StatusList | None:
    """The list to judge the card by, or None when there is none to be had (which makes
    the answer "cannot confirm", never "valid")."""
    if source is None:
        return None
    try:
        status_list = source.get(issuer_id, list_id)
    except StatusListError:
        return None
    # A source handing back another issuer's or another list's bits is a bug; using
    # them would give a wrong verdict, so treat the status as unknown instead.
    if status_list is None or (status_list.issuer_id, status_list.list_id) != (issuer_id, list_id):
        return None
    return status_list


def decode_claims_unverified(data: bytes) -> CardClaims:
    """Parse a token's claims WITHOUT checking its signature (issuer tools, debugging).

    :raises MalformedToken: when the token or its claims are malformed.
    """
    sign1 = sign1_decode(data)
    check_eddsa_headers(sign1)
    try:
        claim_map = loads_strict(sign1.payload)
    except CborError as exc:
        raise MalformedToken(str(exc)) from exc
    if not isinstance(claim_map, dict):
        raise MalformedToken("payload must be a claims map")
    return _claims_from_map(claim_map)


__all__ = [
    "ALG_EDDSA",
    "ANSWER_CANNOT_CONFIRM",
    "ANSWER_NOT_VALID",
    "ANSWER_VALID",
    "CLOCK_SKEW_SECONDS",
    "COSE_SIGN1_TAG",
    "HEADER_ALG",
    "HEADER_CRIT",
    "HEADER_KID",
    "HEADER_TYP",
    "KID_BYTES",
    "LAYOUT",
    "LIST_SIZE",
    "MAX_TEXT_CHARS",
    "MAX_TOKEN_BYTES",
    "REASONS",
    "STATUS_MAX_AGE_SECONDS",
    "STATUS_REVOKED",
    "STATUS_SUSPENDED",
    "STATUS_VALID",
    "CardClaims",
    "CredentialError",
    "Ed25519Signer",
    "InvalidTokenText",
    "MalformedToken",
    "Sign1",
    "Signer",
    "VerificationResult",
    "WrongUrlPrefix",
    "answer_for",
    "b64url_decode",
    "b64url_encode",
    "check_eddsa_headers",
    "decode_claims_unverified",
    "ed25519_verify",
    "encode_token",
    "extract_token",
    "jwk_thumbprint_kid",
    "kid_from_text",
    "kid_to_text",
    "normalize_base_url",
    "qr_text",
    "sign1_decode",
    "sign1_encode",
    "status_is_fresh",
    "token_bytes",
    "verify_text",
    "verify_token_bytes",
]
