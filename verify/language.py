"""Which language a public page speaks: the visitor's choice, else the browser's.

Shared by the verify pages and, in the issuing app, the residents' pages. The rule, in
order: a ``?lang=xx`` in the address (the language switch, and the link on a receipt);
the choice remembered in the visitor's own browser (a cookie this module sets when the
switch was used); the browser's ``Accept-Language``; the default. The server keeps no
record of anyone's language: it hints at where a person comes from.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

from babel import Locale, UnknownLocaleError
from flask import request, url_for
from werkzeug.wrappers import Response

from verify.page_language import text_direction

#: The languages the project translates into, in the order the switch lists them.
SUPPORTED = ("en", "fr", "pt", "es", "it", "de", "ar", "fa", "uk", "ru", "tr", "zh")
#: The language of the source strings: always available, needs no catalogue.
SOURCE = "en"
#: The cookie that remembers a choice made with the switch, in the visitor's browser.
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
QUERY = "lang"
_R = TypeVar("_R", bound=Response)

# Each language's name for itself, so a visitor finds their own in the switch.
NATIVE_NAMES = {
    "en": "English",
    "fr": "Français",
    "pt": "Português",
    "es": "Español",
    "it": "Italiano",
    "de": "Deutsch",
    "ar": "العربية",
    "fa": "فارسی",
    "uk": "Українська",
    "ru": "Русский",
    "tr": "Türkçe",
    "zh": "中文",
}


def catalogued(directory: Path | None, *, compiled: bool = False) -> tuple[str, ...]:
    """The supported languages with a catalogue in ``directory`` (English always).

    ``compiled``: only those with a ``messages.mo`` (what Babel reads; a ``.po`` alone
    would show English), else a ``messages.po`` counts too.
    """
    names = ("messages.mo",) if compiled else ("messages.mo", "messages.po")
    return tuple(
        code
        for code in SUPPORTED
        if code == SOURCE
        or (
            directory is not None
            and any((directory / code / "LC_MESSAGES" / name).is_file() for name in names)
        )
    )


def asked(available: Sequence[str]) -> str | None:
    """The language named in the address (``?lang=``) when it is one of ``available``."""
    code = request.args.get(QUERY, "")
    return code if code in available else None


def remembered(available: Sequence[str]) -> str | None:
    """The language remembered by this browser's cookie, when it is one of ``available``."""
    code = request.cookies.get(COOKIE, "")
    return code if code in available else None


def from_browser(available: Sequence[str]) -> str | None:
    """The best match of the browser's Accept-Language among ``available``."""
    # Werkzeug matches "pt-BR" to "pt" and "zh-CN" to "zh" on the primary tag.
    return request.accept_languages.best_match(available)


def choose(available: Sequence[str], default: str) -> str:
    """The rule of this module: address, then cookie, then browser, then ``default``."""
    return (
        asked(available)
        or remembered(available)
        or from_browser(available)
        or (default if default in available else SOURCE)
    )


def keep(response: _R, code: str) -> _R:
    """Remember ``code`` in the visitor's browser (a cookie; the server keeps nothing)."""
    response.set_cookie(
        COOKIE,
        code,
        max_age=COOKIE_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure,
    )
    return response


def remember_choice(response: _R, available: Sequence[str]) -> _R:
    """Keep a switch's choice (``?lang=``) in the visitor's browser: an after-request hook."""
    code = asked(available)
    if code is not None and request.cookies.get(COOKIE) != code:
        keep(response, code)
    return response


def direction(code: str) -> str:
    """``rtl`` for a language written right to left (Arabic, Persian), else ``ltr``: Babel's
    CLDR data, as :func:`verify.page_language.text_direction` reads it for pages."""
    try:
        locale = Locale.parse(code.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return "ltr"
    return text_direction(locale)


def switch(available: Sequence[str], endpoint: str) -> list[dict[str, str]]:
    """The language switch of a page: a plain link per language (no script, and the
    service worker serves each offline)."""
    return [
        {"code": code, "name": NATIVE_NAMES.get(code, code), "url": url_for(endpoint, lang=code)}
        for code in available
    ]
