"""The words of a card in its label languages: the back's layout and the readable dates.

A city prints its labels in one or two languages (``CardLabels.languages``). The back
says, in each, what the card is and that it shows no nationality or immigration status,
then how to check it and where to return it. Lines in a right-to-left language are
shaped and reordered by :mod:`citizen_card.card.text` and set flush right.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from babel.dates import format_date, format_skeleton

from .text import ShapedLine, shape_line, wrap

INK = (0.11, 0.12, 0.14)
MUTED = (0.38, 0.40, 0.44)
MM = 72 / 25.4


def readable_date(day: datetime.date, locale: str) -> str:
    """The date as people read it: "30 NOV 2031", "30 NOV. 2031", "2031年11月30日"."""
    try:
        if locale.startswith("zh"):
            return format_skeleton("yMMMd", day, locale=locale)
        return format_date(day, "d MMM y", locale=locale).upper()
    except (ValueError, LookupError):  # a locale Babel does not know: ISO alone
        return ""


DATE_SEPARATOR = " · "


def date_pieces(day: datetime.date, locales: Sequence[str]) -> list[str]:
    """The readable forms in the label languages (each once), then ISO 8601.

    Kept apart, each shaped on its own: inside an Arabic paragraph the bidi algorithm
    would read "2031-11-30" as three numbers and show "30-11-2031".
    """
    forms = dict.fromkeys(form for form in (readable_date(day, c) for c in locales) if form)
    return [*forms, day.isoformat()]


def date_line(day: datetime.date, locales: Sequence[str]) -> str:
    """The date pieces as one text (the order they are drawn in, left to right)."""
    return DATE_SEPARATOR.join(date_pieces(day, locales))


def pieces_width(pieces: Sequence[str], size: float, bold: bool) -> float:
    """The width of ``pieces`` drawn side by side with the separator between them."""
    separators = shape_line(DATE_SEPARATOR, bold).width_at(size) * max(len(pieces) - 1, 0)
    return separators + sum(shape_line(piece, bold).width_at(size) for piece in pieces)


@dataclass(frozen=True)
class Section:
    """One block of the back: an optional small-caps label, then lines of text."""

    label: str | None
    texts: tuple[str, ...]  # one paragraph each (one per language, or the city's text)
    size: float
    bold: bool = False
    colors: tuple[tuple[float, float, float], ...] = (INK,)


@dataclass(frozen=True)
class PlacedLine:
    x: float
    y: float
    line: ShapedLine
    color: tuple[float, float, float]
    size: float


def layout(
    sections: Sequence[Section], left: float, width: float, top: float, bottom: float
) -> tuple[list[PlacedLine], float]:
    """Place ``sections`` from ``top`` down, shrinking all of them together until they end
    above ``bottom`` (never below 55 %). Returns the lines and the scale used.

    Right-to-left paragraphs are set flush right (labels, which hold both languages in
    one line, flush left); every line is at most ``width`` wide.
    """
    scale = 1.0
    while True:
        placed: list[PlacedLine] = []
        y = top
        for section in sections:
            if section.label:
                label_size = 5.2 * scale
                # A label holds both languages in one line: set flush left, as the card.
                for line in wrap(section.label.upper(), width, label_size):
                    y -= label_size * 0.95
                    placed.append(PlacedLine(left, y, line, MUTED, label_size))
                y -= 0.9 * MM * scale
            size = section.size * scale
            for index, text in enumerate(section.texts):
                color = section.colors[min(index, len(section.colors) - 1)]
                if index:  # room for the descenders of Arabic above the next language
                    y -= size * 0.3
                for line in wrap(text, width, size, section.bold):
                    y -= size
                    placed.append(_placed(line, left, width, y, color, size))
                    y -= size * 0.25
            y -= 2.2 * MM * scale
        if y + 2.2 * MM * scale >= bottom or scale < 0.55:
            return placed, scale
        scale -= 0.05


def _placed(
    line: ShapedLine,
    left: float,
    width: float,
    y: float,
    color: tuple[float, float, float],
    size: float,
) -> PlacedLine:
    x = left + width - line.width_at(size) if line.rtl else left
    return PlacedLine(x, y, line, color, size)


def statement_colors(count: int) -> tuple[tuple[float, float, float], ...]:
    """The first language in ink, the second muted: the eye finds its own."""
    return (INK, *(MUTED,) * max(count - 1, 0))


def one_line_size(text: str, max_width: float, size: float, min_size: float, bold: bool) -> float:
    """The size at which ``text`` fits ``max_width`` on one line (at least ``min_size``)."""
    width = shape_line(text, bold).width_at(1)
    return size if width <= 0 else max(min_size, min(size, max_width / width))
