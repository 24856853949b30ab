"""Uploaded photos: phone formats accepted, decoding bounded in memory from the header,
every broken file refused with a ValidationFailed and nothing else."""

from __future__ import annotations

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from citizen_card.services.errors import ValidationFailed
from citizen_card.services.photos import OUTPUT_SIZE, normalise_photo
from tests.images import png_bytes

MAX_BYTES = 8 * 1024 * 1024
RED, GREEN, BLUE = (220, 30, 30), (30, 200, 30), (30, 30, 220)


def halves(
    size: tuple[int, int], left: tuple[int, int, int], right: tuple[int, int, int]
) -> Image.Image:
    image = Image.new("RGB", size, left)
    ImageDraw.Draw(image).rectangle((size[0] // 2, 0, size[0], size[1]), fill=right)
    return image


def encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def decoded(jpeg: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(jpeg))
    assert image.format == "JPEG"
    assert image.size == OUTPUT_SIZE
    return image.convert("RGB")


def near(pixel: tuple[int, ...], colour: tuple[int, int, int], tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour, strict=False))


def test_a_phone_mpo_is_read_from_its_first_frame() -> None:
    first, second = Image.new("RGB", (800, 1000), RED), Image.new("RGB", (800, 1000), GREEN)
    mpo = encoded(first, "MPO", save_all=True, append_images=[second])
    assert Image.open(io.BytesIO(mpo)).format == "MPO"
    photo = decoded(normalise_photo(mpo, max_bytes=MAX_BYTES))
    assert near(photo.getpixel((210, 270)), RED)


@pytest.mark.parametrize("size", [(800, 600), (4032, 3024)], ids=["small", "12 MP"])
def test_a_phone_jpeg_turned_by_its_exif_comes_out_upright(size: tuple[int, int]) -> None:
    # Sensor rows as stored: top half blue, bottom half red; orientation 6 says "rotate
    # 90 degrees clockwise to show", so upright the left is red and the right is blue.
    stored = Image.new("RGB", size, BLUE)
    ImageDraw.Draw(stored).rectangle((0, size[1] // 2, size[0], size[1]), fill=RED)
    exif = Image.Exif()
    exif[0x0112] = 6
    photo = decoded(normalise_photo(encoded(stored, "JPEG", exif=exif), max_bytes=MAX_BYTES))
    assert near(photo.getpixel((20, 270)), RED)
    assert near(photo.getpixel((400, 270)), BLUE)


def test_a_big_phone_jpeg_is_decoded_at_a_reduced_scale() -> None:
    from citizen_card.services.images import open_untrusted
    from citizen_card.services.photos import BUDGET, WORKING_SIDE

    jpeg = encoded(halves((4032, 3024), RED, BLUE), "JPEG", quality=80)
    image = open_untrusted(jpeg, BUDGET, draft_to=WORKING_SIDE)
    assert image.size == (2016, 1512)  # libjpeg scaled by 1/2 while decoding
    photo = decoded(normalise_photo(jpeg, max_bytes=MAX_BYTES))
    assert near(photo.getpixel((20, 270)), RED)
    assert near(photo.getpixel((400, 270)), BLUE)


@pytest.mark.parametrize(
    "image",
    [
        Image.new("CMYK", (600, 800), (0, 255, 255, 0)),
        Image.new("L", (600, 800), 128),
    ],
    ids=["CMYK", "grey"],
)
def test_other_jpeg_modes_are_accepted(image: Image.Image) -> None:
    photo = decoded(normalise_photo(encoded(image, "JPEG"), max_bytes=MAX_BYTES))
    assert photo.mode == "RGB"


def test_a_16_bit_grey_png_keeps_its_tones() -> None:
    # Pillow converts 16-bit grey to 8 bits by clipping at 255: every photo came out white.
    grey = Image.new("I;16", (600, 800), 0x8000)
    photo = decoded(normalise_photo(encoded(grey, "PNG"), max_bytes=MAX_BYTES))
    assert near(photo.getpixel((210, 270)), (128, 128, 128), tolerance=4)


def test_a_transparent_png_prints_on_white() -> None:
    image = Image.new("RGBA", (600, 800), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse((200, 200, 400, 600), fill=(*RED, 255))
    photo = decoded(normalise_photo(encoded(image, "PNG"), max_bytes=MAX_BYTES))
    assert near(photo.getpixel((5, 5)), (255, 255, 255), tolerance=8)
    assert near(photo.getpixel((210, 270)), RED)


def test_a_16_bit_png_of_6300_squared_is_refused_from_its_header() -> None:
    # 130 KB on disk, 79 MB once decoded and 198 MB on the way to 8 bits.
    png = png_bytes(6300, 6300, 16, 0, rows=True)
    assert len(png) < 300 * 1024
    with pytest.raises(ValidationFailed) as refused:
        normalise_photo(png, max_bytes=MAX_BYTES)
    assert refused.value.code == "photo_too_large"
    assert "megapixels" in refused.value.message


def test_the_memory_refusal_comes_before_any_pixel_is_decoded() -> None:
    # The same header over a broken IDAT: decoding would fail, so a "too large" answer
    # shows that the decision was taken from the header alone.
    png = png_bytes(6300, 6300, 16, 0, rows=False)
    with pytest.raises(ValidationFailed) as refused:
        normalise_photo(png, max_bytes=MAX_BYTES)
    assert refused.value.code == "photo_too_large"
    broken_small = png_bytes(600, 800, 16, 0, rows=False)
    with pytest.raises(ValidationFailed) as unreadable:
        normalise_photo(broken_small, max_bytes=MAX_BYTES)
    assert unreadable.value.code == "photo_not_image"


def test_a_big_progressive_jpeg_is_refused_for_its_coefficients() -> None:
    # Progressive JPEGs hold every DCT coefficient of the full image, at any scale.
    from citizen_card.services.images import decoding_cost

    header_only = Image.new("RGB", (16, 16))
    progressive = encoded(header_only, "JPEG", progressive=True, subsampling=0)
    image = Image.open(io.BytesIO(progressive))
    assert decoding_cost(image, (7000, 5000)) >= 6 * 7000 * 5000


def test_a_huge_declared_size_is_refused() -> None:
    with pytest.raises(ValidationFailed) as refused:
        normalise_photo(png_bytes(20000, 20000, 1, 0, rows=False), max_bytes=MAX_BYTES)
    assert refused.value.code == "photo_too_large"


SAMPLES = [
    encoded(halves((300, 400), RED, BLUE), "JPEG"),
    encoded(halves((300, 400), RED, BLUE), "JPEG", progressive=True),
    encoded(halves((300, 400), RED, BLUE), "PNG"),
    encoded(halves((300, 400), RED, BLUE).convert("P"), "PNG"),
    encoded(halves((300, 400), RED, BLUE), "WEBP"),
    encoded(
        halves((300, 400), RED, BLUE),
        "MPO",
        save_all=True,
        append_images=[Image.new("RGB", (300, 400))],
    ),
]


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    sample=st.sampled_from(SAMPLES),
    cut=st.integers(min_value=0, max_value=4000),
    flips=st.lists(st.tuples(st.integers(0, 4000), st.integers(1, 255)), max_size=6),
)
def test_a_damaged_file_is_stored_clean_or_refused(
    sample: bytes, cut: int, flips: list[tuple[int, int]]
) -> None:
    damaged = bytearray(sample[: max(8, len(sample) - cut)])
    for at, mask in flips:
        damaged[at % len(damaged)] ^= mask
    try:
        photo = normalise_photo(bytes(damaged), max_bytes=MAX_BYTES)
    except ValidationFailed as refused:
        assert refused.code in ("photo_not_image", "photo_too_large", "photo_too_small")
    else:
        decoded(photo)
