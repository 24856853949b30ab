"""Domain errors. Views map them to pages or to JSON ``{"error", "message"}``.

Messages are gettext message ids with ``%(name)s`` placeholders, marked with :func:`N_`
so that extraction finds them; views translate them with :meth:`DomainError.translated`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def N_(message: str) -> str:
    """Mark a message for extraction; it is translated where it is shown."""
    return message


class DomainError(Exception):
    """A request the domain refuses. ``code`` is stable; ``message`` is for people."""

    status = 400

    def __init__(self, message: str, code: str, **params: Any) -> None:
        self.template = message
        self.params = params
        self.message = message % params if params else message
        super().__init__(self.message)
        self.code = code

    def translated(self) -> str:
        from flask_babel import gettext

        # A "label" parameter names a field and is itself a message id.
        params = dict(self.params)
        if isinstance(params.get("label"), str):
            params["label"] = gettext(params["label"])
        return str(gettext(self.template, **params))


class ValidationFailed(DomainError):
    status = 422

    def __init__(
        self, message: str, code: str = "invalid", field: str | None = None, **params: Any
    ) -> None:
        super().__init__(message, code, **params)
        self.field = field


def refuse_unknown_fields(raw: Mapping[str, Any], known: Iterable[str]) -> None:
    """:raises ValidationFailed: ``unknown_field`` naming (a few of) the fields not known."""
    unknown = sorted(set(raw) - set(known))
    if unknown:
        # The names come from the caller: show a few, cut short, not whatever was sent.
        shown = ", ".join(name[:40] for name in unknown[:5]) + (", …" if len(unknown) > 5 else "")
        raise ValidationFailed(N_("Unknown field(s): %(fields)s."), "unknown_field", fields=shown)


class NotFound(DomainError):
    status = 404

    def __init__(self, message: str, code: str = "not_found", **params: Any) -> None:
        super().__init__(message, code, **params)


class ResidentNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__(N_("No such resident."), "resident_not_found")


class Conflict(DomainError):
    status = 409
