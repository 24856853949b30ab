"""The rendered card: geometry, QR decoding, text in every script, sheets, errors."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from card_helpers import decode_all, make_qr_text, page_count, page_size_mm, page_text, render
from PIL import Image

from citizen_card.card import (
    CardDesign,
    CardFace,
    RenderError,
    qr_matrix,
    render_card_pdf,
    render_card_png,
    render_sheet_pdf,
)
from citizen_card.card.pdf import (
    CARD_HEIGHT,
    CARD_WIDTH,
    SAFE,
    contrast_ratio,
    parse_color,
    text_color_on,
)

MM = 72 / 25.4

NAMES = {
    "latin": ("Zoë Åsa Łukasiewicz-Ñúñez", None),
    "greek": ("Αλέξανδρος Παπαδόπουλος", "Alexandros Papadopoulos"),
    "cyrillic": ("Олена Шевченко", "Olena Shevchenko"),
    "arabic": ("محمد عبد الله الحسيني", "Mohammed Abdullah Al-Husseini"),
    "persian": ("فاطمه رضایی", "Fatemeh Rezaei"),
    "hebrew": ("שרה לוי", "Sarah Levi"),
    "tigrinya": ("ሃብተ ገብረመድህን", "Habte Gebremedhin"),
    "amharic": ("አበበ ቢቂላ", "Abebe Bikila"),
    "devanagari": ("प्रिया शर्मा", "Priya Sharma"),
    "bengali": ("রহিম উদ্দিন", "Rahim Uddin"),
    "chinese": ("王小明", "Wang Xiaoming"),
}
RTL = {"arabic", "persian", "hebrew"}


@pytest.mark.parametrize("dpi", [300, 150])
@pytest.mark.parametrize("script", ["latin", "arabic", "chinese"])
def test_qr_decodes_to_the_exact_text(
    card_factory: Callable[..., CardFace], design: CardDesign, script: str, dpi: int
) -> None:
    names, latin = NAMES[script]
    card = card_factory(names=names, latin_name=latin, qr_text=make_qr_text(hash(script) % 97))
    pdf = render_card_pdf(card, design)
    found = decode_all(render(pdf, 0, dpi))
    assert [barcode.text for barcode in found] == [card.qr_text]


def test_card_is_id1_with_two_pages(
    card_factory: Callable[..., CardFace], design: CardDesign
) -> None:
    pdf = render_card_pdf(card_factory(), design)
    for index in (0, 1):
        width, height = page_size_mm(pdf, index)
        assert width == pytest.approx(85.60, abs=0.1)
        assert height == pytest.approx(53.98, abs=0.1)
    assert page_count(pdf) == 2


def _letters(text: str) -> Counter[str]:
    return Counter(ch for ch in text if not ch.isspace())


@pytest.mark.parametrize("script", sorted(NAMES))
def test_names_are_in_the_text_layer(
    card_factory: Callable[..., CardFace], design: CardDesign, script: str
) -> None:
    names, latin = NAMES[script]
    text = page_text(render_card_pdf(card_factory(names=names, latin_name=latin), design), 0)
    if script in RTL:
        # PDFium re-orders right-to-left text on extraction, so compare the letters.
        assert not _letters(names) - _letters(text)
    else:
        assert names in text
    if latin:
        assert latin in text


def _ink_columns(image: Image.Image, box: tuple[float, float, float, float]) -> int:
    """Dark pixels inside a box given in mm from the card's top left."""
    scale = image.width / (CARD_WIDTH / MM)
    left, top, right, bottom = (round(v * scale) for v in box)
    region = image.crop((left, top, right, bottom))
    return sum(1 for value in region.get_flattened_data() if value < 160)


def test_rtl_name_is_shaped_and_in_visual_order() -> None:
    from citizen_card.card.text import shape_line

    # Given an Arabic word and a Latin word in an LTR line
    line = shape_line("Ali محمد")
    latin, arabic = line.runs
    # Then the Latin run comes first, the Arabic run is laid out right to left (its
    # leftmost glyph is the last letter, run's last letter)...
    assert latin.font.name.startswith("CC-NotoSans-")
    assert [sd.cluster for sd in arabic.text.__shapeData__] == [3, 2, 1, 0]
    # ...and uses joining forms, not the isolated letters.
    isolated = {shape_line(ch).runs[0].text for ch in "محمد"}
    assert not set(arabic.text) <= {str(ch) for ch in isolated}


def test_long_name_shrinks_and_stays_inside_the_card(
    card_factory: Callable[..., CardFace], design: CardDesign
) -> None:
    long_name = "Maximiliana Constantinopla Wolfeschlegelsteinhausen-Bergdorff"
    assert len(long_name) >= 60
    pdf = render_card_pdf(card_factory(names=long_name), design)
    image = render(pdf, 0, 300)
    card_w, card_h = CARD_WIDTH / MM, CARD_HEIGHT / MM
    safe = SAFE / MM
    # Nothing in the right safe margin between the header and the QR code.
    assert _ink_columns(image, (card_w - safe + 0.2, 14, card_w, 28)) == 0
    # And the whole name is on the page (text layer) in at most two lines.
    text = page_text(pdf, 0)
    assert long_name.replace("-", "") in text.replace("\r\n", " ").replace("-", "")
    from citizen_card.card.pdf import fit_block

    block = fit_block(long_name, card_w * MM, 11, 7.5, 2, True)
    assert block.lines
    assert card_h > 0


