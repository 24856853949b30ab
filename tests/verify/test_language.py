"""verify.language: which languages a catalogue folder offers, and the rule that picks
one for a public page (address, then the browser's cookie, then Accept-Language)."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, Response

from verify import language


def _catalogue(root: Path, code: str, name: str) -> None:
    folder = root / code / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / name).write_bytes(b"")


def test_a_catalogue_added_is_offered_in_the_project_order(tmp_path: Path) -> None:
    assert language.catalogued(tmp_path) == ("en",)
    _catalogue(tmp_path, "uk", "messages.po")
    _catalogue(tmp_path, "pt", "messages.mo")
    _catalogue(tmp_path, "xx", "messages.mo")  # not one of the twelve: never offered
    assert language.catalogued(tmp_path) == ("en", "pt", "uk")
    # Babel reads compiled catalogues only: a .po alone is not offered to visitors.
    assert language.catalogued(tmp_path, compiled=True) == ("en", "pt")
    assert language.catalogued(None) == ("en",)
    assert set(language.NATIVE_NAMES) == set(language.SUPPORTED)


def test_the_address_wins_then_the_cookie_then_the_browser() -> None:
    app = Flask(__name__)
    offered = ("en", "fr", "pt")
    cases = [
        ("/?lang=pt", "lang=fr", "fr", "pt"),
        ("/?lang=xx", "lang=fr", "en", "fr"),
        ("/", "lang=de", "pt-BR,pt;q=0.9", "pt"),  # a cookie for a language not offered
        ("/", "", "tlh, de;q=0.5", "en"),  # nothing matches: the default
        ("/", "", "zh-CN, fr;q=0.4", "fr"),
    ]
    for path, cookie, accept, expected in cases:
        headers = {"Accept-Language": accept} | ({"Cookie": cookie} if cookie else {})
        with app.test_request_context(path, headers=headers):
            assert language.choose(offered, "en") == expected, (path, cookie, accept)


def test_a_choice_in_the_address_is_kept_in_the_browser_once() -> None:
    app = Flask(__name__)
    with app.test_request_context("/V?lang=fr"):
        response = language.remember_choice(Response(), ("en", "fr"))
        assert response.headers["Set-Cookie"].startswith("lang=fr;")
    with app.test_request_context("/V?lang=fr", headers={"Cookie": "lang=fr"}):
        assert "Set-Cookie" not in language.remember_choice(Response(), ("en", "fr")).headers
    with app.test_request_context("/V?lang=xx"):
        assert "Set-Cookie" not in language.remember_choice(Response(), ("en", "fr")).headers


def test_arabic_and_persian_read_right_to_left() -> None:
    assert [code for code in language.SUPPORTED if language.direction(code) == "rtl"] == [
        "ar",
        "fa",
    ]
    assert language.direction("fa-IR") == "rtl" and language.direction("pt_BR") == "ltr"
