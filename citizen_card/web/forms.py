"""What the pages' forms share: the problems a form shows, and a photo kept across a retry.

Templates show the problems with the macros of citizen_card/templates/_forms.html (the GOV.UK error
summary pattern): a summary at the top linking to each field, the message beside it.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from flask import request

from citizen_card.services import registry
from citizen_card.services.errors import N_, DomainError, FormInvalid, ValidationFailed

# The field a form sends a photo back in after a refusal (see kept_photo).
KEPT_PHOTO_FIELD = "photo_kept"


@dataclass(frozen=True)
class FieldError:
    """One problem to show: ``field`` is the id of the input at fault (None: the form)."""

    field: str | None
    message: str


def field_errors(exc: DomainError | None, default_field: str | None = None) -> list[FieldError]:
    """The problems ``exc`` stands for, translated, each with its field when it has one."""
    if exc is None:
        return []
    problems = exc.problems if isinstance(exc, FormInvalid) else (exc,)
    return [
        FieldError(getattr(problem, "field", None) or default_field, problem.translated())
        for problem in problems
    ]


def one_error(message: str, field: str | None = None) -> list[FieldError]:
    """A single problem, already translated, for views that find it themselves."""
    return [FieldError(field, message)]


def kept_photo() -> bytes | None:
    """The photo a form sent back after a refusal, or None.

    It is the browser's copy, so it is untrusted like any upload: the caller prepares it
    with :func:`registry.prepare_photo`, which decodes and cleans it again.

    :raises ValidationFailed: the field is not base64 (the page did not write it).
    """
    text = request.form.get(KEPT_PHOTO_FIELD) or ""
    if not text:
        return None
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed(
            N_("The photo did not arrive. Choose it again."), "not_a_file", "photo"
        ) from None


def photo_text(photo: registry.PreparedPhoto | None) -> str:
    """A prepared photo as base64, to send back to the browser in the form it came in.

    The page holds it (in a hidden field and as the preview), not the server: nothing of
    a refused form is written anywhere, and the page is never cached (Cache-Control).
    """
    return "" if photo is None else base64.b64encode(photo.jpeg).decode("ascii")


__all__ = [
    "KEPT_PHOTO_FIELD",
    "FieldError",
    "field_errors",
    "kept_photo",
    "one_error",
    "photo_text",
]
