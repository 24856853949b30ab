"""JSON API v1 for cards: issue, read, PDF, renew, replace, hand over, revoke, suspend,
reinstate. The same rules as the counter pages: a reason is always given, never assumed;
a renewal waits (``pending``) until it is handed over, unless the card was lost or stolen."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from citizen_card import database
from citizen_card.api.common import api_staff, bearer_required, json_object
from citizen_card.context import app_context
from citizen_card.extensions import db
from citizen_card.models import Card
from citizen_card.services import cards, city, downloads, issuance, printing, registry
from citizen_card.services.errors import refuse_unknown_fields
from verify.cardnumber import format_card_number

bp = Blueprint("api_cards", __name__, url_prefix="/api/v1")


def card_json(card: Card, state: str) -> dict[str, Any]:
    return {
        "card_number": format_card_number(card.number),
        "status": state,
        "revocation_reason": card.revocation_reason,
        "issued_at": card.issued_at.isoformat(),
        "expires_at": card.expires_at.isoformat(),
        "resident_id": card.resident.public_id if card.resident is not None else None,
        "printed_at": card.printed_at.isoformat() if card.printed_at else None,
        "handed_over_at": card.handed_over_at.isoformat() if card.handed_over_at else None,
    }


def _issued_json(issued: issuance.IssuedCard) -> dict[str, Any]:
    return card_json(issued.card, issued.card.status) | {
        "qr": issued.qr,
        "download_code": downloads.format_download_code(issued.download_code),
    }


@bp.post("/residents/<public_id>/cards")
@bearer_required("clerk")
def issue_card(public_id: str) -> tuple[dict[str, Any], int]:
    ctx = app_context()
    resident = registry.get(db.session, public_id)
    issued = issuance.issue(
        db.session, resident, settings=ctx.settings, actor=api_staff(), now=ctx.now()
    )
    db.session.commit()
    return _issued_json(issued), 201


@bp.get("/cards/<card_number>")
@bearer_required("clerk")
def get_card(card_number: str) -> dict[str, Any]:
    view = cards.view_card(db.session, card_number, now=app_context().now())
    return card_json(view.card, view.state)


@bp.get("/cards/<card_number>/pdf")
@bearer_required("clerk")
@database.writes  # an audited reading: its transaction writes
def card_pdf(card_number: str) -> Response:
    ctx = app_context()
    card = cards.get_card(db.session, card_number)
    pdf = printing.card_pdf(
        db.session,
        card,
        settings=ctx.settings,
        labels=city.printed_labels(db.session, ctx.settings),
        actor=api_staff(),
        now=ctx.now(),
    )
    db.session.commit()
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="card-{card.number}.pdf"'},
    )


def _reason() -> str:
    body = json_object()
    refuse_unknown_fields(body, ("reason",))
    reason = body.get("reason")
    return reason if isinstance(reason, str) else ""


def _no_fields() -> None:
    """Suspending and reinstating take no fields; a body, when sent, must say nothing."""
    refuse_unknown_fields(json_object(optional=True), ())


@bp.post("/cards/<card_number>/revoke")
@bearer_required("clerk")
def revoke(card_number: str) -> dict[str, Any]:
    ctx = app_context()
    reason = _reason()
    card = cards.get_card(db.session, card_number)
    issuance.revoke(db.session, card, reason, actor=api_staff(), now=ctx.now())
    db.session.commit()
    return card_json(card, cards.state_of(card, ctx.now()))


@bp.post("/cards/<card_number>/suspend")
@bearer_required("clerk")
def suspend(card_number: str) -> dict[str, Any]:
    ctx = app_context()
    _no_fields()
    card = cards.get_card(db.session, card_number)
    issuance.suspend(db.session, card, actor=api_staff(), now=ctx.now())
    db.session.commit()
    return card_json(card, cards.state_of(card, ctx.now()))


@bp.post("/cards/<card_number>/reinstate")
@bearer_required("clerk")
def reinstate(card_number: str) -> dict[str, Any]:
    ctx = app_context()
    _no_fields()
    card = cards.get_card(db.session, card_number)
    issuance.reinstate(db.session, card, actor=api_staff(), now=ctx.now())
    db.session.commit()
    return card_json(card, cards.state_of(card, ctx.now()))


@bp.post("/cards/<card_number>/renew")
@bearer_required("clerk")
def renew(card_number: str) -> tuple[dict[str, Any], int]:
    ctx = app_context()
    _no_fields()
    card = cards.get_card(db.session, card_number)
    issued = issuance.renew(
        db.session, card, settings=ctx.settings, actor=api_staff(), now=ctx.now()
    )
    db.session.commit()
    return _issued_json(issued), 201


@bp.post("/cards/<card_number>/replace")
@bearer_required("clerk")
def replace(card_number: str) -> tuple[dict[str, Any], int]:
    ctx = app_context()
    reason = _reason()
    card = cards.get_card(db.session, card_number)
    issued = issuance.replace(
        db.session, card, reason, settings=ctx.settings, actor=api_staff(), now=ctx.now()
    )
    db.session.commit()
    return _issued_json(issued), 201


@bp.post("/cards/<card_number>/hand-over")
@bearer_required("clerk")
def hand_over(card_number: str) -> dict[str, Any]:
    ctx = app_context()
    _no_fields()
    card = cards.get_card(db.session, card_number)
    issuance.hand_over(db.session, card, actor=api_staff(), now=ctx.now())
    db.session.commit()
    return card_json(card, cards.state_of(card, ctx.now()))
