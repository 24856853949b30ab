"""The places directory: store, publish, find and show the places that accept the card.

A visitor sees each text in their language, else in the city's default language, else in
any language that has it. Every change writes one audit event with ids and field names,
never values. What a place may hold is checked in :mod:`place_values`; the GeoJSON file
is :mod:`places_geojson`.
"""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from citizen_card.config import Settings
from citizen_card.models import Place, PlaceText, Staff
from citizen_card.models.place import CATEGORIES
from citizen_card.services import audit
from citizen_card.services.errors import N_, Conflict
from citizen_card.services.place_values import (
    CATEGORY_LABELS,
    FIELD_LABELS,
    RESERVED_REFS,
    TEXT_FIELDS,
    FieldProblem,
    Languages,
    PlaceInvalid,
    PlaceNotFound,
    PlaceTexts,
    PlaceValues,
    fold,
    folded_category_names,
    form_values,
    format_coordinate,
    language_name,
    validate,
)
from citizen_card.services.types import DbSession

# What the rest of the code reads as places.X; defined in place_values.
__all__ = [
    "CATEGORY_LABELS",
    "FIELD_LABELS",
    "TEXT_FIELDS",
    "FieldProblem",
    "Languages",
    "PlaceInvalid",
    "PlaceNotFound",
    "PlaceTexts",
    "PlaceValues",
    "fold",
    "folded_category_names",
    "form_values",
    "language_name",
    "validate",
]

PER_PAGE = 30
MAX_QUERY_WORDS = 8
_WORD = re.compile(r"[^\W_]+")
_SLUG_JUNK = re.compile(r"[^a-z0-9]+")


# Writing


def _search_text(ref: str, values: PlaceValues) -> str:
    parts = [ref, values.address]
    for local in values.texts.values():
        parts += [local.name, local.benefit, local.accessibility]
    return " ".join(_WORD.findall(fold(" ".join(parts))))


def _slug(text: str) -> str:
    return _SLUG_JUNK.sub("-", fold(text)).strip("-")[:48].strip("-")


def _free_ref(session: DbSession, values: PlaceValues, languages: Languages) -> str:
    """A readable ref from the default name ("central-library", "central-library-2")."""
    base = _slug(values.texts[languages.default].name)
    if not base or base.isdigit() or base in RESERVED_REFS:
        base = "place-" + secrets.token_hex(3)
    taken = set(
        session.execute(
            select(Place.ref).where(or_(Place.ref == base, Place.ref.like(base + "-%")))
        ).scalars()
    )
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def _apply(place: Place, values: PlaceValues) -> list[str]:
    """Copy values onto the row; the names of the fields that changed."""
    changed = []
    for name in (
        "category",
        "address",
        "latitude",
        "longitude",
        "opening_hours",
        "phone",
        "website",
    ):
        if getattr(place, name) != getattr(values, name):
            setattr(place, name, getattr(values, name))
            changed.append(name)
    current = {text.language: text for text in place.texts}
    for code in sorted(set(current) | set(values.texts)):
        local = values.texts.get(code, PlaceTexts())
        row = current.get(code)
        if local.is_empty():
            if row is not None:
                place.texts.remove(row)
                changed += [f"{name}_{code}" for name in TEXT_FIELDS if getattr(row, name)]
            continue
        if row is None:
            row = PlaceText(language=code)
            place.texts.append(row)
        for name in TEXT_FIELDS:
            if getattr(row, name) != getattr(local, name):
                setattr(row, name, getattr(local, name))
                changed.append(f"{name}_{code}")
        row.sort_key = fold(local.name)[:150]
    place.search_text = _search_text(place.ref, values)
    return changed


def create_place(
    session: DbSession,
    values: PlaceValues,
    *,
    languages: Languages,
    actor: Staff | None,
    now: datetime,
    published: bool = False,
    source: str = "form",
) -> Place:
    """Add a place (unpublished unless said otherwise).

    :raises Conflict: ``ref_taken`` when another place has this reference.
    """
    ref = values.ref or _free_ref(session, values, languages)
    if values.ref and session.execute(select(Place.id).where(Place.ref == ref)).first():
        raise Conflict(N_("Another place has the reference %(ref)s."), "ref_taken", ref=ref)
    place = Place(ref=ref, published=published, created_at=now, updated_at=now, texts=[])
    _apply(place, values)
    try:
        # The unique index is the real guard; two editors saving at once get a clean 409.
        with session.begin_nested():
            session.add(place)
            session.flush()
    except IntegrityError as exc:
        message = N_("Another place has the reference %(ref)s.")
        raise Conflict(message, "ref_taken", ref=ref) from exc
    audit.record(
        session,
        actor=actor,
        action="place.create",
        target_type="place",
        target_ref=place.id,
        now=now,
        detail={"published": published, "source": source},
    )
    return place


