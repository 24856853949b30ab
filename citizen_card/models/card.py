"""Cards and the status lists their revocation state is published in."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from citizen_card.extensions import db
from citizen_card.models.resident import Resident
from citizen_card.models.types import UTCDateTime

# "pending": a renewal or replacement printed for a resident who still holds a working
# card; handing it over activates it and revokes the card it replaces, in one transaction.
CARD_STATUSES = ("active", "suspended", "revoked", "pending")
# A resident holds at most one card in these states; the partial unique index below makes
# that a property of the database, not of the code that happens to be careful.
CURRENT_STATUSES = ("active", "suspended")
# Cards that are not revoked yet: what an erasure or a key recall must revoke.
LIVE_STATUSES = ("active", "suspended", "pending")


class StatusList(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "status_list"

    id: Mapped[int] = mapped_column(primary_key=True)
    size: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Bumped in the same transaction as any change of a card's status in this list, so
    # every process can tell that its in-memory copy of the signed list is stale.
    generation: Mapped[int] = mapped_column(default=0)


class Card(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "card"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'suspended', 'revoked', 'pending')", name="status"),
        CheckConstraint("expires_at > issued_at", name="validity"),
        UniqueConstraint("status_list_id", "status_index", name="uq_card_status_entry"),
        Index(
            "uq_card_one_current_per_resident",
            "resident_id",
            unique=True,
            sqlite_where=text("status IN ('active', 'suspended')"),
            postgresql_where=text("status IN ('active', 'suspended')"),
        ),
        # And at most one new card waiting to be handed over.
        Index(
            "uq_card_one_pending_per_resident",
            "resident_id",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(12), unique=True)
    # NULL once the resident is erased: the card row stays only so its revocation stays
    # published in the status list.
    resident_id: Mapped[int | None] = mapped_column(
        ForeignKey("resident.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(16))
    revocation_reason: Mapped[str | None] = mapped_column(String(32), default=None)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    kid: Mapped[str] = mapped_column(String(16))
    status_list_id: Mapped[int] = mapped_column(ForeignKey("status_list.id"))
    status_index: Mapped[int]
    issued_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", ondelete="SET NULL"), default=None
    )
    # The QR text is kept sealed under the resident's key: the PDF can be re-rendered
    # without re-signing, and erasure shreds it with the rest.
    qr_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    printed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    handed_over_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    download_code_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32), default=None)
    download_code_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    download_code_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # The card a pending card replaces once it is handed over.
    replaces_id: Mapped[int | None] = mapped_column(
        ForeignKey("card.id", ondelete="SET NULL"), default=None
    )

    resident: Mapped[Resident | None] = relationship()
    replaces: Mapped[Card | None] = relationship(remote_side=[id])

    def state_at(self, now: datetime) -> str:
        """The state a verifier reports: a current card past its expiry is ``expired``."""
        if self.status in CURRENT_STATUSES and self.expires_at <= now:
            return "expired"
        return self.status
