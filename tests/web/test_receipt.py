"""The receipt in the resident's language, with the card number large and a QR code to
/my-card?lang=xx, on SQLite and PostgreSQL. The QR code the page draws is rasterised
from its SVG path and read back with zxing-cpp."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import zxingcpp
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image, ImageDraw
from sqlalchemy import select

from citizen_card.extensions import db
from citizen_card.models import AuditEvent, Card
from citizen_card.paths import TRANSLATIONS
from tests.conftest import csrf_token
from tests.web.test_cards_pages import _issue
from verify.language import SOURCE, catalogued, direction

OFFERED = catalogued(TRANSLATIONS, compiled=True)


def read_svg_qr(page: str, scale: int = 6) -> str:
    """Draw the receipt's SVG symbol (a path of unit-high row runs) and scan it."""
    side = int(re.search(r'class="receipt-qr" viewBox="0 0 (\d+) \1"', page).group(1))  # type: ignore[union-attr]
    path = re.search(r'<path d="([^"]+)" fill="#000"/>', page).group(1)  # type: ignore[union-attr]
    image = Image.new("L", (side * scale, side * scale), 255)
    draw = ImageDraw.Draw(image)
    for x, y, length in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\3z", path):
        x0, y0 = int(x) * scale, int(y) * scale
        draw.rectangle((x0, y0, x0 + int(length) * scale - 1, y0 + scale - 1), fill=0)
    codes = [b for b in zxingcpp.read_barcodes(image) if b.format == zxingcpp.BarcodeFormat.QRCode]
    assert len(codes) == 1
    return codes[0].text


def _sheet(page: str) -> str:
    match = re.search(r'<section class="receipt".*?</section>', page, re.S)
    assert match
    return match.group(0)


def test_the_receipt_is_in_the_city_language_until_the_resident_chooses(
    app: Flask, clerk_client: FlaskClient, make_resident: Callable[..., str]
) -> None:
    public_id = make_resident()
    number, code = _issue(clerk_client, public_id)
    token = csrf_token(clerk_client, f"/cards/{number}")
    with app.app_context():
        events = len(db.session.scalars(select(AuditEvent)).all())
    for language in OFFERED:
        response = clerk_client.post(
            f"/cards/{number}/receipt",
            data={"code": code, "receipt_language": language, "csrf_token": token},
        )
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        sheet = _sheet(page)
        assert f'lang="{language}" dir="{direction(language)}"' in sheet
        assert read_svg_qr(page) == f"http://localhost/my-card?lang={language}"
        assert f"http://localhost/my-card?lang={language}" in sheet
        # The card number large, the code as printed, both kept left to right.
        assert re.search(
            rf'class="receipt-card-number"><code dir="ltr" class="card-number">{number}<', sheet
        )
        assert f'class="secret download-code">{code}<' in sheet
        if language != SOURCE:
            assert "Local citizenship card" not in sheet  # translated
        # The clerk's page around it stays in the clerk's language.
        assert "Language of the receipt" in page
        assert re.search(rf'<option value="{language}" lang="{language}" selected>', page)
    with app.app_context():
        # The language went on paper only: no event, no column says it.
        assert len(db.session.scalars(select(AuditEvent)).all()) == events
        card = db.session.scalars(select(Card).where(Card.number == number.replace("-", ""))).one()
        assert not any(value in OFFERED for value in vars(card).values() if isinstance(value, str))


@pytest.mark.parametrize("wrong", ["", "AAAA-AAAA-AAAA", "used"])
def test_the_receipt_is_drawn_again_only_with_its_own_unused_code(
    app: Flask,
    clerk_client: FlaskClient,
    make_resident: Callable[..., str],
    wrong: str,
) -> None:
    public_id = make_resident()
    number, code = _issue(clerk_client, public_id)
    if wrong == "used":
        downloaded = clerk_client.post(
            "/my-card",
            data={
                "card_number": number,
                "code": code,
                "csrf_token": csrf_token(clerk_client, "/my-card"),
            },
        )
        assert downloaded.mimetype == "application/pdf"
        wrong = code
    token = csrf_token(clerk_client, f"/cards/{number}")
    response = clerk_client.post(
        f"/cards/{number}/receipt",
        data={"code": wrong, "receipt_language": OFFERED[-1], "csrf_token": token},
    )
    assert response.status_code == 400
    assert "receipt-qr" not in response.get_data(as_text=True)


def test_an_unknown_receipt_language_falls_back_to_the_city_language(
    clerk_client: FlaskClient, make_resident: Callable[..., str]
) -> None:
    number, code = _issue(clerk_client, make_resident())
    token = csrf_token(clerk_client, f"/cards/{number}")
    page = clerk_client.post(
        f"/cards/{number}/receipt",
        data={"code": code, "receipt_language": "tlh", "csrf_token": token},
    ).get_data(as_text=True)
    assert read_svg_qr(page) == "http://localhost/my-card?lang=en"


def test_the_language_asked_when_issuing_prints_the_first_receipt(
    clerk_client: FlaskClient, make_resident: Callable[..., str]
) -> None:
    public_id = make_resident()
    form = clerk_client.get(f"/residents/{public_id}").get_data(as_text=True)
    assert 'name="receipt_language"' in form
    language = OFFERED[-1]
    response = clerk_client.post(
        f"/residents/{public_id}/cards",
        data={
            "receipt_language": language,
            "csrf_token": csrf_token(clerk_client, f"/residents/{public_id}"),
        },
    )
    assert response.status_code == 201
    page = response.get_data(as_text=True)
    assert f'lang="{language}"' in _sheet(page)
    assert read_svg_qr(page) == f"http://localhost/my-card?lang={language}"
