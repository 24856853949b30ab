"""The receipt at the counter in Chromium: the clerk issues a card, prints the receipt in
the resident's language, and the resident's phone opens the download page in it.

The receipt's QR code is read with zxing-cpp from a screenshot of the page, at phone and
desk widths; screenshots are kept in test-artifacts/.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from PIL import Image

from citizen_card.models import Staff
from citizen_card.paths import TRANSLATIONS
from tests.conftest import TEST_PASSWORD
from tests.e2e.conftest import VIEWPORTS
from verify.language import SOURCE, catalogued

pytestmark = pytest.mark.browser

OFFERED = catalogued(TRANSLATIONS, compiled=True)
OTHERS = [code for code in OFFERED if code != SOURCE]


def _scan(png: bytes) -> list[str]:
    image = Image.open(io.BytesIO(png)).convert("L")
    return [
        b.text for b in zxingcpp.read_barcodes(image) if b.format == zxingcpp.BarcodeFormat.QRCode
    ]


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
@pytest.mark.parametrize("code", OTHERS)
def test_the_receipt_speaks_the_residents_language_and_its_qr_opens_the_download_page(
    live_url: str,
    chromium: Any,
    make_staff: Callable[..., Staff],
    make_resident: Callable[..., str],
    artifacts: Path,
    code: str,
    viewport: str,
) -> None:
    from playwright.sync_api import expect

    clerk = make_staff("clerk")
    public_id = make_resident()
    desk = chromium.new_context(viewport=VIEWPORTS[viewport], locale="en-GB")
    # The resident's own phone: another browser, none of the counter's cookies.
    resident = chromium.new_context(viewport=VIEWPORTS["phone"], locale="en-GB")
    try:
        counter = desk.new_page()
        counter.goto(f"{live_url}/login")
        counter.get_by_label("User name").fill(clerk.username)
        counter.get_by_label("Password").fill(TEST_PASSWORD)
        counter.get_by_role("button", name="Log in").click()
        counter.goto(f"{live_url}/residents/{public_id}")
        # The clerk asks the resident before issuing: the receipt comes in their language.
        counter.get_by_label("Language of the receipt").select_option(code)
        counter.get_by_role("button", name="Issue a card").click()
        expect(counter.get_by_role("heading", name="Card issued")).to_be_visible()
        sheet = counter.locator("section.receipt")
        expect(sheet).to_have_attribute("lang", code)
        number = counter.locator(".receipt .card-number").inner_text()

        # Asked again on the receipt page: drawn once more, same card and code.
        counter.get_by_label("Language of the receipt").select_option("en")
        counter.get_by_role("button", name="Show the receipt in this language").click()
        expect(sheet).to_have_attribute("lang", "en")
        counter.get_by_label("Language of the receipt").select_option(code)
        counter.get_by_role("button", name="Show the receipt in this language").click()
        expect(sheet).to_have_attribute("lang", code)
        assert counter.locator(".receipt .card-number").inner_text() == number
        # The card number is printed large: twice the page's text at least.
        size = counter.locator(".receipt .card-number").evaluate(
            "el => parseFloat(getComputedStyle(el).fontSize)"
        )
        assert size >= 32
        # The page around it stays in the clerk's language.
        expect(counter.get_by_role("heading", name="Card issued")).to_be_visible()
        counter.emulate_media(media="print")
        shot = sheet.screenshot(path=str(artifacts / f"receipt-{code}-{viewport}.png"))
        counter.emulate_media(media="screen")
        target = f"{live_url}/my-card?lang={code}"
        assert _scan(shot) == [target]

        # The resident's phone, in another language, opens the address the code holds.
        phone = resident.new_page()
        phone.goto(target)
        assert phone.evaluate("document.documentElement.lang") == code
        expect(phone.get_by_role("heading", level=1)).not_to_have_text("Download your card")
        phone.screenshot(path=str(artifacts / f"my-card-from-receipt-{code}-{viewport}.png"))
    finally:
        desk.close()
        resident.close()
