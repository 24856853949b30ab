"""Bearer-token authentication and JSON helpers for the API."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from functools import wraps
from typing import Any, NoReturn, TypeVar, cast

from flask import g, request

from citizen_card.extensions import db
from citizen_card.models import Staff
from citizen_card.services import accounts
from citizen_card.services.errors import N_, DomainError

F = TypeVar("F", bound=Callable[..., Any])

# The largest body a counter system sends is a resident of a few hundred characters; the
# request limit (sized for photos) would let a JSON body of megabytes be parsed.
MAX_JSON_BYTES = 64 * 1024
# Bodies are objects of strings and lists of strings: anything nested deeper is not ours.
MAX_JSON_DEPTH = 8


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


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError("number out of range")
    return number


def _has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _check_shape(body: Any) -> None:
    """Refuse nesting deeper than MAX_JSON_DEPTH and text that is not Unicode (a lone
    ``\\ud800`` escape decodes, but cannot be stored, sealed or shown)."""
    pending: list[tuple[Any, int]] = [(body, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            if _has_lone_surrogate(value):
                raise ApiError(
                    400, "invalid_json", N_("The body holds text that is not valid Unicode.")
                )
            continue
        if not isinstance(value, dict | list):
            continue
        if depth > MAX_JSON_DEPTH:
            raise ApiError(400, "invalid_json", N_("The body is nested too deeply."))
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            pending.append((key, depth))
            pending.append((item, depth + 1))


def parse_json(data: bytes) -> Any:
    """Strict JSON (RFC 8259): UTF-8, finite numbers Python can hold, bounded nesting.

    :raises ApiError: 400 ``invalid_json`` saying what is wrong.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "invalid_json", N_("The body is not UTF-8 text.")) from None
    try:
        body = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:
        raise ApiError(400, "invalid_json", N_("The body is nested too deeply.")) from None
    except ValueError:
        # Syntax errors, NaN and Infinity, numbers out of range, integers of more digits
        # than Python converts (4,300).
        raise ApiError(400, "invalid_json", N_("The body is not valid JSON.")) from None
    _check_shape(body)
    return body


def json_object(*, optional: bool = False) -> dict[str, Any]:
    """The request body as a JSON object, or a 4xx that says what is wrong.

    With ``optional``, a request without a body reads as ``{}``; a body sent anyway must
    still be a JSON object.
    """
    if (
        optional
        and not request.content_length
        and "chunked" not in request.headers.get("Transfer-Encoding", "")
    ):
        return {}
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", N_("Send a JSON body (application/json)."))
    if request.content_length is not None and request.content_length > MAX_JSON_BYTES:
        raise ApiError(413, "too_large", N_("The request body is too large."))
    # Bounded read: a chunked body has no Content-Length to refuse up front.
    data = request.stream.read(MAX_JSON_BYTES + 1)
    if len(data) > MAX_JSON_BYTES:
        raise ApiError(413, "too_large", N_("The request body is too large."))
    body = parse_json(data)
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", N_("The body must be a JSON object."))
    return body
