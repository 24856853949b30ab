"""A clerk at the counter, in a real Chromium: log in, register a resident with a photo."""

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


def test_clerk_registers_a_resident_with_a_photo_file(
    live_url: str, make_staff: Callable[..., Staff], tmp_path: Path, playwright_sync: Any
) -> None:
    from playwright.sync_api import expect

    clerk = make_staff("clerk")
    photo = tmp_path / "portrait.jpg"
    photo.write_bytes(photo_bytes())
    # The session's Playwright: a second sync one cannot start while it runs.
    with nullcontext(playwright_sync) as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": 390, "height": 844}, locale="en-GB")
        page.goto(f"{live_url}/login")
        page.get_by_label("User name").fill(clerk.username)
        page.get_by_label("Password").fill(TEST_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", name="Find a resident")).to_be_visible()

        page.get_by_role("link", name="Register a resident").click()
        page.get_by_label("Given names").fill("Selam")
        page.get_by_label("Family names").fill("Tesfay")
        page.get_by_label("Proof of identity").check()
        page.get_by_label("Proof of residence").check()
        page.get_by_label("Or choose a photo file (JPEG or PNG)").set_input_files(str(photo))
        page.get_by_role("button", name="Register").click()

        expect(page.get_by_role("heading", name="Selam Tesfay")).to_be_visible()
        expect(page.get_by_text("The resident is registered.")).to_be_visible()
        image = page.get_by_role("img", name="Photo of the resident")
        expect(image).to_be_visible()
        # The browser really decoded the stored photo: a 35:45 picture.
        width, height = page.evaluate(
            "el => [el.naturalWidth, el.naturalHeight]", image.element_handle()
        )
        assert (width, height) == (420, 540)

        page.get_by_role("link", name="Residents").click()
        page.get_by_label("Name").fill("tesfay selam")
        page.keyboard.press("Enter")
        expect(page.get_by_role("link", name="Selam Tesfay")).to_be_visible()
        browser.close()


def test_an_error_keeps_the_form_and_is_announced(
    live_url: str, make_staff: Callable[..., Staff], playwright_sync: Any
) -> None:
    from playwright.sync_api import expect

    clerk = make_staff("clerk")
    # The session's Playwright: a second sync one cannot start while it runs.
    with nullcontext(playwright_sync) as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(locale="en-GB")
        page.goto(f"{live_url}/login")
        page.get_by_label("User name").fill(clerk.username)
        page.get_by_label("Password").fill(TEST_PASSWORD)
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="Find a resident")).to_be_visible()
        page.goto(f"{live_url}/residents/new")
        page.get_by_label("Given names").fill("Олена")
        page.get_by_label("Family names").fill("Коваленко")
        page.get_by_role("button", name="Register").click()
        expect(page.get_by_role("alert")).to_contain_text("Latin form")
        expect(page.get_by_label("Given names")).to_have_value("Олена")
        expect(page.get_by_label("Latin form of the names")).to_have_attribute(
            "aria-invalid", "true"
        )
        browser.close()


def test_clerk_takes_the_photo_with_the_webcam(
    live_url: str, make_staff: Callable[..., Staff], playwright_sync: Any
) -> None:
    from playwright.sync_api import expect

    clerk = make_staff("clerk")
    # The session's Playwright: a second sync one cannot start while it runs.
    with nullcontext(playwright_sync) as playwright:
        # Chromium's fake camera: a moving test pattern, granted without a prompt.
        browser = launch_chromium(
            playwright, ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
        )
        context = browser.new_context(locale="en-GB")
        context.grant_permissions(["camera"], origin=live_url)
        page = context.new_page()
        page.goto(f"{live_url}/login")
        page.get_by_label("User name").fill(clerk.username)
        page.get_by_label("Password").fill(TEST_PASSWORD)
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="Find a resident")).to_be_visible()
        page.goto(f"{live_url}/residents/new")
        page.get_by_label("Given names").fill("Kwame")
        page.get_by_label("Family names").fill("Mensah")
        page.get_by_role("button", name="Use the camera").click()
        take = page.get_by_role("button", name="Take photo")
        expect(take).to_be_visible()
        # The button waits for the camera's first frame.
        expect(take).to_be_enabled()
        take.click()
        expect(page.get_by_role("button", name="Retake")).to_be_visible()
        expect(page.get_by_text("Photo taken. You can retake it.")).to_be_visible()
        # The retake button reopens the camera; take it again, as a clerk would.
        page.get_by_role("button", name="Retake").click()
        expect(page.get_by_role("button", name="Take photo")).to_be_enabled()
        page.get_by_role("button", name="Take photo").click()
        # The status is announced once the frame is in the form's file input.
        expect(page.get_by_text("Photo taken. You can retake it.")).to_be_visible()
        page.get_by_role("button", name="Register").click()
        expect(page.get_by_role("heading", name="Kwame Mensah")).to_be_visible()
        image = page.get_by_role("img", name="Photo of the resident")
        expect(image).to_be_visible()
        size = page.evaluate("el => [el.naturalWidth, el.naturalHeight]", image.element_handle())
        assert size == [420, 540]
        browser.close()
