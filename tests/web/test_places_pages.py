"""The public pages of the places directory and the editors' pages, through HTTP."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from citizen_card import create_app
from citizen_card.config import ConfigError, Settings, load_settings, tile_origin
from citizen_card.extensions import db
from citizen_card.models import Place, Staff
from tests.conftest import csrf_token, login
from tests.security.test_headers import header_problems


def _names(page: str) -> list[str]:
    return re.findall(r'class="place-name"><a href="[^"]+" lang="\w+" dir="auto">([^<]+)<', page)


def test_the_list_searches_filters_and_pages(
    client: FlaskClient, make_place: Callable[..., int]
) -> None:
    make_place(
        name_en="Central Library",
        benefit_en="Free membership.",
        latitude="38.71",
        longitude="-9.14",
    )
    make_place(category="health", name_en="East Clinic", benefit_en="Free vaccines.")
    make_place(name_en="Hidden Library", published=False)
    for number in range(40):
        make_place(category="sport", name_en=f"Pool {number:02d}")
    page = client.get("/places").get_data(as_text=True)
    assert "42 places" in page
    assert _names(page)[:3] == ["Central Library", "East Clinic", "Pool 00"]
    assert "Hidden Library" not in page
    assert "Page 1 of 2" in page and 'rel="next" href="/places?page=2"' in page
    assert len(_names(client.get("/places?page=2").get_data(as_text=True))) == 12
    # Options say how many places each category has.
    assert ">Sport (40)</option>" in page and ">Library (1)</option>" in page

    found = client.get("/places?q=vaccine").get_data(as_text=True)
    assert _names(found) == ["East Clinic"] and "1 place" in found
    assert "Show all places" in found
    assert _names(client.get("/places?category=health").get_data(as_text=True)) == ["East Clinic"]
    assert _names(client.get("/places?q=library").get_data(as_text=True)) == ["Central Library"]
    none = client.get("/places?q=zzz&category=food").get_data(as_text=True)
    assert "No place matches." in none
    assert client.get("/places?page=999&category=%00").status_code == 200


def test_open_in_a_map_links_and_no_map_by_default(
    client: FlaskClient, make_place: Callable[..., int]
) -> None:
    make_place(name_en="Central Library", latitude="38.7139", longitude="-9.1394")
    make_place(name_en="Mobile Library")
    response = client.get("/places")
    page = response.get_data(as_text=True)
    assert 'href="geo:38.7139,-9.1394"' in page
    assert "https://www.openstreetmap.org/?mlat=38.7139&amp;mlon=-9.1394" in page
    assert page.count("Open in a map app") == 1  # only the place with a position
    assert "places-map" not in page and "leaflet" not in page
    assert "img-src 'self' data: blob:;" in response.headers["Content-Security-Policy"]
    # Nothing on the page is loaded from elsewhere: every src and stylesheet is local.
    assert not re.findall(r'(?:src|href)="https?://(?![^"]*openstreetmap\.org/\?)', page)


def test_the_visitors_language(client: FlaskClient, make_place: Callable[..., int]) -> None:
    make_place(name_en="Central Library", name_fr="Bibliothèque centrale", benefit_en="Free.")
    french = client.get("/places", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "Bibliothèque centrale" in french
    assert '<span lang="en" dir="auto">Free.</span>' in french  # untranslated text says so
    assert "Bibliothèque (1)" in french
    # Searching for the category's name in French finds it.
    found = client.get("/places?q=biblioth", headers={"Accept-Language": "fr"})
    assert "Bibliothèque centrale" in found.get_data(as_text=True)
    english = client.get("/places", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Central Library" in english and "Bibliothèque centrale" not in english


def test_a_place_has_its_own_page(client: FlaskClient, make_place: Callable[..., int]) -> None:
    place_id = make_place(
        ref="central-library",
        name_en="Central Library",
        benefit_en="Free membership.\nFree computers.",
        accessibility_en="Step-free entrance.",
        address="1 Main Street",
        opening_hours="Mon-Fri 9-17",
        phone="+351 21 000 00 00",
        website="https://library.example/",
    )
    hidden = make_place(ref="not-yet", name_en="Not yet", published=False)
    page = client.get("/places/central-library").get_data(as_text=True)
    assert '<h1 lang="en" dir="auto">Central Library</h1>' in page
    assert "Free membership.\nFree computers." in page
    assert 'href="tel:+351210000000"' in page
    assert 'href="https://library.example/" rel="nofollow noopener"' in page
    assert "Step-free entrance." in page
    assert client.get(f"/places/{place_id}").status_code == 200  # the id works too
    assert client.get("/places/CENTRAL-LIBRARY").status_code == 200
    for missing in ("not-yet", str(hidden), "nothing", "9" * 40, "%2e%2e"):
        assert client.get(f"/places/{missing}").status_code == 404, missing


def test_page_texts_are_escaped(client: FlaskClient, make_place: Callable[..., int]) -> None:
    make_place(ref="x", name_en="<script>alert(1)</script>", benefit_en='"><img src=x>')
    for path in ("/places", "/places/x"):
        page = client.get(path).get_data(as_text=True)
        assert "<script>alert" not in page and "<img src=x>" not in page
        assert "&lt;script&gt;" in page


@pytest.fixture
def editor_client(app: Flask, make_staff: Callable[..., Staff]) -> FlaskClient:
    client = app.test_client()
    login(client, make_staff("editor"))
    return client


def test_an_editor_adds_a_place_with_every_problem_summarised(
    app: Flask, editor_client: FlaskClient
) -> None:
    token = csrf_token(editor_client, "/manage/places/new")
    bad = {
        "category": "",
        "name_en": "",
        "latitude": "200",
        "longitude": "-9.1",
        "website": "ftp://files.example",
        "csrf_token": token,
    }
    response = editor_client.post("/manage/places/new", data=bad)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    summary = page.split('class="error-summary"', 1)[1].split("</div>", 1)[0]
    assert re.findall(r'<a href="#(\w+)">', summary) == [
        "category",
        "name_en",
        "latitude",
        "website",
    ]
    assert (
        'id="latitude-error"' in page and 'aria-describedby="latitude-hint latitude-error"' in page
    )
    assert 'value="-9.1"' in page
    assert "<title>Error: Add a place" in page
    good = {
        "category": "culture",
        "name_en": "City Museum",
        "name_fr": "Musée de la ville",
        "benefit_en": "Free entry.",
        "latitude": "38.71",
        "longitude": "-9.14",
        "csrf_token": token,
    }
    created = editor_client.post("/manage/places/new", data=good)
    assert created.status_code == 302
    with app.app_context():
        place = db.session.execute(select(Place)).scalar_one()
        assert (place.ref, place.published) == ("city-museum", False)
        assert created.headers["Location"] == f"/manage/places/{place.id}"
    # Unpublished: the public does not see it until it is published.
    public = app.test_client()
    assert public.get("/places/city-museum").status_code == 404
    edit = editor_client.get(created.headers["Location"]).get_data(as_text=True)
    assert "This place is not published" in edit and 'value="Musée de la ville"' in edit
    published = editor_client.post(
        f"{created.headers['Location']}/published", data={"published": "1", "csrf_token": token}
    )
    assert published.status_code == 302
    assert public.get("/places/city-museum").status_code == 200
    changed = editor_client.post(
        created.headers["Location"], data=good | {"benefit_en": "Free entry on Sundays."}
    )
    assert changed.status_code == 302
    assert "Free entry on Sundays." in public.get("/places/city-museum").get_data(as_text=True)
    listing = editor_client.get("/manage/places?state=published").get_data(as_text=True)
    assert "City Museum" in listing and "Unpublish" in listing
    unpublished = editor_client.post(
        f"{created.headers['Location']}/published",
        data={"published": "0", "next_page": "list", "csrf_token": token},
    )
    assert unpublished.headers["Location"] == "/manage/places"
    assert public.get("/places/city-museum").status_code == 404


def test_editors_import_and_export_csv_in_the_browser(
    app: Flask, editor_client: FlaskClient
) -> None:
    import io

    token = csrf_token(editor_client, "/manage/places")
    bad = b"ref,category,name_en\nok,library,Fine\nbad,zoo,Wrong\n"
    refused = editor_client.post(
        "/manage/places/import",
        data={"file": (io.BytesIO(bad), "places.csv"), "csrf_token": token},
    )
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "The file has 1 problem(s); nothing was imported." in page
    assert "Line 3: Category must be one of:" in page
    good = b"ref,category,name_en,published\nok,library,Fine,yes\n"
    done = editor_client.post(
        "/manage/places/import",
        data={"file": (io.BytesIO(good), "places.csv"), "csrf_token": token},
    )
    assert done.status_code == 302
    assert "Imported: 1 new, 0 changed, 0 unchanged." in editor_client.get(
        "/manage/places"
    ).get_data(as_text=True)
    exported = editor_client.get("/manage/places.csv")
    assert exported.mimetype == "text/csv"
    assert exported.headers["Cache-Control"] == "no-store"
    assert exported.get_data(as_text=True).splitlines()[1].startswith("ok,yes,library,Fine,")


@pytest.fixture
def map_app(settings: Settings) -> Iterator[Flask]:
    app = create_app(
        replace(
            settings,
            map_tile_url="https://tiles.city.example:8443/osm/{z}/{x}/{y}.png",
            map_attribution="© OpenStreetMap contributors",
        )
    )
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_the_map_appears_only_with_a_tile_server(
    map_app: Flask, make_place: Callable[..., int]
) -> None:
    make_place(name_en="Central Library", latitude="38.71", longitude="-9.14")
    app = map_app
    response = app.test_client().get("/places?q=central")
    page = response.get_data(as_text=True)
    assert 'id="places-map"' in page
    assert 'data-geojson="/places.json?q=central"' in page
    assert "/static/vendor/leaflet/leaflet.js" in page
    csp = response.headers["Content-Security-Policy"]
    assert "img-src 'self' data: blob: https://tiles.city.example:8443;" in csp
    assert not header_problems("places.index", response)
    # Only the page with the map allows the tile server.
    other = app.test_client().get("/places/central-library")
    assert "tiles.city.example" not in other.headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    "template",
    [
        "https://{s}.tile.example/{z}/{x}/{y}.png",
        "https://user:secret@tile.example/{z}/{x}/{y}.png",
        "ftp://tile.example/{z}/{x}/{y}.png",
        "https://tile.example/tiles.png",
        "//tile.example/{z}/{x}/{y}.png",
    ],
)
def test_a_tile_url_names_one_origin(template: str) -> None:
    with pytest.raises(ConfigError):
        tile_origin(template)


def test_a_tile_server_needs_its_attribution(tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    keys = {"SECRET_KEY": "A" * 43, "MASTER_KEY": "B" * 43, "BLIND_INDEX_KEY": "C" * 43}
    with pytest.raises(ConfigError, match="MAP_ATTRIBUTION"):
        load_settings(tmp_path, MAP_TILE_URL="https://tile.example/{z}/{x}/{y}.png", **keys)
    settings = load_settings(
        tmp_path,
        MAP_TILE_URL="http://127.0.0.1:8080/{z}/{x}/{y}.png",
        MAP_ATTRIBUTION="Local tiles",
        **keys,
    )
    assert tile_origin(settings.map_tile_url) == "http://127.0.0.1:8080"
