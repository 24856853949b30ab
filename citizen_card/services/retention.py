"""Deleting on schedule: residents whose cards all expired long ago, and orphan keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, exists, select

from citizen_card import database
from citizen_card.config import Settings
from citizen_card.models import Card, Resident
from citizen_card.services import erasure, registry
from citizen_card.services.types import DbSession

# A key with no resident is left alone this long: its registration may still be running.
ORPHAN_GRACE = timedelta(hours=1)


@dataclass(frozen=True)
class PurgeResult:
    residents: int


def retention_cutoff(settings: Settings, now: datetime) -> datetime:
    # Months as 30.44 days: a day either way does not matter for a retention period.
    return now - timedelta(days=round(settings.retention_months * 30.44))


def purgeable(session: DbSession, settings: Settings, *, now: datetime) -> list[Resident]:
    """Residents with no card that expired after the cutoff (and none still current).

    A resident registered but never issued a card counts from their registration.
    """
    cutoff = retention_cutoff(settings, now)
    recent_card = exists().where(
        Card.resident_id == Resident.id,
        (Card.expires_at > cutoff) | ((Card.status != "revoked") & (Card.expires_at > now)),
    )
    any_card = exists().where(Card.resident_id == Resident.id)
    query = select(Resident).where(~recent_card).where(any_card | (Resident.created_at < cutoff))
    return list(session.scalars(query))


def purge(
    session: DbSession,
    settings: Settings,
    *,
    keys: registry.RegistryKeys,
    now: datetime,
    dry_run: bool = False,
) -> PurgeResult:
    """Erase every purgeable resident (cards revoked, record and key destroyed)."""
    residents = purgeable(session, settings, now=now)
    if not dry_run:
        for resident in residents:
            erasure.erase(session, resident, keys=keys, actor=None, now=now, reason="retention")
    return PurgeResult(len(residents))


def sweep_keys(session: DbSession, keys: registry.RegistryKeys) -> int:
    """Delete data keys whose resident does not exist (a registration that failed)."""
    known = set(session.scalars(select(Resident.public_id)))
    orphans = keys.keystore.refs(older_than=ORPHAN_GRACE) - known
    keys.keystore.delete(orphans)
    return len(orphans)


def make_deletions_final(engine: Engine, keys: registry.RegistryKeys) -> bool:
    """Finish what an erasure could not finish at once (a reader held the SQLite log, or
    the key store table stayed locked): no deleted key or record stays in the files."""
    keystore_done = keys.keystore.make_deletions_final()
    return database.make_deletions_final(engine) and keystore_done
