"""A card as the other card services read it: lookup, state, the counter's view, errors.

A card row is the only thing kept about a card: its number, status, validity, status
list entry and the QR text sealed under the resident's data key. Expiry is not a status:
a card past ``expires_at`` keeps its status, verifiers answer ``expired`` from the signed
date, and the purge deletes it later.

The card's life is in :mod:`issuance`, its download codes in :mod:`downloads` and its
printing in :mod:`printing`; what all three need is here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from citizen_card.config import Settings
from citizen_card.models import Card, Resident, Staff
from citizen_card.models.card import CURRENT_STATUSES
from citizen_card.services import audit, privacy, registry
from citizen_card.services.errors import N_, DomainError, NotFound
from citizen_card.services.types import DbSession
from verify.cardnumber import InvalidCardNumber, format_card_number, normalize_card_number


class IssuanceError(DomainError):
    """A card operation the card's or resident's state does not allow."""

    def __init__(self, message: str, code: str, *, status: int = 409, **params: object) -> None:
        super().__init__(message, code, **params)
        self.status = status


class CardNotActive(IssuanceError):
    def __init__(
        self, message: str = N_("This card is not active."), code: str = "card_not_active"
    ):
        super().__init__(message, code)


class CardNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__(N_("No such card."), "card_not_found")


@dataclass(frozen=True)
class CardView:
    """A card as the counter sees it."""

    card: Card
    state: str  # active, suspended, revoked, pending (to be handed over) or expired
    # The new card waiting to be handed over in this one's place, when there is one.
    successor: Card | None = None

    @property
    def number(self) -> str:
        return format_card_number(self.card.number)

    @property
    def is_current(self) -> bool:
        return self.card.status in CURRENT_STATUSES

    @property
    def is_pending(self) -> bool:
        return self.card.status == "pending"

    @property
    def successor_number(self) -> str | None:
        return format_card_number(self.successor.number) if self.successor else None

    @property
    def replaces_number(self) -> str | None:
        replaced = self.card.replaces if self.is_pending else None
        return format_card_number(replaced.number) if replaced is not None else None


def state_of(card: Card, now: datetime) -> str:
    """Status as a verifier reports it: a current card past its expiry is ``expired``."""
    if card.status in CURRENT_STATUSES and card.expires_at <= now:
        return "expired"
    return card.status


def get_card(session: DbSession, card_number: str) -> Card:
    """The card with this number in any printed or typed form.

    :raises CardNotFound: unknown or malformed number.
    """
    try:
        number = normalize_card_number(card_number)
    except InvalidCardNumber as exc:
        raise CardNotFound from exc
    card = session.execute(select(Card).where(Card.number == number)).scalar_one_or_none()
    if card is None:
        raise CardNotFound
    return card


def view_card(session: DbSession, card_number: str, *, now: datetime) -> CardView:
    """:raises CardNotFound:"""
    card = get_card(session, card_number)
    return CardView(card, state_of(card, now), successor_of(session, card))


def successor_of(session: DbSession, card: Card) -> Card | None:
    """The pending card that replaces ``card`` once handed over, if any."""
    return session.execute(
        select(Card).where(Card.replaces_id == card.id, Card.status == "pending")
    ).scalar_one_or_none()


@dataclass(frozen=True)
class CardAction:
    """What a confirmation page names: the card, and whose it is as the card prints it."""

    view: CardView
    printed_name: str
    latin_name: str | None


def action_view(
    session: DbSession,
    card_number: str,
    *,
    keys: registry.RegistryKeys,
    actor: Staff | None,
    now: datetime,
) -> CardAction:
    """The card and its holder's printed name, for a clerk to confirm an action on it.
    Opening the name is a reading of the resident's record, so it is audited.

    :raises CardNotFound:
    :raises CardNotActive: ``card_erased`` when the record is gone.
    """
    view = view_card(session, card_number, now=now)
    resident = view.card.resident
    if resident is None:
        raise CardNotActive(N_("This card's record was erased."), "card_erased")
    printed = registry.open_details(resident, keys).printed
    audit.record(
        session,
        actor=actor,
        action="resident.view",
        target_type="resident",
        target_ref=resident.public_id,
        now=now,
        detail={"card": view.card.number},
    )
    return CardAction(view, printed.name, printed.latin)


def cards_of(session: DbSession, resident: Resident, *, now: datetime) -> list[CardView]:
    """The resident's cards, newest first."""
    cards = session.execute(
        select(Card).where(Card.resident_id == resident.id).order_by(Card.id.desc())
    ).scalars()
    views = [CardView(card, state_of(card, now)) for card in cards]
    pending = {view.card.replaces_id: view.card for view in views if view.is_pending}
    return [CardView(v.card, v.state, pending.get(v.card.id)) for v in views]


def current_card(session: DbSession, resident: Resident) -> Card | None:
    """The resident's active or suspended card, if any (the database allows one)."""
    return session.execute(
        select(Card).where(Card.resident_id == resident.id, Card.status.in_(CURRENT_STATUSES))
    ).scalar_one_or_none()


def pending_card(session: DbSession, resident: Resident) -> Card | None:
    """The resident's new card waiting to be handed over, if any (the database allows one)."""
    return session.execute(
        select(Card).where(Card.resident_id == resident.id, Card.status == "pending")
    ).scalar_one_or_none()


def record(
    session: DbSession,
    action: str,
    card: Card,
    *,
    actor: Staff | None,
    now: datetime,
    **detail: object,
) -> None:
    """Write the card's audit event (``detail`` without its None values)."""
    audit.record(
        session,
        actor=actor,
        action=action,
        target_type="card",
        target_ref=card.number,
        now=now,
        detail={k: v for k, v in detail.items() if v is not None},
    )


def _qr_aad(number: str) -> bytes:
    return b"card-qr:" + number.encode()


def seal_qr(data_key: bytes, number: str, qr: str) -> bytes:
    """The card's QR text sealed under the resident's data key, bound to the card."""
    return privacy.seal(data_key, qr.encode(), _qr_aad(number))


def open_qr(data_key: bytes, number: str, sealed: bytes) -> str:
    """The QR text that :func:`seal_qr` sealed for card ``number``."""
    return privacy.open_sealed(data_key, sealed, _qr_aad(number)).decode()


def qr_of(card: Card, *, settings: Settings) -> str | None:
    """The exact QR text of a card, or None once the record is erased."""
    if card.resident is None or card.qr_sealed is None:
        return None
    keys = registry.RegistryKeys.from_settings(settings)
    return open_qr(registry.data_key(card.resident, keys), card.number, card.qr_sealed)
