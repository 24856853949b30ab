"""Signing keys: Ed25519, private half stored only encrypted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from citizen_card.extensions import db
from citizen_card.models.types import UTCDateTime

KEY_STATES = ("active", "retired", "revoked")


class SigningKey(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "signing_key"
    __table_args__ = (CheckConstraint("state IN ('active', 'retired', 'revoked')", name="state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kid: Mapped[str] = mapped_column(String(16), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    private_key_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
