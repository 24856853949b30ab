"""A place as editors and CSV files describe it: the fields, their rules and labels,
and the city's languages. Checking here is pure (no database); the database has the
same rules as constraints behind it.

Texts (name, what the card gives, accessibility notes) exist per language, as fields
``name_<lang>``, ``benefit_<lang>``, ``accessibility_<lang>``.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from citizen_card.config import Settings
from citizen_card.models import Place
from citizen_card.models.place import CATEGORIES
from citizen_card.services.errors import N_, NotFound, ValidationFailed

CATEGORY_LABELS = {
    "library": N_("Library"),
    "health": N_("Health"),
    "education": N_("Education"),
    "transport": N_("Transport"),
    "culture": N_("Culture"),
    "sport": N_("Sport"),
    "social_services": N_("Social services"),
    "legal_aid": N_("Legal aid"),
    "food": N_("Food"),
    "other": N_("Other"),
}
FIELD_LABELS = {
    "ref": N_("Reference"),
    "category": N_("Category"),
    "name": N_("Name"),
    "benefit": N_("What the card gives"),
    "accessibility": N_("Accessibility"),
    "address": N_("Address"),
    "latitude": N_("Latitude"),
    "longitude": N_("Longitude"),
    "opening_hours": N_("Opening hours"),
    "phone": N_("Phone"),
    "website": N_("Website"),
    "published": N_("Published"),
}
LIMITS = {
    "ref": 64,
    "category": 32,
    "name": 150,
    "benefit": 1000,
    "accessibility": 1000,
    "address": 300,
    "opening_hours": 500,
    "phone": 40,
    "website": 300,
    "latitude": 40,
    "longitude": 40,
}
TEXT_FIELDS = ("name", "benefit", "accessibility")
MULTILINE = frozenset({"benefit", "accessibility", "opening_hours"})
# Refs made only of digits would read as ids in /places/<ref or id>; "join" is a page.
RESERVED_REFS = frozenset({"join"})
COORDINATE_DECIMALS = 6  # about 0.1 m: more would only pretend to precision

_REF = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_PHONE = re.compile(r"\+?[0-9][0-9 ().\-/]{2,39}")


def fold(text: str) -> str:
    """Case-folded, without diacritics, as search and sorting compare text."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFKC", stripped).casefold()


def language_name(code: str) -> str:
    """The language's own name for itself ("Français"), or the code when unknown."""
    from babel import Locale, UnknownLocaleError

    try:
        name = Locale.parse(code).get_display_name(code)
    except (UnknownLocaleError, ValueError):
        return code
    return name[:1].upper() + name[1:] if name else code


@dataclass(frozen=True)
class Languages:
    """The city's languages, the default first."""

    default: str
    available: tuple[str, ...]

    @classmethod
    def from_settings(cls, settings: Settings) -> Languages:
        others = tuple(code for code in settings.languages if code != settings.default_language)
        return cls(settings.default_language, (settings.default_language, *others))

    def preference(self, language: str | None) -> tuple[str, ...]:
        """Which language to show first, then the fallbacks in order."""
        first = language if language in self.available else self.default
        return (first, *(code for code in self.available if code != first))


# Errors


class FieldProblem(ValidationFailed):
    """One wrong field; ``language`` is set for a text kept per language."""

    def __init__(
        self,
        message: str,
        code: str,
        field: str,
        *,
        language: str | None = None,
        label: str | None = None,
        **params: Any,
    ) -> None:
        base = field.rsplit("_", 1)[0] if language else field
        label = label or FIELD_LABELS.get(base, base)
        english = f"{label} ({language_name(language)})" if language else label
        super().__init__(message, code, field, **(params | {"label": english}))
        self.label = label
        self.language = language

    def translated(self) -> str:
        from flask_babel import gettext

        label = str(gettext(self.label))
        if self.language:
            label = f"{label} ({language_name(self.language)})"
        return str(gettext(self.template, **(self.params | {"label": label})))


class PlaceInvalid(ValidationFailed):
    """Some fields are wrong; ``problems`` names each one, in the form's order."""

    def __init__(self, problems: Sequence[FieldProblem]) -> None:
        first = problems[0]
        super().__init__(first.template, first.code, first.field, **first.params)
        self.problems = list(problems)

    def translated(self) -> str:
        return self.problems[0].translated()


class PlaceNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__(N_("No such place."), "place_not_found")


# Validation


@dataclass(frozen=True)
class PlaceTexts:
    name: str = ""
    benefit: str = ""
    accessibility: str = ""

    def is_empty(self) -> bool:
        return not (self.name or self.benefit or self.accessibility)


@dataclass(frozen=True)
class PlaceValues:
    """A place as the city describes it, checked."""

    ref: str | None
    category: str
    address: str
    latitude: float | None
    longitude: float | None
    opening_hours: str
    phone: str
    website: str
    texts: dict[str, PlaceTexts] = field(default_factory=dict)