def update_place(
    session: DbSession,
    place: Place,
    values: PlaceValues,
    *,
    actor: Staff | None,
    now: datetime,
    published: bool | None = None,
    source: str = "form",
) -> list[str]:
    """Change a place (its ref stays); the names of the fields that changed.

    :raises Conflict: ``ref_changed`` when the values name another reference.
    """
    if values.ref is not None and values.ref != place.ref:
        raise Conflict(N_("The reference of a place cannot change."), "ref_changed")
    changed = _apply(place, values)
    if published is not None and published != place.published:
        place.published = published
        changed.append("published")
    if changed:
        place.updated_at = now
        audit.record(
            session,
            actor=actor,
            action="place.update",
            target_type="place",
            target_ref=place.id,
            now=now,
            detail={"fields": changed, "source": source},
        )
    return changed


def set_published(
    session: DbSession, place: Place, published: bool, *, actor: Staff | None, now: datetime
) -> bool:
    """Publish or unpublish; False when it already was so (nothing recorded)."""
    if place.published == published:
        return False
    place.published = published
    place.updated_at = now
    audit.record(
        session,
        actor=actor,
        action="place.publish" if published else "place.unpublish",
        target_type="place",
        target_ref=place.id,
        now=now,
    )
    return True


def get_place(session: DbSession, place_id: int) -> Place:
    """:raises PlaceNotFound:"""
    place = session.get(Place, place_id)
    if place is None:
        raise PlaceNotFound()
    return place


def find_published(session: DbSession, key: str) -> Place:
    """A published place by its ref, or by its id when ``key`` is all digits.

    :raises PlaceNotFound: no such place, or not published.
    """
    if key.isdigit() and len(key) <= 12:
        condition = Place.id == int(key)
    else:
        condition = Place.ref == key.lower()[:64]
    place = session.execute(
        select(Place).where(condition, Place.published.is_(True))
    ).scalar_one_or_none()
    if place is None:
        raise PlaceNotFound()
    return place


# Reading


@dataclass(frozen=True)
class Localised:
    """A text and the language it is in (which may be a fallback)."""

    text: str
    language: str


@dataclass(frozen=True)
class PlaceView:
    """A place as one visitor reads it."""

    id: int
    ref: str
    category: str
    name: Localised
    benefit: Localised | None
    accessibility: Localised | None
    address: str
    latitude: float | None
    longitude: float | None
    opening_hours: str
    phone: str
    website: str
    published: bool
    updated_at: datetime

    @property
    def has_position(self) -> bool:
        return self.latitude is not None and self.longitude is not None

    @property
    def geo_uri(self) -> str | None:
        """RFC 5870 ``geo:`` URI: phones open their own map app on it."""
        if self.latitude is None or self.longitude is None:
            return None
        return f"geo:{format_coordinate(self.latitude)},{format_coordinate(self.longitude)}"

    @property
    def osm_url(self) -> str | None:
        """The place on openstreetmap.org, opened only if the visitor follows the link."""
        if self.latitude is None or self.longitude is None:
            return None
        lat, lon = format_coordinate(self.latitude), format_coordinate(self.longitude)
        return f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=18/{lat}/{lon}"

    @property
    def phone_uri(self) -> str:
        return "tel:" + quote(re.sub(r"[^0-9+]", "", self.phone), safe="+")


def _pick(texts: Mapping[str, PlaceText], name: str, order: Sequence[str]) -> Localised | None:
    for code in (*order, *sorted(texts)):
        row = texts.get(code)
        if row is not None and getattr(row, name):
            return Localised(getattr(row, name), code)
    return None


