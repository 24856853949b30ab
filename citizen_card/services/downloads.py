"""Download codes: the one-time code on the counter's receipt that opens the card's PDF.

A code is 12 Crockford base-32 symbols (60 bits), valid for 30 days and once. Only a
digest bound to the card number is kept, so a code opens the card it was made for and
no other. Every failed download gets the same answer, so a guesser learns nothing.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from babel.dates import format_date
from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from citizen_card.card.pdf import CardLabels
from citizen_card.card.qr import qr_matrix, svg_path
from citizen_card.config import Settings
from citizen_card.models import Card, Staff
from citizen_card.models.card import CURRENT_STATUSES
from citizen_card.services import printing, privacy
from citizen_card.services.cards import CardNotActive, record, state_of
from citizen_card.services.errors import N_, DomainError
from citizen_card.services.types import DbSession
from verify.cardnumber import (
    ALPHABET,
    InvalidCardNumber,
    format_card_number,
    normalize_card_number,
)
from verify.language import direction

_LOOKALIKES = str.maketrans("ILO", "110")  # read as the card number is: I, L -> 1, O -> 0
DOWNLOAD_CODE_LENGTH = 12  # 60 bits of Crockford base 32
DOWNLOAD_CODE_VALIDITY = timedelta(days=30)


class DownloadRefused(DomainError):
    """One answer for every failed download, so a guesser learns nothing from it; only
    someone who has the right number and code hears that the code was used already."""

    status = 400

    def __init__(self, *, used: bool = False) -> None:
        if used:
            super().__init__(
                N_(
                    "This download code was used already: each code works once. "
                    "If you do not have your card, ask at the counter for a new code."
                ),
                "download_code_used",
            )
        else:
            super().__init__(
                N_(
                    "This card number and code do not open a card. "
                    "Check both, or ask at the counter."
                ),
                "download_refused",
            )
        self.used = used


def _code_digest(number: str, code: str) -> bytes:
    # Bound to the card number: a code only ever opens the card it was made for.
    return privacy.hash_secret(f"download:{number}:{code}")


def make_code(card: Card, now: datetime) -> str:
    """Give ``card`` a fresh code and return it; only its digest is kept on the card.

    Any earlier code of the card stops working. No audit event: the caller writes one.
    """
    code = "".join(secrets.choice(ALPHABET) for _ in range(DOWNLOAD_CODE_LENGTH))
    card.download_code_hash = _code_digest(card.number, code)
    card.download_code_expires_at = now + DOWNLOAD_CODE_VALIDITY
    card.download_code_used_at = None
    return code


def format_download_code(code: str) -> str:
    """The code as printed on the receipt, in groups of four."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def normalize_download_code(text: str) -> str | None:
    """The code as typed (any case, spaces, dashes, look-alikes), or None if it is none."""
    compact = text.upper().replace(" ", "").replace("-", "")[:64]
    compact = compact.translate(_LOOKALIKES)
    if len(compact) != DOWNLOAD_CODE_LENGTH or any(c not in ALPHABET for c in compact):
        return None
    return compact


def new_download_code(session: DbSession, card: Card, *, actor: Staff | None, now: datetime) -> str:
    """A fresh one-time code for the resident; any earlier code stops working.

    :raises CardNotActive: the card is revoked or its record erased.
    """
    if card.status == "revoked" or card.resident_id is None or card.qr_sealed is None:
        raise CardNotActive()
    code = make_code(card, now)
    record(session, "card.download_code", card, actor=actor, now=now)
    return code


