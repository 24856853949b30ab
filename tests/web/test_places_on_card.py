"""Where the card is accepted, on the receipt and on the card's back (PLACES_ON_CARD), on
SQLite and PostgreSQL: the resident learns of /places from the paper they take home.
With the setting off (the default) neither prints it."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

import pypdfium2
import pytest
from flask.testing import FlaskClient

from citizen_card.config import Settings
from tests.conftest import csrf_token
from tests.web.test_cards_pages import _issue

ADDRESS = "verify.lisboa.example/places"


@pytest.fixture(params=[True, False], ids=["on", "off"])
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    return replace(settings, places_on_card=request.param)


def _back_text(pdf: bytes) -> str:
    with pypdfium2.PdfDocument(pdf) as document:
        return " ".join(str(document[1].get_textpage().get_text_range()).split())


def test_the_receipt_and_the_back_point_to_the_places(
    settings: Settings,
    clerk_client: FlaskClient,
    make_resident: Callable[..., str],
    clerk_headers: dict[str, str],
) -> None:
    public_id = make_resident()
    number, code = _issue(clerk_client, public_id)
    token = csrf_token(clerk_client, f"/cards/{number}")
    page = clerk_client.post(
        f"/cards/{number}/receipt",
        data={"code": code, "receipt_language": "pt", "csrf_token": token},
    ).get_data(as_text=True)
    sheet = re.search(r'<section class="receipt".*?</section>', page, re.S)
    assert sheet
    back = _back_text(clerk_client.get(f"/api/v1/cards/{number}/pdf", headers=clerk_headers).data)
    if settings.places_on_card:
        # In the resident's language on the receipt, in the label languages on the card.
        assert f"Onde o cartão é aceite: {ADDRESS}" in sheet.group(0)
        assert "WHERE THE CARD IS ACCEPTED" in back and ADDRESS in back
    else:
        assert ADDRESS not in sheet.group(0)
        assert ADDRESS not in back and "WHERE THE CARD IS ACCEPTED" not in back