def _clean(value: Any, name: str, problems: list[FieldProblem], **where: Any) -> str:
    limit = LIMITS[name.rsplit("_", 1)[0] if where.get("language") else name]
    if value is None:
        return ""
    if not isinstance(value, str):
        problems.append(FieldProblem(N_("%(label)s must be text."), "invalid", name, **where))
        return ""
    multiline = (name.rsplit("_", 1)[0] if where.get("language") else name) in MULTILINE
    if multiline:
        lines = [" ".join(line.split()) for line in value.replace("\r\n", "\n").split("\n")]
        text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    else:
        text = " ".join(value.split())
    text = unicodedata.normalize("NFC", text)
    if any(unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn") and ch != "\n" for ch in text):
        problems.append(
            FieldProblem(
                N_("%(label)s holds characters that cannot be shown."), "invalid", name, **where
            )
        )
        return ""
    if len(text) > limit:
        problems.append(
            FieldProblem(
                N_("%(label)s must be %(count)d characters or fewer."),
                "too_long",
                name,
                count=limit,
                **where,
            )
        )
        return ""
    return text


def _coordinate(value: str, name: str, bound: int, problems: list[FieldProblem]) -> float | None:
    if not value:
        return None
    try:
        number = float(value.replace(",", "."))
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or not -bound <= number <= bound:
        problems.append(
            FieldProblem(
                N_("%(label)s must be a number between -%(bound)d and %(bound)d."),
                "out_of_range",
                name,
                bound=bound,
            )
        )
        return None
    return round(number, COORDINATE_DECIMALS)


def _website(value: str, problems: list[FieldProblem]) -> str:
    if not value:
        return ""
    if "://" not in value and ":" not in value.split("/", 1)[0] and "." in value:
        value = "https://" + value  # "www.example.org" is what people type
    parts = urlsplit(value)
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    if (
        scheme not in ("http", "https")
        or not host
        or "@" in parts.netloc
        or any(ch.isspace() for ch in value)
    ):
        problems.append(
            FieldProblem(
                N_("%(label)s must be a web address starting with https:// or http://."),
                "invalid",
                "website",
            )
        )
        return ""
    return scheme + value[len(parts.scheme) :]


def _ref(value: str, problems: list[FieldProblem]) -> str | None:
    if not value:
        return None
    ref = value.lower()
    if not _REF.fullmatch(ref) or ref.isdigit() or ref in RESERVED_REFS:
        problems.append(
            FieldProblem(
                N_(
                    "%(label)s must be 1 to 64 lower-case letters, digits, dots, dashes or "
                    "underscores, not only digits."
                ),
                "invalid",
                "ref",
            )
        )
        return None
    return ref


def validate(raw: Mapping[str, Any], languages: Languages) -> PlaceValues:
    """Check a place as submitted (a form or a CSV row): fields by name, texts per
    language as ``name_<lang>``, ``benefit_<lang>``, ``accessibility_<lang>``.

    :raises PlaceInvalid: listing every wrong field.
    """
    problems: list[FieldProblem] = []
    ref = _ref(_clean(raw.get("ref"), "ref", problems), problems)
    category = _clean(raw.get("category"), "category", problems)
    if category not in CATEGORIES:
        problems.append(
            FieldProblem(
                N_("Choose a category from the list.")
                if not category
                else N_("%(label)s must be one of: %(choices)s."),
                "required" if not category else "invalid",
                "category",
                choices=", ".join(CATEGORIES),
            )
        )
    texts: dict[str, PlaceTexts] = {}
    for code in languages.available:
        values = {
            name: _clean(raw.get(f"{name}_{code}"), f"{name}_{code}", problems, language=code)
            for name in TEXT_FIELDS
        }
        local = PlaceTexts(**values)
        named = any(p.field == f"name_{code}" for p in problems)  # too long, say, already
        if code == languages.default and not local.name and not named:
            problems.append(
                FieldProblem(
                    N_("Enter the name in the city's language."),
                    "required",
                    f"name_{code}",
                    language=code,
                )
            )
        if not local.is_empty():
            texts[code] = local
    address = _clean(raw.get("address"), "address", problems)
    latitude = _coordinate(
        _clean(raw.get("latitude"), "latitude", problems), "latitude", 90, problems
    )
    longitude = _coordinate(
        _clean(raw.get("longitude"), "longitude", problems), "longitude", 180, problems
    )
    if (latitude is None) != (longitude is None) and not any(
        p.field in ("latitude", "longitude") for p in problems
    ):
        missing = "latitude" if latitude is None else "longitude"
        problems.append(
            FieldProblem(
                N_("Enter both latitude and longitude, or neither."), "coordinates_pair", missing
            )
        )
    opening_hours = _clean(raw.get("opening_hours"), "opening_hours", problems)
    phone = _clean(raw.get("phone"), "phone", problems)
    if phone and not _PHONE.fullmatch(phone):
        problems.append(
            FieldProblem(
                N_("%(label)s may hold only digits, spaces, a leading + and ( ) . - /."),
                "invalid",
                "phone",
            )
        )
    website = _website(_clean(raw.get("website"), "website", problems), problems)
    if problems:
        raise PlaceInvalid(problems)
    return PlaceValues(
        ref=ref,
        category=category,
        address=address,
        latitude=latitude,
        longitude=longitude,
        opening_hours=opening_hours,
        phone=phone,
        website=website,
        texts=texts,
    )


def form_values(place: Place) -> dict[str, str]:
    """A stored place as the raw strings a form (or a CSV row) holds."""
    values = {
        "ref": place.ref,
        "category": place.category,
        "address": place.address,
        "latitude": "" if place.latitude is None else format_coordinate(place.latitude),
        "longitude": "" if place.longitude is None else format_coordinate(place.longitude),
        "opening_hours": place.opening_hours,
        "phone": place.phone,
        "website": place.website,
        "published": "yes" if place.published else "no",
    }
    for text in place.texts:
        for name in TEXT_FIELDS:
            values[f"{name}_{text.language}"] = getattr(text, name)
    return values


def format_coordinate(value: float) -> str:
    return f"{value:.{COORDINATE_DECIMALS}f}".rstrip("0").rstrip(".")


def folded_category_names() -> dict[str, str]:
    """Category labels in the current language, folded for search (needs Babel)."""
    from flask_babel import gettext

    return {code: fold(str(gettext(label))) for code, label in CATEGORY_LABELS.items()}
