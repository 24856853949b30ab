"""Card rendering: values in, PDF or PNG bytes out (no Flask, no database)."""

from __future__ import annotations

from .errors import RenderError
from .pdf import (
    CardDesign,
    CardFace,
    CardLabels,
    render_card_pdf,
    render_card_png,
    render_sheet_pdf,
)
from .qr import QrCode, draw_qr, qr_matrix

__all__ = [
    "CardDesign",
    "CardFace",
    "CardLabels",
    "QrCode",
    "RenderError",
    "draw_qr",
    "qr_matrix",
    "render_card_pdf",
    "render_card_png",
    "render_sheet_pdf",
]
