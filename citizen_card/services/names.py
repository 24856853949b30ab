"""What a name may hold, so that it is what it looks like.

A name is printed on a card, signed into its QR code, shown on the verify page and found
by search. A character that shows nothing, or that reorders the text around it, makes
those four disagree: ``Ana \\u202eztiroM`` prints one way and reads another, ``Jo\\u200bão``
looks like "João" but no search finds it. Such characters are refused with a message.

Two invisible characters are part of how some scripts are written and stay: the zero
width non-joiner (Persian, Kurdish, Indic scripts) and the zero width joiner (Indic
scripts), but only between letters of such a script. Search ignores them.

It also says how the parts of a name are put together, in one place for the card, its
signed QR text, the pages and the form's live preview (:func:`printed_name`): in the
order the resident uses (Chinese, Japanese, Korean, Vietnamese and Hungarian names put
the family name first), and with no space between the parts where the script writes
names without one (Han, kana and Hangul: 李小龙, 山田太郎, 김민준). Thai, Lao and the other
scripts that do not space words still space a given name from a family name.
"""

from __future__ import annotations

import unicodedata

ZWNJ = "\u200c"
ZWJ = "\u200d"
JOINERS = frozenset({ZWNJ, ZWJ})
# Not format characters, yet they show nothing (or a blank): Hangul fillers, the braille
# blank, the combining grapheme joiner, the Khmer inherent vowels, the replacement marks.
INVISIBLE = frozenset(
    {"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800", "\u034f", "\u17b4", "\u17b5", "\ufffc"}
)
UNPRINTABLE_CATEGORIES = frozenset({"Cc", "Cs", "Co", "Cn"})
_DROP_JOINERS = str.maketrans(dict.fromkeys(JOINERS))

GIVEN_FIRST = "given_first"
FAMILY_FIRST = "family_first"
NAME_ORDERS = (GIVEN_FIRST, FAMILY_FIRST)
# Scripts whose names are written without a space between family and given name: Hangul
# Jamo, CJK radicals, the ideographic iteration and closing marks and number zero (々〆〇),
# Hiragana and Katakana, Hangul compatibility Jamo, Katakana extensions, CJK ideographs
# (extension A, the main block), Hangul Jamo extension A, Hangul syllables and Jamo
# extension B, CJK compatibility ideographs, half-width Katakana, and ideographs beyond
# the BMP (extensions B to H, compatibility supplement). The form's preview script reads
# these same ranges from the page (``unspaced_ranges``), so both decide alike.
UNSPACED_RANGES: tuple[tuple[int, int], ...] = (
    (0x1100, 0x11FF),
    (0x2E80, 0x2FDF),
    (0x3005, 0x3007),
    (0x3040, 0x30FF),
    (0x3130, 0x318F),
    (0x31F0, 0x31FF),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xA960, 0xA97F),
    (0xAC00, 0xD7FF),
    (0xF900, 0xFAFF),
    (0xFF66, 0xFF9F),
    (0x20000, 0x323AF),
)


class NameRule(ValueError):
    """The text breaks a rule; ``code`` says which (``unprintable`` or ``invisible``)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _letter_or_mark(ch: str) -> bool:
    return unicodedata.category(ch)[0] in ("L", "M")


def _latin(ch: str) -> bool:
    return unicodedata.name(ch, "").startswith("LATIN")


def _joiner_in_place(text: str, at: int) -> bool:
    """A joiner between two letters (or marks) of a script that uses joiners."""
    if at == 0 or at == len(text) - 1:
        return False
    before, after = text[at - 1], text[at + 1]
    if not (_letter_or_mark(before) and _letter_or_mark(after)):
        return False
    return not (_latin(before) and _latin(after))


def check_visible(text: str) -> None:
    """Refuse characters that would make the text differ from how it looks.

    :raises NameRule: ``unprintable`` (control, surrogate, private use, unassigned) or
        ``invisible`` (format characters such as direction overrides and zero-width
        spaces, invisible letters, or a joiner outside a word of a script that uses it).
    """
    for at, ch in enumerate(text):
        category = unicodedata.category(ch)
        if category in UNPRINTABLE_CATEGORIES or ch == "\ufffd":
            raise NameRule("unprintable")
        if ch in JOINERS:
            if not _joiner_in_place(text, at):
                raise NameRule("invisible")
        elif category == "Cf" or ch in INVISIBLE:
            raise NameRule("invisible")


def is_latin(text: str) -> bool:
    """True when every letter of ``text`` is in the Latin script."""
    return all(_latin(ch) for ch in text if ch.isalpha())


def unspaced_script(ch: str) -> bool:
    """True for a character of a script that writes names without spaces (Han, kana,
    Hangul)."""
    code = ord(ch)
    return any(low <= code <= high for low, high in UNSPACED_RANGES)


def printed_name(given: str, family: str, order: str = GIVEN_FIRST) -> str:
    """The name as the card prints it and its QR code signs it.

    The parts come in the resident's order; they are joined without a space when the
    letters that meet are both of a script that writes names unspaced ("李" and "小龙"
    give "李小龙"), with one space otherwise ("Nagy Eszter", "Trần Thị Ngọc Ánh").
    """
    first, second = (family, given) if order == FAMILY_FIRST else (given, family)
    first, second = first.strip(), second.strip()
    if not first or not second:
        return first or second
    glue = "" if unspaced_script(first[-1]) and unspaced_script(second[0]) else " "
    return first + glue + second


def unspaced_ranges() -> str:
    """:data:`UNSPACED_RANGES` as the preview script reads them: ``low-high`` in hex,
    comma-separated."""
    return ",".join(f"{low:x}-{high:x}" for low, high in UNSPACED_RANGES)


def without_joiners(text: str) -> str:
    """The text as search sees it: joiners change how letters connect, not which they are."""
    return text.translate(_DROP_JOINERS)


__all__ = [
    "FAMILY_FIRST",
    "GIVEN_FIRST",
    "JOINERS",
    "NAME_ORDERS",
    "NameRule",
    "check_visible",
    "is_latin",
    "printed_name",
    "unspaced_ranges",
    "unspaced_script",
    "without_joiners",
]
