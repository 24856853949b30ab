"""The places directory: validate, store, publish, search and show the places that
accept the card, and serve them as GeoJSON (RFC 7946).

Texts (name, what the card gives, accessibility notes) exist per language; a visitor sees
each in their language, else in the city's default language, else in any language that
has it. Every change writes one audit event with ids and field names, never values.
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from citizen_card.config import Settings
from citizen_card.models import Place, PlaceText, Staff
from citizen_card.models.place import CATEGORIES
from citizen_card.services import audit
from citizen_card.services.errors import N_, Conflict, NotFound, ValidationFailed
from citizen_card.services.types import DbSession

CATEGORY_LABELS = {
    "library": N_("Library"),
    "health": N_("Health"),
    "education": N_("Education"),
    "transport": N_("Transport"),
    "culture": N_("Culture"),
    "sport": N_("Sport"),
    "social_services": N_("Social services"),
    "legal_aid": N_("Legal aid"),
    "food": N_("Food"),
    "other": N_("Other"),
}
FIELD_LABELS = {
    "ref": N_("Reference"),
    "category": N_("Category"),
    "name": N_("Name"),
    "benefit": N_("What the card gives"),
    "accessibility": N_("Accessibility"),
    "address": N_("Address"),
    "latitude": N_("Latitude"),
    "longitude": N_("Longitude"),
    "opening_hours": N_("Opening hours"),
    "phone": N_("Phone"),
    "website": N_("Website"),
    "published": N_("Published"),
}
LIMITS = {
    "ref": 64,
    "category": 32,
    "name": 150,
    "benefit": 1000,
    "accessibility": 1000,
    "address": 300,
    "opening_hours": 500,
    "phone": 40,
    "website": 300,
    "latitude": 40,
    "longitude": 40,
}
TEXT_FIELDS = ("name", "benefit", "accessibility")
MULTILINE = frozenset({"benefit", "accessibility", "opening_hours"})
# Refs made only of digits would read as ids in /places/<ref or id>; "join" is a page.
RESERVED_REFS = frozenset({"join"})
PER_PAGE = 30
MAX_QUERY_WORDS = 8
COORDINATE_DECIMALS = 6  # about 0.1 m: more would only pretend to precision

_REF = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_PHONE = re.compile(r"\+?[0-9][0-9 ().\-/]{2,39}")
_WORD = re.compile(r"[^\W_]+")
_SLUG_JUNK = re.compile(r"[^a-z0-9]+")


def fold(text: str) -> str:
    """Case-folded, without diacritics, as search and sorting compare text."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFKC", stripped).casefold()


def language_name(code: str) -> str:
    """The language's own name for itself ("Français"), or the code when unknown."""
    from babel import Locale, UnknownLocaleError

    try:
        name = Locale.parse(code).get_display_name(code)
    except (UnknownLocaleError, ValueError):
        return code
    return name[:1].upper() + name[1:] if name else code


@dataclass(frozen=True)
class Languages:
    """The city's languages, the default first."""

    default: str
    available: tuple[str, ...]

    @classmethod
    def from_settings(cls, settings: Settings) -> Languages:
        others = tuple(code for code in settings.languages if code != settings.default_language)
        return cls(settings.default_language, (settings.default_language, *others))

    def preference(self, language: str | None) -> tuple[str, ...]:
        """Which language to show first, then the fallbacks in order."""
        first = language if language in self.available else self.default
        return (first, *(code for code in self.available if code != first))


# Errors


class FieldProblem(ValidationFailed):
    """One wrong field; ``language`` is set for a text kept per language."""

    def __init__(
        self,
        message: str,
        code: str,
        field: str,
        *,
        language: str | None = None,
        label: str | None = None,
        **params: Any,
    ) -> None:
        base = field.rsplit("_", 1)[0] if language else field
        label = label or FIELD_LABELS.get(base, base)
        english = f"{label} ({language_name(language)})" if language else label
        super().__init__(message, code, field, **(params | {"label": english}))
        self.label = label
        self.language = language

    def translated(self) -> str:
        from flask_babel import gettext

        label = str(gettext(self.label))
        if self.language:
            label = f"{label} ({language_name(self.language)})"
        return str(gettext(self.template, **(self.params | {"label": label})))


