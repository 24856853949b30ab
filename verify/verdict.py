"""What a verification answers: the reasons, the three answers, and the result.

A verifier answers *valid* (reason ``ok``: the signature, the dates and a recent status
list agree), *cannot confirm* (``status_unknown``: the card is genuine and in date, but
no recent enough status list was at hand) or *not valid* (every other reason). The
result's JSON form is what ``POST /api/v1/verify`` and ``python -m verify --json`` print.
:mod:`verify.credential` decides the reason; this module only names and shows it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

__all__ = [
    "ANSWER_CANNOT_CONFIRM",
    "ANSWER_NOT_VALID",
    "ANSWER_VALID",
    "REASONS",
    "VerificationResult",
    "answer_for",
]

REASONS = frozenset(
    {
        "ok",
        "bad_signature",
        "unknown_key",
        "key_revoked",
        "expired",
        "not_yet_valid",
        "revoked",
        "suspended",
        "malformed",
        "unknown_issuer",
        "status_unknown",
    }
)
# The three answers a verifier gives; every reason belongs to exactly one. "Valid" needs
# the signature, the dates and a fresh enough status list to agree.
ANSWER_VALID = "valid"
ANSWER_NOT_VALID = "not_valid"
ANSWER_CANNOT_CONFIRM = "cannot_confirm"


@dataclass(frozen=True)
class VerificationResult:
    """The verdict. Claims are filled only once the signature has been verified.

    ``status_checked_at`` is when the issuer signed the status list the verdict used
    (the card's status is known as of then), ``status_age_seconds`` how old that list was
    at the time of the check; both are None when no list was used.
    """

    valid: bool
    reason: str
    name: str | None = None
    latin_name: str | None = None
    card_number: str | None = None
    issued_at: int | None = None
    expires_at: int | None = None
    not_before: int | None = None
    issuer_id: str | None = None
    issuer_name: str | None = None
    kid: str | None = None
    status_list: int | None = None
    status_index: int | None = None
    status_checked_at: int | None = None
    status_age_seconds: int | None = None

    @property
    def answer(self) -> str:
        """One of the three answers: valid, not valid, cannot confirm."""
        return answer_for(self.reason)

    def to_json(self) -> dict[str, object]:
        """Return the public JSON form; the design says "nothing more" than these."""
        return {
            "valid": self.valid,
            "reason": self.reason,
            "name": self.name,
            "latin_name": self.latin_name,
            "card_number": self.card_number,
            "issued_at": _iso_date(self.issued_at),
            "expires_at": _iso_date(self.expires_at),
            "issuer": self.issuer_name,
            "issuer_id": self.issuer_id,
            "status_checked_at": _iso_time(self.status_checked_at),
            "status_age_seconds": self.status_age_seconds,
        }


def answer_for(reason: str) -> str:
    """The answer a reason gives: ``valid`` (only "ok"), ``cannot_confirm`` (only
    "status_unknown") or ``not_valid`` (every other reason)."""
    if reason == "ok":
        return ANSWER_VALID
    if reason == "status_unknown":
        return ANSWER_CANNOT_CONFIRM
    return ANSWER_NOT_VALID


def _iso_date(timestamp: int | None) -> str | None:
    if timestamp is None:
        return None
    try:
        return dt.datetime.fromtimestamp(timestamp, dt.UTC).date().isoformat()
    except (OverflowError, OSError, ValueError):
        # A signed uint can be far beyond year 9999; say nothing rather than fail.
        return None


def _iso_time(timestamp: int | None) -> str | None:
    if timestamp is None:
        return None
    try:
        moment = dt.datetime.fromtimestamp(timestamp, dt.UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
