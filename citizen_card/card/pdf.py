"""The card as PDF: one ID-1 card (front and back pages) or A4 sheets of ten.

Everything is drawn on a bare ReportLab canvas (no platypus): a card is a fixed layout,
and the canvas path renders a card in a few milliseconds.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from reportlab import rl_config
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase.pdfdoc import PDFImageXObject
from reportlab.pdfgen.canvas import Canvas

from . import back
from .errors import RenderError
from .qr import QUIET_ZONE, draw_qr, qr_matrix
from .text import ShapedLine, draw_line, shape_line, wrap

# Binary streams instead of ASCII85: a quarter smaller, and ReportLab's pure-Python
# ASCII85 encoder cost ~6 ms a card (the photo). ASCII85 only matters for 7-bit mail.
rl_config.useA85 = 0

CARD_WIDTH = 85.60 * mm  # ISO/IEC 7810 ID-1
CARD_HEIGHT = 53.98 * mm
A4_WIDTH = 210 * mm
A4_HEIGHT = 297 * mm
SAFE = 3.5 * mm  # card printers' cut tolerance is ~1 mm; nothing that matters is closer
MIN_MODULE = 0.34 * mm  # design floor is 0.33 mm; a little more survives cheap printers

PHOTO_HEIGHT = 34 * mm
PHOTO_WIDTH = PHOTO_HEIGHT * 35 / 45
BAND_HEIGHT = 12 * mm
STRIPE = 0.9 * mm
QR_SIDE = 65 * MIN_MODULE  # a version-10 symbol plus quiet zone at the minimum module

INK = back.INK
MUTED = back.MUTED


@dataclass(frozen=True)
class CardLabels:
    """The printed words, translated by the caller into the card's label languages.

    The short labels hold every label language already (``"Número do cartão / Card
    number"``); ``what`` and ``no_status`` hold one sentence per language, printed one
    under the other on the back; ``languages`` are the locales of the readable dates.
    """

    card_number: str = "Card number"
    valid_until: str = "Valid until"
    verify: str = "Check this card at"
    access: str = "This card gives access to"
    found: str = "If found, please return to"
    places: str = "Where the card is accepted"
    #: The address of the places directory (no scheme), or empty: no such line.
    places_address: str = ""
    what: tuple[str, ...] = ()
    no_status: tuple[str, ...] = ()
    languages: tuple[str, ...] = ("en",)


@dataclass(frozen=True)
class CardDesign:
    city_name: str
    card_title: str
    primary_color: str = "#0b4f6c"
    accent_color: str = "#f2a541"
    logo_png: bytes | None = None
    verify_url: str = ""
    access_text: str = ""
    multilingual_line: str = ""
    return_address: str = ""


@dataclass(frozen=True)
class CardFace:
    names: str
    latin_name: str | None
    photo_jpeg: bytes
    card_number: str
    valid_until: datetime.date
    qr_text: str
    labels: CardLabels | None = None


# ---------------------------------------------------------------------------------------
# Colours


def parse_color(value: str) -> tuple[float, float, float]:
    """``#rrggbb`` or ``#rgb`` to RGB floats.

    :raises RenderError: ``bad_color``.
    """
    digits = value.strip().removeprefix("#")
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    try:
        if len(digits) != 6:
            raise ValueError(value)
        rgb = int(digits, 16)
    except ValueError as exc:
        raise RenderError("bad_color", f"not a hex colour: {value!r}") from exc
    return ((rgb >> 16) / 255, (rgb >> 8 & 0xFF) / 255, (rgb & 0xFF) / 255)


def _luminance(rgb: tuple[float, float, float]) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_color_on(background: tuple[float, float, float]) -> tuple[float, float, float]:
    """White or black, whichever contrasts more (WCAG 2: one of them always reaches 4.5)."""
    white, black = (1.0, 1.0, 1.0), (0.0, 0.0, 0.0)
    if contrast_ratio(background, white) >= contrast_ratio(background, black):
        return white
    return black


# ---------------------------------------------------------------------------------------
# Text fitting


def fit_size(text: str, max_width: float, size: float, min_size: float, bold: bool) -> float:
    """The largest size <= ``size`` at which ``text`` fits on one line, or ``min_size``."""
    width = shape_line(text, bold).width_at(1)
    if width <= 0:
        return size
    return max(min_size, min(size, max_width / width))


@dataclass
class _Block:
    lines: list[ShapedLine]
    size: float


def fit_block(
    text: str, max_width: float, size: float, min_size: float, max_lines: int, bold: bool
) -> _Block:
    """Shrink to one line down to ``min_size``; then wrap to at most ``max_lines`` lines,
    shrinking further if needed. Text is never cut off."""
    one = fit_size(text, max_width, size, min_size, bold)
    if shape_line(text, bold).width_at(one) <= max_width:
        return _Block([shape_line(text, bold)], one)
    current = size
    while True:
        lines = wrap(text, max_width, current, bold)
        if len(lines) <= max_lines or current <= min_size * 0.6:
            return _Block(lines, current)
        current -= 0.25


# ---------------------------------------------------------------------------------------
# Images


def _image(data: bytes, code: str, what: str) -> ImageReader:
    try:
        reader = ImageReader(io.BytesIO(data))
        width, height = reader.getSize()
    except Exception as exc:  # ReportLab and Pillow raise many types for bad bytes
        raise RenderError(code, f"the {what} is not a readable JPEG or PNG image") from exc
    if width <= 0 or height <= 0:
        raise RenderError(code, f"the {what} is empty")
    return reader


def _draw_jpeg(canvas: Any, data: bytes, x: float, y: float, width: float, height: float) -> None:
    """Embed JPEG bytes as they are (DCTDecode) and draw them in the box.

    ``canvas.drawImage`` decodes the whole photo to RGB only to hash it for de-duplication
    (~1 ms a card); the bytes are already a normalised JPEG, so hash them instead.

    :raises RenderError: ``bad_photo`` when the bytes are not a JPEG with a readable header.
    """
    if not data.startswith(b"\xff\xd8"):
        raise RenderError("bad_photo", "the photo is not a JPEG image")
    name = "photo" + hashlib.sha256(data).hexdigest()[:20]
    reg_name = canvas._doc.getXObjectName(name)
    if canvas._doc.idToObject.get(reg_name) is None:
        image = PDFImageXObject(name)
        if not image.loadImageFromJPEG(io.BytesIO(data)) or image.width <= 0:
            raise RenderError("bad_photo", "the photo is not a readable JPEG image")
        image.name = name
        canvas._setXObjects(image)
        canvas._doc.Reference(image, reg_name)
        canvas._doc.addForm(name, image)
    canvas._currentPageHasImages = 1
    canvas.saveState()
    canvas.translate(x, y)
    canvas.scale(width, height)
    canvas._code.append(f"/{reg_name} Do")
    canvas.restoreState()
    canvas._formsinuse.append(name)


# ---------------------------------------------------------------------------------------
# Drawing


@dataclass
class _DocState:
    """What one PDF document draws once and reuses (logo, static faces as XObjects)."""

    design: CardDesign
    primary: tuple[float, float, float]
    accent: tuple[float, float, float]
    on_primary: tuple[float, float, float]
    logo: ImageReader | None
    forms: dict[str, str] = field(default_factory=dict)


def _doc_state(design: CardDesign) -> _DocState:
    primary = parse_color(design.primary_color)
    return _DocState(
        design=design,
        primary=primary,
        accent=parse_color(design.accent_color),
        on_primary=text_color_on(primary),
        logo=_image(design.logo_png, "bad_logo", "logo") if design.logo_png else None,
    )


def _label_key(prefix: str, labels: CardLabels) -> str:
    digest = hashlib.sha256(repr(labels).encode("utf-8")).hexdigest()[:12]
    return f"{prefix}{digest}"


def _draw_header(canvas: Any, state: _DocState, height: float, with_logo: bool) -> None:
    design = state.design
    canvas.setFillColorRGB(*state.primary)
    canvas.rect(0, CARD_HEIGHT - height, CARD_WIDTH, height, stroke=0, fill=1)
    canvas.setFillColorRGB(*state.accent)
    canvas.rect(0, CARD_HEIGHT - height - STRIPE, CARD_WIDTH, STRIPE, stroke=0, fill=1)
    x = SAFE
    if with_logo and state.logo is not None:
        logo_h = height - 3.5 * mm
        width, img_h = state.logo.getSize()
        logo_w = min(logo_h * width / img_h, 22 * mm)
        canvas.drawImage(
            state.logo,
            x,
            CARD_HEIGHT - height + (height - logo_h) / 2,
            logo_w,
            logo_h,
            mask="auto",
            preserveAspectRatio=True,
            anchor="w",
        )
        x += logo_w + 2.2 * mm
    max_width = CARD_WIDTH - SAFE - x
    canvas.setFillColorRGB(*state.on_primary)
    if with_logo:
        city_size = fit_size(design.city_name, max_width, 10.5, 6, True)
        draw_line(canvas, shape_line(design.city_name, True), x, CARD_HEIGHT - 5.4 * mm, city_size)
        title_size = fit_size(design.card_title, max_width, 7, 4.5, False)
        draw_line(canvas, shape_line(design.card_title), x, CARD_HEIGHT - 9.3 * mm, title_size)
    else:
        line = f"{design.city_name} · {design.card_title}"
        size = fit_size(line, max_width, 7, 4.5, True)
        draw_line(canvas, shape_line(line, True), x, CARD_HEIGHT - height + 2.2 * mm, size)


def _front_static(canvas: Any, state: _DocState, labels: CardLabels) -> None:
    _draw_header(canvas, state, BAND_HEIGHT, with_logo=True)
    canvas.setFillColorRGB(*MUTED)
    column = SAFE + PHOTO_WIDTH + 3 * mm
    label_width = CARD_WIDTH - SAFE - QR_SIDE - column - 1 * mm
    for text, y in ((labels.card_number, 17.2 * mm), (labels.valid_until, 9.2 * mm)):
        size = fit_size(text.upper(), label_width, 5.2, 4, False)
        draw_line(canvas, shape_line(text.upper()), column, y, size)


def _back(canvas: Any, state: _DocState, labels: CardLabels) -> None:
    _draw_header(canvas, state, BACK_HEADER, with_logo=False)
    placed, _scale = back_layout(state.design, labels)
    for item in placed:
        canvas.setFillColorRGB(*item.color)
        draw_line(canvas, item.line, item.x, item.y, item.size)


BACK_HEADER = 7 * mm


def back_layout(design: CardDesign, labels: CardLabels) -> tuple[list[back.PlacedLine], float]:
    """Where each line of the back goes. Everything the city set is kept: all sections
    shrink together until they fit (a long access text must not push the return
    address off the card)."""
    colors = back.statement_colors(len(labels.languages))
    sections = []
    if labels.what:
        sections.append(back.Section(None, labels.what, 6.8, True, colors))
    if labels.no_status:
        sections.append(back.Section(None, labels.no_status, 6, False, colors))
    if design.verify_url:
        sections.append(back.Section(labels.verify, (design.verify_url,), 8.5, True))
    if labels.places_address:
        sections.append(back.Section(labels.places, (labels.places_address,), 6.5, True))
    if design.access_text:
        sections.append(back.Section(labels.access, (design.access_text,), 6.5))
    if design.multilingual_line:
        sections.append(back.Section(None, (design.multilingual_line,), 6, False, (MUTED,)))
    if design.return_address:
        sections.append(back.Section(labels.found, (design.return_address,), 6.5))
    top = CARD_HEIGHT - BACK_HEADER - STRIPE - 3 * mm
    return back.layout(sections, SAFE, CARD_WIDTH - 2 * SAFE, top, SAFE)


def _form(canvas: Any, state: _DocState, key: str, draw: Callable[[], None]) -> str:
    """Draw once per document as a Form XObject (the sheet repeats backs and headers)."""
    name = state.forms.get(key)
    if name is None:
        name = f"f{len(state.forms)}"
        canvas.beginForm(name, 0, 0, CARD_WIDTH, CARD_HEIGHT)
        draw()
        canvas.endForm()
        state.forms[key] = name
    return name


def _draw_front(canvas: Any, state: _DocState, card: CardFace) -> None:
    labels = card.labels or CardLabels()
    form = _form(
        canvas,
        state,
        _label_key("front", labels),
        lambda: _front_static(canvas, state, labels),
    )
    canvas.doForm(form)
    photo_top = CARD_HEIGHT - BAND_HEIGHT - STRIPE - 3 * mm
    _draw_jpeg(canvas, card.photo_jpeg, SAFE, photo_top - PHOTO_HEIGHT, PHOTO_WIDTH, PHOTO_HEIGHT)
    canvas.setStrokeColorRGB(0.82, 0.83, 0.85)
    canvas.setLineWidth(0.25)
    canvas.rect(SAFE, photo_top - PHOTO_HEIGHT, PHOTO_WIDTH, PHOTO_HEIGHT, stroke=1, fill=0)

    column = SAFE + PHOTO_WIDTH + 3 * mm
    name_width = CARD_WIDTH - SAFE - column
    names = fit_block(card.names, name_width, 11, 7.5, 2, True)
    canvas.setFillColorRGB(*INK)
    y = photo_top
    for line in names.lines:
        y -= names.size * max(line.ascent, 0.9)
        draw_line(canvas, line, column, y, names.size)
        y -= names.size * 0.12 - names.size * min(line.descent, -0.2)
    if card.latin_name:
        latin = fit_block(card.latin_name, name_width, 7.5, 5.5, 2, False)
        canvas.setFillColorRGB(*MUTED)
        for line in latin.lines:
            y -= latin.size * 1.05
            draw_line(canvas, line, column, y, latin.size)

    qr = qr_matrix(card.qr_text)
    qr_side = max(QR_SIDE, (qr.size + 2 * QUIET_ZONE) * MIN_MODULE)
    # The quiet zone is white card stock, so the symbol may sit at the safe margin.
    draw_qr(canvas, qr, CARD_WIDTH - SAFE - qr_side + 0.9 * mm, SAFE - 0.9 * mm, qr_side)

    value_width = CARD_WIDTH - SAFE - qr_side - column
    canvas.setFillColorRGB(*INK)
    size = fit_size(card.card_number, value_width, 9, 5, True)
    draw_line(canvas, shape_line(card.card_number, True), column, 13.4 * mm, size)
    # The date as people read it in the label languages, beside ISO 8601; a second
    # readable form is dropped before the line gets too small to read.
    for locales in (labels.languages, labels.languages[:1], ()):
        pieces = back.date_pieces(card.valid_until, locales)
        size = max(5.0, min(9.0, value_width / max(back.pieces_width(pieces, 1, True), 1e-6)))
        if back.pieces_width(pieces, size, True) <= value_width + 0.01 or not locales:
            break
    x = column
    for index, piece in enumerate(pieces):
        if index:
            separator = shape_line(back.DATE_SEPARATOR, True)
            draw_line(canvas, separator, x, 5.4 * mm, size)
            x += separator.width_at(size)
        line = shape_line(piece, True)
        draw_line(canvas, line, x, 5.4 * mm, size)
        x += line.width_at(size)


def _draw_back(canvas: Any, state: _DocState, labels: CardLabels | None) -> None:
    labels = labels or CardLabels()
    form = _form(canvas, state, _label_key("back", labels), lambda: _back(canvas, state, labels))
    canvas.doForm(form)


def _canvas(out: Any, pagesize: tuple[float, float], title: str) -> Any:
    # invariant=1: identical input gives identical bytes (no timestamp or random ID),
    # which makes PDFs cacheable and testable. Compression costs ~1 ms a card and shrinks
    # the QR path and text several times; photos are already JPEG (passed through).
    canvas = Canvas(out, pagesize=pagesize, invariant=1, pageCompression=1)
    canvas.setTitle(title)
    canvas.setCreator("citizen-card")
    return canvas


def render_card_pdf(card: CardFace, design: CardDesign) -> bytes:
    """One ID-1 card: page 1 the front, page 2 the back.

    :raises RenderError: bad photo, logo or colour, or QR text too long.
    """
    state = _doc_state(design)
    buffer = io.BytesIO()
    canvas = _canvas(buffer, (CARD_WIDTH, CARD_HEIGHT), f"{design.card_title} {card.card_number}")
    _draw_front(canvas, state, card)
    canvas.showPage()
    _draw_back(canvas, state, card.labels)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------
# A4 sheets

SHEET_COLUMNS = 2
SHEET_ROWS = 5
CARDS_PER_SHEET = SHEET_COLUMNS * SHEET_ROWS
COLUMN_GAP = 8 * mm  # room for crop marks between the columns
ROW_GAP = 2 * mm
SHEET_LEFT = (A4_WIDTH - SHEET_COLUMNS * CARD_WIDTH - (SHEET_COLUMNS - 1) * COLUMN_GAP) / 2
SHEET_BOTTOM = (A4_HEIGHT - SHEET_ROWS * CARD_HEIGHT - (SHEET_ROWS - 1) * ROW_GAP) / 2
MARK_OFFSET = 1.5 * mm
MARK_LENGTH = 5 * mm


def slot_origin(index: int, mirrored: bool = False) -> tuple[float, float]:
    """Lower-left corner of card slot ``index`` (row-major from the top left).

    A back page is mirrored left-right: a long-edge duplex flip puts the right column of
    the back page behind the left column of the front.
    """
    row, column = divmod(index, SHEET_COLUMNS)
    if mirrored:
        column = SHEET_COLUMNS - 1 - column
    x = SHEET_LEFT + column * (CARD_WIDTH + COLUMN_GAP)
    y = A4_HEIGHT - SHEET_BOTTOM - (row + 1) * CARD_HEIGHT - row * ROW_GAP
    return x, y


def _crop_marks(canvas: Any) -> None:
    canvas.setStrokeColorRGB(0, 0, 0)
    canvas.setLineWidth(0.25)
    xs = sorted({x for i in range(SHEET_COLUMNS) for x in (slot_origin(i)[0],)})
    edges_x = [edge for x in xs for edge in (x, x + CARD_WIDTH)]
    edges_y = [
        edge
        for row in range(SHEET_ROWS)
        for edge in (
            slot_origin(row * SHEET_COLUMNS)[1],
            slot_origin(row * SHEET_COLUMNS)[1] + CARD_HEIGHT,
        )
    ]
    top = max(edges_y)
    bottom = min(edges_y)
    left = min(edges_x)
    right = max(edges_x)
    path = canvas.beginPath()
    for x in edges_x:  # vertical cut lines: marks above and below the grid
        path.moveTo(x, top + MARK_OFFSET)
        path.lineTo(x, top + MARK_OFFSET + MARK_LENGTH)
        path.moveTo(x, bottom - MARK_OFFSET)
        path.lineTo(x, bottom - MARK_OFFSET - MARK_LENGTH)
    gap_left = xs[0] + CARD_WIDTH
    for y in edges_y:  # horizontal cut lines: marks left, right and in the column gap
        path.moveTo(left - MARK_OFFSET, y)
        path.lineTo(left - MARK_OFFSET - MARK_LENGTH, y)
        path.moveTo(right + MARK_OFFSET, y)
        path.lineTo(right + MARK_OFFSET + MARK_LENGTH, y)
        path.moveTo(gap_left + MARK_OFFSET, y)
        path.lineTo(gap_left + COLUMN_GAP - MARK_OFFSET, y)
    canvas.drawPath(path, stroke=1, fill=0)


def _sheet(canvas: Any, state: _DocState, cards: list[CardFace]) -> None:
    for index, card in enumerate(cards):
        x, y = slot_origin(index)
        canvas.saveState()
        canvas.translate(x, y)
        _draw_front(canvas, state, card)
        canvas.restoreState()
    _crop_marks(canvas)
    canvas.showPage()
    for index, card in enumerate(cards):
        x, y = slot_origin(index, mirrored=True)
        canvas.saveState()
        canvas.translate(x, y)
        _draw_back(canvas, state, card.labels)
        canvas.restoreState()
    _crop_marks(canvas)
    canvas.showPage()


def render_sheet_pdf(
    cards: Iterable[CardFace],
    design: CardDesign,
    out: BinaryIO,
    progress: Callable[[int], None] | None = None,
) -> None:
    """A4 sheets of up to ten cards: each front page followed by its mirrored back page
    (print long-edge duplex). ``progress`` gets the number of cards drawn so far.

    Cards are consumed lazily, a sheet at a time, and the photos are embedded as they
    come (JPEG passthrough); ReportLab still assembles the file in memory before writing
    it to ``out``, about 40 kB a card.

    :raises RenderError: bad photo, logo or colour, or QR text too long.
    """
    state = _doc_state(design)
    canvas = _canvas(out, (A4_WIDTH, A4_HEIGHT), design.card_title)
    done = 0
    batch: list[CardFace] = []
    for card in cards:
        batch.append(card)
        if len(batch) == CARDS_PER_SHEET:
            _sheet(canvas, state, batch)
            done += len(batch)
            batch = []
            if progress is not None:
                progress(done)
    if batch:
        _sheet(canvas, state, batch)
        done += len(batch)
        if progress is not None:
            progress(done)
    canvas.save()


# ---------------------------------------------------------------------------------------
# PNG preview

#: Held while this process calls PDFium (one thread at a time: it is not thread-safe).
PDFIUM_LOCK = threading.Lock()


def render_card_png(card: CardFace, design: CardDesign, *, dpi: int = 200) -> tuple[bytes, bytes]:
    """PNG previews (front, back) of the card, rasterised from the PDF with PDFium.

    PDFium is not thread-safe, not even across documents (pypdfium2's documentation):
    two previews rendered at once by the server's threads crashed the process. So only
    one thread at a time works with it (:data:`PDFIUM_LOCK`); the PDF itself is drawn
    by ReportLab before, outside the lock.
    """
    import pypdfium2  # local: only previews need PDFium

    pdf = render_card_pdf(card, design)
    images: list[bytes] = []
    with PDFIUM_LOCK:
        document = pypdfium2.PdfDocument(pdf)
        try:
            # copy(): an image of its own, not a view of PDFium's buffer.
            bitmaps = [document[i].render(scale=dpi / 72).to_pil().copy() for i in range(2)]
        finally:
            document.close()
    for bitmap in bitmaps:
        buffer = io.BytesIO()
        bitmap.save(buffer, format="PNG", optimize=False)
        images.append(buffer.getvalue())
    return images[0], images[1]
