"""Rasterising and measuring rendered PDFs."""

from __future__ import annotations

import base64
import io
import random

import pypdfium2
import zxingcpp
from PIL import Image, ImageDraw

POINT_MM = 25.4 / 72


def page_count(pdf: bytes) -> int:
    with pypdfium2.PdfDocument(pdf) as document:
        return len(document)


def page_size_mm(pdf: bytes, index: int) -> tuple[float, float]:
    with pypdfium2.PdfDocument(pdf) as document:
        width, height = document[index].get_size()
    return width * POINT_MM, height * POINT_MM


def render(pdf: bytes, index: int, dpi: int) -> Image.Image:
    with pypdfium2.PdfDocument(pdf) as document:
        return document[index].render(scale=dpi / 72).to_pil().convert("L")


def decode_all(image: Image.Image) -> list[zxingcpp.Barcode]:
    return [b for b in zxingcpp.read_barcodes(image) if b.format == zxingcpp.BarcodeFormat.QRCode]


def page_text(pdf: bytes, index: int) -> str:
    with pypdfium2.PdfDocument(pdf) as document:
        return str(document[index].get_textpage().get_text_range())


def make_photo(seed: int = 0) -> bytes:
    """A 35:45 JPEG with a face-like shape, different per seed."""
    rng = random.Random(seed)
    image = Image.new("RGB", (350, 450), (rng.randrange(150, 230), 205, 220))
    draw = ImageDraw.Draw(image)
    draw.ellipse((100, 80, 250, 260), fill=(190, 150, 120))
    draw.rectangle((60, 300, 290, 450), fill=(60, 80, rng.randrange(90, 160)))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def make_qr_text(seed: int = 0, token_bytes: int = 130) -> str:
    """A URL like the credential's: upper-case prefix, base32 token in the fragment."""
    token = base64.b32encode(random.Random(seed).randbytes(token_bytes)).decode().rstrip("=")
    return f"HTTPS://VERIFY.LISBOA.EXAMPLE/V#{token}"
