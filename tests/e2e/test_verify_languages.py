"""The verify pages in each language a verifier used, online and offline, in Chromium.

The stand-alone verifier (create_verifier_app) follows the browser's language and the
switch; its service worker keeps each language's page it was shown, and offline opens
the one asked for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from verdict_page import read_verdict, wait_for_offline_ready

from citizen_card.paths import TRANSLATIONS
from verify.language import SOURCE, catalogued

ServedCity = Any
pytestmark = pytest.mark.browser

OTHERS = [code for code in catalogued(TRANSLATIONS, compiled=True) if code != SOURCE]


def _lang(page: Any) -> str:
    return str(page.evaluate("document.documentElement.lang"))


def _saved_languages(page: Any, path: str) -> set[str]:
    """The languages of ``path`` in the worker's cache."""
    keys = page.evaluate(
        """async (path) => {
            const found = [];
            for (const name of await caches.keys()) {
                for (const request of await (await caches.open(name)).keys()) {
                    const url = new URL(request.url);
                    if (url.pathname === path) found.push(url.searchParams.get("lang"));
                }
            }
            return found;
        }""",
        path,
    )
    return set(keys)


@pytest.mark.parametrize("code", OTHERS)
def test_each_language_used_is_kept_for_offline_use(
    served_city: ServedCity, chromium: Any, artifacts: Path, code: str
) -> None:
    context = chromium.new_context(locale=code, viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        token = served_city.token()
        page.goto(f"{served_city.url}/V#{token}")
        assert read_verdict(page)["state"] == "valid"
        assert _lang(page) == code  # the browser's language
        wait_for_offline_ready(page)
        assert _saved_languages(page, "/V") == {code}

        # The switch: a plain link; the page comes in English and is kept as well.
        page.locator(".language-switch summary").click()  # the switch opens on demand
        page.get_by_role("link", name="English").click()
        page.wait_for_load_state()
        assert _lang(page) == "en"
        page.wait_for_function(
            """async () => {
                for (const name of await caches.keys()) {
                    if (await (await caches.open(name)).match("/V?lang=en")) return true;
                }
                return false;
            }""",
            polling=100,
        )
        assert _saved_languages(page, "/V") == {code, "en"}

        # Network off and the server gone: only the worker answers.
        context.set_offline(True)
        served_city.stop()
        for asked in (code, "en"):
            page.goto("about:blank")
            page.goto(f"{served_city.url}/V?lang={asked}#{token}")
            assert read_verdict(page)["state"] == "valid"
            assert _lang(page) == asked
            page.screenshot(path=str(artifacts / f"verify-offline-{code}-asked-{asked}.png"))
        # Without ?lang=: the language the server chose last (the switch's, English).
        page.goto("about:blank")
        page.goto(f"{served_city.url}/V#{token}")
        assert read_verdict(page)["state"] == "valid"
        assert _lang(page) == "en"
        # A language never shown here: the nearest saved copy rather than no page.
        page.goto("about:blank")
        page.goto(f"{served_city.url}/scan?lang=en")
        assert _lang(page) in (code, "en")
        assert page.get_by_role("heading", level=1).is_visible()
    finally:
        context.close()
