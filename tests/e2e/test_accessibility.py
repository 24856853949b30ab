"""Every page a resident, a clerk, an admin or anyone can reach, in a real Chromium:
axe-core finds no violation at 390 and 1366 px and nothing scrolls sideways at 320 px;
and a clerk registers a resident by keyboard alone, through a refusal, keeping the photo.

Screenshots of each page at each width go to test-artifacts/ (a11y-*.png, keyboard-*.png).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from citizen_card.models import Staff
from tests.conftest import TEST_PASSWORD, totp_codes
from tests.e2e.accessibility import Findings, install_axe

pytestmark = pytest.mark.browser

FAKE_CAMERA = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    # The browser pages are the same on either database (tests/web covers both); one
    # is enough for what a browser sees, and halves the slowest tests.
    return f"sqlite:///{tmp_path / 'a11y.db'}"


@pytest.fixture
def chromium_camera(chromium_launcher: Callable[[list[str]], Any]) -> Iterator[Any]:
    """Chromium with its fake camera (a test pattern, granted without a prompt)."""
    chromium = chromium_launcher(FAKE_CAMERA)
    yield chromium
    chromium.close()


def _page(browser: Any, live_url: str) -> Any:
    context = browser.new_context(locale="en-GB", viewport={"width": 1366, "height": 768})
    context.grant_permissions(["camera"], origin=live_url)
    install_axe(context)
    page = context.new_page()
    page.set_default_timeout(15000)
    return page


def _log_in(page: Any, live_url: str, staff: Staff) -> None:
    from playwright.sync_api import expect

    page.goto(f"{live_url}/login")
    page.get_by_label("User name").fill(staff.username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    if page.url.endswith("/login/code"):
        for code in totp_codes():
            page.get_by_label("Code").fill(code)
            page.get_by_role("button", name="Log in").click()
            if not page.url.endswith("/login/code"):
                break
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def test_public_pages_pass_axe(
    chromium_camera: Any,
    live_url: str,
    make_place: Callable[..., int],
    client: Any,
    clerk_headers: dict[str, str],
    make_resident: Callable[..., str],
    artifacts: Path,
) -> None:
    from playwright.sync_api import expect

    make_place(name_en="Central Library", ref="central-library", address="Rua Augusta 1")
    resident = make_resident(given_names="ሰላም", family_names="ተስፋይ", latin_name="Selam Tesfay")
    card = client.post(f"/api/v1/residents/{resident}/cards", headers=clerk_headers).json
    findings = Findings(artifacts)
    page = _page(chromium_camera, live_url)
    for path, name in [
        ("/", "start"),
        ("/my-card", "my-card"),
        ("/privacy", "privacy"),
        ("/login", "login"),
        ("/places", "places"),
        ("/places/central-library", "place"),
        ("/places/join", "places-join"),
        ("/v", "verify-landing"),
        ("/scan", "verify-scan"),
    ]:
        page.goto(live_url + path)
        findings.check(page, name)

    # A scanned card's page, its verdict drawn in the browser.
    page.goto(f"{live_url}/v#{card['qr'].split('#', 1)[1]}")
    expect(page.get_by_text("ሰላም ተስፋይ")).to_be_visible()
    findings.check(page, "verify-verdict")

    page.goto(f"{live_url}/my-card")
    page.get_by_label("Card number").fill("0000-0000-0001")
    page.get_by_label("Download code").fill("AAAA-AAAA-AAAA")
    page.get_by_role("button", name="Download the PDF").click()
    expect(page.get_by_role("alert")).to_contain_text("do not open a card")
    findings.check(page, "my-card-refused")

    page.goto(f"{live_url}/login")
    page.get_by_label("User name").fill("nobody")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    findings.check(page, "login-refused")

    page.goto(f"{live_url}/places/join")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("alert")).to_be_visible()
    findings.check(page, "places-join-refused")
    findings.assert_clean()


def test_counter_pages_pass_axe(
    chromium_camera: Any,
    live_url: str,
    make_staff: Callable[..., Staff],
    make_resident: Callable[..., str],
    artifacts: Path,
) -> None:
    from playwright.sync_api import expect

    public_id = make_resident(given_names="अनन्या", family_names="शर्मा", latin_name="Ananya Sharma")
    make_resident(given_names="ሰላም", family_names="ተስፋይ", latin_name="Selam Tesfay")
    findings = Findings(artifacts)
    page = _page(chromium_camera, live_url)
    _log_in(page, live_url, make_staff("clerk"))
    findings.check(page, "residents")
    page.get_by_label("Name").fill("Sharma")
    page.keyboard.press("Enter")
    expect(page.get_by_role("link", name="अनन्या शर्मा")).to_be_visible()
    findings.check(page, "residents-found")

    page.goto(f"{live_url}/residents/{public_id}")
    expect(page.get_by_role("heading", name="अनन्या शर्मा")).to_be_visible()
    findings.check(page, "resident")
    # The name is drawn with the card's own Devanagari font, fetched by its unicode-range.
    loaded = page.evaluate(
        """async () => { await document.fonts.ready;
        return [...document.fonts]
          .filter((f) => f.status === "loaded" && f.family.includes("Card Sans"))
          .map((f) => [f.weight, f.unicodeRange]); }"""
    )
    assert any("U+900-" in ranges for _, ranges in loaded), loaded
    # The Latin text too, in both weights (a weight range on another face hid the 400 one).
    latin = {weight for weight, ranges in loaded if ranges.startswith("U+0, U+D, U+20-7E")}
    assert latin == {"400", "700"}, loaded
    fetched = page.evaluate(
        "() => performance.getEntriesByType('resource').map((e) => e.name.split('/').pop())"
    )
    assert any(name.startswith("devanagari-") for name in fetched), fetched
    # Only the scripts on the page: the language switch names each language in its own
    # script (Arabic, Persian, Chinese, Cyrillic), but nothing here is Ethiopic, Bengali
    # or Hebrew, so those slices stay on the server.
    unused = ("ethiopic-", "bengali-", "hebrew-")
    assert not any(name.startswith(unused) for name in fetched), fetched

    page.goto(f"{live_url}/residents/{public_id}/edit")
    findings.check(page, "resident-edit")
    page.goto(f"{live_url}/residents/new")
    findings.check(page, "register")
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("alert")).to_contain_text("Given names")
    findings.check(page, "register-refused")

    page.goto(f"{live_url}/residents/{public_id}")
    page.get_by_role("button", name="Issue a card").click()
    expect(page.get_by_role("heading", name="Card issued")).to_be_visible()
    findings.check(page, "receipt")
    page.get_by_role("link", name="Open the card").click()
    findings.check(page, "card")
    for path, name in [
        ("/cards/print", "print-batch"),
        ("/residents/recall", "recall"),
        ("/account/password", "password"),
    ]:
        page.goto(live_url + path)
        findings.check(page, name)
    findings.assert_clean()


def test_admin_and_editor_pages_pass_axe(
    chromium_camera: Any,
    live_url: str,
    make_staff: Callable[..., Staff],
    make_place: Callable[..., int],
    artifacts: Path,
) -> None:
    from playwright.sync_api import expect

    place_id = make_place(name_en="Central Library", ref="central-library")
    findings = Findings(artifacts)
    page = _page(chromium_camera, live_url)
    _log_in(page, live_url, make_staff("admin"))
    for path, name in [
        ("/admin/staff", "staff"),
        ("/admin/verifications", "verifications"),
        ("/admin/audit", "audit"),
        ("/admin/searches", "searches"),
        ("/admin/city", "city"),
        ("/manage/places", "manage-places"),
        ("/manage/places/new", "place-new"),
        (f"/manage/places/{place_id}", "place-edit"),
        ("/manage/places/requests", "place-requests"),
        ("/account/second-factor", "second-factor"),
    ]:
        page.goto(live_url + path)
        findings.check(page, name)
    page.goto(f"{live_url}/manage/places/new")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_be_visible()
    findings.check(page, "place-new-refused")
    findings.assert_clean()


def test_a_clerk_registers_by_keyboard_alone_through_a_refusal(
    chromium_camera: Any, live_url: str, make_staff: Callable[..., Staff], artifacts: Path
) -> None:
    """Tab, Enter and typing only: the summary takes the focus, its link leads to the
    field, the camera hands the focus to Take photo once it can take one, and the photo
    taken before the refusal is the one saved."""
    from playwright.sync_api import expect

    clerk = make_staff("clerk")
    page = _page(chromium_camera, live_url)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_url}/login")
    # The login form takes the focus on its own; the rest is typed.
    page.keyboard.type(clerk.username)
    page.keyboard.press("Tab")
    page.keyboard.type(TEST_PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Find a resident")).to_be_visible()
    page.goto(f"{live_url}/residents/new")

    def focused() -> str:
        return str(
            page.evaluate(
                "() => { const e = document.activeElement;"
                " return e.id || e.getAttribute('data-error-summary') !== null && 'summary'"
                " || e.textContent.trim(); }"
            )
        )

    def tab_to(target: str, limit: int = 60) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if focused() == target:
                return
        raise AssertionError(f"Tab never reached {target!r} (at {focused()!r})")

    # An empty form, sent with Enter from the first field.
    tab_to("given_names")
    page.keyboard.press("Enter")
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("The field Given names is required.")
    expect(summary).to_contain_text("The field Family names is required.")
    assert focused() == "summary"
    assert page.title().startswith("Error: ")
    page.screenshot(path=str(artifacts / "keyboard-1-refused.png"), full_page=True)

    # The summary's first link leads to its field.
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert focused() == "given_names"
    page.keyboard.type("Kwame")
    # Family names left empty on purpose: the second refusal must keep the photo.

    tab_to("Use the camera")
    page.keyboard.press("Enter")
    take = page.get_by_role("button", name="Take photo")
    expect(take).to_be_focused()
    expect(take).to_be_enabled()
    expect(page.locator(".photo-status")).to_have_text(
        "The camera is on. Press Take photo when the face is inside the frame."
    )
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Retake")).to_be_focused()
    expect(page.locator(".photo-status")).to_have_text("Photo taken. You can retake it.")
    tab_to("Register")
    page.keyboard.press("Enter")

    expect(page.get_by_role("alert")).to_contain_text("The field Family names is required.")
    assert focused() == "summary"
    kept = page.get_by_role("img", name="The photo you gave, kept for this try")
    expect(kept).to_be_visible()
    assert page.evaluate("el => [el.naturalWidth, el.naturalHeight]", kept.element_handle()) == [
        420,
        540,
    ]
    expect(page.get_by_label("Given names")).to_have_value("Kwame")
    page.screenshot(path=str(artifacts / "keyboard-2-photo-kept.png"), full_page=True)

    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert focused() == "family_names"
    page.keyboard.type("Mensah")
    tab_to("Register")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Kwame Mensah")).to_be_visible()
    photo = page.get_by_role("img", name="Photo of the resident")
    expect(photo).to_be_visible()
    assert page.evaluate("el => [el.naturalWidth, el.naturalHeight]", photo.element_handle()) == [
        420,
        540,
    ]
    page.screenshot(path=str(artifacts / "keyboard-3-registered.png"), full_page=True)


def test_my_card_says_the_download_worked(
    chromium_camera: Any,
    live_url: str,
    client: Any,
    clerk_headers: dict[str, str],
    make_resident: Callable[..., str],
    artifacts: Path,
) -> None:
    """A wrong code, then the right one: the PDF is saved, the red error goes, the page
    says so; the same code again says it was used."""
    from playwright.sync_api import expect

    body = client.post(f"/api/v1/residents/{make_resident()}/cards", headers=clerk_headers).json
    page = _page(chromium_camera, live_url)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_url}/my-card")
    page.get_by_label("Card number").fill(body["card_number"])
    page.get_by_label("Download code").fill("AAAA-AAAA-AAAA")
    page.get_by_role("button", name="Download the PDF").click()
    expect(page.get_by_role("alert")).to_contain_text("do not open a card")
    expect(page.get_by_role("alert")).to_be_focused()

    page.get_by_label("Download code").fill(body["download_code"])
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download the PDF").click()
    download = download_info.value
    assert download.suggested_filename == f"card-{body['card_number'].replace('-', '')}.pdf"
    assert Path(download.path()).read_bytes()[:5] == b"%PDF-"
    done = page.get_by_role("status").filter(has_text="Your card is downloaded")
    expect(done).to_be_visible()
    expect(done).to_be_focused()
    expect(page.get_by_role("alert")).to_have_count(0)
    expect(page.locator("[aria-invalid]")).to_have_count(0)
    page.screenshot(path=str(artifacts / "my-card-downloaded.png"), full_page=True)

    page.get_by_label("Download code").fill(body["download_code"])
    page.get_by_role("button", name="Download the PDF").click()
    expect(page.get_by_role("alert")).to_contain_text("This download code was used already")
    expect(page.get_by_label("Download code")).to_have_attribute("aria-invalid", "true")
    page.get_by_role("link", name="Back to the start page").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("The local citizenship card of")
