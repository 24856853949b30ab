"""Batch print jobs: their progress, and their sealed sheets until fetched once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from citizen_card.extensions import db
from citizen_card.models.types import UTCDateTime

PRINT_JOB_STATES = ("running", "done", "failed", "fetched", "withdrawn")


class PrintJobRow(db.Model):  # type: ignore[name-defined,misc]
    """One job. In the database, so any host behind the load balancer shows and serves it.

    ``sheets_sealed`` holds the A4 sheets (names, photos) sealed under a key derived from
    the master key; it is emptied when fetched, when a resident on it is erased, and the
    whole row is swept an hour after its last change.
    """

    __tablename__ = "print_job"
    __table_args__ = (
        CheckConstraint(
            "state IN ('running', 'done', 'failed', 'fetched', 'withdrawn')", name="state"
        ),
        CheckConstraint("done >= 0 AND total >= 0", name="counts"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(16))
    total: Mapped[int]
    done: Mapped[int]
    # Internal card row ids (never card numbers), so an erasure can withdraw the sheets.
    card_ids: Mapped[str] = mapped_column(Text, default="[]")
    sheets_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
