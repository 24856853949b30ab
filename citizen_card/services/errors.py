"""Domain errors. Views map them to pages or to JSON ``{"error", "message"}``.

Messages are gettext message ids with ``%(name)s`` placeholders, marked with :func:`N_`
so that extraction finds them; views translate them with :meth:`DomainError.translated`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


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


class FormInvalid(ValidationFailed):
    """Several fields refused at once, so that a form can name every one of them.

    The first problem stands for all where one answer is given (the API's ``field``).
    """

    def __init__(self, problems: Sequence[ValidationFailed]) -> None:
        first = problems[0]
        super().__init__(first.template, first.code, first.field, **first.params)
        self.problems = tuple(problems)


class Problems:
    """Runs field checks one after another and keeps every refusal, not just the first."""

    def __init__(self) -> None:
        self.found: list[ValidationFailed] = []

    def check(self, check: Callable[[], T], field: str | None = None) -> T | None:
        """``check()``, or None when it refused (kept; ``field`` names it if it did not)."""
        try:
            return check()
        except FormInvalid as exc:
            self.found.extend(exc.problems)
        except ValidationFailed as exc:
            if exc.field is None:
                exc.field = field
            self.found.append(exc)
        return None

    def raise_any(self) -> None:
        """:raises ValidationFailed: the one problem found, or :class:`FormInvalid`."""
        if len(self.found) == 1:
            raise self.found[0]
        if self.found:
            raise FormInvalid(self.found)


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