class PlaceInvalid(ValidationFailed):
    """Some fields are wrong; ``problems`` names each one, in the form's order."""

    def __init__(self, problems: Sequence[FieldProblem]) -> None:
        first = problems[0]
        super().__init__(first.template, first.code, first.field, **first.params)
        self.problems = list(problems)

    def translated(self) -> str:
        return self.problems[0].translated()


class PlaceNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__(N_("No such place."), "place_not_found")


# Validation


@dataclass(frozen=True)
class PlaceTexts:
    name: str = ""
    benefit: str = ""
    accessibility: str = ""

    def is_empty(self) -> bool:
        return not (self.name or self.benefit or self.accessibility)


@dataclass(frozen=True)
class PlaceValues:
    """A place as the city describes it, checked."""

    ref: str | None
    category: str
    address: str
    latitude: float | None
    longitude: float | None
    opening_hours: str
    phone: str
    website: str
    texts: dict[str, PlaceTexts] = field(default_factory=dict)


def _clean(value: Any, name: str, problems: list[FieldProblem], **where: Any) -> str:
    limit = LIMITS[name.rsplit("_", 1)[0] if where.get("language") else name]
    if value is None:
        return ""
    if not isinstance(value, str):
        problems.append(FieldProblem(N_("%(label)s must be text."), "invalid", name, **where))
        return ""
    multiline = (name.rsplit("_", 1)[0] if where.get("language") else name) in MULTILINE
    if multiline:
        lines = [" ".join(line.split()) for line in value.replace("\r\n", "\n").split("\n")]
        text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    else:
        text = " ".join(value.split())
    text = unicodedata.normalize("NFC", text)
    if any(unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn") and ch != "\n" for ch in text):
        problems.append(
            FieldProblem(
                N_("%(label)s holds characters that cannot be shown."), "invalid", name, **where
            )
        )
        return ""
    if len(text) > limit:
        problems.append(
            FieldProblem(
                N_("%(label)s must be %(count)d characters or fewer."),
                "too_long",
                name,
                count=limit,
                **where,
            )
        )
        return ""
    return text


def _coordinate(value: str, name: str, bound: int, problems: list[FieldProblem]) -> float | None:
    if not value:
        return None
    try:
        number = float(value.replace(",", "."))
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or not -bound <= number <= bound:
        problems.append(
            FieldProblem(
                N_("%(label)s must be a number between -%(bound)d and %(bound)d."),
                "out_of_range",
                name,
                bound=bound,
            )
        )
        return None
    return round(number, COORDINATE_DECIMALS)


def _website(value: str, problems: list[FieldProblem]) -> str:
    if not value:
        return ""
    if "://" not in value and ":" not in value.split("/", 1)[0] and "." in value:
        value = "https://" + value  # "www.example.org" is what people type
    parts = urlsplit(value)
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    if (
        scheme not in ("http", "https")
        or not host
        or "@" in parts.netloc
        or any(ch.isspace() for ch in value)
    ):
        problems.append(
            FieldProblem(
                N_("%(label)s must be a web address starting with https:// or http://."),
                "invalid",
                "website",
            )
        )
        return ""
    return scheme + value[len(parts.scheme) :]


def _ref(value: str, problems: list[FieldProblem]) -> str | None:
    if not value:
        return None
    ref = value.lower()
    if not _REF.fullmatch(ref) or ref.isdigit() or ref in RESERVED_REFS:
        problems.append(
            FieldProblem(
                N_(
                    "%(label)s must be 1 to 64 lower-case letters, digits, dots, dashes or "
                    "underscores, not only digits."
                ),
                "invalid",
                "ref",
            )
        )
        return None
    return ref


def validate(raw: Mapping[str, Any], languages: Languages) -> PlaceValues:
    """Check a place as submitted (a form or a CSV row): fields by name, texts per
    language as ``name_<lang>``, ``benefit_<lang>``, ``accessibility_<lang>``.

    :raises PlaceInvalid: listing every wrong field.
    """
    problems: list[FieldProblem] = []
    ref = _ref(_clean(raw.get("ref"), "ref", problems), problems)
    category = _clean(raw.get("category"), "category", problems)
    if category not in CATEGORIES:
        problems.append(
            FieldProblem(
                N_("Choose a category from the list.")
                if not category
                else N_("%(label)s must be one of: %(choices)s."),
                "required" if not category else "invalid",
                "category",
                choices=", ".join(CATEGORIES),
            )
        )
    texts: dict[str, PlaceTexts] = {}
    for code in languages.available:
        values = {
            name: _clean(raw.get(f"{name}_{code}"), f"{name}_{code}", problems, language=code)
            for name in TEXT_FIELDS
        }
        local = PlaceTexts(**values)
        named = any(p.field == f"name_{code}" for p in problems)  # too long, say, already
        if code == languages.default and not local.name and not named:
            problems.append(
                FieldProblem(
                    N_("Enter the name in the city's language."),
                    "required",
                    f"name_{code}",
                    language=code,
                )
            )
        if not local.is_empty():
            texts[code] = local
    address = _clean(raw.get("address"), "address", problems)
    latitude = _coordinate(
        _clean(raw.get("latitude"), "latitude", problems), "latitude", 90, problems
    )
    longitude = _coordinate(
        _clean(raw.get("longitude"), "longitude", problems), "longitude", 180, problems
    )
    if (latitude is None) != (longitude is None) and not any(
        p.field in ("latitude", "longitude") for p in problems
    ):
        missing = "latitude" if latitude is None else "longitude"
        problems.append(
            FieldProblem(
                N_("Enter both latitude and longitude, or neither."), "coordinates_pair", missing
            )
        )
    opening_hours = _clean(raw.get("opening_hours"), "opening_hours", problems)
    phone = _clean(raw.get("phone"), "phone", problems)
    if phone and not _PHONE.fullmatch(phone):
        problems.append(
            FieldProblem(
                N_("%(label)s may hold only digits, spaces, a leading + and ( ) . - /."),
                "invalid",
                "phone",
            )
        )
    website = _website(_clean(raw.get("website"), "website", problems), problems)
    if problems:
        raise PlaceInvalid(problems)
    return PlaceValues(
        ref=ref,
        category=category,
        address=address,
        latitude=latitude,
        longitude=longitude,
        opening_hours=opening_hours,
        phone=phone,
        website=website,
        texts=texts,
    )


def form_values(place: Place) -> dict[str, str]:
    """A stored place as the raw strings a form (or a CSV row) holds."""
    values = {
        "ref": place.ref,
        "category": place.category,
        "address": place.address,
        "latitude": "" if place.latitude is None else _number(place.latitude),
        "longitude": "" if place.longitude is None else _number(place.longitude),
        "opening_hours": place.opening_hours,
        "phone": place.phone,
        "website": place.website,
        "published": "yes" if place.published else "no",
    }
    for text in place.texts:
        for name in TEXT_FIELDS:
            values[f"{name}_{text.language}"] = getattr(text, name)
    return values


def _number(value: float) -> str:
    return f"{value:.{COORDINATE_DECIMALS}f}".rstrip("0").rstrip(".")


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
        return f"geo:{_number(self.latitude)},{_number(self.longitude)}"

    @property
    def osm_url(self) -> str | None:
        """The place on openstreetmap.org, opened only if the visitor follows the link."""
        if self.latitude is None or self.longitude is None:
            return None
        lat, lon = _number(self.latitude), _number(self.longitude)
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


def _filters(
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
    conditions = _filters(query_words(query), category, published, category_names or {})
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


# GeoJSON (RFC 7946)


@dataclass(frozen=True)
class DirectoryStamp:
    """Changes whenever any place is added, changed, published or unpublished."""

    count: int
    last_modified: datetime | None

    def etag(self, *variant: str) -> str:
        stamp = self.last_modified.isoformat() if self.last_modified else "-"
        seed = "|".join((str(self.count), stamp, *variant))
        return hashlib.sha256(seed.encode()).hexdigest()[:32]


def directory_stamp(session: DbSession) -> DirectoryStamp:
    count, last = session.execute(select(func.count(Place.id), func.max(Place.updated_at))).one()
    return DirectoryStamp(int(count), last)


def feature_collection(
    session: DbSession,
    *,
    languages: Languages,
    place_url: Any,
    query: str = "",
    category: str | None = None,
) -> dict[str, Any]:
    """The published places as a GeoJSON FeatureCollection (RFC 7946).

    Positions are [longitude, latitude] (RFC 7946 §3.1.1), WGS 84, 6 decimals. A place
    without coordinates is a Feature with ``"geometry": null`` (§3.2: an unlocated
    feature), so the file holds the whole directory. Texts are in the default language,
    with the other languages under ``translations``. ``place_url(ref)`` gives the
    address of a place's page.
    """
    if category not in CATEGORIES:
        category = None
    conditions = _filters(query_words(query), category, True, {}) if query or category else []
    shown = select(Place.id).where(Place.published.is_(True), *conditions)
    # Plain rows, not ORM objects: the whole directory in two queries, at a few µs a row.
    texts: dict[int, dict[str, dict[str, str]]] = {}
    text_rows = session.execute(
        select(
            PlaceText.place_id, PlaceText.language, *(getattr(PlaceText, n) for n in TEXT_FIELDS)
        ).where(PlaceText.place_id.in_(shown))
    )
    for place_id, code, *values in text_rows:
        texts.setdefault(place_id, {})[code] = dict(zip(TEXT_FIELDS, values, strict=True))
    rows = session.execute(
        select(
            Place.id,
            Place.ref,
            Place.category,
            Place.address,
            Place.latitude,
            Place.longitude,
            Place.opening_hours,
            Place.phone,
            Place.website,
            Place.updated_at,
        )
        .where(Place.id.in_(shown))
        .order_by(Place.ref)
    )
    features = []
    west = south = math.inf
    east = north = -math.inf
    empty = dict.fromkeys(TEXT_FIELDS, "")
    for place_id, ref, category_code, address, lat, lon, hours, phone, website, updated in rows:
        own = texts.get(place_id, {})
        default = own.get(languages.default, empty)
        geometry = None
        if lat is not None and lon is not None:
            geometry = {"type": "Point", "coordinates": [lon, lat]}
            west, east = min(west, lon), max(east, lon)
            south, north = min(south, lat), max(north, lat)
        properties: dict[str, Any] = {
            "ref": ref,
            "category": category_code,
            "name": default["name"] or ref,
            "benefit": default["benefit"],
            "accessibility": default["accessibility"],
            "address": address,
            "opening_hours": hours,
            "phone": phone,
            "website": website,
            "url": place_url(ref),
            "updated": updated.isoformat(timespec="seconds").replace("+00:00", "Z"),
            "language": languages.default,
            "translations": {
                code: values for code, values in own.items() if code != languages.default
            },
        }
        features.append(
            {"type": "Feature", "id": ref, "geometry": geometry, "properties": properties}
        )
    collection: dict[str, Any] = {"type": "FeatureCollection"}
    if math.isfinite(west):
        collection["bbox"] = [west, south, east, north]
    collection["features"] = features
    return collection


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


def folded_category_names() -> dict[str, str]:
    """Category labels in the current language, folded for search (needs Babel)."""
    from flask_babel import gettext

    return {code: fold(str(gettext(label))) for code, label in CATEGORY_LABELS.items()}