def test_qr_modules_and_quiet_zone(
    card_factory: Callable[..., CardFace], design: CardDesign
) -> None:
    card = card_factory()
    image = render(render_card_pdf(card, design), 0, 600)
    (barcode,) = decode_all(image)
    modules = qr_matrix(card.qr_text).size
    pos = barcode.position
    xs = [pos.top_left.x, pos.top_right.x, pos.bottom_left.x, pos.bottom_right.x]
    ys = [pos.top_left.y, pos.top_right.y, pos.bottom_left.y, pos.bottom_right.y]
    side_px = max(xs) - min(xs)
    module_mm = side_px / (modules - 1) * 25.4 / 600  # corner points are module centres
    assert module_mm >= 0.33
    module_px = side_px / (modules - 1)
    left = min(xs) - module_px / 2
    top = min(ys) - module_px / 2
    right = max(xs) + module_px / 2
    bottom = max(ys) + module_px / 2
    quiet = 4 * module_px
    pixels = image.load()
    ring = [
        pixels[x, y]
        for x in range(int(left - quiet) + 1, int(right + quiet) - 1)
        for y in range(int(top - quiet) + 1, int(bottom + quiet) - 1)
        if not (left - 1 <= x <= right + 1 and top - 1 <= y <= bottom + 1)
    ]
    assert min(ring) > 200
    # The quiet zone stays on the card and the symbol away from the edge.
    assert left - quiet >= 0 and bottom + quiet <= image.height
    assert image.width - right >= 3 * 600 / 25.4


def _slot_has_ink(image: Image.Image, column: int, row: int) -> bool:
    from citizen_card.card.pdf import A4_HEIGHT, slot_origin

    x, y = slot_origin(row * 2 + column)
    scale = image.width / (210 * MM)
    box = (
        round((x + 10) * scale),
        round((A4_HEIGHT - y - CARD_HEIGHT + 10) * scale),
        round((x + CARD_WIDTH - 10) * scale),
        round((A4_HEIGHT - y - 10) * scale),
    )
    return any(value < 200 for value in image.crop(box).get_flattened_data())


def test_sheet_of_23_cards(card_factory: Callable[..., CardFace], design: CardDesign) -> None:
    cards = [card_factory(names=f"Resident {i}", qr_text=make_qr_text(100 + i)) for i in range(23)]
    out = io.BytesIO()
    progress: list[int] = []
    render_sheet_pdf(iter(cards), design, out, progress.append)
    pdf = out.getvalue()
    assert progress == [10, 20, 23]
    assert page_count(pdf) == 6  # front, back, front, back, front, back
    for index in range(6):
        width, height = page_size_mm(pdf, index)
        assert width == pytest.approx(210, abs=0.1)
        assert height == pytest.approx(297, abs=0.1)
    for sheet in range(3):
        expected = {card.qr_text for card in cards[sheet * 10 : sheet * 10 + 10]}
        front = render(pdf, sheet * 2, 300)
        assert {barcode.text for barcode in decode_all(front)} == expected
        # Backs carry no QR code.
        assert decode_all(render(pdf, sheet * 2 + 1, 150)) == []
    # Last sheet: cards in slots (row 0, col 0), (0, 1), (1, 0). The back of the card in
    # column 1 must sit in column 2 and vice versa, so row 1 is filled on the right only.
    front, back = render(pdf, 4, 75), render(pdf, 5, 75)
    assert _slot_has_ink(front, 0, 1) and not _slot_has_ink(front, 1, 1)
    assert _slot_has_ink(back, 1, 1) and not _slot_has_ink(back, 0, 1)
    assert not _slot_has_ink(front, 0, 2) and not _slot_has_ink(back, 1, 2)


def test_broken_photo_raises_render_error(
    card_factory: Callable[..., CardFace], design: CardDesign
) -> None:
    for photo in (b"", b"not a jpeg", b"\xff\xd8\xff\xe0" + b"\x00" * 40):
        with pytest.raises(RenderError) as excinfo:
            render_card_pdf(card_factory(photo_jpeg=photo), design)
        assert excinfo.value.code == "bad_photo"


def test_text_on_primary_keeps_aa_contrast() -> None:
    for color in ("#0b4f6c", "#f2a541", "#ffff00", "#777777", "#000000", "#ffffff"):
        background = parse_color(color)
        assert contrast_ratio(background, text_color_on(background)) >= 4.5


def test_png_previews(card_factory: Callable[..., CardFace], design: CardDesign) -> None:
    front, back = render_card_png(card_factory(), design, dpi=150)
    for png in (front, back):
        image = Image.open(io.BytesIO(png))
        assert image.format == "PNG"
        assert image.width == pytest.approx(85.6 / 25.4 * 150, abs=2)
    decoded = decode_all(Image.open(io.BytesIO(front)).convert("L"))
    assert len(decoded) == 1


def test_previews_rendered_by_many_threads_at_once(
    card_factory: Callable[..., CardFace], design: CardDesign
) -> None:
    """PDFium is not thread-safe: the counter's two preview images, asked for at once by
    a threaded server, aborted the whole process. Eight threads now render side by side."""
    card = card_factory()

    def preview(_: int) -> tuple[bytes, bytes]:
        return render_card_png(card, design, dpi=72)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(preview, range(24)))
    assert len(set(results)) == 1  # the same pictures every time
    front, back = results[0]
    assert Image.open(io.BytesIO(front)).size == Image.open(io.BytesIO(back)).size
