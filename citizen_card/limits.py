"""Limits that Flask-Limiter's decorators cannot express, counted in the same storage.

The decorators key a limit on something in the request (the address, a form field). Some
limits key on who is asking (a staff account's searches) or on a value normalised the way
the lookup it protects normalises it. :func:`check` counts one hit against each limit in
the limiter's own storage (memory, or the Redis that all workers share), so they hold
across processes exactly as the decorated ones do.
"""

from __future__ import annotations

import math
import time

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from limits import parse_many

from citizen_card.extensions import limiter
from citizen_card.limit_keys import opaque
from citizen_card.services.errors import N_, DomainError


class LimitReached(DomainError):
    """Too many requests of one kind; ``retry_after`` says in how many seconds to retry."""

    status = 429

    def __init__(self, message: str, retry_after: int, **params: object) -> None:
        super().__init__(message, "rate_limited", **params)
        self.retry_after = retry_after


def check(limits_text: str, scope: str, key: str) -> int | None:
    """Count one hit; return None when allowed, else the seconds until the next is.

    ``limits_text`` is Flask-Limiter syntax (``"120 per hour;500 per day"``).
    """
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX", "")
    backend = limiter.limiter
    for item in parse_many(limits_text):
        if not backend.hit(item, prefix, scope, key):
            reset_at = backend.get_window_stats(item, prefix, scope, key).reset_time
            return max(1, math.ceil(reset_at - time.time()))
    return None


def describe(limits_text: str) -> str:
    """A limit in words of the reader's language: "120 per hour, 600 per day"."""
    parts = []
    for item in parse_many(limits_text):
        unit, n = item.GRANULARITY.name, item.multiples
        windows = {
            "second": ngettext("%(num)d second", "%(num)d seconds", n),
            "minute": ngettext("%(num)d minute", "%(num)d minutes", n),
            "hour": ngettext("%(num)d hour", "%(num)d hours", n),
            "day": ngettext("%(num)d day", "%(num)d days", n),
            "month": ngettext("%(num)d month", "%(num)d months", n),
            "year": ngettext("%(num)d year", "%(num)d years", n),
        }
        singular = {
            "second": _("second"),
            "minute": _("minute"),
            "hour": _("hour"),
            "day": _("day"),
            "month": _("month"),
            "year": _("year"),
        }
        window = singular[unit] if n == 1 else windows[unit]
        parts.append(_("%(amount)d per %(window)s", amount=item.amount, window=window))
    return ", ".join(parts)


def enforce_search_limit(limits_text: str, staff_id: int) -> None:
    """Count a search by this staff account.

    :raises LimitReached: the account searched more often than ``limits_text`` allows.
    """
    wait = check(limits_text, "search", opaque("staff", str(staff_id)))
    if wait is not None:
        raise LimitReached(
            N_(
                "You have searched more often than this account may (%(limit)s). "
                "You can search again in %(minutes)d minutes."
            ),
            wait,
            limit=describe(limits_text),
            minutes=max(1, math.ceil(wait / 60)),
        )


__all__ = ["LimitReached", "check", "describe", "enforce_search_limit"]
