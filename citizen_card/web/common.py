"""Small helpers shared by the page blueprints."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import unquote, urlsplit

from flask import abort, flash, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from citizen_card.models import Staff
from citizen_card.services.errors import N_, DomainError, ValidationFailed

F = TypeVar("F", bound=Callable[..., Any])


def role_required(*roles: str) -> Callable[[F], F]:
    """Only staff with one of ``roles`` get in; others get 403, anonymous go to login."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            staff = current_staff()
            if staff.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return cast(F, login_required(wrapped))

    return decorator


def current_staff() -> Staff:
    staff = current_user._get_current_object()
    if not isinstance(staff, Staff):
        abort(401)
    return staff


def flash_error(exc: DomainError) -> None:
    flash(exc.translated(), "error")


# A form shown again after an error keeps what was typed, up to this many characters a
# field: every field's limit is far below, and a megabyte pasted in is not worth echoing.
SHOWN_AGAIN_MAX = 1000


def shown_again(values: Mapping[str, Any]) -> dict[str, Any]:
    """Submitted values to put back into a form that is shown again with an error."""
    return {
        name: value[:SHOWN_AGAIN_MAX] if isinstance(value, str) else value
        for name, value in values.items()
    }


def uploaded_file(name: str) -> bytes | None:
    """The bytes of the file sent in field ``name``, or None when no file was chosen.

    :raises ValidationFailed: the field came as text (a form without
        ``enctype="multipart/form-data"``, or a script), so the file would be lost.
    """
    upload = request.files.get(name)
    if upload is None or not upload.filename:
        if request.form.get(name):
            raise ValidationFailed(
                N_("The file did not arrive: it was sent as text. Choose the file again."),
                "not_a_file",
                name,
            )
        return None
    data: bytes = upload.read()
    return data


def form_text(name: str) -> str | None:
    value = request.form.get(name)
    return value if value is None else value.strip()


def ok(message: str) -> None:
    flash(message, "success")


LOCAL_PATH_MAX = 2048


def _plain_path(text: str) -> bool:
    # Browsers drop tabs and newlines inside URLs and read "\\" as "/", so "/\t/x" and
    # "/\\x" both become "//x": another host. Nothing but printable, unspaced text passes.
    return (
        text.startswith("/")
        and not text.startswith("//")
        and "\\" not in text
        and all(ch.isprintable() and not ch.isspace() for ch in text)
    )


def local_path(target: str) -> str | None:
    """``target`` when it is a path on this site (with its query), else None.

    Refuses scheme-relative and absolute URLs and every way of spelling one that a browser
    or a proxy would undo: control characters, spaces, backslashes, percent-encoded slashes.
    """
    if not target or len(target) > LOCAL_PATH_MAX:
        return None
    decoded, previous = target, ""
    while decoded != previous:  # "%252F" is "%2F" once decoded, "/" twice
        if not _plain_path(decoded):
            return None
        previous, decoded = decoded, unquote(decoded)
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


__all__ = [
    "_",
    "current_staff",
    "flash_error",
    "form_text",
    "local_path",
    "ok",
    "role_required",
    "shown_again",
    "uploaded_file",
]