def redeem_download_code(session: DbSession, card_number: str, code: str, *, now: datetime) -> Card:
    """The card that this number and code open; the code is used up.

    Single use, because the code is the only thing between a stranger who saw the
    receipt and the resident's photo and name; the counter makes a new one on request.

    :raises DownloadRefused: for every reason (unknown number, wrong or expired code,
        card revoked or expired), so the answer tells a guesser nothing; with ``used``
        when the number and code are right but the code was used (telling that to whoever
        holds the code reveals nothing new).
    """
    try:
        number = normalize_card_number(card_number)
    except InvalidCardNumber as exc:
        raise DownloadRefused from exc
    canonical_code = normalize_download_code(code) or ""
    card = session.execute(select(Card).where(Card.number == number)).scalar_one_or_none()
    expected = card.download_code_hash if card is not None else None
    digest = _code_digest(number, canonical_code)
    if card is None or expected is None or not hmac.compare_digest(expected, digest):
        raise DownloadRefused
    if card.download_code_used_at is not None:
        raise DownloadRefused(used=True)
    usable = (
        card.download_code_expires_at is not None
        and card.download_code_expires_at > now
        and state_of(card, now) in CURRENT_STATUSES
        and card.qr_sealed is not None
        and card.resident is not None
    )
    if not usable:
        raise DownloadRefused
    # Use the code up in one conditional UPDATE, not by setting the attribute: of N
    # requests racing with the same code, exactly one matches (PostgreSQL re-checks the
    # condition after waiting for the winner's row lock; SQLite has one writer at a time).
    claimed = session.execute(
        update(Card)
        .where(
            Card.id == card.id,
            Card.download_code_hash == expected,
            Card.download_code_used_at.is_(None),
        )
        .values(download_code_used_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise DownloadRefused(used=True)  # another request used it a moment ago
    set_committed_value(card, "download_code_used_at", now)
    record(session, "card.download", card, actor=None, now=now)
    return card


def code_for_receipt(card: Card, code: str, *, now: datetime) -> str:
    """``code`` in canonical form when it is the card's current, unused code: the receipt
    may be drawn again (in another language) only with the code it was drawn with.

    :raises DownloadRefused: any other code, or one used or expired.
    """
    canonical = normalize_download_code(code) or ""
    expected = card.download_code_hash
    if (
        expected is None
        or not hmac.compare_digest(expected, _code_digest(card.number, canonical))
        or card.download_code_used_at is not None
        or card.download_code_expires_at is None
        or card.download_code_expires_at <= now
    ):
        raise DownloadRefused
    return canonical


@dataclass(frozen=True)
class Receipt:
    """What the resident's receipt prints, in their language."""

    language: str
    direction: str
    card_number: str
    valid_until: str
    valid_until_iso: str
    code: str
    code_valid_until: str
    portal_url: str
    qr_side: int
    qr_path: str


def receipt(card: Card, code: str, *, language: str, portal_url: str) -> Receipt:
    """The receipt of ``card`` and its fresh ``code``, in ``language``.

    ``portal_url`` is /my-card with the language in its address (``?lang=pt``), so the
    page opens in it: the language goes on paper and in the link, never in the database.

    :raises RenderError: ``qr_too_long`` for an address no QR code holds.
    """
    side, path = svg_path(qr_matrix(portal_url))
    expires = card.download_code_expires_at
    return Receipt(
        language=language,
        direction=direction(language),
        card_number=format_card_number(card.number),
        valid_until=format_date(card.expires_at.date(), "long", locale=language),
        valid_until_iso=card.expires_at.date().isoformat(),
        code=format_download_code(code),
        code_valid_until=format_date(expires.date(), "long", locale=language) if expires else "",
        portal_url=portal_url,
        qr_side=side,
        qr_path=path,
    )


def download_pdf(
    session: DbSession,
    card_number: str,
    code: str,
    *,
    settings: Settings,
    labels: CardLabels,
    now: datetime,
) -> tuple[Card, bytes]:
    """What /my-card hands out: the card's PDF for a valid number and one-time code.

    :raises DownloadRefused: as :func:`redeem_download_code`.
    """
    card = redeem_download_code(session, card_number, code, now=now)
    return card, printing.render_pdf(session, card, settings=settings, labels=labels)
