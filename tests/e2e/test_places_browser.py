"""The places directory in a real Chromium: list, search and filter on a phone and on a
desktop, and the map against a tile server that the test runs on 127.0.0.1.

Screenshots are kept as test artefacts in the test's tmp_path."""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from PIL import Image
from werkzeug.serving import make_server

from citizen_card import create_app
from citizen_card.config import Settings
from citizen_card.extensions import db

pytestmark = pytest.mark.browser

VIEWPORTS = [(390, 844), (1366, 768)]


def _tile_png() -> bytes:
    image = Image.new("RGB", (256, 256), (200, 225, 240))
    for x in range(0, 256, 32):
        for y in range(256):
            image.putpixel((x, y), (150, 170, 190))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@dataclass
class TileServer:
    """Answers every GET with the same small PNG and remembers what was asked."""

    paths: list[str] = field(default_factory=list)
    referers: set[str] = field(default_factory=set)
    url: str = ""
    _server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        png = _tile_png()
        served = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                served.paths.append(self.path)
                served.referers.add(self.headers.get("Referer", ""))
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(png)))
                self.end_headers()
                self.wfile.write(png)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


@pytest.fixture
def tile_server() -> Iterator[TileServer]:
    server = TileServer()
    server.start()
    yield server
    server.stop()


