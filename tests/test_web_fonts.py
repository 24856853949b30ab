"""The pages' fonts: WOFF2 subsets of the card's fonts, one a script, with their licences,
found by the browser through unicode-range (verify/static/fonts, scripts/make_web_fonts.py)."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from fontTools.ttLib import TTFont

ROOT = Path(__file__).resolve().parents[1]
FONTS = ROOT / "verify" / "static" / "fonts"

# A name in each script a card prints, as residents write them.
NAMES = {
    "Latin": "Trần Thị Ngọc Ánh Łukasz Øster",
    "Cyrillic": "Олена Коваленко",
    "Greek": "Ελένη Παπαδοπούλου",
    "Arabic": "محمد عبد الرحمن",
    "Persian": "پریسا گلزار",
    "Hebrew": "יעל כהן",
    "Ethiopic": "ሰላም ተስፋይ",
    "Devanagari": "अनन्या शर्मा",
    "Bengali": "রফিক ইসলাম",
    "Han": "李小龙 王明",
    "Kana": "さくら ナカムラ",
}

FACE = re.compile(r"@font-face \{(.*?)\}", re.S)


def _faces() -> list[tuple[str, str, list[tuple[int, int]]]]:
    """(file, weight, ranges) of every @font-face in fonts.css."""
    faces = []
    for body in FACE.findall((FONTS / "fonts.css").read_text(encoding="utf-8")):
        assert 'font-family: "Card Sans";' in body
        file = re.search(r'src: url\("([^"]+)"\) format\("woff2"\);', body)
        weight = re.search(r"font-weight: ([0-9 ]+);", body)
        ranges = re.search(r"unicode-range: ([^;]+);", body)
        assert file and weight and ranges, body
        runs = []
        for run in ranges.group(1).split(", "):
            low, _, high = run.removeprefix("U+").partition("-")
            runs.append((int(low, 16), int(high or low, 16)))
        faces.append((file.group(1), weight.group(1), runs))
    return faces


def test_every_face_is_a_woff2_file_beside_its_licence() -> None:
    faces = _faces()
    assert len(faces) >= 20
    # One weight a face: Chromium matches a weight against one range at a time, so a
    # "400 700" face would hide the 400 faces of every other script.
    assert {weight for _, weight, _ in faces} == {"400", "700"}
    for file, _, _ in faces:
        data = (FONTS / file).read_bytes()
        assert data[:4] == b"wOF2", file
        font = TTFont(io.BytesIO(data))
        # The copyright and licence records are kept in the subset.
        names = {record.nameID for record in font["name"].names}
        assert {0, 13}.issubset(names) or {0, 14}.issubset(names), file
    assert "SIL OPEN FONT LICENSE" in (FONTS / "OFL-1.1.txt").read_text(encoding="utf-8")
    assert "Apache License" in (FONTS / "LICENSE-Apache-2.0.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize("script", sorted(NAMES))
def test_each_script_of_a_card_has_a_face_with_its_letters(script: str) -> None:
    faces = _faces()
    opened: dict[str, set[int]] = {}
    for weight in ("400", "700"):
        for char in NAMES[script].replace(" ", ""):
            point = ord(char)
            covering = [
                file
                for file, weights, runs in faces
                if weight in weights.split() and any(a <= point <= b for a, b in runs)
            ]
            assert covering, f"{script}: no {weight} face for U+{point:04X}"
            file = covering[0]
            if file not in opened:
                opened[file] = set(TTFont(FONTS / file).getBestCmap())
            assert point in opened[file], f"{file} lacks U+{point:04X}"


def test_the_han_slices_keep_a_page_with_one_name_small() -> None:
    sizes = {file: (FONTS / file).stat().st_size for file, _, _ in _faces()}
    assert max(sizes.values()) < 600 * 1024
    assert sizes["latin-regular.woff2"] < 150 * 1024


def test_the_wheel_takes_the_fonts() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["*"]
    assert "*.woff2" in patterns and "*.css" in patterns and "*.txt" in patterns


def test_staff_and_verify_pages_link_the_fonts_first(client: FlaskClient) -> None:
    for path in ("/login", "/my-card", "/", "/v"):
        page = client.get(path).get_data(as_text=True)
        assert '<link rel="stylesheet" href="/verify-static/fonts/fonts.css">' in page, path
    for path in ("/static/css/app.css", "/verify-static/verify.css"):
        with client.get(path) as response:
            assert ':root { font-family: "Card Sans",' in response.get_data(as_text=True), path
    with client.get("/verify-static/fonts/devanagari-regular.woff2") as font:
        assert font.status_code == 200
        assert font.data[:4] == b"wOF2"
        # Public, cacheable, under the same CSP as every page (font-src falls to 'self').
        assert "public" in font.headers["Cache-Control"]
        assert "font-src" not in font.headers["Content-Security-Policy"]
        assert "default-src 'self'" in font.headers["Content-Security-Policy"]


def test_the_stand_alone_verifier_links_the_fonts_only_when_its_policy_allows_them(
    tmp_path: Path,
) -> None:
    import json

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from tests.e2e.conftest import jwks_document
    from verify.web import CONTENT_SECURITY_POLICY, StaticVerifierBackend, create_verifier_app

    jwks = tmp_path / "jwks.json"
    key = Ed25519PrivateKey.from_private_bytes(b"\x05" * 32)
    jwks.write_text(json.dumps(jwks_document(key, "LIS", "Lisboa", "https://v.example")))
    backend = StaticVerifierBackend([jwks], tmp_path / "status")
    link = 'href="/verify-static/fonts/fonts.css"'

    plain = create_verifier_app(backend).test_client().get("/v")
    # Its policy stays as strict as it was (default-src 'none' would block the fonts).
    assert plain.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert link not in plain.get_data(as_text=True)

    with_fonts = create_verifier_app(backend, page_fonts=True).test_client().get("/v")
    assert with_fonts.headers["Content-Security-Policy"] == (
        CONTENT_SECURITY_POLICY + "; font-src 'self'"
    )
    assert link in with_fonts.get_data(as_text=True)


def test_an_ordinary_wheel_holds_catalogues_fonts_and_pages(tmp_path: Path) -> None:
    """``pip wheel .`` (what ``pip install .`` builds) carries what the service needs to
    run anywhere: compiled catalogues (not kept in git), the fonts, the templates."""
    out = tmp_path / "wheel"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--quiet", "--wheel-dir", str(out), str(ROOT)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert build.returncode == 0, build.stdout + build.stderr
    (wheel,) = out.glob("citizen_card-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for code in ("fr", "pt", "ar", "zh"):
        assert f"citizen_card/translations/{code}/LC_MESSAGES/messages.mo" in names, code
    assert "verify/static/fonts/devanagari-regular.woff2" in names
    assert "verify/static/fonts/OFL-1.1.txt" in names
    assert "citizen_card/templates/base.html" in names
    assert "verify/templates/verify/layout.html" in names
