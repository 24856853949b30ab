"""Small helpers shared by the page blueprints."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import abort, flash, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from citizen_card.models import Staff
from citizen_card.services.errors import DomainError

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


def form_text(name: str) -> str | None:
    value = request.form.get(name)
    return value if value is None else value.strip()


def ok(message: str) -> None:
    flash(message, "success")


__all__ = ["_", "current_staff", "flash_error", "form_text", "ok", "role_required"]
