#!/usr/bin/env python3
"""Make the browser's copies of the fonts the card PDFs ship: WOFF2 subsets, one a script.

    .venv/bin/pip install 'fonttools[woff]' brotli   # build-time only
    .venv/bin/python scripts/make_web_fonts.py

Reads citizen_card/card/fonts/*.ttf and writes verify/static/fonts/: one WOFF2 file a
script (Han in slices), fonts.css with an @font-face for each and its unicode-range (so a
browser fetches only the files whose characters a page shows), and the licences beside
them. verify/ holds them because the verify pages serve them too and verify/ imports
nothing from citizen_card; the staff pages link the same files. Run it again after
changing a font, and commit what it writes.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "citizen_card" / "card" / "fonts"
TARGET = ROOT / "verify" / "static" / "fonts"
FAMILY = "Card Sans"
LICENCES = ("OFL-1.1.txt", "LICENSE-Apache-2.0.txt")


@dataclass(frozen=True)
class Slice:
    name: str  # the file's name, without weight and suffix
    source: str  # the TTF's name, without "-Regular.ttf" / "-Bold.ttf"
    ranges: tuple[tuple[int, int], ...]
    bold: bool = True  # the source has a Bold file


LATIN = (
    (0x0000, 0x024F),
    (0x0250, 0x02FF),
    (0x0300, 0x036F),
    (0x1E00, 0x1EFF),
    (0x2000, 0x206F),
    (0x20A0, 0x20CF),
    (0x2100, 0x214F),
    (0x2190, 0x21FF),
    (0x2C60, 0x2C7F),
    (0xA720, 0xA7FF),
    (0xFEFF, 0xFEFF),
    (0xFFFD, 0xFFFD),
)
GREEK_CYRILLIC = (
    (0x0370, 0x03FF),
    (0x0400, 0x052F),
    (0x1C80, 0x1C8F),
    (0x1F00, 0x1FFF),
    (0x2DE0, 0x2DFF),
    (0xA640, 0xA69F),
)
# Han in slices of 4,096 code points: a page with one Chinese name fetches one or two.
HAN = tuple((start, min(start + 0xFFF, 0x9FFF)) for start in range(0x4E00, 0xA000, 0x1000))
SLICES = (
    Slice("latin", "NotoSans", LATIN),
    Slice("greek-cyrillic", "NotoSans", GREEK_CYRILLIC),
    Slice(
        "arabic",
        "NotoSansArabic",
        ((0x0600, 0x06FF), (0x0750, 0x077F), (0x0870, 0x08FF), (0xFB50, 0xFDFF), (0xFE70, 0xFEFC)),
    ),
    Slice("hebrew", "NotoSansHebrew", ((0x0590, 0x05FF), (0xFB1D, 0xFB4F))),
    Slice(
        "ethiopic",
        "NotoSansEthiopic",
        ((0x1200, 0x139F), (0x2D80, 0x2DDF), (0xAB00, 0xAB2F), (0x1E7E0, 0x1E7FF)),
    ),
    Slice(
        "devanagari", "NotoSansDevanagari", ((0x0900, 0x097F), (0x1CD0, 0x1CFF), (0xA8E0, 0xA8FF))
    ),
    Slice("bengali", "NotoSansBengali", ((0x0980, 0x09FF),)),
    Slice(
        "cjk-symbols-kana-hangul",
        "DroidSansFallbackFull",
        (
            (0x2E80, 0x2FDF),
            (0x3000, 0x303F),
            (0x3040, 0x30FF),
            (0x3100, 0x312F),
            (0x3130, 0x318F),
            (0x31F0, 0x31FF),
            (0xAC00, 0xD7AF),
            (0xFF00, 0xFFEF),
        ),
        bold=False,
    ),
    Slice("cjk-ext-a", "DroidSansFallbackFull", ((0x3400, 0x4DBF), (0xF900, 0xFAFF)), bold=False),
    *(
        Slice(f"han-{start:04x}", "DroidSansFallbackFull", ((start, end),), bold=False)
        for start, end in HAN
    ),
)


def _source(slice_: Slice, weight: str) -> Path:
    if slice_.source == "DroidSansFallbackFull":
        return SOURCE / "DroidSansFallbackFull.ttf"
    return SOURCE / f"{slice_.source}-{weight}.ttf"


def _unicode_range(codepoints: list[int]) -> str:
    """The code points as CSS unicode-range runs (U+41-5A, U+E9, ...)."""
    runs: list[tuple[int, int]] = []
    for point in sorted(codepoints):
        if runs and point == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], point)
        else:
            runs.append((point, point))
    return ", ".join(f"U+{a:X}" if a == b else f"U+{a:X}-{b:X}" for a, b in runs)


def make(slice_: Slice, weight: str) -> tuple[str, str] | None:
    """Write one WOFF2 subset; its file name and the unicode-range it covers."""
    font = TTFont(_source(slice_, weight), recalcTimestamp=False)  # same bytes each run
    cmap = font.getBestCmap()
    wanted = [p for p in cmap if any(a <= p <= b for a, b in slice_.ranges)]
    if not wanted:
        return None
    options = subset.Options()
    options.flavor = "woff2"
    options.layout_features = ["*"]  # shaping (Arabic joining, Indic conjuncts) needs them
    options.name_IDs = ["*"]  # copyright, licence and Reserved Font Name stay in the file
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.hinting = slice_.source != "DroidSansFallbackFull"  # CJK hints: megabytes
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=wanted)
    subsetter.subset(font)
    name = f"{slice_.name}-{weight.lower()}.woff2"
    font.flavor = "woff2"
    font.save(TARGET / name)
    return name, _unicode_range(wanted)


def main() -> int:
    TARGET.mkdir(parents=True, exist_ok=True)
    for old in TARGET.glob("*.woff2"):
        old.unlink()
    rules = [
        "/* Generated by scripts/make_web_fonts.py from citizen_card/card/fonts: the fonts\n"
        "   the card PDFs ship, as WOFF2 subsets. Licences: OFL-1.1.txt (Noto),\n"
        "   LICENSE-Apache-2.0.txt (Droid Sans Fallback). Do not edit by hand. */"
    ]
    for slice_ in SLICES:
        made = {"400": make(slice_, "Regular")}
        # One weight of Droid: its bold face is the same file (as in the PDFs). Declared
        # once a weight, not as a "400 700" range: Chromium matches a weight against one
        # range at a time, and a range would hide every other script's 400 face.
        made["700"] = make(slice_, "Bold") if slice_.bold else made["400"]
        for css_weight, face in made.items():
            if face is None:
                continue
            name, ranges = face
            rules.append(
                "@font-face {\n"
                f'  font-family: "{FAMILY}";\n'
                f"  font-weight: {css_weight};\n"
                "  font-style: normal;\n"
                "  font-display: swap;\n"
                f'  src: url("{name}") format("woff2");\n'
                f"  unicode-range: {ranges};\n"
                "}"
            )
            print(f"{name}: {(TARGET / name).stat().st_size // 1024} KiB", file=sys.stderr)
    (TARGET / "fonts.css").write_text("\n".join(rules) + "\n", encoding="utf-8")
    for licence in LICENCES:
        shutil.copyfile(SOURCE / licence, TARGET / licence)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
