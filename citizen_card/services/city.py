"""The city's card design and validity, edited by an admin, stored in ``city_setting``.

Values not set in the database fall back to the instance settings, so a fresh instance
prints sensible cards before anyone opens the admin page.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from PIL import Image, ImageDraw
from sqlalchemy import select

from citizen_card.card.errors import RenderError
from citizen_card.card.pdf import CardDesign, CardFace, CardLabels, parse_color, render_card_png
from citizen_card.config import Settings
from citizen_card.models import CitySetting, Staff
from citizen_card.services import audit
from citizen_card.services.errors import N_, ValidationFailed, refuse_unknown_fields
from citizen_card.services.images import Budget, ImageRefused, open_untrusted, to_8bit
from citizen_card.services.types import DbSession
from verify.cardnumber import format_card_number
from verify.credential import qr_text
from verify.language import SOURCE as SOURCE_LANGUAGE
from verify.language import SUPPORTED as SUPPORTED_LANGUAGES

LOGO_KEY = "logo"
MAX_LOGO_BYTES = 512 * 1024
MAX_LOGO_PIXELS = 4_000_000
# Decoded, and once more converted to RGBA: 8 bytes a pixel at most.
LOGO_BUDGET = Budget(frozenset({"PNG"}), MAX_LOGO_PIXELS, 8 * MAX_LOGO_PIXELS)
MIN_VALIDITY_DAYS = 30
MAX_VALIDITY_DAYS = 10 * 366
TEXT_LIMITS = {
    "city_name": 60,
    "card_title": 60,
    "access_text": 300,
    "multilingual_line": 200,
    "return_address": 200,
}
FIELD_LABELS = {
    "city_name": N_("City name"),
    "card_title": N_("Card title"),
    "primary_color": N_("Main colour"),
    "accent_color": N_("Accent colour"),
    "validity_days": N_("Validity (days)"),
    "access_text": N_("What the card gives access to"),
    "multilingual_line": N_("Line in other languages"),
    "return_address": N_("Return address"),
    "default_language": N_("Default language"),
    "label_languages": N_("Label languages"),
}
MAX_LABEL_LANGUAGES = 2


@dataclass(frozen=True)
class CityDesign:
    """Everything about a card that the city chooses."""

    city_name: str
    card_title: str
    primary_color: str = "#0b4f6c"
    accent_color: str = "#f2a541"
    validity_days: int = 5 * 365
    access_text: str = ""
    multilingual_line: str = ""
    return_address: str = ""
    # "" means the instance's DEFAULT_LANGUAGE; label languages: "pt,en", "" for the
    # default language and English.
    default_language: str = ""
    label_languages: str = ""
    logo_png: bytes | None = None

    def language(self, settings: Settings) -> str:
        """The city's default language."""
        return self.default_language or settings.default_language

    def labels_in(self, settings: Settings) -> tuple[str, ...]:
        """The languages of the card's labels: the chosen ones, else the city's and English."""
        if self.label_languages:
            return tuple(self.label_languages.split(","))
        return tuple(dict.fromkeys((self.language(settings), SOURCE_LANGUAGE)))

    def card_design(self, verify_url: str) -> CardDesign:
        return CardDesign(
            city_name=self.city_name,
            card_title=self.card_title,
            primary_color=self.primary_color,
            accent_color=self.accent_color,
            logo_png=self.logo_png,
            verify_url=verify_url,
            access_text=self.access_text,
            multilingual_line=self.multilingual_line,
            return_address=self.return_address,
        )


EDITABLE = tuple(f.name for f in fields(CityDesign) if f.name != "logo_png")


def defaults(settings: Settings) -> CityDesign:
    return CityDesign(
        city_name=settings.issuer_name,
        card_title=settings.card_title,
        validity_days=settings.card_validity_days,
    )


def load(session: DbSession, settings: Settings) -> CityDesign:
    """The current design: stored values over the instance defaults."""
    design = defaults(settings)
    stored: dict[str, Any] = {}
    logo: bytes | None = None
    for row in session.execute(select(CitySetting)).scalars():
        if row.key == LOGO_KEY:
            logo = row.blob
        elif row.key == "validity_days":
            stored[row.key] = int(row.value)
        elif row.key in EDITABLE:
            stored[row.key] = row.value
    return replace(design, **stored, logo_png=logo)


# Control characters (a NUL, which PostgreSQL also refuses), surrogates, private-use and
# unassigned code points print as nothing or as boxes; line breaks are kept in text areas.
_UNPRINTABLE = frozenset({"Cc", "Cs", "Co", "Cn"})


def _printable(text: str) -> bool:
    return all(ch in "\r\n" or unicodedata.category(ch) not in _UNPRINTABLE for ch in text)


def _invalid(name: str, message: str, code: str = "invalid", **params: Any) -> ValidationFailed:
    return ValidationFailed(message, code, name, label=FIELD_LABELS[name], **params)


