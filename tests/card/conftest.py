"""Fixtures for rendering tests: synthetic photos, a design and a card factory."""

from __future__ import annotations

import datetime
import io
from collections.abc import Callable
from typing import Any

import pytest
from card_helpers import make_photo, make_qr_text
from PIL import Image, ImageDraw

from citizen_card.card import CardDesign, CardFace


@pytest.fixture
def design() -> CardDesign:
    logo = Image.new("RGBA", (120, 120), (0, 0, 0, 0))
    ImageDraw.Draw(logo).ellipse((5, 5, 115, 115), fill=(255, 255, 255, 255))
    buffer = io.BytesIO()
    logo.save(buffer, "PNG")
    return CardDesign(
        city_name="Lisboa",
        card_title="Cartão de cidadania local",
        logo_png=buffer.getvalue(),
        verify_url="https://verify.lisboa.example/v",
        access_text="Bibliotecas, centros de saúde, escolas e serviços municipais.",
        multilingual_line="Lives in Lisboa · Réside à Lisboa · يقيم في لشبونة",
        return_address="Câmara Municipal de Lisboa, Praça do Município, 1100-365 Lisboa",
    )


@pytest.fixture
def card_factory() -> Callable[..., CardFace]:
    def _create(**overrides: Any) -> CardFace:
        values: dict[str, Any] = {
            "names": "Maria José Gonçalves",
            "latin_name": None,
            "photo_jpeg": make_photo(),
            "card_number": "K7QF-3M9X-2PDA",
            "valid_until": datetime.date(2030, 5, 31),
            "qr_text": make_qr_text(),
            "labels": None,
        }
        values.update(overrides)
        return CardFace(**values)

    return _create