def _serve(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()
    server.server_close()


def _fill(app: Flask) -> None:
    from citizen_card.context import app_context
    from citizen_card.services import places

    with app.app_context():
        ctx = app_context()
        languages = places.Languages.from_settings(ctx.settings)
        rows = [("library", f"Library {n:02d}", "Free membership.") for n in range(12)]
        rows += [("health", f"Health centre {n:02d}", "Free consultations.") for n in range(8)]
        rows += [("legal_aid", f"Legal advice desk {n:02d}", "Free advice.") for n in range(6)]
        for index, (category, name, benefit) in enumerate(rows):
            raw = {
                "category": category,
                f"name_{languages.default}": name,
                "address": f"{index} Main Street",
            }
            raw[f"benefit_{languages.default}"] = benefit
            if index % 4:
                # Close together around one square: the map has to cluster them.
                raw["latitude"] = f"{38.71 + (index % 7) * 0.002:.4f}"
                raw["longitude"] = f"{-9.14 - (index % 5) * 0.002:.4f}"
            places.create_place(
                db.session,
                places.validate(raw, languages),
                languages=languages,
                actor=None,
                now=ctx.now(),
                published=True,
            )
        db.session.commit()


@pytest.fixture
def directory_url(app: Flask) -> Iterator[str]:
    _fill(app)
    yield from _serve(app)


@pytest.fixture
def map_url(settings: Settings, tile_server: TileServer) -> Iterator[str]:
    app = create_app(
        replace(
            settings,
            map_tile_url=tile_server.url + "/tiles/{z}/{x}/{y}.png",
            map_attribution="Tiles <b>served</b> by the test",
        )
    )
    with app.app_context():
        db.create_all()
    _fill(app)
    yield from _serve(app)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


# Leaflet marks the map while it zooms, markercluster while clusters split or merge.
ANIMATIONS_DONE = """() =>
  !document.querySelector('.leaflet-zoom-anim, .leaflet-cluster-anim')
  && [...document.querySelectorAll('.leaflet-popup')]
    .every(p => getComputedStyle(p).opacity === '1')
"""

CSP_WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


def _page(chromium: Any, width: int, height: int, requests: list[str]) -> Any:
    context = chromium.new_context(viewport={"width": width, "height": height}, locale="en-GB")
    context.add_init_script(CSP_WATCH)
    page = context.new_page()
    page.on("request", lambda request: requests.append(request.url))
    return page


def _fits(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


@pytest.mark.parametrize(("width", "height"), VIEWPORTS)
def test_list_search_and_filter(
    chromium: Any, directory_url: str, tmp_path: Path, width: int, height: int
) -> None:
    from playwright.sync_api import expect

    requests: list[str] = []
    page = _page(chromium, width, height, requests)
    page.goto(f"{directory_url}/places")
    expect(page.get_by_role("heading", name="Where the card is accepted", level=1)).to_be_visible()
    expect(page.get_by_text("26 places")).to_be_visible()
    items = page.locator(".place-item")
    expect(items).to_have_count(26)
    assert _fits(page), "the list scrolls sideways"
    page.screenshot(path=str(tmp_path / f"places-{width}x{height}.png"), full_page=True)

    # Search with the keyboard, as on a phone: type, then Enter.
    page.get_by_label("Search", exact=True).fill("health centre")
    page.keyboard.press("Enter")
    expect(page.get_by_text("8 places")).to_be_visible()
    expect(items).to_have_count(8)
    expect(items.first.get_by_role("link")).to_have_text("Health centre 00")

    page.get_by_label("Search", exact=True).fill("")
    page.get_by_label("Category").select_option("legal_aid")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("6 places")).to_be_visible()
    expect(page.get_by_label("Category")).to_have_value("legal_aid")
    assert _fits(page)
    page.screenshot(path=str(tmp_path / f"places-filtered-{width}x{height}.png"), full_page=True)

    link = page.locator(".place-map-links a").first
    expect(link).to_have_attribute("href", re.compile(r"^geo:-?\d+\.\d+,-?\d+\.\d+$"))
    page.get_by_role("link", name="Legal advice desk 01", exact=True).click()
    expect(page.get_by_role("heading", name="Legal advice desk 01")).to_be_visible()
    expect(page.get_by_text("Free advice.")).to_be_visible()

    # No map without a tile server, and the page asked nothing of anyone else.
    assert page.locator("#places-map").count() == 0
    foreign = [url for url in requests if not url.startswith(directory_url)]
    assert foreign == []
    assert page.evaluate("window.__cspViolations") == []
    page.context.close()


@pytest.mark.parametrize(("width", "height"), VIEWPORTS)
def test_the_map_shows_clustered_places_from_the_citys_tile_server(
    chromium: Any, map_url: str, tile_server: TileServer, tmp_path: Path, width: int, height: int
) -> None:
    from playwright.sync_api import expect

    requests: list[str] = []
    page = _page(chromium, width, height, requests)
    page.goto(f"{map_url}/places")
    the_map = page.get_by_role("region", name="Map of the places")
    expect(the_map).to_be_visible()
    # 26 places, of which 19 have a position; those close together are clustered.
    expect(page.locator("#places-map[data-markers='19']")).to_have_count(1)
    clusters = page.locator(".marker-cluster")
    expect(clusters.first).to_be_visible()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.leaflet-tile')]"
        ".some(t => t.complete && t.naturalWidth === 256)"
    )
    assert tile_server.paths, "no tile was asked for"
    assert all(re.fullmatch(r"/tiles/\d+/\d+/\d+\.png", path) for path in tile_server.paths)
    # The tile server learns which site uses it, and nothing about the page or the search.
    assert tile_server.referers <= {f"{map_url}/"}
    expect(page.locator(".leaflet-control-attribution")).to_have_text(
        "Tiles <b>served</b> by the test"
    )
    assert _fits(page)
    page.screenshot(path=str(tmp_path / f"places-map-{width}x{height}.png"), full_page=True)

    # Zoomed in, the clusters open up into markers; a marker's popup links to its page,
    # and opens from the keyboard too.
    clusters.first.click()
    page.wait_for_function(ANIMATIONS_DONE)
    marker = page.locator(".leaflet-marker-icon:not(.marker-cluster)").first
    expect(marker).to_be_visible()
    marker.focus()
    page.keyboard.press("Enter")
    popup = page.locator(".leaflet-popup-content a")
    expect(popup).to_have_attribute("href", re.compile(r"^/places/[a-z0-9-]+$"))
    expect(popup).to_have_text(re.compile(r"^(Library|Health centre|Legal advice desk) \d\d$"))
    page.wait_for_function(ANIMATIONS_DONE)
    page.screenshot(path=str(tmp_path / f"places-map-popup-{width}x{height}.png"))

    allowed = (map_url, tile_server.url)
    assert [url for url in requests if not url.startswith(allowed)] == []
    assert page.evaluate("window.__cspViolations") == []

    # The map follows the search: only the matching places are drawn.
    page.goto(f"{map_url}/places?category=legal_aid")
    expect(page.locator("#places-map[data-markers]")).to_have_attribute("data-markers", "4")
    page.context.close()
