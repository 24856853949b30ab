"""What a name may hold, so that it is what it looks like.

A name is printed on a card, signed into its QR code, shown on the verify page and found
by search. A character that shows nothing, or that reorders the text around it, makes
those four disagree: ``Ana \\u202eztiroM`` prints one way and reads another, ``Jo\\u200bão``
looks like "João" but no search finds it. Such characters are refused with a message.

Two invisible characters are part of how some scripts are written and stay: the zero
width non-joiner (Persian, Kurdish, Indic scripts) and the zero width joiner (Indic
scripts), but only between letters of such a script. Search ignores them.
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


def without_joiners(text: str) -> str:
    """The text as search sees it: joiners change how letters connect, not which they are."""
    return text.translate(_DROP_JOINERS)


__all__ = ["JOINERS", "NameRule", "check_visible", "is_latin", "without_joiners"]
