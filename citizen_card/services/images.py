"""Opening untrusted image uploads (photos, the city's logo) within a memory budget.

Pillow reads only the header on ``Image.open``: the format, the size and the pixel mode.
That is enough to know what decoding will cost before it happens, so an upload that would
need too much memory is refused from its header (a 300 KB PNG can declare 6300 x 6300
pixels of 16 bits). JPEG photos are decoded at a reduced scale (``Image.draft``): libjpeg
scales by 1/2, 1/4 or 1/8 while decoding, so a 12 MP phone photo never exists in memory
at full size.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass

from PIL import Image, JpegImagePlugin

# Bytes per pixel as Pillow holds each mode in memory; every other mode takes 4.
_BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2}
_SIXTEEN_BIT = frozenset({"I;16", "I;16B", "I;16L", "I;16N"})
# Modes that must become 8-bit L, RGB or RGBA (full-size copies) before they can be
# reduced, and the bytes per pixel of those copies (16-bit grey: scaled, then L).
_CONVERTED_FIRST = {"1": 1, "P": 4, "PA": 4} | dict.fromkeys(_SIXTEEN_BIT, 3)


class ImageRefused(Exception):
    """The upload is not used; ``reason`` is ``wrong_format``, ``not_image``,
    ``too_many_pixels`` or ``too_much_memory``. Callers say it about a photo or a logo."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Budget:
    """What one upload may cost: formats, pixels in the header, bytes while decoding."""

    formats: frozenset[str]
    max_pixels: int
    max_decoded_bytes: int


def decoding_cost(image: Image.Image, full_size: tuple[int, int] | None = None) -> int:
    """Bytes that decoding ``image`` (opened, not loaded) and bringing it to 8 bits will
    hold at once, from the header alone. ``full_size`` is the size in the header when
    ``image`` was drafted to a smaller one."""
    width, height = image.size
    pixels = width * height
    cost = pixels * (_BYTES_PER_PIXEL.get(image.mode, 4) + _CONVERTED_FIRST.get(image.mode, 0))
    if isinstance(image, JpegImagePlugin.JpegImageFile) and image.info.get("progressive"):
        # A progressive JPEG keeps every DCT coefficient (2 bytes) of the full-size image
        # until the last scan, whatever scale it is decoded at.
        full_width, full_height = full_size or image.size
        sampling = [h * v for _, h, v, _ in image.layer] or [1]
        coefficients_per_pixel = sum(sampling) / max(sampling)
        cost += int(2 * coefficients_per_pixel * full_width * full_height)
    return cost


def open_untrusted(data: bytes, budget: Budget, *, draft_to: int | None = None) -> Image.Image:
    """Decode ``data`` into a loaded image (the first frame of several), or refuse it.

    ``draft_to`` asks JPEGs to be decoded at the smallest scale whose shorter side is
    still at least that many pixels.

    :raises ImageRefused: ``wrong_format`` (not one of ``budget.formats``), ``not_image``
        (broken, or not an image at all), ``too_many_pixels`` (the header declares more
        than ``budget.max_pixels``) or ``too_much_memory`` (decoding would need more than
        ``budget.max_decoded_bytes``).
    """
    try:
        with warnings.catch_warnings():
            # Pillow warns about damage it works around (a broken MPO index is read as a
            # plain JPEG, bad EXIF is skipped); the outcome is what counts, not the warning.
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in budget.formats:
                raise ImageRefused("wrong_format")
            width, height = image.size
            if width * height > budget.max_pixels:
                raise ImageRefused("too_many_pixels")
            if draft_to is not None and isinstance(image, JpegImagePlugin.JpegImageFile):
                # Pillow picks the largest reduction that keeps both sides >= the request.
                image.draft(image.mode, (draft_to, draft_to))
            if decoding_cost(image, (width, height)) > budget.max_decoded_bytes:
                raise ImageRefused("too_much_memory")
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRefused("too_many_pixels") from None
    except (OSError, SyntaxError, ValueError, EOFError, struct.error):
        # UnidentifiedImageError is an OSError; truncated files, bad chunks and broken
        # markers surface as any of these, depending on the plugin.
        raise ImageRefused("not_image") from None
    return image


def to_8bit(image: Image.Image) -> Image.Image:
    """The image in a mode that can be reduced and drawn: L, LA, RGB, RGBA (or CMYK)."""
    if image.mode in _SIXTEEN_BIT:
        # Pillow's own conversion clips at 255, which turns every 16-bit photo white.
        return image.point(lambda value: value / 256).convert("L")
    if image.mode == "1":
        return image.convert("L")
    if image.mode in ("P", "PA"):
        has_alpha = image.mode == "PA" or "transparency" in image.info
        return image.convert("RGBA" if has_alpha else "RGB")
    if image.mode in ("I", "F"):
        return image.convert("L")
    return image


__all__ = ["Budget", "ImageRefused", "decoding_cost", "open_untrusted", "to_8bit"]
