"""City settings an admin edits in the app (card design, validity)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from citizen_card.extensions import db
from citizen_card.models.types import UTCDateTime


class CitySetting(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "city_setting"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    blob: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class VerificationCount(db.Model):  # type: ignore[name-defined,misc]
    """Aggregate verification counters: per day and reason, never per card."""

    __tablename__ = "verification_count"

    day: Mapped[date] = mapped_column(primary_key=True)
    reason: Mapped[str] = mapped_column(String(32), primary_key=True)
    count: Mapped[int] = mapped_column(default=0)
