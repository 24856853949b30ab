"""QR encoding: the level rule, mixed-mode segments, the card's size budget, read-back.

Symbols are read back with zxing-cpp's reader, and the level rule is checked against the
qrcode library's public API (its own mode optimisation) as an independent reference.
"""

from __future__ import annotations

import pytest
import qrcode
import zxingcpp
from card_helpers import make_qr_text
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image
from qrcode.constants import ERROR_CORRECT_H, ERROR_CORRECT_M, ERROR_CORRECT_Q

from citizen_card.card import QrCode, RenderError, qr_matrix
from citizen_card.card.qr import MAX_PREFERRED_VERSION, QUIET_ZONE
from verify.cardnumber import new_card_number
from verify.credential import CardClaims, Ed25519Signer, encode_token, qr_text

LEVELS = {"H": ERROR_CORRECT_H, "Q": ERROR_CORRECT_Q, "M": ERROR_CORRECT_M}
HIGHER = {"M": "Q", "Q": "H"}
NOW = 1_800_000_000
TOKEN_SIZES = [10, 60, 100, 130, 150, 200, 260]


def reference_version(text: str, level: str, *, optimize: int = 20) -> int:
    """The smallest version qrcode's public API needs for ``text`` at ``level``."""
    code = qrcode.QRCode(error_correction=LEVELS[level], border=0)
    code.add_data(text, optimize=optimize)  # optimize=0: the whole text in one mode
    return int(code.best_fit())


def read_back(code: QrCode, scale: int = 4) -> zxingcpp.Barcode:
    side = code.size + 2 * QUIET_ZONE
    image = Image.new("L", (side, side), 255)
    image.putdata(
        [
            0
            if 0 <= r - QUIET_ZONE < code.size
            and 0 <= c - QUIET_ZONE < code.size
            and code.modules[r - QUIET_ZONE][c - QUIET_ZONE]
            else 255
            for r in range(side)
            for c in range(side)
        ]
    )
    found = zxingcpp.read_barcodes(
        image.resize((side * scale, side * scale), Image.Resampling.NEAREST),
        formats=zxingcpp.BarcodeFormat.QRCode,
    )
    assert len(found) == 1
    return found[0]


def card_text(name: str, *, status_list: int = 255, latin_name: str | None = None) -> str:
    """The QR text of a real card token (worst-case index and dates) for ``name``."""
    claims = CardClaims(
        issuer="LIS",
        issued_at=NOW,
        expires_at=NOW + 10 * 365 * 86400,
        card_number=new_card_number(),
        name=name,
        status_list=status_list,
        status_index=131071,
        latin_name=latin_name,
    )
    token = encode_token(claims, Ed25519Signer(Ed25519PrivateKey.generate()))
    return qr_text("https://verify.city.example", token)


@pytest.mark.parametrize("token_bytes", TOKEN_SIZES)
def test_every_symbol_reads_back_with_its_version_and_level(token_bytes: int) -> None:
    text = make_qr_text(token_bytes, token_bytes)
    code = qr_matrix(text)
    assert code.size == 4 * code.version + 17
    barcode = read_back(code)
    assert barcode.text == text
    assert barcode.extra["Version"] == str(code.version)  # type: ignore[index]
    assert barcode.extra["ECLevel"] == code.error_correction  # type: ignore[index]


@pytest.mark.parametrize("token_bytes", TOKEN_SIZES)
def test_highest_level_that_fits_version_10_else_m(token_bytes: int) -> None:
    text = make_qr_text(token_bytes, token_bytes)
    code = qr_matrix(text)
    # Never worse than the reference at the level chosen ...
    assert code.version <= reference_version(text, code.error_correction)
    if code.version <= MAX_PREFERRED_VERSION:
        # ... and the next level up would not have fitted version 10.
        higher = HIGHER.get(code.error_correction)
        assert higher is None or reference_version(text, higher) > MAX_PREFERRED_VERSION
    else:
        assert code.error_correction == "M"
        assert reference_version(text, "Q") > MAX_PREFERRED_VERSION


def test_short_and_typical_texts() -> None:
    assert qr_matrix(make_qr_text(1, 20)).error_correction == "H"
    typical = qr_matrix(make_qr_text(2, 130))
    assert typical.version <= 10
    assert typical.error_correction in ("Q", "M")
    longer = qr_matrix(make_qr_text(3, 260))
    assert (longer.version > 10, longer.error_correction) == (True, "M")


@pytest.mark.parametrize(
    ("name", "version"),
    [
        ("A" * 40, 10),
        # 40 characters, six of them accented: 46 bytes of UTF-8, the budget's edge.
        ("María José da Conceição Gonçalves Araújo", 10),
        ("محمد عبد الله الحسيني", 10),  # 21 Arabic letters, 39 bytes
        ("A" * 60, 11),
        ("A" * 80, 11),
        ("María José da Conceição Gonçalves Araújo" * 2, 12),  # 80 characters, 92 bytes
    ],
)
def test_card_sizes_as_the_readme_gives_them(name: str, version: int) -> None:
    text = card_text(name)
    code = qr_matrix(text)
    assert (code.version, code.error_correction) == (version, "M")
    assert read_back(code).text == text


@pytest.mark.parametrize(
    ("name", "latin_name", "version"),
    [
        ("王明", "Wang Ming", 9),
        ("فاطمة الزهراء", "Fatima Alzahra", 10),
        # 20 Arabic letters (42 bytes) and a 25-character Latin form: 67 bytes together.
        ("فاطمة الزهراء الحسينية", "Fatima Alzahra Alhusainia", 11),
        # The two forms' budgets: 44 bytes together in version 10, 77 in version 11.
        ("A" * 21, "B" * 23, 10),
        ("A" * 21, "B" * 24, 11),
        ("A" * 40, "B" * 37, 11),
        ("A" * 40, "B" * 38, 12),
    ],
)
def test_two_form_sizes_as_the_readme_gives_them(name: str, latin_name: str, version: int) -> None:
    text = card_text(name, status_list=23, latin_name=latin_name)
    code = qr_matrix(text)
    assert (code.version, code.error_correction) == (version, "M")
    assert read_back(code).text == text


def test_url_prefix_and_token_stay_alphanumeric() -> None:
    # A 40-character name fits version 10 only because the prefix and the token are in
    # alphanumeric mode: the same text as bytes needs a larger symbol.
    text = card_text("A" * 40)
    assert qr_matrix(text).version == 10
    assert reference_version(text, "M", optimize=0) > 10


def test_empty_text_is_a_render_error() -> None:
    with pytest.raises(RenderError) as excinfo:
        qr_matrix("")
    assert excinfo.value.code == "qr_empty"


def test_text_beyond_version_40_is_a_render_error() -> None:
    with pytest.raises(RenderError) as excinfo:
        qr_matrix(make_qr_text(4, 3000))
    assert excinfo.value.code == "qr_too_long"
