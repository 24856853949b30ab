"""Where staff and the city choose languages, in Chromium at phone and desk widths, by
keyboard: a clerk's own language on the account page, the city's default and label
languages on the card design page."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from citizen_card.models import Staff
from citizen_card.paths import TRANSLATIONS
from tests.conftest import TEST_PASSWORD, totp_codes
from tests.e2e.conftest import VIEWPORTS
from verify.language import NATIVE_NAMES, SOURCE, catalogued

pytestmark = pytest.mark.browser

OTHERS = [code for code in catalogued(TRANSLATIONS, compiled=True) if code != SOURCE]


def _log_in(page: Any, url: str, staff: Staff) -> None:
    page.goto(f"{url}/login")
    page.get_by_label("User name").fill(staff.username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()
    if page.url.endswith("/login/code"):
        page.get_by_label("Code").fill(totp_codes()[0])
        with page.expect_navigation():
            page.keyboard.press("Enter")


def _no_sideways_scroll(page: Any, scope: str = "body") -> None:
    wide = page.evaluate(
        """(scope) => [...document.querySelectorAll(scope + " *")]
            .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1)
            .map((el) => el.tagName + "#" + el.id + "." + el.className + ":"
                 + Math.round(el.getBoundingClientRect().right) + "/" + el.scrollWidth)""",
        scope,
    )
    assert not wide, "\n".join(wide)


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
def test_a_clerk_chooses_the_language_of_the_staff_pages(
    live_url: str,
    chromium: Any,
    make_staff: Callable[..., Staff],
    artifacts: Path,
    viewport: str,
) -> None:
    from playwright.sync_api import expect

    code = OTHERS[0]
    clerk = make_staff("clerk")
    context = chromium.new_context(viewport=VIEWPORTS[viewport], locale="en-GB")
    try:
        page = context.new_page()
        _log_in(page, live_url, clerk)
        page.goto(f"{live_url}/account/password")
        expect(page.get_by_role("heading", name="Language of the staff pages")).to_be_visible()
        _no_sideways_scroll(page)
        page.get_by_label("Language", exact=True).last.focus()
        page.get_by_label("Language", exact=True).last.select_option(code)
        page.keyboard.press("Tab")
        with page.expect_navigation():
            page.keyboard.press("Enter")  # "Save the language", by keyboard
        assert page.evaluate("document.documentElement.lang") == code
        expect(page.locator(".message-success")).to_be_visible()  # said in the new language
        assert "saved" not in page.locator(".message-success").inner_text()
        page.screenshot(path=str(artifacts / f"account-language-{code}-{viewport}.png"))
        # Every staff page follows, whatever the browser says.
        page.goto(f"{live_url}/residents/")
        assert page.evaluate("document.documentElement.lang") == code
        expect(page.get_by_role("heading", level=1)).not_to_have_text("Find a resident")
    finally:
        context.close()


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
def test_an_admin_chooses_the_city_default_and_the_label_languages(
    live_url: str,
    chromium: Any,
    make_staff: Callable[..., Staff],
    artifacts: Path,
    viewport: str,
) -> None:
    from playwright.sync_api import expect

    admin = make_staff("admin")
    context = chromium.new_context(viewport=VIEWPORTS[viewport], locale="en-GB")
    try:
        page = context.new_page()
        _log_in(page, live_url, admin)
        page.goto(f"{live_url}/admin/city")
        # The languages' fieldset (the file input above it is another story, issue 12).
        _no_sideways_scroll(page, "fieldset.languages")
        page.get_by_label("Language of the card's labels").select_option("pt")
        page.get_by_label("Second label language (optional)").select_option("en")
        page.get_by_label("Return address").fill("Câmara Municipal de Lisboa")
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_text("The card design is saved.")).to_be_visible()
        expect(page.get_by_label("Language of the card's labels")).to_have_value("pt")
        expect(page.get_by_label("Second label language (optional)")).to_have_value("en")
        # Each language is listed under its own name, in its own language.
        options = page.get_by_label("Language of the card's labels").locator("option")
        assert NATIVE_NAMES["ar"] in options.all_inner_texts()
        back = page.get_by_role("img", name="Back of a sample card")
        back.scroll_into_view_if_needed()
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=back.element_handle()
        )
        page.screenshot(path=str(artifacts / f"city-languages-{viewport}.png"), full_page=True)
    finally:
        context.close()
