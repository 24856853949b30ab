"""Every catalogue present, in a real Chromium: the login page, /my-card, /V with a valid
card and the resident form come out translated, with the html element's lang and dir
right, and no English left on them.

"No English left" is measured against the catalogue itself: any visible text (a text
node, a button's words, a placeholder, an accessible name, the page title) equal to an
English msgid that this catalogue translates differently is an escape: a string that
did not go through gettext, or was rendered before the locale was known (one the
catalogue leaves untranslated is tests/test_translations.py's to report). Msgids with
placeholders match with any value in their place (digits for a number). Screenshots
go to test-artifacts/catalogues/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from babel import Locale
from babel.messages.pofile import read_po

from tests.e2e.live_city import LiveCity, catalogues, live_city, log_in
from verify.page_language import language_tag, text_direction

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LANGUAGES = sorted(lang for lang in catalogues() if lang != "en")

# What a person can read on the page: visible text nodes, and the words in attributes
# that are shown or spoken. Whitespace is collapsed; brackets and list punctuation that
# templates put around a translated word are trimmed.
VISIBLE_TEXT = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    const shown = { checkOpacity: true, visibilityProperty: true };
    if (!parent || !parent.checkVisibility(shown)) continue;
    if (parent.closest("script, style, noscript, template")) continue;
    out.push(node.data);
  }
  for (const el of document.querySelectorAll("[placeholder], [aria-label], [alt], [title]")) {
    if (!el.checkVisibility() && el.tagName !== "VIDEO") continue;
    for (const name of ["placeholder", "aria-label", "alt", "title"]) {
      if (el.hasAttribute(name)) out.push(el.getAttribute(name));
    }
  }
  out.push(...document.title.split(/ [\u00b7\u2013] /));
  return out;
}"""
_TRIM = re.compile(r"^[\s()\[\]·:,*]+|[\s()\[\]·:,*]+$")
_PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\w+\}")
_NUMBER = re.compile(r"%(\(\w+\))?d")  # Python writes these with ASCII digits


def _pattern(shown: str) -> re.Pattern[str]:
    """A msgid as a pattern: a number placeholder takes digits, any other one any text."""
    pieces = []
    for index, part in enumerate(re.split(f"({_PLACEHOLDER.pattern})", shown)):
        if index % 2 == 0:
            pieces.append(re.escape(part))
        else:
            pieces.append(r"-?\d+" if _NUMBER.fullmatch(part) else ".+?")
    return re.compile("".join(pieces))


def visible_texts(page: Any) -> set[str]:
    texts = {_TRIM.sub("", " ".join(text.split())) for text in page.evaluate(VISIBLE_TEXT)}
    return {text for text in texts if text}


def english_escapes(po: Path) -> list[re.Pattern[str]]:
    """Each English msgid that this catalogue translates differently, as a pattern.

    A msgid left untranslated is not counted here: tests/test_translations.py fails on
    it already, by catalogue and msgid.
    """
    with po.open("rb") as file:
        catalogue = read_po(file)
    patterns = []
    for message in catalogue:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for msgid in ids:
            if not any(strings) or msgid in strings:
                continue  # untranslated, or the same word ("Date", "Photo" in French)
            if len(re.findall(r"[A-Za-z]", _PLACEHOLDER.sub("", msgid))) < 4:
                continue  # placeholders with a word or a symbol: nothing English to see
            shown = _TRIM.sub("", " ".join(msgid.split()))  # as visible_texts trims
            patterns.append(_pattern(shown))
    return patterns


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveCity]:
    with live_city(tmp_path_factory.mktemp("catalogues"), ("en", *LANGUAGES)) as served:
        yield served


def test_the_pages_have_something_to_check() -> None:
    """French ships with the tree; without a catalogue the test below would check nothing."""
    assert "fr" in LANGUAGES


@pytest.mark.parametrize("lang", LANGUAGES)
def test_each_catalogue_leaves_no_english_on_the_main_pages(
    city: LiveCity, chromium: Any, artifacts: Path, lang: str
) -> None:
    folder = artifacts / "catalogues"
    folder.mkdir(exist_ok=True)
    patterns = english_escapes(catalogues()[lang])
    assert patterns, f"the {lang} catalogue translates nothing"
    expected = (language_tag(Locale.parse(lang)), text_direction(Locale.parse(lang)))
    context = chromium.new_context(locale=lang, viewport={"width": 390, "height": 844})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    seen: dict[str, set[str]] = {}
    looks: dict[str, tuple[str, str]] = {}
    try:
        for name, address, ready in (
            ("login", "/login", "#username"),
            ("my-card", "/my-card", "#card_number"),
            ("verify-valid", city.verify_url.removeprefix(city.url), "#verdict[data-state=valid]"),
        ):
            page.goto(f"{city.url}{address}")
            page.wait_for_selector(ready)
            seen[name] = visible_texts(page)
            looks[name] = page.evaluate("[document.documentElement.lang, document.dir]")
            page.screenshot(path=str(folder / f"{lang}-{name}.png"), full_page=True)
        log_in(page, city, lang)
        page.goto(f"{city.url}/residents/new")
        page.wait_for_selector("#given_names")
        seen["residents-form"] = visible_texts(page)
        looks["residents-form"] = page.evaluate("[document.documentElement.lang, document.dir]")
        page.screenshot(path=str(folder / f"{lang}-residents-form.png"), full_page=True)
    finally:
        context.close()
    assert not errors
    assert looks == {name: list(expected) for name in seen}
    escapes = {name: sorted(_matches(texts, patterns)) for name, texts in seen.items()}
    assert escapes == {name: [] for name in seen}, f"English left on the {lang} pages"


def _matches(texts: set[str], patterns: list[re.Pattern[str]]) -> set[str]:
    return {text for text in texts for pattern in patterns if pattern.fullmatch(text)}


def test_the_check_finds_english_where_there_is_some(city: LiveCity, chromium: Any) -> None:
    """The English login page, judged against French: the words a French page must not
    show are found, brackets, placeholders and the title included."""
    patterns = english_escapes(catalogues()["fr"])
    context = chromium.new_context(locale="en", viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        log_in(page, city)
        page.goto(f"{city.url}/residents/new")
        page.wait_for_selector("#given_names")
        found = _matches(visible_texts(page), patterns)
    finally:
        context.close()
    # A label, a hint with "(required)" beside it, a button, the nav, the title.
    assert {"Given names", "required", "Register", "Residents", "Local citizenship card"} <= found
