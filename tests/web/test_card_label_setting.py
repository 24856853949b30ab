"""The label languages an admin chooses are the ones the printed card speaks (both
databases): the city's setting, through the API's PDF, read back from the PDF's text."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pypdfium2
import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale
from flask_babel import gettext as _

from citizen_card.card.back import readable_date
from citizen_card.models import Staff
from citizen_card.paths import TRANSLATIONS
from citizen_card.services.city import turkish_for_upper_case
from tests.conftest import csrf_token, login
from verify.language import SOURCE, catalogued, direction

OTHERS = [code for code in catalogued(TRANSLATIONS, compiled=True) if code != SOURCE]


def _text(pdf: bytes, index: int) -> str:
    with pypdfium2.PdfDocument(pdf) as document:
        return str(document[index].get_textpage().get_text_range()).replace("\r\n", " ")


@pytest.mark.parametrize("code", OTHERS)
def test_the_card_prints_the_label_languages_the_city_chose(
    app: Flask,
    client: FlaskClient,
    make_staff: Callable[..., Staff],
    make_resident: Callable[..., str],
    clerk_headers: dict[str, str],
    code: str,
) -> None:
    public_id = make_resident()
    issued = client.post(f"/api/v1/residents/{public_id}/cards", headers=clerk_headers).json
    assert issued is not None
    number = issued["card_number"]
    expires = date.fromisoformat(issued["expires_at"][:10])

    default = _text(client.get(f"/api/v1/cards/{number}/pdf", headers=clerk_headers).data, 1)
    assert "Local citizenship card of Lisboa" in default
    assert "This card does not show nationality or immigration status." in default

    login(client, make_staff("admin"))
    saved = client.post(
        "/admin/city",
        data={
            "label_language_first": code,
            "label_language_second": "en",
            "return_address": "Câmara Municipal, Praça do Município",
            "csrf_token": csrf_token(client, "/admin/city"),
        },
    )
    assert saved.status_code == 302
    pdf = client.get(f"/api/v1/cards/{number}/pdf", headers=clerk_headers).data
    front, back = _text(pdf, 0), _text(pdf, 1)
    with app.test_request_context(), force_locale(code):
        what = str(_("Local citizenship card of %(city)s", city="Lisboa"))
        found = str(_("If found, please return to"))
    assert what != "Local citizenship card of Lisboa"
    assert "Local citizenship card of Lisboa" in back
    if direction(code) == "rtl":
        # The PDF holds right-to-left lines as shaped glyphs in visual order, so its text
        # layer lists the words last to first (tests/card/test_card_languages.py checks
        # the shaping and the alignment): every word is there.
        assert set(what.split()) <= set(back.split())
    else:
        assert what in back
        if code == "tr":
            found = turkish_for_upper_case(found)
        assert f"{found} / If found, please return to".upper() in back
    assert "Câmara Municipal, Praça do Município" in back
    readable = readable_date(expires, code)
    if direction(code) == "rtl":  # in visual order too, as above
        assert set(readable.split()) <= set(front.split())
    else:
        assert readable in front
    assert expires.isoformat() in front
