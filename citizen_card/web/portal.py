"""/my-card: residents download their card with the card number and one-time code."""

from __future__ import annotations

import math
import time

from flask import Blueprint, Response, render_template, request
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_limiter.errors import RateLimitExceeded

from citizen_card import limit_keys
from citizen_card.context import app_context
from citizen_card.extensions import db, limiter
from citizen_card.limits import describe
from citizen_card.services import city, downloads
from citizen_card.web.forms import FieldError, field_errors, one_error

bp = Blueprint("portal", __name__)

# Per card: ten tries of a 60-bit code leave nothing to guess; per address: a household
# or a help desk behind one address can still get a few cards.
PER_CARD_LIMIT = "5 per 15 minutes;10 per day"
PER_ADDRESS_LIMIT = "20 per hour;50 per day"


def _card_key() -> str:
    # Read as the lookup reads it (I/L→1, O→0, dashes, case): each card counts once.
    return limit_keys.card_number_key(request.form.get("card_number") or "")


def _page(errors: list[FieldError], status: int = 200) -> tuple[str, int]:
    card_number = request.form.get("card_number", "")[:32]
    page = render_template("portal/my_card.html", card_number=card_number, form_errors=errors)
    return page, status


@bp.get("/my-card")
def my_card() -> str:
    return render_template("portal/my_card.html", card_number="", form_errors=[])


@bp.post("/my-card")
@limiter.limit(PER_CARD_LIMIT, key_func=_card_key)
@limiter.limit(PER_ADDRESS_LIMIT)
def download() -> Response | tuple[str, int]:
    ctx = app_context()
    card_number = request.form.get("card_number", "")
    try:
        card, pdf = downloads.download_pdf(
            db.session,
            card_number,
            request.form.get("code", ""),
            settings=ctx.settings,
            labels=city.printed_labels(db.session, ctx.settings),
            now=ctx.now(),
        )
    except downloads.DownloadRefused as exc:
        db.session.rollback()
        return _page(field_errors(exc, "code" if exc.used else "card_number"), 400)
    db.session.commit()
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="card-{card.number}.pdf"'},
    )


@bp.errorhandler(RateLimitExceeded)
def limited(exc: RateLimitExceeded) -> tuple[str, int, dict[str, str]]:
    """Too many tries: say the limit that was reached and how long to wait, in minutes."""
    current = limiter.current_limit
    seconds = max(1, math.ceil(current.reset_at - time.time())) if current else 60
    minutes = max(1, round(seconds / 60))  # the window ends within the second: no "16"
    wait = ngettext("%(num)d minute", "%(num)d minutes", minutes)
    message = _(
        "Too many tries: at most %(limit)s. Try again in %(wait)s.",
        limit=describe(str(exc.limit.limit)),
        wait=wait,
    )
    page, status = _page(one_error(message), 429)
    return page, status, {"Retry-After": str(seconds)}
