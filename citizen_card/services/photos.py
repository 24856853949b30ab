"""Photos: decode untrusted bytes, strip everything, crop to 35:45, store a clean JPEG."""

from __future__ import annotations

import io
import struct
import warnings

from PIL import Image, ImageOps

from citizen_card.services.errors import N_, ValidationFailed
from citizen_card.services.images import Budget, ImageRefused, open_untrusted, to_8bit

# MPO is what many phones write: a JPEG with a second frame (depth map, preview) after
# the first; the first is the photo.
ACCEPTED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP"})
OUTPUT_SIZE = (420, 540)  # 35:45, about 300 dpi at the printed size
MIN_SIDE = 120
# A JPEG this large is decoded at 1/8 of its size, so this is no memory bound (the next
# one is); it refuses what no camera makes.
MAX_PIXELS = 80_000_000
# What decoding one photo may hold in memory, known from the header before decoding: a
# 12 MP phone JPEG decoded at half size takes 12 MB, a 12 MP PNG 48 MB, a 24 MP
# progressive JPEG 72 MB; a 6300 x 6300 16-bit PNG (100-300 KB on disk) would take
# 198 MB and is refused.
MAX_DECODED_BYTES = 96 * 1024 * 1024
BUDGET = Budget(ACCEPTED_FORMATS, MAX_PIXELS, MAX_DECODED_BYTES)
# Photos are brought down to about this many pixels on the shorter side before anything
# else (JPEGs while decoding): twice the output, enough for a sharp crop.
WORKING_SIDE = 2 * max(OUTPUT_SIZE)
_ORIENTATION = 0x0112
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _orientation(image: Image.Image) -> int:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Corrupt EXIF data" and the like
            value = image.getexif().get(_ORIENTATION, 1)
    except (OSError, SyntaxError, ValueError, TypeError, KeyError, IndexError, struct.error):
        return 1  # unreadable EXIF: take the pixels as they come
    return value if isinstance(value, int) else 1


def _working_copy(image: Image.Image) -> Image.Image:
    """The photo upright, in RGB on white, no larger than needed for the crop."""
    orientation = _orientation(image)
    image = to_8bit(image)
    factor = min(image.size) // WORKING_SIDE
    if factor >= 2:
        image = image.reduce(factor)
    if image.mode in ("RGBA", "LA", "RGBa", "La"):
        # Transparent backgrounds print as white, not as whatever the hidden pixels hold.
        rgba = image.convert("RGBA")
        image = Image.new("RGB", image.size, (255, 255, 255))
        image.paste(rgba, mask=rgba.getchannel("A"))
    if image.mode != "RGB":
        image = image.convert("RGB")
    if orientation in _TRANSPOSE:
        image = image.transpose(_TRANSPOSE[orientation])
    return image


def normalise_photo(data: bytes, *, max_bytes: int) -> bytes:
    """Return a metadata-free 420x540 JPEG made from an uploaded image.

    :raises ValidationFailed: ``photo_too_large``, ``photo_not_image``, ``photo_too_small``.
    """
    if len(data) > max_bytes:
        raise ValidationFailed(
            N_("The photo is larger than %(size)d MB."),
            "photo_too_large",
            size=max_bytes // (1024 * 1024),
        )
    try:
        image = open_untrusted(data, BUDGET, draft_to=WORKING_SIDE)
    except ImageRefused as exc:
        if exc.reason == "wrong_format":
            raise ValidationFailed(
                N_("The photo must be a JPEG or PNG image."), "photo_not_image"
            ) from None
        if exc.reason == "not_image":
            raise ValidationFailed(
                N_("The file is not an image that can be read."), "photo_not_image"
            ) from None
        if exc.reason == "too_many_pixels":
            raise ValidationFailed(
                N_("The photo has too many pixels."), "photo_too_large"
            ) from None
        raise ValidationFailed(
            N_(
                "The photo has too many pixels to be read. Take it again with the camera, "
                "or save it smaller (at most %(megapixels)d megapixels)."
            ),
            "photo_too_large",
            megapixels=MAX_DECODED_BYTES // (4 * 1_000_000),
        ) from None
    if min(image.size) < MIN_SIDE:
        raise ValidationFailed(N_("The photo is too small to print."), "photo_too_small")
    rgb = _working_copy(image)
    cropped = ImageOps.fit(rgb, OUTPUT_SIZE, method=Image.Resampling.LANCZOS)
    out = io.BytesIO()
    # A fresh image carries no EXIF, ICC or comments: only pixels leave this function.
    clean = Image.new("RGB", cropped.size)
    clean.paste(cropped)
    clean.save(out, "JPEG", quality=85, optimize=True)
    return out.getvalue()


THUMBNAIL_SIZE = (84, 108)


def thumbnail(jpeg: bytes) -> bytes:
    """A small copy of a stored (already clean) photo, for result lists."""
    with Image.open(io.BytesIO(jpeg)) as image:
        image.draft("RGB", (THUMBNAIL_SIZE[0] * 2, THUMBNAIL_SIZE[1] * 2))
        small = image.convert("RGB").resize(THUMBNAIL_SIZE, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    small.save(out, "JPEG", quality=80)
    return out.getvalue()
