"""Staff accounts, their server-side sessions and API tokens."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from citizen_card.extensions import db
from citizen_card.models.types import UTCDateTime

# An editor keeps the places directory and never sees a resident or a card.
ROLES = ("admin", "clerk", "auditor", "editor")


class Staff(UserMixin, db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "staff"
    __table_args__ = (
        CheckConstraint("role IN (" + ", ".join(f"'{role}'" for role in ROLES) + ")", name="role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    must_change_password: Mapped[bool] = mapped_column(default=True)
    active: Mapped[bool] = mapped_column(default=True)
    totp_secret_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    totp_last_step: Mapped[int | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The language of the staff pages for this account (None: the city's default).
    language: Mapped[str | None] = mapped_column(String(8), default=None)

    sessions: Mapped[list[StaffSession]] = relationship(
        back_populates="staff", cascade="all, delete-orphan"
    )

    def get_id(self) -> str:
        return str(self.id)

    @property
    def is_active(self) -> bool:
        return self.active


class StaffSession(db.Model):  # type: ignore[name-defined,misc]
    """A login, kept on the server so that logout and disabling an account end it."""

    __tablename__ = "staff_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    # SHA-256 of the random id held in the cookie: a database dump yields no live session.
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reauthenticated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    staff: Mapped[Staff] = relationship(back_populates="sessions")


class ApiToken(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    staff: Mapped[Staff] = relationship()
