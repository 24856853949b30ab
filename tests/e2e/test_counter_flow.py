"""The counter flow in a real Chromium, counted: register, photo, issue, print and hand
over in at most 6 clicks over 3 pages; the page shows "Mark as handed over" by itself
after printing; the card actions ask first, and work from the keyboard. At 390 x 844 and
1366 x 768, with screenshots in test-artifacts/.

Clicks are counted in the pages themselves: a capturing listener in every document
reports each pointer click (a click event with ``detail`` > 0; a key press on a button
gives 0) to the test. Typing, Tab and Space are the keyboard's, not clicks.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import pytest

from citizen_card.models import Staff
from tests.conftest import TEST_PASSWORD
from tests.e2e.conftest import VIEWPORTS, launch_chromium

pytestmark = pytest.mark.browser

# The machine running the suite is shared: give pages time under load.
EXPECT_TIMEOUT_MS = 20_000
MAX_CLICKS = 6
MAX_PAGES = 3
COUNT_CLICKS = """
document.addEventListener("click", (event) => {
  if (event.isTrusted && event.detail > 0) {
    const target = event.target.closest("button, a, input, label, select") || event.target;
    window.countClick((target.textContent || target.value || target.tagName).trim());
  }
}, true);
"""


def _log_in(page: Any, live_url: str, staff: Staff) -> None:
    page.goto(f"{live_url}/login")
    page.get_by_label("User name").fill(staff.username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/login" not in url)


@pytest.mark.parametrize("viewport", ["phone", "desk"])
def test_register_to_hand_over_in_six_clicks_over_three_pages(
    live_url: str,
    make_staff: Callable[..., Staff],
    artifacts: Path,
    viewport: str,
    playwright_sync: Any,
) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)

    clerk = make_staff("clerk")
    size = VIEWPORTS[viewport]
    with nullcontext(playwright_sync) as playwright:
        browser = launch_chromium(
            playwright, ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
        )
        context = browser.new_context(viewport=size, locale="en-GB")
        context.grant_permissions(["camera"], origin=live_url)
        page = context.new_page()
        _log_in(page, live_url, clerk)

        clicks: list[str] = []
        pages: list[str] = []

        def count_click(label: str) -> None:
            clicks.append(label)

        context.expose_function("countClick", count_click)
        context.add_init_script(COUNT_CLICKS)
        page.on(
            "framenavigated",
            lambda frame: pages.append(frame.url) if frame == page.main_frame else None,
        )

        # Page 1: the form, typed; the proof boxes ticked with the space bar.
        page.get_by_role("link", name="Register", exact=True).press("Enter")
        page.wait_for_url("**/residents/new")
        page.get_by_label("Given names").fill("Kwame")
        page.get_by_label("Family names").fill("Mensah")
        page.get_by_label("Proof of identity").press("Space")
        page.get_by_label("Proof of residence").press("Space")
        page.get_by_role("button", name="Use the camera").click()  # 1
        take = page.get_by_role("button", name="Take photo")
        expect(take).to_be_enabled()
        take.click()  # 2
        expect(page.get_by_text("Photo taken. You can retake it.")).to_be_visible()
        page.get_by_role("button", name="Register").click()  # 3

        # Page 2: the resident.
        expect(page.get_by_role("heading", name="Kwame Mensah")).to_be_visible()
        page.get_by_role("button", name="Issue a card").click()  # 4

        # Page 3: the receipt, with the card's actions.
        expect(page.get_by_role("heading", name="Card issued")).to_be_visible()
        hand_over = page.get_by_role("button", name="Mark as handed over")
        expect(hand_over).to_be_hidden()
        page.evaluate("window.__samePage = true")
        with context.expect_page() as pdf_tab:
            page.get_by_role("button", name="Print the card").click()  # 5
        pdf_tab.value.close()
        # No reload: the page asked the server, and shows the button once printed.
        expect(hand_over).to_be_visible()
        expect(hand_over).to_be_focused()
        assert page.evaluate("window.__samePage") is True
        page.screenshot(
            path=str(artifacts / f"counter-receipt-printed-{viewport}.png"), full_page=True
        )
        pages_before_the_last_click = len(pages)
        hand_over.click()  # 6
        expect(page.get_by_text("The card is marked as handed over.")).to_be_visible()

        assert len(clicks) <= MAX_CLICKS, clicks
        assert len(clicks) == 6, clicks
        # The form, the resident, the receipt; the sixth click lands on the card page.
        assert pages_before_the_last_click == MAX_PAGES, pages
        no_scroll = page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
        assert no_scroll, "the card page scrolls sideways"
        page.screenshot(path=str(artifacts / f"counter-handed-over-{viewport}.png"), full_page=True)
        (artifacts / f"counter-clicks-{viewport}.txt").write_text(
            f"{len(clicks)} clicks over {pages_before_the_last_click} pages: {clicks}\n"
        )
        browser.close()


def _issue_card(live_url: str, page: Any, make_resident: Callable[..., str]) -> str:
    public_id = make_resident(given_names="Selam", family_names="Tesfay")
    page.goto(f"{live_url}/residents/{public_id}")
    page.get_by_role("button", name="Issue a card").press("Enter")
    number = page.locator(".receipt code.card-number").inner_text()
    return number


@pytest.mark.parametrize("viewport", ["phone", "desk"])
def test_revoking_asks_first_and_works_by_keyboard_alone(
    live_url: str,
    make_staff: Callable[..., Staff],
    make_resident: Callable[..., str],
    artifacts: Path,
    viewport: str,
    playwright_sync: Any,
) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)

    clerk = make_staff("clerk")
    with nullcontext(playwright_sync) as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport=VIEWPORTS[viewport], locale="en-GB")
        _log_in(page, live_url, clerk)
        number = _issue_card(live_url, page, make_resident)
        page.goto(f"{live_url}/cards/{number}")
        expect(page.get_by_role("heading", name=f"Actions for card {number}")).to_be_visible()

        # Tab to "Revoke…" and open it with Enter: no mouse from here on.
        link = page.get_by_role("link", name="Revoke…")
        for _ in range(60):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.textContent.trim()") == "Revoke…":
                break
        expect(link).to_be_focused()
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="Revoke this card?")).to_be_visible()
        details = page.locator(".confirm-details")
        expect(details).to_contain_text("Selam Tesfay")
        expect(details).to_contain_text(number)
        expect(details).to_contain_text("active")
        expect(page.get_by_label("Reason")).to_have_value("")

        # Sent without a reason: the error summary takes the focus and links the field.
        page.get_by_role("button", name="Yes, revoke the card").focus()
        page.keyboard.press("Enter")
        summary = page.locator(".error-summary")
        expect(summary).to_be_visible()
        expect(summary).to_be_focused()
        page.screenshot(path=str(artifacts / f"card-revoke-error-{viewport}.png"), full_page=True)
        page.keyboard.press("Tab")  # the summary's link to the field
        page.keyboard.press("Enter")
        expect(page.get_by_label("Reason")).to_be_focused()
        expect(page.get_by_label("Reason")).to_have_attribute("aria-invalid", "true")
        page.get_by_label("Reason").select_option("deceased")  # a keyboard choice in a select
        page.keyboard.press("Tab")
        expect(page.get_by_role("button", name="Yes, revoke the card")).to_be_focused()
        page.keyboard.press("Enter")
        expect(page.get_by_text("The card is revoked.")).to_be_visible()
        expect(page.locator(".card-state")).to_contain_text("revoked (Deceased)")
        no_scroll = page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
        assert no_scroll
        browser.close()


@pytest.mark.parametrize("viewport", ["phone", "desk"])
def test_a_renewal_waits_for_the_hand_over_in_the_browser(
    live_url: str,
    make_staff: Callable[..., Staff],
    make_resident: Callable[..., str],
    artifacts: Path,
    viewport: str,
    playwright_sync: Any,
) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)

    clerk = make_staff("clerk")
    with nullcontext(playwright_sync) as playwright:
        browser = launch_chromium(playwright)
        context = browser.new_context(viewport=VIEWPORTS[viewport], locale="en-GB")
        page = context.new_page()
        _log_in(page, live_url, clerk)
        old = _issue_card(live_url, page, make_resident)
        page.goto(f"{live_url}/cards/{old}")
        page.get_by_role("link", name="Renew…").click()
        expect(page.get_by_role("heading", name="Renew this card?")).to_be_visible()
        expect(
            page.get_by_text("This card keeps working until the new one is handed over")
        ).to_be_visible()
        page.screenshot(path=str(artifacts / f"card-renew-confirm-{viewport}.png"), full_page=True)
        page.get_by_role("button", name="Yes, renew the card").click()
        expect(page.get_by_text(f"This new card replaces card {old}")).to_be_visible()
        with context.expect_page() as pdf_tab:
            page.get_by_role("button", name="Print the card").click()
        pdf_tab.value.close()
        page.get_by_role("button", name="Mark as handed over").click()
        expect(page.get_by_text("The card is marked as handed over.")).to_be_visible()
        page.goto(f"{live_url}/cards/{old}")
        expect(page.locator(".card-state")).to_contain_text("revoked (Replaced by the new card)")
        browser.close()


@pytest.mark.parametrize("viewport", ["phone", "desk"])
def test_admin_pages_for_keys_and_settings_fit_the_screen(
    live_url: str,
    make_staff: Callable[..., Staff],
    artifacts: Path,
    viewport: str,
    playwright_sync: Any,
) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)

    from tests.conftest import totp_codes

    admin = make_staff("admin")
    with nullcontext(playwright_sync) as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport=VIEWPORTS[viewport], locale="en-GB")
        page.goto(f"{live_url}/login")
        page.get_by_label("User name").fill(admin.username)
        page.get_by_label("Password").fill(TEST_PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url("**/login/code")
        page.get_by_label("Code").fill(totp_codes()[0])
        page.keyboard.press("Enter")
        page.wait_for_url(lambda url: "/login" not in url)
        for link, heading, name in (
            ("Keys", "Signing keys", "admin-keys"),
            ("Settings", "Settings", "admin-settings"),
            ("Card design", "Card design", "admin-card-design"),
            ("Audit log", "Audit log", "admin-audit"),
        ):
            page.get_by_role("navigation", name="Main").get_by_role(
                "link", name=link, exact=True
            ).click()
            expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
            page.wait_for_load_state("load")
            no_scroll = page.evaluate(
                "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
            )
            page.screenshot(path=str(artifacts / f"{name}-{viewport}.png"), full_page=True)
            wide = page.evaluate(
                "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect()"
                ".right > document.documentElement.clientWidth + 1).map(e => e.tagName + '.' +"
                " e.className + '#' + e.id + ':' + e.getBoundingClientRect().right).slice(0, 8)"
            )
            assert no_scroll, f"{name} scrolls sideways at {viewport}: {wide}"
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Keys").click()
        page.get_by_role("link", name="Revoke…").first.click()
        expect(page.get_by_text("0 cards signed with this key will be recalled.")).to_be_visible()
        page.screenshot(path=str(artifacts / f"admin-key-revoke-{viewport}.png"), full_page=True)
        browser.close()


@pytest.mark.parametrize("viewport", ["phone", "desk"])
def test_the_a4_batch_page_names_the_cards(
    live_url: str,
    make_staff: Callable[..., Staff],
    make_resident: Callable[..., str],
    artifacts: Path,
    viewport: str,
    playwright_sync: Any,
) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    clerk = make_staff("clerk")
    with nullcontext(playwright_sync) as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport=VIEWPORTS[viewport], locale="en-GB")
        _log_in(page, live_url, clerk)
        number = _issue_card(live_url, page, make_resident)
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Print on A4").click()
        row = page.get_by_role("row").filter(has_text=number)
        expect(row).to_contain_text("Selam Tesfay")
        # The checkbox is labelled by the card number: tick it off and on by keyboard.
        box = page.get_by_label(number)
        expect(box).to_be_checked()
        box.press("Space")
        expect(box).not_to_be_checked()
        box.press("Space")
        no_scroll = page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
        page.screenshot(path=str(artifacts / f"cards-batch-{viewport}.png"), full_page=True)
        assert no_scroll
        browser.close()
