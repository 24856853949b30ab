"""Every page of the issuing service declares its language and direction: right to left
for Arabic and Persian, from the locale chosen for the request."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from citizen_card import create_app
from citizen_card.extensions import db
from tests.conftest import make_settings


def _html_element(page: str) -> str:
    match = re.search(r"<html\b[^>]*>", page)
    assert match, "no html element"
    return match.group(0)


@pytest.mark.parametrize(
    ("accept", "element"),
    [
        ("ar", '<html lang="ar" dir="rtl">'),
        ("fa-IR,fa;q=0.9", '<html lang="fa" dir="rtl">'),
        ("fr", '<html lang="fr" dir="ltr">'),
        ("ja", '<html lang="en" dir="ltr">'),  # not offered: the default
    ],
)
@pytest.mark.parametrize("path", ["/login", "/my-card", "/places", "/V", "/scan", "/nowhere"])
def test_issuing_service_pages_declare_language_and_direction(
    tmp_path: Path, accept: str, element: str, path: str
) -> None:
    app = create_app(make_settings(tmp_path / "instance", languages=("en", "fr", "ar", "fa")))
    with app.app_context():
        db.create_all()
    response = app.test_client().get(path, headers={"Accept-Language": accept})
    assert response.status_code == (404 if path == "/nowhere" else 200)
    assert _html_element(response.get_data(as_text=True)) == element
