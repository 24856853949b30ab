"""A signing key is compromised: withdraw it, recall its cards, list whom to call back.

Withdrawing the key (:func:`keyring.revoke`) makes every card it signed fail verification
with ``key_revoked``. That alone leaves the counter's records saying "active": the cards
would sit in the print queue, download at /my-card, and block a new card with
``has_current_card``. :func:`revoke_key` does both halves in one transaction, and
:func:`residents_to_recall` gives the counter the people who need a new card.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.orm import aliased

from citizen_card.config import Settings
from citizen_card.models import Card, Resident, Staff
from citizen_card.models.card import CURRENT_STATUSES, LIVE_STATUSES
from citizen_card.models.keys import SigningKey
from citizen_card.services import audit, issuance, keyring, registry
from citizen_card.services.errors import N_, NotFound
from citizen_card.services.types import DbSession
from verify.cardnumber import format_card_number

RECALL_REASON = "key_compromised"


@dataclass(frozen=True)
class KeyRevocation:
    """What revoking a key did: counts only, never who."""

    kid: str
    cards_revoked: int
    residents_to_recall: int
    new_signing_kid: str | None  # when the revoked key was the signing key


def revoke_key(
    session: DbSession, settings: Settings, kid: str, *, actor: Staff | None, now: datetime
) -> KeyRevocation:
    """Withdraw key ``kid`` and revoke every current card it signed.

    A new signing key is made first when ``kid`` was the signing key, so the counter
    can issue the replacement cards at once.

    :raises NotFound: ``key_not_found``.
    """
    before = keyring.active_key(session)
    keyring.revoke(session, settings, kid, now=now, actor=actor)
    after = keyring.active_key(session)
    cards = issuance.recall_signed_by(session, kid, actor=actor, now=now)
    return KeyRevocation(
        kid=kid,
        cards_revoked=cards,
        residents_to_recall=_recall_query_count(session),
        new_signing_kid=after.kid if after is not None and after is not before else None,
    )


@dataclass(frozen=True)
class KeyOverview:
    """A signing key as the admin page lists it: its state and how many cards depend on it."""

    key: SigningKey
    live_cards: int  # active, suspended or pending cards it signed: revoking recalls them


def key_overview(session: DbSession) -> list[KeyOverview]:
    """Every signing key, newest first, with the number of live cards each signed."""
    counts = dict(
        session.execute(
            select(Card.kid, func.count(Card.id))
            .where(Card.status.in_(LIVE_STATUSES))
            .group_by(Card.kid)
        ).all()
    )
    keys = session.scalars(select(SigningKey).order_by(SigningKey.id.desc()))
    return [KeyOverview(key, int(counts.get(key.kid, 0))) for key in keys]


def cards_to_recall(session: DbSession, kid: str) -> KeyOverview:
    """The key ``kid`` and how many cards revoking it would recall (for a confirmation).

    :raises NotFound: ``key_not_found``.
    """
    for overview in key_overview(session):
        if overview.key.kid == kid:
            return overview
    raise NotFound(N_("No key with this id."), "key_not_found")


def _recall_condition() -> ColumnElement[bool]:
    current = aliased(Card)
    return exists().where(
        Card.resident_id == Resident.id,
        Card.revocation_reason == RECALL_REASON,
    ).correlate(Resident) & ~exists().where(
        current.resident_id == Resident.id, current.status.in_(CURRENT_STATUSES)
    ).correlate(Resident)


def recall_count(session: DbSession) -> int:
    """How many residents wait for a new card after a key was withdrawn."""
    return _recall_query_count(session)


def _recall_query_count(session: DbSession) -> int:
    count = session.scalar(select(func.count(Resident.id)).where(_recall_condition()))
    return int(count or 0)


@dataclass(frozen=True)
class RecallEntry:
    """A resident whose card was recalled and who has no current card yet."""

    public_id: str
    printed_name: str
    latin_name: str | None
    recalled_card: str  # printed form
    registered_at: datetime


def residents_to_recall(
    session: DbSession, *, keys: registry.RegistryKeys, actor: Staff | None, now: datetime
) -> list[RecallEntry]:
    """Residents whose card was revoked with a withdrawn key and who hold no new card.

    Listing names is a look into the registry, so it is audited like a search (the
    number listed, no names).
    """
    residents = list(
        session.scalars(select(Resident).where(_recall_condition()).order_by(Resident.created_at))
    )
    recalled = {
        card.resident_id: card
        for card in session.scalars(
            select(Card)
            .where(
                Card.resident_id.in_([r.id for r in residents]),
                Card.revocation_reason == RECALL_REASON,
            )
            .order_by(Card.id)
        )
    }
    wrapped = keys.keystore.get_many(r.public_id for r in residents)
    entries = []
    for resident in residents:
        if resident.public_id not in wrapped:
            continue
        details = registry.open_details(resident, keys, wrapped[resident.public_id])
        entries.append(
            RecallEntry(
                public_id=resident.public_id,
                printed_name=details.printed_name,
                latin_name=details.latin_name,
                recalled_card=format_card_number(recalled[resident.id].number),
                registered_at=resident.created_at,
            )
        )
    audit.record(
        session,
        actor=actor,
        action="residents.recall_list",
        target_type="residents",
        target_ref="recall",
        now=now,
        detail={"results": len(entries)},
    )
    return entries


__all__ = [
    "KeyOverview",
    "KeyRevocation",
    "RecallEntry",
    "cards_to_recall",
    "key_overview",
    "recall_count",
    "residents_to_recall",
    "revoke_key",
]