def validate(raw: dict[str, Any], current: CityDesign) -> CityDesign:
    """Check submitted design values; fields not given keep their current value.

    :raises ValidationFailed: with ``field`` set to the offending field.
    """
    refuse_unknown_fields(raw, EDITABLE)
    values: dict[str, Any] = {}
    for name, limit in TEXT_LIMITS.items():
        if name not in raw:
            continue
        value = raw[name]
        if not isinstance(value, str):
            raise _invalid(name, N_("The field %(label)s must be text."))
        text = " ".join(value.split()) if name in ("city_name", "card_title") else value.strip()
        if name in ("city_name", "card_title") and not text:
            raise _invalid(name, N_("The field %(label)s is required."), "required")
        if not _printable(text):
            raise _invalid(name, N_("The field %(label)s holds characters that cannot be printed."))
        if len(text) > limit:
            raise _invalid(
                name, N_("The field %(label)s has more than %(count)d characters."), count=limit
            )
        values[name] = text
    for name in ("primary_color", "accent_color"):
        if name not in raw:
            continue
        value = raw[name]
        try:
            parse_color(value if isinstance(value, str) else "")
        except RenderError as exc:
            raise _invalid(name, N_("The field %(label)s must be a colour like #0b4f6c.")) from exc
        values[name] = str(value).strip().lower()
    values.update(_validate_languages(raw))
    if "validity_days" in raw:
        try:
            days = int(raw["validity_days"])
        except (TypeError, ValueError) as exc:
            raise _invalid("validity_days", N_("The field %(label)s must be a number.")) from exc
        if not MIN_VALIDITY_DAYS <= days <= MAX_VALIDITY_DAYS:
            raise _invalid(
                "validity_days",
                N_("The validity must be between %(low)d and %(high)d days."),
                low=MIN_VALIDITY_DAYS,
                high=MAX_VALIDITY_DAYS,
            )
        values["validity_days"] = days
    return replace(current, **values)


def _validate_languages(raw: dict[str, Any]) -> dict[str, str]:
    values: dict[str, str] = {}
    if "default_language" in raw:
        code = raw["default_language"]
        if code not in ("", *SUPPORTED_LANGUAGES):
            raise _invalid("default_language", N_("Choose a language from the list."))
        values["default_language"] = code
    if "label_languages" in raw:
        text = raw["label_languages"]
        codes = (
            list(dict.fromkeys(c.strip() for c in text.split(",") if c.strip()))
            if isinstance(text, str)
            else [""]
        )
        if any(code not in SUPPORTED_LANGUAGES for code in codes):
            raise _invalid("label_languages", N_("Choose a language from the list."))
        if len(codes) > MAX_LABEL_LANGUAGES:
            raise _invalid(
                "label_languages",
                N_("The card has room for %(count)d label languages at most."),
                count=MAX_LABEL_LANGUAGES,
            )
        values["label_languages"] = ",".join(codes)
    return values


# The labels the card prints in capitals (pdf.py upper-cases them).
UPPER_CASE_LABELS = frozenset({"card_number", "valid_until", "verify", "access", "found", "places"})


def turkish_for_upper_case(text: str) -> str:
    """Turkish capitals: the dotted i becomes a dotted capital (str.upper() would give
    the dotless capital I, another letter in Turkish); the dotless i becomes I by itself."""
    return text.replace("i", "\u0130")


def printed_labels(session: DbSession, settings: Settings) -> CardLabels:
    """The card's words in the city's label languages, as the card prints them now."""
    design = load(session, settings)
    labels = card_labels(design.labels_in(settings), design.city_name)
    if not settings.places_on_card:
        return labels
    from citizen_card.services.places import public_address

    return replace(labels, places_address=public_address(settings).split("://", 1)[-1])


def validate_logo(data: bytes) -> bytes:
    """Accept a PNG logo and return it re-encoded (no metadata, no trailing bytes).

    :raises ValidationFailed: ``logo_invalid`` or ``logo_too_large``.
    """
    if len(data) > MAX_LOGO_BYTES:
        raise ValidationFailed(
            N_("The logo is larger than %(size)d kB."),
            "logo_too_large",
            "logo",
            size=MAX_LOGO_BYTES // 1024,
        )
    try:
        image = to_8bit(open_untrusted(data, LOGO_BUDGET))
    except ImageRefused as exc:
        if exc.reason in ("wrong_format", "not_image"):
            raise ValidationFailed(
                N_("The logo must be a PNG image."), "logo_invalid", "logo"
            ) from None
        raise ValidationFailed(
            N_("The logo has too many pixels: at most %(megapixels)d megapixels."),
            "logo_too_large",
            "logo",
            megapixels=MAX_LOGO_PIXELS // 1_000_000,
        ) from None
    # Re-encoding drops text chunks (authoring tools put names and paths there).
    clean = image.convert("RGBA") if image.mode not in ("RGB", "RGBA", "L", "LA") else image
    out = io.BytesIO()
    clean.save(out, "PNG", optimize=True)
    return out.getvalue()


