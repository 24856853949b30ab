"""Bearer-token authentication and JSON helpers for the API."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import g, request

from citizen_card.extensions import db
from citizen_card.models import Staff
from citizen_card.services import accounts
from citizen_card.services.errors import N_, DomainError

F = TypeVar("F", bound=Callable[..., Any])


class ApiError(DomainError):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message, code)
        self.status = status


def bearer_required(*roles: str) -> Callable[[F], F]:
    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            header = request.headers.get("Authorization", "")
            scheme, _, token = header.partition(" ")
            staff = (
                accounts.staff_for_token(db.session, token.strip())
                if scheme.lower() == "bearer"
                else None
            )
            if staff is None:
                raise ApiError(401, "unauthorized", N_("A valid bearer token is required."))
            if staff.role not in roles:
                raise ApiError(403, "forbidden", N_("This account may not do this."))
            g.api_staff = staff
            return view(*args, **kwargs)

        return cast(F, wrapped)

    return decorator


def api_staff() -> Staff:
    staff = g.api_staff
    assert isinstance(staff, Staff)  # noqa: S101 — set by bearer_required
    return staff


def json_object() -> dict[str, Any]:
    """The request body as a JSON object, or a 400 that says what is wrong."""
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", N_("Send a JSON body (application/json)."))
    body = request.get_json(silent=True)
    if body is None:
        raise ApiError(400, "invalid_json", N_("The body is not valid JSON."))
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", N_("The body must be a JSON object."))
    return body
