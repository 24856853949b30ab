"""/places.json: a GeoJSON FeatureCollection per RFC 7946, validated against the GeoJSON
project's JSON Schema and against what a schema cannot say; cache validators and 304."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any

import jsonschema
from flask import Flask
from flask.testing import FlaskClient

from citizen_card.context import app_context
from citizen_card.extensions import db
from citizen_card.models import Place
from citizen_card.services import places

SCHEMA = json.loads(
    (Path(__file__).parents[1] / "data" / "geojson" / "FeatureCollection.json").read_text()
)


def rfc7946_problems(document: Any) -> list[str]:
    """What breaks RFC 7946 in a FeatureCollection (empty when nothing does)."""
    validator = jsonschema.Draft7Validator(SCHEMA)
    problems = [
        f"schema: {error.message} at {list(error.path)}"
        for error in validator.iter_errors(document)
    ]
    if problems:
        return problems
    if "crs" in document:
        problems.append("a crs member (removed by RFC 7946 §4: positions are WGS 84)")
    for index, feature in enumerate(document["features"]):
        geometry = feature["geometry"]
        if geometry is None:
            continue
        longitude, latitude = geometry["coordinates"][:2]
        # §3.1.1: longitude first, then latitude, in WGS 84 degrees.
        if not (-180 <= longitude <= 180 and -90 <= latitude <= 90):
            problems.append(f"feature {index}: position {geometry['coordinates']} out of range")
        if not all(math.isfinite(value) for value in geometry["coordinates"]):
            problems.append(f"feature {index}: a position that is not a finite number")
    if "bbox" in document:
        west, south, east, north = document["bbox"]
        # §5: [west, south, east, north] holding every position.
        for feature in document["features"]:
            if feature["geometry"] is not None:
                longitude, latitude = feature["geometry"]["coordinates"]
                if not (west <= longitude <= east and south <= latitude <= north):
                    problems.append(f"bbox {document['bbox']} leaves out {longitude, latitude}")
    return problems


def test_the_check_can_fail() -> None:
    swapped = {
        "type": "FeatureCollection",
        "crs": {"type": "name"},
        "features": [
            {
                "type": "Feature",
                "properties": {},
                "geometry": {"type": "Point", "coordinates": [10, 100]},
            }
        ],
    }
    assert len(rfc7946_problems(swapped)) == 2
    assert rfc7946_problems({"type": "FeatureCollection"})  # no features member
    no_geometry = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}}]}
    assert rfc7946_problems(no_geometry)  # "geometry" must be there, if only as null


def test_places_json_is_a_feature_collection(
    client: FlaskClient, make_place: Callable[..., int]
) -> None:
    make_place(
        ref="central-library",
        name_en="Central Library",
        name_fr="Bibliothèque centrale",
        benefit_en="Free membership.",
        latitude="38.713944",
        longitude="-9.139444",
        website="https://library.example/",
    )
    make_place(ref="legal-aid-line", category="legal_aid", name_en="Legal aid line")
    make_place(
        ref="far-east", category="sport", name_en="Pool", latitude="-33.9", longitude="151.2"
    )
    make_place(ref="draft", name_en="Not published", latitude="1", longitude="1", published=False)
    response = client.get("/places.json")
    assert response.status_code == 200
    assert response.mimetype == "application/geo+json"  # RFC 7946 §12
    assert response.headers["Access-Control-Allow-Origin"] == "*"  # for other sites' apps
    document = json.loads(response.get_data(as_text=True))
    assert rfc7946_problems(document) == []
    features = {feature["id"]: feature for feature in document["features"]}
    assert list(features) == ["central-library", "far-east", "legal-aid-line"]
    library = features["central-library"]
    # Longitude first (RFC 7946 §3.1.1), not the latitude-first order people write.
    assert library["geometry"] == {"type": "Point", "coordinates": [-9.139444, 38.713944]}
    assert library["properties"]["name"] == "Central Library"
    assert library["properties"]["translations"] == {
        "fr": {"name": "Bibliothèque centrale", "benefit": "", "accessibility": ""}
    }
    assert library["properties"]["url"] == "http://localhost/places/central-library"
    assert library["properties"]["category"] == "library"
    # A place without coordinates is an unlocated feature (§3.2), not left out.
    assert features["legal-aid-line"]["geometry"] is None
    assert document["bbox"] == [-9.139444, -33.9, 151.2, 38.713944]
    filtered = client.get("/places.json?category=sport").get_json()
    assert [f["id"] for f in filtered["features"]] == ["far-east"]
    assert rfc7946_problems(client.get("/places.json?q=nothing-like-this").get_json()) == []


def test_conditional_get_answers_304_until_a_place_changes(
    app: Flask, client: FlaskClient, make_place: Callable[..., int]
) -> None:
    place_id = make_place(name_en="Central Library", latitude="38.7", longitude="-9.1")
    first = client.get("/places.json")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert first.headers["Cache-Control"] in ("public, max-age=60", "max-age=60, public")
    assert client.get("/places.json", headers={"If-None-Match": etag}).status_code == 304
    not_modified = client.get("/places.json", headers={"If-Modified-Since": modified})
    assert not_modified.status_code == 304 and not_modified.get_data() == b""
    assert not_modified.headers["ETag"] == etag
    older = format_datetime(parsedate_to_datetime(modified) - timedelta(seconds=10), usegmt=True)
    assert client.get("/places.json", headers={"If-Modified-Since": older}).status_code == 200
    # Filters have their own validator.
    other = client.get("/places.json?category=health").headers["ETag"]
    assert other != etag

    with app.app_context():
        ctx = app_context()
        place = db.session.get(Place, place_id)
        assert place is not None
        later = datetime.now(UTC) + timedelta(seconds=2)
        places.set_published(db.session, place, False, actor=None, now=later)
        db.session.commit()
        assert ctx.now() < later
    changed = client.get("/places.json", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    assert changed.get_json()["features"] == []


def test_an_empty_directory_is_an_empty_collection(client: FlaskClient) -> None:
    response = client.get("/places.json")
    assert response.get_json() == {"type": "FeatureCollection", "features": []}
    assert "Last-Modified" not in response.headers
    assert (
        client.get("/places.json", headers={"If-None-Match": response.headers["ETag"]}).status_code
        == 304
    )
