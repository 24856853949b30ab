"""/my-card: residents download their card with the card number and one-time code."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request

from citizen_card import limit_keys
from citizen_card.context import app_context
from citizen_card.extensions import db, limiter
from citizen_card.services import city, downloads

bp = Blueprint("portal", __name__)

# Per card: ten tries of a 60-bit code leave nothing to guess; per address: a household
# or a help desk behind one address can still get a few cards.
PER_CARD_LIMIT = "5 per 15 minutes;10 per day"
PER_ADDRESS_LIMIT = "20 per hour;50 per day"


def _card_key() -> str:
    # Read as the lookup reads it (I/L→1, O→0, dashes, case): each card counts once.
    return limit_keys.card_number_key(request.form.get("card_number") or "")


@bp.get("/my-card")
def my_card() -> str:
    return render_template("portal/my_card.html", card_number="", refused=False)


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
    except downloads.DownloadRefused:
        db.session.rollback()
        page = render_template("portal/my_card.html", card_number=card_number[:32], refused=True)
        return page, 400
    db.session.commit()
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="card-{card.number}.pdf"'},
    )
