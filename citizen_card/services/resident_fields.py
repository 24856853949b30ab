"""The resident's fields one by one: what each accepts, and the message when it does not.

:func:`citizen_card.services.registry.validate_details` puts them together for a whole
record; each cleaner here raises :class:`ValidationFailed` naming its field.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Any

from citizen_card.services import names
from citizen_card.services.errors import N_, ValidationFailed

NAME_MAX = 100
CONTACT_MAX = 200
GENDERS = ("F", "M", "X")
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
FIELD_LABELS = {
    "given_names": N_("Given names"),
    "family_names": N_("Family names"),
    "name_order": N_("Name order"),
    "latin_name": N_("Latin form of the names"),
    "used_name": N_("Used name"),
    "date_of_birth": N_("Date of birth"),
    "contact": N_("Contact"),
}


def clean_text(value: Any, name: str, *, required: bool, limit: int) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationFailed(
                N_("The field %(label)s is required."), "required", name, label=FIELD_LABELS[name]
            )
        return None
    if not isinstance(value, str):
        raise ValidationFailed(
            N_("The field %(label)s must be text."), "invalid", name, label=FIELD_LABELS[name]
        )
    text = unicodedata.normalize("NFC", " ".join(value.split()))
    if len(text) > limit:
        raise ValidationFailed(
            N_("The field %(label)s has more than %(count)d characters."),
            "too_long",
            name,
            label=FIELD_LABELS[name],
            count=limit,
        )
    try:
        names.check_visible(text)
    except names.NameRule as exc:
        if exc.code == "invisible":
            raise ValidationFailed(
                N_(
                    "The field %(label)s holds invisible or text-direction characters. "
                    "Type it again without them."
                ),
                "invisible_character",
                name,
                label=FIELD_LABELS[name],
            ) from None
        raise ValidationFailed(
            N_("The field %(label)s holds characters that cannot be printed."),
            "invalid",
            name,
            label=FIELD_LABELS[name],
        ) from None
    return text


def clean_date(value: Any, name: str, today: date) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        parsed = value
    elif isinstance(value, str):
        try:
            # date.fromisoformat also takes 19870314 and 1987W011 (ISO week dates), which
            # no one means; only the calendar form that the page's date field sends.
            if not ISO_DATE.fullmatch(value):
                raise ValueError(value)
            parsed = date.fromisoformat(value)
        except ValueError as exc:
            raise ValidationFailed(
                N_("The field %(label)s must be a date (YYYY-MM-DD)."),
                "invalid",
                name,
                label=FIELD_LABELS[name],
            ) from exc
    else:
        raise ValidationFailed(
            N_("The field %(label)s must be a date (YYYY-MM-DD)."),
            "invalid",
            name,
            label=FIELD_LABELS[name],
        )
    if parsed > today or parsed.year < 1900:
        raise ValidationFailed(
            N_("The field %(label)s is not a plausible date of birth."),
            "invalid",
            name,
            label=FIELD_LABELS[name],
        )
    return parsed


def name_order(order: Any) -> str:
    """:raises ValidationFailed: an order other than given_first or family_first."""
    if not order:
        return names.GIVEN_FIRST
    if order not in names.NAME_ORDERS:
        raise ValidationFailed(
            N_("The name order is given_first or family_first."), "invalid", "name_order"
        )
    return str(order)


def latin_form(written: str, latin: str | None) -> str | None:
    """The Latin form to keep for names ``written``: none for Latin names.

    :raises ValidationFailed: a name in another script without a Latin form, or a
        "Latin form" in another script.
    """
    if names.is_latin(written):
        return None
    if latin is None:
        raise ValidationFailed(
            N_("The names are not in the Latin script: give their Latin form too."),
            "required",
            "latin_name",
        )
    if not names.is_latin(latin):
        raise ValidationFailed(
            N_("The Latin form must use Latin letters."), "invalid", "latin_name"
        )
    return latin


def gender(gender: Any, collect: bool) -> str | None:
    """:raises ValidationFailed: a gender the city does not record, or not F, M or X."""
    if gender is None:
        return None
    if not collect:
        raise ValidationFailed(N_("This city does not record gender."), "not_collected", "gender")
    if gender not in GENDERS:
        raise ValidationFailed(N_("Gender must be F, M or X."), "invalid", "gender")
    return str(gender)
