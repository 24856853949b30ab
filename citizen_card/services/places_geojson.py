"""The published places as GeoJSON (RFC 7946), for the city's open-data portal and
apps, with what a cache needs to revalidate it cheaply."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from citizen_card.models import Place, PlaceText
from citizen_card.models.place import CATEGORIES
from citizen_card.services.place_values import TEXT_FIELDS, Languages
from citizen_card.services.places import filters, query_words
from citizen_card.services.types import DbSession


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
    place_url: Callable[[str], str],
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
    conditions = filters(query_words(query), category, True, {}) if query or category else []
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
