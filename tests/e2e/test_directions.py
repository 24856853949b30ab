"""Both writing directions in a real Chromium: the main pages in English (left to right),
Arabic and Persian (right to left), at a phone's 390 px and a desk's 1366 px.

Each page is kept as a screenshot in test-artifacts/directions/ for a person to look at,
and measured: the html element's lang and dir, no sideways scrolling, the header and the
navigation starting at the right edge in right-to-left pages (at the left otherwise), the
verdict banner's icon at its start, the scanner's picture on the start side at a desk,
form labels at the start of their fields, the "back" arrow turned round, and card and
phone numbers reading left to right inside Arabic text (their computed direction, and
the order of their characters on the screen).

Arabic and Persian need no catalogue for this: the direction comes from the locale, and
words not yet translated show in English in a right-to-left page.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import VIEWPORTS
from tests.e2e.live_city import LiveCity, live_city, log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DIRECTIONS = {"en": "ltr", "ar": "rtl", "fa": "rtl"}

# Everything the assertions need, read in one go. Boxes are relative to the viewport;
# "gap" is how far an element starts from its container's start edge (the right edge in
# a right-to-left page), so one number says the same in both directions.
MEASURE = """() => {
  const html = document.documentElement;
  const rtl = getComputedStyle(html).direction === "rtl";
  const box = (el) => el.getBoundingClientRect();
  const startGap = (inner, outer) => (rtl ? outer.right - inner.right : inner.left - outer.left);
  const textBox = (el) => {
    const range = document.createRange();
    range.selectNodeContents(el);
    return range.getBoundingClientRect();
  };
  // The letters of a value in screen order: true when the first is left of the last.
  const readsLeftToRight = (el) => {
    const node = [...el.childNodes].find((n) => n.nodeType === 3 && n.data.trim().length > 1)
      ?? el.firstChild?.firstChild;
    if (!node || node.nodeType !== 3) return null;
    const at = (i) => {
      const range = document.createRange();
      range.setStart(node, i);
      range.setEnd(node, i + 1);
      return range.getBoundingClientRect();
    };
    const text = node.data.trim();
    const first = node.data.indexOf(text[0]);
    return at(first).left < at(first + text.length - 1).left;
  };
  const result = {
    lang: html.lang,
    dir: html.dir,
    computedDir: getComputedStyle(html).direction,
    scrollWidth: html.scrollWidth,
    clientWidth: html.clientWidth,
  };
  const page = { left: 0, right: html.clientWidth };
  const header = document.querySelector(".site-header");
  const brand = document.querySelector(".brand, .site-header__issuer");
  if (header && brand) {
    const pad = parseFloat(getComputedStyle(header).paddingInlineStart);
    result.brandGap = startGap(textBox(brand), page);
    result.headerPadding = pad;
  }
  const links = [...document.querySelectorAll(".site-header nav a")];
  if (links.length > 1) {
    const list = box(document.querySelector(".site-header nav ul"));
    result.navFirstGap = startGap(box(links[0]), list);
    // Links follow one another in the reading direction, on the first row.
    const row = links.filter((a) => Math.abs(box(a).top - box(links[0]).top) < 2);
    const follows = (a, before) => (rtl ? box(a).right <= box(before).left + 1
      : box(a).left >= box(before).right - 1);
    result.navInOrder = row.every((a, i) => i === 0 || follows(a, row[i - 1]));
  }
  const banner = document.querySelector(".verdict__banner");
  if (banner && banner.offsetParent !== null) {
    const style = getComputedStyle(banner);
    const inset = parseFloat(rtl ? style.borderRightWidth : style.borderLeftWidth)
      + parseFloat(style.paddingInlineStart);
    result.iconGap = startGap(box(banner.querySelector(".verdict__icon")), box(banner)) - inset;
    const title = box(banner.querySelector(".verdict__title"));
    const icon = box(banner.querySelector(".verdict__icon"));
    result.titleAfterIcon = rtl ? title.right <= icon.left : title.left >= icon.right;
    result.verdictState = document.getElementById("verdict").dataset.state;
  }
  const stage = document.querySelector(".scanner__stage");
  const controls = document.querySelector(".scanner__controls");
  if (stage && controls && box(stage).top === box(controls).top) {
    const [picture, panel] = [box(stage), box(controls)];
    result.stageAtStart = rtl ? picture.left > panel.left : picture.left < panel.left;
  }
  const label = document.querySelector("label[for=given_names]");
  if (label) {
    const field = box(label.parentElement);
    result.labelGap = startGap(textBox(label), field);
    result.inputGap = startGap(box(document.getElementById("given_names")), field);
  }
  const back = document.querySelector(".back-link a");
  if (back) result.backArrow = getComputedStyle(back, "::before").transform;
  const numbers = ".card-number, [data-field=card_number], a[href^='tel:']";
  result.numbers = [...document.querySelectorAll(numbers)]
    .filter((el) => el.offsetParent !== null && el.textContent.trim())
    .map((el) => ({
      direction: getComputedStyle(el).direction,
      parentDirection: getComputedStyle(el.parentElement).direction,
      leftToRight: readsLeftToRight(el),
    }));
  return result;
}"""


# The verdict as "unknown issuer" draws it (the data-icon verdict.js sets): its icon's
# transform.
TURNED_QUESTION_MARK = """() => {
  const verdict = document.getElementById("verdict");
  verdict.dataset.icon = "unknown";
  return getComputedStyle(verdict.querySelector(".verdict__icon")).transform;
}"""


def _pages(city: LiveCity) -> list[tuple[str, str, str | None]]:
    """(artefact name, address, what to wait for) in the order a clerk meets them."""
    return [
        ("residents-search", "/residents/", None),
        ("residents-form", "/residents/new", "#given_names"),
        ("card", f"/cards/{city.card_number}", ".card-preview img"),
        ("my-card", "/my-card", "#card_number"),
        ("places", "/places", ".place-list"),
        ("place", "/places/central-library", ".back-link"),
        ("verify-valid", city.verify_url.removeprefix(city.url), "#verdict[data-state=valid]"),
        ("scan", "/scan", "#verdict[data-state=ready]"),
    ]


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveCity]:
    with live_city(tmp_path_factory.mktemp("directions"), ("en", "fr", "ar", "fa")) as served:
        yield served


def _search(page: Any) -> None:
    """A search with a hit, so the results table (card number, date) is on the page."""
    page.fill("#q", "fatima")
    page.press("#q", "Enter")
    page.wait_for_selector("table.results")


@pytest.mark.parametrize("lang", sorted(DIRECTIONS))
def test_the_main_pages_mirror_in_right_to_left_languages(
    city: LiveCity, chromium: Any, artifacts: Path, lang: str
) -> None:
    direction = DIRECTIONS[lang]
    folder = artifacts / "directions"
    folder.mkdir(exist_ok=True)
    context = chromium.new_context(locale=lang, viewport=VIEWPORTS["desk"])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    measured: dict[str, dict[str, Any]] = {}
    question_marks: set[str] = set()
    try:
        for viewport in VIEWPORTS.values():
            page.set_viewport_size(viewport)
            width = viewport["width"]
            page.goto(f"{city.url}/login")
            page.screenshot(path=str(folder / f"{lang}-login-{width}.png"), full_page=True)
            measured[f"login-{width}"] = page.evaluate(MEASURE)
            log_in(page, city, None if lang == "en" else lang)
            for name, address, ready in _pages(city):
                page.goto(f"{city.url}{address}")
                if name == "residents-search":
                    _search(page)
                elif ready:
                    page.wait_for_selector(ready)
                page.screenshot(path=str(folder / f"{lang}-{name}-{width}.png"), full_page=True)
                measured[f"{name}-{width}"] = page.evaluate(MEASURE)
            # The question mark of "unknown issuer" faces the other way in Arabic script.
            page.goto(f"{city.url}{city.verify_url.removeprefix(city.url)}")
            page.wait_for_selector("#verdict[data-state=valid]")
            question_marks.add(page.evaluate(TURNED_QUESTION_MARK))
            page.goto(f"{city.url}/scan")
            page.wait_for_selector("#verdict[data-state=ready]")
            # The desk scanner with a verdict in the picture's place, as a USB scanner types.
            page.fill("#scan-input", city.qr)
            page.press("#scan-input", "Enter")
            page.wait_for_selector("#verdict[data-state=valid]")
            page.screenshot(path=str(folder / f"{lang}-scan-valid-{width}.png"), full_page=True)
            measured[f"scan-valid-{width}"] = page.evaluate(MEASURE)
            context.clear_cookies()  # logged out for the next size's login page
    finally:
        context.close()
    assert not errors
    assert question_marks == {"matrix(-1, 0, 0, 1, 0, 0)" if direction == "rtl" else "none"}

    for key, m in measured.items():
        assert (m["lang"], m["dir"], m["computedDir"]) == (lang, direction, direction), key
        assert m["scrollWidth"] <= m["clientWidth"], f"{key} scrolls sideways"
        # The header starts at the start edge: the right one in Arabic and Persian.
        assert abs(m["brandGap"] - m.get("headerPadding", 16)) <= 1.5, key
        if "navFirstGap" in m:
            assert abs(m["navFirstGap"]) <= 1 and m["navInOrder"], key
        if "iconGap" in m:
            idle = key in ("scan-390", "scan-1366")
            assert m["verdictState"] == ("ready" if idle else "valid"), key
            assert abs(m["iconGap"]) <= 1 and m["titleAfterIcon"], key
        if "labelGap" in m:
            assert abs(m["labelGap"]) <= 1 and abs(m["inputGap"]) <= 1, key
        if "backArrow" in m:  # turned round in right-to-left pages
            assert m["backArrow"] == ("matrix(-1, 0, 0, 1, 0, 0)" if direction == "rtl" else "none")
        for number in m["numbers"]:
            assert number == {
                "direction": "ltr",
                "parentDirection": direction,
                "leftToRight": True,
            }, key
    # Each check above really ran: the nav, the verdict, the form, the card numbers.
    assert "navFirstGap" in measured["residents-search-1366"]
    assert measured["verify-valid-390"]["verdictState"] == "valid"
    assert "labelGap" in measured["residents-form-390"]
    assert measured["scan-1366"]["stageAtStart"] is True
    assert measured["scan-valid-1366"]["stageAtStart"] is True
    assert "backArrow" in measured["place-390"]
    for key in ("residents-search-390", "card-1366", "verify-valid-390", "scan-valid-390"):
        assert measured[key]["numbers"], f"no card number measured on {key}"
    for key in ("place-390", "place-1366"):
        assert measured[key]["numbers"], f"no phone number measured on {key}"
