"""QR code for the card: the symbol from zxing-cpp, the level rule, vector drawing.

zxing-cpp (through its zint writer) segments the text itself: the verify URL
(``HTTPS://VERIFY.CITY.EXAMPLE/V#<BASE32>``) is upper case so that the prefix and the
token go in alphanumeric mode (5.5 bits a character instead of 8) and only ``#`` takes
a byte; it chooses the mask by the standard penalty rules. This module adds the card's
rule for the error-correction level and draws the symbol as vectors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from zxingcpp import Barcode, BarcodeFormat, create_barcode

from .errors import RenderError

ErrorCorrection = Literal["L", "M", "Q", "H"]

#: The design rule: the credential must fit version 10 at M or better.
MAX_PREFERRED_VERSION = 10
QUIET_ZONE = 4  # modules; ISO/IEC 18004 minimum, scanners rely on it

# The writer's image is 0 for a dark module and 255 for a light one.
_DARK_PIXEL = bytes([1] + [0] * 255)


@dataclass(frozen=True)
class QrCode:
    """A QR symbol without its quiet zone; ``modules[row][col]`` is True for dark."""

    version: int
    error_correction: ErrorCorrection
    modules: list[list[bool]]

    @property
    def size(self) -> int:
        return len(self.modules)


def qr_matrix(text: str) -> QrCode:
    """Encode ``text``: the highest error correction (H, Q, then M) that fits version 10,
    else the smallest version at M.

    :raises RenderError: ``qr_empty`` or ``qr_too_long``.
    """
    if not text:
        raise RenderError("qr_empty", "the QR text is empty")
    return _qr_matrix(text)


def _fits_preferred_version(text: str, level: ErrorCorrection) -> bool:
    try:
        # A fixed mask skips the mask search, most of an encoding's time; whether the
        # text fits does not depend on the mask.
        create_barcode(
            text,
            BarcodeFormat.QRCode,
            ec_level=level,
            version=MAX_PREFERRED_VERSION,
            data_mask=0,
        )
    except ValueError:  # "input too long for version 10-H" and the like
        return False
    return True


@lru_cache(maxsize=256)
def _qr_matrix(text: str) -> QrCode:
    # Cached: the issuing service renders the same card as PDF and as PNG preview.
    # What does not fit at Q does not fit at H: one trial for most card texts.
    level: ErrorCorrection = "M"
    if _fits_preferred_version(text, "Q"):
        level = "H" if _fits_preferred_version(text, "H") else "Q"
    try:
        symbol = create_barcode(text, BarcodeFormat.QRCode, ec_level=level)
    except ValueError as exc:
        raise RenderError("qr_too_long", "the QR text does not fit any QR version") from exc
    return _from_symbol(symbol, level)


def _from_symbol(symbol: Barcode, level: ErrorCorrection) -> QrCode:
    image = symbol.to_image(scale=1, add_quiet_zones=False)
    size = image.shape[1]
    # zxingcpp.Image exports the buffer protocol (its stub does not declare it).
    dark = bytes(memoryview(image)).translate(_DARK_PIXEL)  # type: ignore[arg-type]
    modules = [list(map(bool, dark[r * size : (r + 1) * size])) for r in range(size)]
    # The writer keeps the level it is given (it never raises it on its own).
    return QrCode(version=(size - 17) // 4, error_correction=level, modules=modules)


_DARK_RUN = re.compile(rb"\x01+")


def dark_runs(qr: QrCode) -> list[tuple[int, int, int]]:
    """(row, first column, length) of each horizontal run of dark modules."""
    # bytes() of a row of bools is one C call, and the regex finds the runs in C too.
    return [
        (r, match.start(), match.end() - match.start())
        for r, row in enumerate(qr.modules)
        for match in _DARK_RUN.finditer(bytes(row))
    ]


def draw_qr(canvas: Any, qr: QrCode, x: float, y: float, size: float) -> None:
    """Draw ``qr`` with its quiet zone as a white square of side ``size`` at (x, y).

    One filled path of row runs: a few hundred rectangles instead of ~1,500 module
    squares, which keeps the content stream small and the drawing fast.
    """
    total = qr.size + 2 * QUIET_ZONE
    module = size / total
    canvas.saveState()
    canvas.setFillColorRGB(1, 1, 1)
    canvas.rect(x, y, size, size, stroke=0, fill=1)
    canvas.setFillColorRGB(0, 0, 0)
    left = x + QUIET_ZONE * module
    bottom = y + QUIET_ZONE * module
    last = qr.size - 1
    # Raw operators in module units: one transform scales the grid, so each rectangle is
    # four small integers (formatting ~400 runs of floats was ~0.7 ms a card), and the
    # edges land exactly on the module grid instead of on rounded coordinates.
    ops = [f"{module:.6f} 0 0 {module:.6f} {left:.4f} {bottom:.4f} cm"]
    ops.extend(f"{c} {last - r} {length} 1 re" for r, c, length in dark_runs(qr))
    ops.append("f")
    canvas._code.append("\n".join(ops))
    canvas.restoreState()


def svg_path(qr: QrCode) -> tuple[int, str]:
    """The symbol as one SVG path of row runs, for a page: (side in modules with the
    quiet zone, the path's ``d``). Drawn with ``viewBox="0 0 side side"`` and
    ``shape-rendering="crispEdges"``, it prints as sharp as the card's vector symbol."""
    side = qr.size + 2 * QUIET_ZONE
    d = "".join(
        f"M{c + QUIET_ZONE} {r + QUIET_ZONE}h{length}v1h-{length}z"
        for r, c, length in dark_runs(qr)
    )
    return side, d
