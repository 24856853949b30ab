"""Photos: decode untrusted bytes, strip everything, crop to 35:45, store a clean JPEG."""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

from citizen_card.services.errors import N_, ValidationFailed

ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP"}
OUTPUT_SIZE = (420, 540)  # 35:45, about 300 dpi at the printed size
MIN_SIDE = 120
# A webcam frame or a phone photo is far below this; anything above is refused before
# its pixels are decoded (decompression bombs declare a huge size in a small file).
MAX_PIXELS = 40_000_000


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
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in ACCEPTED_FORMATS:
                raise ValidationFailed(
                    N_("The photo must be a JPEG or PNG image."), "photo_not_image"
                )
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise ValidationFailed(N_("The photo has too many pixels."), "photo_too_large")
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ValidationFailed(N_("The photo has too many pixels."), "photo_too_large") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ValidationFailed(
            N_("The file is not an image that can be read."), "photo_not_image"
        ) from exc
    upright: Image.Image = ImageOps.exif_transpose(image) or image
    rgb = upright.convert("RGB")
    if min(rgb.size) < MIN_SIDE:
        raise ValidationFailed(N_("The photo is too small to print."), "photo_too_small")
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
