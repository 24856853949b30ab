"""A page's lang and dir come from the locale: right to left for Arabic and Persian, on a
stand-alone verifier's pages too (the issuing service's: tests/web/test_page_direction.py)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from babel import Locale

from verify.page_language import language_tag, text_direction
from verify.web import StaticVerifierBackend, create_verifier_app


@pytest.mark.parametrize(
    ("code", "tag", "direction"),
    [
        ("en", "en", "ltr"),
        ("fr", "fr", "ltr"),
        ("pt_BR", "pt-BR", "ltr"),
        ("zh_Hans", "zh-Hans", "ltr"),
        ("ar", "ar", "rtl"),
        ("fa", "fa", "rtl"),
        ("fa_AF", "fa-AF", "rtl"),  # Dari
        ("he", "he", "rtl"),  # no catalogue, but CLDR knows its direction: no list to keep
    ],
)
def test_tag_and_direction_of_a_locale(code: str, tag: str, direction: str) -> None:
    locale = Locale.parse(code)
    assert (language_tag(locale), text_direction(locale)) == (tag, direction)


def test_outside_a_request_a_page_is_english_left_to_right() -> None:
    assert (language_tag(None), text_direction(None)) == ("en", "ltr")


def _html_element(page: str) -> str:
    match = re.search(r"<html\b[^>]*>", page)
    assert match, "no html element"
    return match.group(0)


def test_a_stand_alone_verifier_says_right_to_left_to_its_scripts_too(
    tmp_path: Path, make_jwks: Callable[..., dict[str, Any]], issuer_key: Any
) -> None:
    trust = tmp_path / "jwks.json"
    trust.write_text(json.dumps(make_jwks(issuer_key)))
    app = create_verifier_app(StaticVerifierBackend([trust], tmp_path / "status"))
    app.config["VERIFY_LANGUAGES"] = ["en", "ar"]
    page = app.test_client().get("/scan", headers={"Accept-Language": "ar"}).get_data(as_text=True)
    assert _html_element(page) == '<html lang="ar" dir="rtl">'
    config = json.loads(re.search(r'id="verify-config">(.*?)</script>', page, re.S).group(1))  # type: ignore[union-attr]
    assert (config["lang"], config["dir"]) == ("ar", "rtl")
    english = app.test_client().get("/scan").get_data(as_text=True)
    assert _html_element(english) == '<html lang="en" dir="ltr">'
