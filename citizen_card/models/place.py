"""The directory of places that accept the card, and services' requests to be listed.

Nothing here is about residents: a place is public information a city publishes. The
only personal data is a requester's contact on a pending join request, and the database
refuses to keep it once the request is decided.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from citizen_card.extensions import db
from citizen_card.models.types import UTCDateTime

CATEGORIES = (
    "library",
    "health",
    "education",
    "transport",
    "culture",
    "sport",
    "social_services",
    "legal_aid",
    "food",
    "other",
)
JOIN_STATUSES = ("pending", "accepted", "rejected")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class Place(db.Model):  # type: ignore[name-defined,misc]
    """A place or service where the card gives something (free entry, a discount...)."""

    __tablename__ = "place"
    __table_args__ = (
        CheckConstraint(_one_of("category", CATEGORIES), name="category"),
        CheckConstraint("length(ref) BETWEEN 1 AND 64", name="ref_length"),
        CheckConstraint(
            "latitude IS NULL OR (latitude >= -90 AND latitude <= 90)", name="latitude_range"
        ),
        CheckConstraint(
            "longitude IS NULL OR (longitude >= -180 AND longitude <= 180)",
            name="longitude_range",
        ),
        # Both coordinates or neither: half a position is no position.
        CheckConstraint("(latitude IS NULL) = (longitude IS NULL)", name="coordinates_pair"),
        CheckConstraint(
            "website = '' OR website LIKE 'http://%' OR website LIKE 'https://%'",
            name="website_scheme",
        ),
        Index("ix_place_published_category", "published", "category"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stable reference chosen by the city (or generated): the key of CSV re-imports and
    # of the public address /places/<ref>.
    ref: Mapped[str] = mapped_column(String(64), unique=True)
    category: Mapped[str] = mapped_column(String(32))
    address: Mapped[str] = mapped_column(String(300))
    latitude: Mapped[float | None] = mapped_column(Float, default=None)
    longitude: Mapped[float | None] = mapped_column(Float, default=None)
    opening_hours: Mapped[str] = mapped_column(Text, default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    website: Mapped[str] = mapped_column(String(300), default="")
    published: Mapped[bool] = mapped_column(default=False)
    # Every text of the place in every language, case-folded and without diacritics:
    # what word search matches, so a search is one scan of one column.
    search_text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    texts: Mapped[list[PlaceText]] = relationship(
        back_populates="place",
        cascade="all, delete-orphan",
        order_by="PlaceText.language",
        lazy="selectin",
    )


class PlaceText(db.Model):  # type: ignore[name-defined,misc]
    """A place's name, what the card gives there and accessibility notes, in one language."""

    __tablename__ = "place_text"
    __table_args__ = (CheckConstraint("length(language) BETWEEN 2 AND 8", name="language"),)

    place_id: Mapped[int] = mapped_column(
        ForeignKey("place.id", ondelete="CASCADE"), primary_key=True
    )
    language: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(150), default="")
    benefit: Mapped[str] = mapped_column(Text, default="")
    accessibility: Mapped[str] = mapped_column(Text, default="")
    # The name case-folded without diacritics, so lists sort the same on every database.
    sort_key: Mapped[str] = mapped_column(String(150), default="")

    place: Mapped[Place] = relationship(back_populates="texts")


class PlaceJoinRequest(db.Model):  # type: ignore[name-defined,misc]
    """A service asking to be listed, waiting for an editor's decision."""

    __tablename__ = "place_join_request"
    __table_args__ = (
        CheckConstraint(_one_of("status", JOIN_STATUSES), name="status"),
        CheckConstraint(_one_of("category", CATEGORIES), name="category"),
        # The requester's contact and message are kept only until the decision.
        CheckConstraint(
            "status = 'pending' OR (contact_name IS NULL AND contact_email IS NULL"
            " AND contact_phone IS NULL AND message IS NULL AND decided_at IS NOT NULL)",
            name="contact_until_decision",
        ),
        Index("ix_place_join_request_status_created_at", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    language: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(150))
    category: Mapped[str] = mapped_column(String(32))
    address: Mapped[str] = mapped_column(String(300))
    benefit: Mapped[str] = mapped_column(Text)
    opening_hours: Mapped[str] = mapped_column(Text, default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    website: Mapped[str] = mapped_column(String(300), default="")
    contact_name: Mapped[str | None] = mapped_column(String(150), default=None)
    contact_email: Mapped[str | None] = mapped_column(String(254), default=None)
    contact_phone: Mapped[str | None] = mapped_column(String(40), default=None)
    message: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    place_id: Mapped[int | None] = mapped_column(
        ForeignKey("place.id", ondelete="SET NULL"), default=None
    )