def _put(
    session: DbSession, key: str, value: str, now: datetime, blob: bytes | None = None
) -> None:
    row = session.get(CitySetting, key)
    if row is None:
        session.add(CitySetting(key=key, value=value, blob=blob, updated_at=now))
    else:
        row.value, row.blob, row.updated_at = value, blob, now


def save(
    session: DbSession,
    raw: dict[str, Any],
    *,
    settings: Settings,
    actor: Staff | None,
    now: datetime,
    logo: bytes | None = None,
    remove_logo: bool = False,
) -> CityDesign:
    """Validate and store design changes (and a new or removed logo) in one event.

    :raises ValidationFailed: as :func:`validate` and :func:`validate_logo`.
    """
    current = load(session, settings)
    design = validate(raw, current)
    changed = sorted(name for name in EDITABLE if getattr(design, name) != getattr(current, name))
    for name in changed:
        _put(session, name, str(getattr(design, name)), now)
    if logo is not None:
        design = replace(design, logo_png=validate_logo(logo))
        _put(session, LOGO_KEY, "image/png", now, design.logo_png)
        changed.append("logo")
    elif remove_logo and current.logo_png is not None:
        row = session.get(CitySetting, LOGO_KEY)
        if row is not None:
            session.delete(row)
        design = replace(design, logo_png=None)
        changed.append("logo")
    if changed:
        audit.record(
            session,
            actor=actor,
            action="city.update",
            target_type="city",
            target_ref=settings.issuer_id,
            now=now,
            detail={"fields": changed},
        )
    return design


def card_labels(languages: Sequence[str], city_name: str) -> CardLabels:
    """The printed words in the card's label languages (needs an app context for Babel).

    A label in two languages reads "Número do cartão / Card number"; the statements of
    the back come one per language.
    """
    from flask_babel import force_locale
    from flask_babel import gettext as _

    def texts() -> tuple[tuple[str, str], ...]:
        return (
            ("card_number", _("Card number")),
            ("valid_until", _("Valid until")),
            ("verify", _("Check this card at")),
            ("access", _("This card gives access to")),
            ("found", _("If found, please return to")),
            ("places", _("Where the card is accepted")),
            ("what", _("Local citizenship card of %(city)s", city=city_name)),
            ("no_status", _("This card does not show nationality or immigration status.")),
        )

    with force_locale(SOURCE_LANGUAGE):
        english = dict(texts())
    chosen = tuple(dict.fromkeys(languages)) or (SOURCE_LANGUAGE,)
    words: dict[str, list[str]] = {}
    for code in chosen:
        with force_locale(code):
            for key, text in texts():
                # Turkish capitals, once translated (English given for Turkish stays).
                if code == "tr" and key in UPPER_CASE_LABELS and text != english[key]:
                    text = turkish_for_upper_case(text)
                words.setdefault(key, [])
                if text not in words[key]:  # a catalogue not there yet gives English twice
                    words[key].append(text)
    short = {key: " / ".join(words[key]) for key in ("card_number", "valid_until", "verify")}
    short |= {key: " / ".join(words[key]) for key in ("access", "found", "places")}
    return CardLabels(
        **short,
        what=tuple(words["what"]),
        no_status=tuple(words["no_status"]),
        languages=chosen,
    )


def _sample_photo() -> bytes:
    # A neutral silhouette: the preview must never show a real resident.
    image = Image.new("RGB", (350, 450), (214, 220, 226))
    draw = ImageDraw.Draw(image)
    draw.ellipse((105, 70, 245, 230), fill=(150, 160, 172))
    draw.ellipse((45, 260, 305, 560), fill=(150, 160, 172))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def preview(design: CityDesign, *, settings: Settings, labels: CardLabels) -> tuple[bytes, bytes]:
    """PNG previews (front, back) of a sample card in this design.

    :raises RenderError: the design cannot be drawn (a logo PDFium cannot read...).
    """
    face = CardFace(
        names="Ana Exemplo",
        latin_name=None,
        photo_jpeg=_sample_photo(),
        card_number=format_card_number("000000000000"),
        valid_until=(datetime.now(UTC) + timedelta(days=design.validity_days)).date(),
        # Same length as a real token, so the QR code has a real card's density.
        qr_text=qr_text(settings.verify_base_url, "SAMPLE" * 38),
        labels=labels,
    )
    return render_card_png(face, design.card_design(settings.verify_base_url), dpi=150)


def replace_values(design: CityDesign, raw: dict[str, str]) -> dict[str, Any]:
    """The design with submitted (possibly invalid) values, to show the form again."""
    values: dict[str, Any] = {name: getattr(design, name) for name in EDITABLE}
    values.update({k: v for k, v in raw.items() if k in EDITABLE})
    values["logo_png"] = design.logo_png
    return values
