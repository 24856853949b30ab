"""Residents: personal data sealed under a per-resident key, blind indexes for search."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from citizen_card.extensions import db
from citizen_card.models.types import UTCDateTime

EVIDENCE_KINDS = ("identity", "residence")


class Resident(db.Model):  # type: ignore[name-defined,misc]
    """One resident. Every personal field lives in ``sealed``/``photo_sealed``.

    They are sealed with the resident's own AES key, which is wrapped by the instance
    master key and kept in the separate key store (services/keystore.py) under
    ``public_id``. Erasing the resident deletes that key, which makes any backup copy of
    the sealed fields unreadable too (crypto-shredding).
    """

    __tablename__ = "resident"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Random public id for URLs and the API: sequential ids would let anyone count or
    # walk the registry.
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    photo_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", ondelete="SET NULL"), default=None
    )

    name_tokens: Mapped[list[ResidentNameToken]] = relationship(
        back_populates="resident", cascade="all, delete-orphan"
    )
    evidence: Mapped[list[Evidence]] = relationship(
        back_populates="resident", cascade="all, delete-orphan", order_by="Evidence.id"
    )


class ResidentNameToken(db.Model):  # type: ignore[name-defined,misc]
    """Blind index: a truncated keyed HMAC of one normalised name token (or prefix)."""

    __tablename__ = "resident_name_token"
    __table_args__ = (Index("ix_resident_name_token_digest", "digest", "resident_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(
        ForeignKey("resident.id", ondelete="CASCADE"), index=True
    )
    digest: Mapped[bytes] = mapped_column(LargeBinary(8))

    resident: Mapped[Resident] = relationship(back_populates="name_tokens")


class Evidence(db.Model):  # type: ignore[name-defined,misc]
    """Which kind of proof was seen, by whom, when. Never a number, never a copy."""

    __tablename__ = "evidence"
    __table_args__ = (CheckConstraint("kind IN ('identity', 'residence')", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(
        ForeignKey("resident.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    seen_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", ondelete="SET NULL"), default=None
    )
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)

    resident: Mapped[Resident] = relationship(back_populates="evidence")
