"""The language of each page, by the kind of person who reads it.

- Verifiers (``/v``, ``/V``, ``/scan``) and residents (``/``, ``/my-card``, ``/privacy``):
  the switch or the address (``?lang=``), else the browser, else the city's default
  (:func:`verify.language.choose`). Nothing about it is stored by the service.
- Logged-in staff: the language of their account, else the city's default.
- Everyone else (the login page, the places directory): as residents.

The service offers the twelve languages of :data:`verify.language.SUPPORTED` that have a
compiled catalogue, so the list grows as catalogues are added.
"""

from __future__ import annotations

from flask import Flask, current_app, g, request
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from citizen_card.extensions import db
from citizen_card.models import CitySetting
from citizen_card.paths import TRANSLATIONS
from verify import language

EXTENSION_KEY = "citizen_card_languages"
#: The city setting holding the default language (admins choose it with the card design).
DEFAULT_LANGUAGE_KEY = "default_language"
RESIDENT_ENDPOINTS = frozenset({"site.index", "site.privacy", "portal.my_card", "portal.download"})


def install(app: Flask, configured_default: str) -> tuple[str, ...]:
    """Find the compiled catalogues once, and give them to the verify pages too."""
    offered = language.catalogued(TRANSLATIONS, compiled=True)
    app.extensions[EXTENSION_KEY] = (offered, configured_default)
    app.config["VERIFY_LANGUAGES"] = offered
    return offered


def offered() -> tuple[str, ...]:
    """The languages this service speaks (English and every compiled catalogue)."""
    return tuple(current_app.extensions[EXTENSION_KEY][0])


def name(code: str) -> str:
    """The language's name for itself."""
    return language.NATIVE_NAMES.get(code, code)


def city_default() -> str:
    """The city's default language: the city setting, else ``DEFAULT_LANGUAGE``."""
    available, configured = current_app.extensions[EXTENSION_KEY]
    stored = None
    if not g.get("database_busy"):
        try:
            row = db.session.get(CitySetting, DEFAULT_LANGUAGE_KEY)
        except SQLAlchemyError:  # the busy page and error pages must still be drawn
            row = None
        stored = row.value if row is not None else None
    for code in (stored, configured):
        if code in available:
            return str(code)
    return language.SOURCE


def _staff_language() -> str | None:
    """The logged-in account's language, or None when nobody is logged in."""
    if g.get("database_busy") or not current_user.is_authenticated:
        return None
    code = getattr(current_user, "language", None)
    return code if code in offered() else city_default()


def select_locale() -> str:
    """Flask-Babel's locale selector for the issuing app."""
    available = offered()
    if request.blueprint != "verify" and request.endpoint not in RESIDENT_ENDPOINTS:
        staff = _staff_language()
        if staff is not None:
            return staff
    if (chosen := language.asked(available) or language.remembered(available)) is not None:
        return chosen
    return language.from_browser(available) or city_default()
