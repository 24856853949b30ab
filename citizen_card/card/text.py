"""Text in any script: font fallback per run, bidi ordering, HarfBuzz shaping, drawing.

ReportLab 5 can shape with uharfbuzz, but only for one font per string and with bidi
through the optional ``rlbidi``; a resident's name can mix scripts (an Arabic name with a
Latin middle initial, a Chinese name with a Latin family name), and the back of the card
has a line in several languages. So text is split here into runs of one font and one
direction, each run shaped once by HarfBuzz and drawn as positioned glyphs through
ReportLab's own TrueType subsetting (``ShapedStr``), which keeps the PDF fonts subset.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import uharfbuzz as hb
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import ShapeData, ShapedStr, TTFont

FONT_DIR = Path(__file__).parent / "fonts"

# Font key -> (regular file, bold file). Droid Sans Fallback has one weight only.
_FONT_FILES: dict[str, tuple[str, str]] = {
    "latin": ("NotoSans-Regular.ttf", "NotoSans-Bold.ttf"),
    "arabic": ("NotoSansArabic-Regular.ttf", "NotoSansArabic-Bold.ttf"),
    "hebrew": ("NotoSansHebrew-Regular.ttf", "NotoSansHebrew-Bold.ttf"),
    "ethiopic": ("NotoSansEthiopic-Regular.ttf", "NotoSansEthiopic-Bold.ttf"),
    "devanagari": ("NotoSansDevanagari-Regular.ttf", "NotoSansDevanagari-Bold.ttf"),
    "bengali": ("NotoSansBengali-Regular.ttf", "NotoSansBengali-Bold.ttf"),
    "cjk": ("DroidSansFallbackFull.ttf", "DroidSansFallbackFull.ttf"),
}

# (first, last, font key) for the scripts that need their own font; everything else
# starts with Noto Sans (Latin, Greek, Cyrillic) and falls back down _FALLBACK.
_SCRIPT_RANGES: tuple[tuple[int, int, str], ...] = (
    (0x0590, 0x05FF, "hebrew"),
    (0x0600, 0x06FF, "arabic"),
    (0x0750, 0x077F, "arabic"),
    (0x0870, 0x08FF, "arabic"),
    (0x0900, 0x097F, "devanagari"),
    (0x0980, 0x09FF, "bengali"),
    (0x1200, 0x139F, "ethiopic"),
    (0x1CD0, 0x1CFF, "devanagari"),
    (0x2D80, 0x2DDF, "ethiopic"),
    (0x2E80, 0x2FDF, "cjk"),
    (0x3000, 0x9FFF, "cjk"),
    (0xA8E0, 0xA8FF, "devanagari"),
    (0xAB00, 0xAB2F, "ethiopic"),
    (0xAC00, 0xD7AF, "cjk"),
    (0xF900, 0xFAFF, "cjk"),
    (0xFB1D, 0xFB4F, "hebrew"),
    (0xFB50, 0xFDFF, "arabic"),
    (0xFE70, 0xFEFF, "arabic"),
    (0xFF00, 0xFFEF, "cjk"),
    (0x1E7E0, 0x1E7FF, "ethiopic"),
    (0x20000, 0x2FFFF, "cjk"),
)
_FALLBACK = ("latin", "cjk", "arabic", "hebrew", "devanagari", "bengali", "ethiopic")


@dataclass
class _Face:
    """A registered font with its HarfBuzz font and glyph-to-character map."""

    name: str
    ttf: Any  # reportlab TTFont
    hb_font: Any
    units_per_em: int
    cmap: dict[int, int]
    ascent: float  # per unit of font size
    descent: float


_faces: dict[tuple[str, bool], _Face] = {}


def face(key: str, bold: bool = False) -> _Face:
    """Load and register a shipped font once per process (parsing Droid takes ~60 ms)."""
    cached = _faces.get((key, bold))
    if cached is not None:
        return cached
    filename = _FONT_FILES[key][1 if bold else 0]
    name = "CC-" + filename.removesuffix(".ttf")
    if name in pdfmetrics.getRegisteredFontNames():
        ttf = pdfmetrics.getFont(name)
    else:
        ttf = TTFont(name, str(FONT_DIR / filename))
        pdfmetrics.registerFont(ttf)
    # ReportLab's default (rl_config.ttfAsciiReadable) puts all of ASCII into every
    # subset so that content streams read as ASCII; for four fonts a card that embeds
    # ~100 unused glyphs each and was ~1.8 ms of subsetting, compression and Widths
    # arrays. Off, a subset holds only the glyphs drawn (code 32 stays the space). Text
    # extraction is unaffected: it goes through ToUnicode and our ActualText spans.
    ttf._asciiReadable = False
    hb_face = hb.Face(hb.Blob(ttf.face._ttf_data))
    font = _Face(
        name=name,
        ttf=ttf,
        hb_font=hb.Font(hb_face),
        units_per_em=hb_face.upem,
        cmap=ttf.face.charToGlyph,
        ascent=ttf.face.ascent / 1000,
        descent=ttf.face.descent / 1000,
    )
    _faces[(key, bold)] = font
    # Same face object for both weights of the one-weight fallback font.
    if _FONT_FILES[key][0] == _FONT_FILES[key][1]:
        _faces[(key, not bold)] = font
    return font


def _script_font(cp: int) -> str | None:
    for first, last, key in _SCRIPT_RANGES:
        if first <= cp <= last:
            return key
    return None


def _is_common(ch: str) -> bool:
    """Characters that belong to the run around them: spaces, punctuation, marks, digits."""
    return unicodedata.category(ch)[0] in "ZPMNSC"


def _font_for(ch: str, current: str | None) -> str:
    cp = ord(ch)
    preferred = _script_font(cp)
    if preferred is None and current is not None and _is_common(ch) and cp in face(current).cmap:
        return current
    if preferred is not None and cp in face(preferred).cmap:
        return preferred
    for key in _FALLBACK:
        if cp in face(key).cmap:
            return key
    return preferred or "latin"  # renders as .notdef; never crashes on odd input


# ---------------------------------------------------------------------------------------
# Bidi: a compact Unicode Bidirectional Algorithm (UAX #9) for one paragraph without
# explicit embeddings (rules P2-P3, W1-W7, N1-N2, I1-I2, L2). Names and card lines carry
# no embedding controls; isolates and overrides are treated as neutrals.


def _bidi_levels(text: str) -> tuple[list[int], int]:
    types = [unicodedata.bidirectional(ch) or "L" for ch in text]
    base = 0
    for t in types:
        if t in ("L", "R", "AL"):
            base = 0 if t == "L" else 1
            break
    sos = "R" if base else "L"
    # W1: non-spacing marks take the type of what they follow.
    prev = sos
    for i, t in enumerate(types):
        if t == "NSM":
            types[i] = prev
        prev = types[i]
    # W2, W3: European digits after Arabic letters are Arabic digits; AL is R.
    last_strong = sos
    for i, t in enumerate(types):
        if t in ("L", "R", "AL"):
            last_strong = t
        elif t == "EN" and last_strong == "AL":
            types[i] = "AN"
    types = ["R" if t == "AL" else t for t in types]
    # W4: a single separator between two numbers of the same kind joins them.
    for i in range(1, len(types) - 1):
        if types[i] == "ES" and types[i - 1] == types[i + 1] == "EN":
            types[i] = "EN"
        elif types[i] == "CS" and types[i - 1] == types[i + 1] and types[i - 1] in ("EN", "AN"):
            types[i] = types[i - 1]
    # W5: terminators next to European numbers are part of them.
    for i, t in enumerate(types):
        if t == "EN":
            j = i - 1
            while j >= 0 and types[j] == "ET":
                types[j] = "EN"
                j -= 1
            j = i + 1
            while j < len(types) and types[j] == "ET":
                types[j] = "EN"
                j += 1
    # W6, W7
    last_strong = sos
    for i, t in enumerate(types):
        if t in ("ES", "ET", "CS"):
            types[i] = "ON"
        elif t in ("L", "R"):
            last_strong = t
        elif t == "EN" and last_strong == "L":
            types[i] = "L"

    # N1, N2: neutrals between two strong types of one direction take it, else the base.
    def strong(t: str) -> str | None:
        return "R" if t in ("R", "EN", "AN") else ("L" if t == "L" else None)

    i = 0
    n = len(types)
    while i < n:
        if strong(types[i]) is not None:
            i += 1
            continue
        j = i
        while j < n and strong(types[j]) is None:
            j += 1
        before = strong(types[i - 1]) if i > 0 else sos
        after = strong(types[j]) if j < n else sos
        resolved = before if before == after else sos
        for k in range(i, j):
            types[k] = resolved or sos
        i = j
    # I1, I2
    levels: list[int] = []
    for t in types:
        if base == 0:
            levels.append(1 if t == "R" else 2 if t in ("AN", "EN") else 0)
        else:
            levels.append(2 if t in ("L", "EN", "AN") else 1)
    return levels, base


# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GlyphRun:
    """Glyphs of one font and direction, in visual order, in 1/1000 em units."""

    font: _Face
    text: ShapedStr  # one character per glyph, mapped to the glyph for ReportLab
    width: float  # in 1/1000 em


@dataclass(frozen=True)
class ShapedLine:
    """A line shaped at unit size: widths scale with the font size without re-shaping."""

    runs: tuple[GlyphRun, ...]
    width: float  # 1/1000 em
    ascent: float  # per unit of font size (the tallest font in the line)
    descent: float
    text: str  # logical text, for ActualText (copy, search, screen readers)
    rtl: bool  # paragraph direction

    def width_at(self, size: float) -> float:
        return self.width * size / 1000


def _glyph_char(font: _Face, gid: int, advance: float) -> str:
    """A character that ReportLab's subsetter maps to ``gid``.

    Glyphs without a code point of their own (Arabic joining forms, conjuncts, ligatures)
    get a private-use code point, as ReportLab's own shaping does.
    """
    face_info = font.ttf.face
    chars = face_info.glyphToChar.get(gid)
    if chars:
        return chr(chars[0])
    cp = 0xE000
    while cp in face_info.charToGlyph:
        cp += 1
    face_info.charToGlyph[cp] = gid
    face_info.glyphToChar.setdefault(gid, []).append(cp)
    face_info.charWidths[cp] = advance
    return chr(cp)


def _shape_run(text: str, font: _Face, rtl: bool) -> GlyphRun:
    buf = hb.Buffer()
    buf.add_str(text)
    buf.guess_segment_properties()
    buf.direction = "rtl" if rtl else "ltr"
    hb.shape(font.hb_font, buf, {"kern": True, "liga": True})
    scale = 1000 / font.units_per_em
    chars: list[str] = []
    shape_data: list[Any] = []
    width = 0.0
    widths = font.ttf.face.charWidths
    for info, pos in zip(buf.glyph_infos, buf.glyph_positions, strict=True):
        advance = pos.x_advance * scale
        ch = _glyph_char(font, info.codepoint, advance)
        chars.append(ch)
        shape_data.append(
            ShapeData(
                info.cluster,
                advance,
                pos.y_advance * scale,
                pos.x_offset * scale,
                pos.y_offset * scale,
                widths.get(ord(ch), advance),
            )
        )
        width += advance
    return GlyphRun(font=font, text=ShapedStr("".join(chars), shape_data), width=width)


@lru_cache(maxsize=2048)
def shape_line(text: str, bold: bool = False) -> ShapedLine:
    """Shape one line of text (any mix of scripts) in visual order."""
    if not text:
        return ShapedLine((), 0.0, 0.0, 0.0, text, False)
    levels, base = _bidi_levels(text)
    # Split into runs of one font key and one level.
    pieces: list[tuple[int, str, str]] = []  # (level, font key, text)
    current: str | None = None
    for ch, level in zip(text, levels, strict=True):
        key = _font_for(ch, current)
        current = key
        if pieces and pieces[-1][0] == level and pieces[-1][1] == key:
            pieces[-1] = (level, key, pieces[-1][2] + ch)
        else:
            pieces.append((level, key, ch))
    runs = [
        (level, _shape_run(chunk, face(key, bold), level % 2 == 1)) for level, key, chunk in pieces
    ]
    # L2: from the highest level down to the lowest odd one, reverse every sequence of
    # runs at that level or above. HarfBuzz already returns each RTL run in visual order.
    top = max(level for level, _ in runs)
    lowest_odd = min((level for level, _ in runs if level % 2), default=top + 1)
    for target in range(top, lowest_odd - 1, -1):
        i = 0
        while i < len(runs):
            if runs[i][0] >= target:
                j = i
                while j < len(runs) and runs[j][0] >= target:
                    j += 1
                runs[i:j] = runs[i:j][::-1]
                i = j
            else:
                i += 1
    glyph_runs = tuple(run for _, run in runs)
    return ShapedLine(
        runs=glyph_runs,
        width=sum(run.width for run in glyph_runs),
        ascent=max(run.font.ascent for run in glyph_runs),
        descent=min(run.font.descent for run in glyph_runs),
        text=text,
        rtl=base == 1,
    )


def _actual_text(text: str) -> str:
    return "<FEFF" + text.encode("utf-16-be").hex().upper() + ">"


def draw_line(canvas: Any, line: ShapedLine, x: float, y: float, size: float) -> None:
    """Draw ``line`` with its left end at ``x`` and baseline at ``y``."""
    if not line.runs:
        return
    text_object = canvas.beginText(x, y)
    for run in line.runs:
        text_object.setFont(run.font.name, size)
        text_object.textOut(run.text)
    # ActualText gives the logical string back to copy/paste, search and screen readers;
    # otherwise an Arabic name would extract as private-use joining forms in visual order.
    canvas._code.append(f"/Span <</ActualText {_actual_text(line.text)}>> BDC")
    canvas.drawText(text_object)
    canvas._code.append("EMC")


def wrap(text: str, max_width: float, size: float, bold: bool = False) -> list[ShapedLine]:
    """Greedy word wrap (at spaces, not at no-break spaces) of ``text`` into lines no
    wider than ``max_width``.

    A single word wider than the line is broken between characters (never mid-glyph:
    the break is at a character boundary and the pieces are shaped separately).
    """
    lines: list[ShapedLine] = []
    # Break at ordinary spaces only: a no-break space (French "trouvée ?") stays a glue.
    words = [word for word in re.split(r"[ \t\r\n]+", text) if word]
    current = ""
    for word in words:
        candidate = f"{current} {word}" if current else word
        if shape_line(candidate, bold).width_at(size) <= max_width:
            current = candidate
            continue
        if current:
            lines.append(shape_line(current, bold))
        current = word
        while shape_line(current, bold).width_at(size) > max_width and len(current) > 1:
            cut = len(current) - 1
            while cut > 1 and shape_line(current[:cut], bold).width_at(size) > max_width:
                cut -= 1
            lines.append(shape_line(current[:cut], bold))
            current = current[cut:]
    if current:
        lines.append(shape_line(current, bold))
    return lines
