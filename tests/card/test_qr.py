"""QR encoding: levels, segments, and bit-exact agreement with the qrcode library."""

from __future__ import annotations

import pytest
import qrcode
from card_helpers import make_qr_text
from qrcode.constants import ERROR_CORRECT_H, ERROR_CORRECT_M, ERROR_CORRECT_Q

from citizen_card.card import RenderError, qr_matrix
from citizen_card.card.qr import _segments, encode_with_mask

LEVELS = {"H": ERROR_CORRECT_H, "Q": ERROR_CORRECT_Q, "M": ERROR_CORRECT_M}


@pytest.mark.parametrize("token_bytes", [10, 60, 130, 150, 200])
@pytest.mark.parametrize("mask", range(8))
def test_matrix_matches_qrcode_library(token_bytes: int, mask: int) -> None:
    # Given a credential-like URL and a fixed mask
    text = make_qr_text(token_bytes, token_bytes)
    ours = encode_with_mask(text, mask)
    # When the reference library encodes the same segments at the same version and level
    reference = qrcode.QRCode(
        version=ours.version,
        error_correction=LEVELS[ours.error_correction],
        border=0,
        mask_pattern=mask,
    )
    for segment in _segments(text):
        reference.add_data(segment)
    reference.make(fit=False)
    # Then every module is the same
    assert ours.modules == [[bool(m) for m in row] for row in reference.modules]


def test_url_prefix_and_token_stay_alphanumeric() -> None:
    modes = [segment.mode for segment in _segments(make_qr_text())]
    assert modes == [
        qrcode.util.MODE_ALPHA_NUM,
        qrcode.util.MODE_8BIT_BYTE,
        qrcode.util.MODE_ALPHA_NUM,
    ]


def test_highest_level_that_fits_version_10() -> None:
    short = qr_matrix(make_qr_text(1, 20))
    assert short.error_correction == "H"
    typical = qr_matrix(make_qr_text(2, 130))
    assert typical.version <= 10
    assert typical.error_correction in ("Q", "M")


def test_too_long_for_version_10_falls_back_to_m() -> None:
    code = qr_matrix(make_qr_text(3, 260))
    assert code.version > 10
    assert code.error_correction == "M"


def test_empty_text_is_a_render_error() -> None:
    with pytest.raises(RenderError) as excinfo:
        qr_matrix("")
    assert excinfo.value.code == "qr_empty"
