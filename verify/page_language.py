"""The language and writing direction a page declares on its ``<html>`` element.

Both come from the request's locale (Flask-Babel's ``get_locale``): ``lang`` as a BCP 47
tag (``pt-BR``, not Babel's ``pt_BR``), ``dir`` from the CLDR data Babel carries
(``Locale.text_direction``: ``rtl`` for Arabic and Persian, ``ltr`` for the rest), so a
new right-to-left catalogue needs no list kept here. The issuing app uses the same two
functions for its own pages.
"""

from __future__ import annotations

from typing import Literal

from babel import Locale
from flask_babel import get_locale

Direction = Literal["ltr", "rtl"]


def language_tag(locale: Locale | None) -> str:
    """``Locale('pt', 'BR')`` → ``"pt-BR"``; no locale (outside a request) → ``"en"``."""
    return "en" if locale is None else str(locale).replace("_", "-")


def text_direction(locale: Locale | None) -> Direction:
    """``"rtl"`` when the locale's script is written right to left, else ``"ltr"``."""
    return "rtl" if locale is not None and locale.text_direction == "rtl" else "ltr"


def page_lang() -> str:
    """The current request's language tag, for ``<html lang>`` and ``Intl`` in scripts."""
    return language_tag(get_locale())


def page_dir() -> Direction:
    """The current request's writing direction, for ``<html dir>``."""
    return text_direction(get_locale())
