"""Erasing a resident: cards revoked, record deleted, data key destroyed, files cleaned.

Erasure is crypto-shredding: the record's data key is deleted from the separate key
store, so the sealed record cannot be opened from any backup of the main database. The
key is deleted only after the deletion of the record commits (a rolled-back erasure keeps
both), and then both databases' files are cleaned of what the deletion left behind
(:func:`citizen_card.database.make_deletions_final`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from citizen_card.database import make_deletions_final
from citizen_card.models import Card, Resident, Staff
from citizen_card.services import audit, signals
from citizen_card.services.keystore import KeyStore
from citizen_card.services.print_jobs import withdraw_sheets_of
from citizen_card.services.registry import RegistryKeys
from citizen_card.services.types import DbSession

SHRED_KEY = "citizen_card.shred"


@dataclass
class _PendingShred:
    engine: Engine
    keystore: KeyStore
    refs: set[str] = field(default_factory=set)


def shred_after_commit(session: DbSession, keys: RegistryKeys, public_id: str) -> None:
    """Destroy the resident's data key once the deletion is committed, then make the
    files of both databases forget the key and the deleted record.

    Not before: if the transaction rolled back, the record would stay without its key.
    """
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    pending: _PendingShred = session.info.setdefault(
        SHRED_KEY, _PendingShred(engine, keys.keystore)
    )
    pending.refs.add(public_id)


@event.listens_for(Session, "after_commit")
def _shred_committed(session: Session) -> None:
    pending: _PendingShred | None = session.info.pop(SHRED_KEY, None)
    if pending is None:
        return
    pending.keystore.delete(pending.refs)
    # The erased record's pages (sealed fields, photo, card QR text) are zeroed in the
    # database file by secure_delete; the write-ahead log still holds them as they were.
    make_deletions_final(pending.engine)


@event.listens_for(Session, "after_rollback")
def _forget_shredding(session: Session) -> None:
    session.info.pop(SHRED_KEY, None)


def erase(
    session: DbSession,
    resident: Resident,
    *,
    keys: RegistryKeys,
    actor: Staff | None,
    now: datetime,
    reason: str,
) -> None:
    """Erase a resident: revoke their cards, keep only the card numbers' revocation,
    and delete the record with its data key, so backups of it become unreadable.

    Unfetched batch sheets that show one of the resident's cards are withdrawn too."""
    cards = list(session.scalars(select(Card).where(Card.resident_id == resident.id)))
    withdraw_sheets_of(session, [card.id for card in cards], now=now)
    for card in cards:
        if card.status != "revoked":
            card.status = "revoked"
            card.revocation_reason = "erased"
            signals.status_changed(session, card.status_list_id)
        card.qr_sealed = None
        card.download_code_hash = None
        card.resident_id = None
    public_id = resident.public_id
    session.delete(resident)
    shred_after_commit(session, keys, public_id)
    audit.record(
        session,
        actor=actor,
        action="resident.erase",
        target_type="resident",
        target_ref=public_id,
        now=now,
        detail={"reason": reason},
    )


__all__ = ["erase", "shred_after_commit"]
