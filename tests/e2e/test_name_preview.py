"""In a real Chromium, at a phone's width and a desk's: the registration form previews the
name as the card will print it while the clerk types, and a likely duplicate is asked
about without losing the photo."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import pytest

from citizen_card.models import Staff
from tests.conftest import TEST_PASSWORD, photo_bytes
from tests.e2e.conftest import launch_chromium

pytestmark = pytest.mark.browser

VIEWPORTS = [{"width": 390, "height": 844}, {"width": 1366, "height": 768}]


def _log_in(page: Any, live_url: str, clerk: Staff) -> None:
    from playwright.sync_api import expect

    page.goto(f"{live_url}/login")
    page.get_by_label("User name").fill(clerk.username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Find a resident")).to_be_visible()


def _fits(page: Any, selector: str) -> None:
    """The elements end within the viewport's width: none makes the page scroll sideways.
    (This form's photo fieldset is wider than a 390 px phone: the form's layout, not this
    part of it, is being fixed elsewhere.)"""
    overflow = page.evaluate(
        """selector => Array.from(document.querySelectorAll(selector))
            .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 0.5)
            .map((el) => el.tagName + "." + el.className)""",
        selector,
    )
    assert overflow == [], selector


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=lambda v: str(v["width"]))
def test_the_printed_name_is_previewed_while_typing(
    live_url: str,
    make_staff: Callable[..., Staff],
    viewport: dict[str, int],
    tmp_path: Path,
    playwright_sync: Any,
) -> None:
    from playwright.sync_api import expect

    clerk = make_staff("clerk")
    # The session's Playwright: a second sync one cannot start while it runs.
    with nullcontext(playwright_sync) as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport=viewport, locale="en-GB")
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        _log_in(page, live_url, clerk)
        page.goto(f"{live_url}/residents/new")
        printed = page.locator("[data-printed]")
        latin = page.locator("[data-printed-latin]")

        page.get_by_label("Given names").fill("小龙")
        page.get_by_label("Family names").fill("李")
        expect(printed).to_have_text("小龙李")  # given first until told otherwise
        page.get_by_label("Family name, then given name").check()
        expect(printed).to_have_text("李小龙")  # family first, no space in Han
        expect(latin).to_be_hidden()
        page.get_by_label("Latin form of the names").fill("Li  Xiaolong")
        expect(latin).to_be_visible()
        expect(latin).to_have_text("Li Xiaolong")  # spaces collapsed as the server does

        # Hangul and kana join too; Vietnamese, Thai and a mix of scripts keep a space.
        for given, family, shown in [
            ("민준", "김", "김민준"),
            ("ハナコ", "山田", "山田ハナコ"),
            ("Thị Ngọc Ánh", "Trần", "Trần Thị Ngọc Ánh"),
            ("สมชาย", "ใจดี", "ใจดี สมชาย"),
            ("Bruce", "李", "李 Bruce"),
        ]:
            page.get_by_label("Given names").fill(given)
            page.get_by_label("Family names").fill(family)
            expect(printed).to_have_text(shown)
        expect(latin).to_be_visible()  # "李 Bruce" is not all Latin

        # By keyboard alone: the order is a radio group.
        page.get_by_label("Given names").fill("Eszter")
        page.get_by_label("Family names").fill("Nagy")
        expect(latin).to_be_hidden()  # a Latin name prints no Latin line under it
        page.get_by_label("Latin form of the names").fill("")
        expect(printed).to_have_text("Nagy Eszter")
        page.get_by_label("Family name, then given name").focus()
        page.keyboard.press("ArrowUp")
        expect(page.get_by_label("Given name, then family name")).to_be_checked()
        expect(printed).to_have_text("Eszter Nagy")
        page.keyboard.press("ArrowDown")
        expect(printed).to_have_text("Nagy Eszter")
        _fits(page, ".name-order, .name-order *, .name-preview, .name-preview *")
        page.screenshot(
            path=str(tmp_path / f"name-preview-{viewport['width']}.png"), full_page=True
        )

        # What the preview showed is what the record and the card say.
        page.get_by_label("Given names").fill("小龙")
        page.get_by_label("Family names").fill("李")
        page.get_by_label("Latin form of the names").fill("Li Xiaolong")
        expect(printed).to_have_text("李小龙")
        page.get_by_role("button", name="Register").click()
        expect(page.get_by_role("heading", name="李小龙")).to_be_visible()
        # And the search finds it as a Chinese speaker writes it.
        page.get_by_role("link", name="Residents").click()
        page.get_by_label("Name or card number").fill("李小龙")
        page.keyboard.press("Enter")
        expect(page.get_by_role("link", name="李小龙")).to_be_visible()
        _fits(page, "body *")
        assert errors == []
        browser.close()


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=lambda v: str(v["width"]))
def test_a_likely_duplicate_is_asked_about_and_the_photo_kept(
    live_url: str,
    make_staff: Callable[..., Staff],
    viewport: dict[str, int],
    tmp_path: Path,
    playwright_sync: Any,
) -> None:
    from playwright.sync_api import expect

    clerk = make_staff("clerk")
    photo = tmp_path / "portrait.jpg"
    photo.write_bytes(photo_bytes())
    # The session's Playwright: a second sync one cannot start while it runs.
    with nullcontext(playwright_sync) as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport=viewport, locale="en-GB")
        _log_in(page, live_url, clerk)
        for attempt in range(2):
            page.goto(f"{live_url}/residents/new")
            page.get_by_label("Given names").fill("محمد")
            page.get_by_label("Family names").fill("عبد الرحمن")
            page.get_by_label("Latin form of the names").fill("Mohammed Abdelrahman")
            page.get_by_label("Date of birth").fill("1990-05-01")
            page.get_by_label("Or choose a photo file (JPEG or PNG)").set_input_files(str(photo))
            page.get_by_role("button", name="Register", exact=True).click()
            if attempt == 0:
                expect(page.get_by_role("heading", name="محمد عبد الرحمن")).to_be_visible()
        warning = page.get_by_role("alert")
        expect(warning).to_contain_text("This person may be registered already")
        expect(warning).to_be_focused()  # read out first, and the keyboard starts there
        # The look-alike as a search lists it: photo, printed name, card, date.
        expect(warning.get_by_role("link", name="محمد عبد الرحمن")).to_be_visible()
        expect(warning.get_by_text("No card yet")).to_be_visible()
        # Everything typed is still there.
        expect(page.get_by_label("Latin form of the names")).to_have_value("Mohammed Abdelrahman")
        expect(page.get_by_label("Date of birth")).to_have_value("1990-05-01")
        _fits(page, "#look-alikes, #look-alikes *, .form-actions, .form-actions *")
        page.screenshot(path=str(tmp_path / f"duplicate-{viewport['width']}.png"), full_page=True)
        page.get_by_role("button", name="It is another person: register").click()
        expect(page.get_by_text("The resident is registered.")).to_be_visible()
        image = page.get_by_role("img", name="Photo of the resident")
        expect(image).to_be_visible()  # the photo chosen before the question
        browser.close()