def view(place: Place, language: str | None, languages: Languages) -> PlaceView:
    """The place in ``language``, each text falling back to the default language."""
    order = languages.preference(language)
    texts = {text.language: text for text in place.texts}
    name = _pick(texts, "name", order) or Localised(place.ref, languages.default)
    return PlaceView(
        id=place.id,
        ref=place.ref,
        category=place.category,
        name=name,
        benefit=_pick(texts, "benefit", order),
        accessibility=_pick(texts, "accessibility", order),
        address=place.address,
        latitude=place.latitude,
        longitude=place.longitude,
        opening_hours=place.opening_hours,
        phone=place.phone,
        website=place.website,
        published=place.published,
        updated_at=place.updated_at,
    )


@dataclass(frozen=True)
class PlacePage:
    places: list[PlaceView]
    total: int
    page: int
    pages: int
    query: str
    category: str | None


def query_words(query: str) -> list[str]:
    return _WORD.findall(fold(query[:200]))[:MAX_QUERY_WORDS]


def _like_escape(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def filters(
    words: Iterable[str],
    category: str | None,
    published: bool | None,
    category_names: Mapping[str, str],
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if published is not None:
        conditions.append(Place.published.is_(published))
    if category is not None:
        conditions.append(Place.category == category)
    for word in words:
        matches: ColumnElement[bool] = Place.search_text.like(
            f"%{_like_escape(word)}%", escape="\\"
        )
        # "library" (or "bibliothèque") also finds the places filed under that category.
        named = [
            code
            for code, label in category_names.items()
            if any(part.startswith(word) for part in label.split())
        ]
        if named:
            matches = or_(matches, Place.category.in_(named))
        conditions.append(matches)
    return conditions


def search(
    session: DbSession,
    *,
    query: str = "",
    category: str | None = None,
    language: str | None,
    languages: Languages,
    published: bool | None = True,
    page: int = 1,
    per_page: int = PER_PAGE,
    category_names: Mapping[str, str] | None = None,
) -> PlacePage:
    """Places whose texts hold every word of ``query`` (anywhere in a word, without
    regard to case or accents), in a category, sorted by name in ``language``.

    ``category_names`` maps categories to their folded labels in the visitor's
    language, so that a category's name finds its places.
    """
    if category not in CATEGORIES:
        category = None
    conditions = filters(query_words(query), category, published, category_names or {})
    total = session.execute(select(func.count(Place.id)).where(*conditions)).scalar_one()
    pages = max(1, math.ceil(total / per_page))
    page = min(max(page, 1), pages)
    order = languages.preference(language)
    first, fallback = aliased(PlaceText), aliased(PlaceText)
    statement = (
        select(Place)
        .outerjoin(first, and_(first.place_id == Place.id, first.language == order[0]))
        .outerjoin(
            fallback, and_(fallback.place_id == Place.id, fallback.language == languages.default)
        )
        .where(*conditions)
        .order_by(
            func.coalesce(func.nullif(first.sort_key, ""), fallback.sort_key, Place.ref), Place.id
        )
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    places = session.execute(statement).scalars().all()
    return PlacePage(
        places=[view(place, language, languages) for place in places],
        total=total,
        page=page,
        pages=pages,
        query=query,
        category=category,
    )


def category_counts(session: DbSession, *, published: bool | None = True) -> dict[str, int]:
    """How many places each category has, in the order of CATEGORIES, zeros left out."""
    statement = select(Place.category, func.count(Place.id)).group_by(Place.category)
    if published is not None:
        statement = statement.where(Place.published.is_(published))
    counts = {category: count for category, count in session.execute(statement)}
    return {code: counts[code] for code in CATEGORIES if counts.get(code)}


# What other pages show


def public_address(settings: Settings) -> str:
    """The address of /places to print or link to: PLACES_URL, else VERIFY_BASE_URL/places."""
    return settings.places_url.strip() or settings.verify_base_url.rstrip("/") + "/places"


def card_line(settings: Settings, language: str) -> str | None:
    """The "where the card is accepted" line for the card's back and the receipt, in
    ``language``, or None when the city turned it off (PLACES_ON_CARD). Needs an app
    context (Babel)."""
    if not settings.places_on_card:
        return None
    from flask_babel import force_locale
    from flask_babel import gettext as _

    address = public_address(settings).split("://", 1)[-1]
    with force_locale(language):
        return str(_("Where the card is accepted: %(address)s", address=address))
