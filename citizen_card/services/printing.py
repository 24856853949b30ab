"""Printing cards: the values on a card's faces, its PDF and previews, A4 batches.

What is printed comes from the sealed record: the name and its Latin form from the
signed QR text, so the card always says what its QR code says, even after the record was
edited. Every export
of a card (PDF, print, batch) writes an audit event.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from sqlalchemy import select

from citizen_card.card.pdf import (
    CardFace,
    CardLabels,
    render_card_pdf,
    render_card_png,
    render_sheet_pdf,
)
from citizen_card.config import Settings
from citizen_card.models import Card, Staff
from citizen_card.services import audit, city, registry
from citizen_card.services.cards import CardNotActive, CardView, IssuanceError, open_qr, record
from citizen_card.services.errors import N_, ValidationFailed
from citizen_card.services.types import DbSession
from verify.cardnumber import InvalidCardNumber, format_card_number, normalize_card_number
from verify.credential import CredentialError, decode_claims_unverified, extract_token, token_bytes

BATCH_LIMIT = 500
# A pending card (a renewal waiting to be handed over) is printed like an active one.
PRINTABLE_STATUSES = ("active", "pending")


def card_face(card: Card, *, settings: Settings, labels: CardLabels) -> CardFace:
    """The values printed on a card, opened from the sealed record.

    The name and its Latin form come from the signed QR text, not from the current
    record: what is printed must be what the QR code says, even after the record was
    edited.

    :raises CardNotActive: ``card_erased`` when the record (and so the photo) is gone.
    :raises IssuanceError: ``no_photo`` when the photo was removed since.
    """
    resident = card.resident
    if resident is None or card.qr_sealed is None:
        raise CardNotActive(N_("This card's record was erased."), "card_erased")
    keys = registry.RegistryKeys.from_settings(settings)
    qr = open_qr(registry.data_key(resident, keys), card.number, card.qr_sealed)
    try:
        signed = decode_claims_unverified(token_bytes(extract_token(qr)))
    except CredentialError as exc:  # our own sealed text: only a bug gets here
        raise IssuanceError(N_("This card cannot be rendered."), "card_unreadable") from exc
    latin_name = signed.latin_name
    if latin_name is None:
        # A Latin-script name, or a card issued before the Latin form was signed: for
        # the latter print the record's, as then, while it still belongs to the name.
        details = registry.open_details(resident, keys)
        latin_name = details.latin_name if details.printed_name == signed.name else None
    photo = registry.open_photo(resident, keys)
    if photo is None:
        raise IssuanceError(N_("The resident has no photo."), "no_photo", status=422)
    return CardFace(
        names=signed.name,
        latin_name=latin_name,
        photo_jpeg=photo,
        card_number=format_card_number(card.number),
        valid_until=card.expires_at.date(),
        qr_text=qr,
        labels=labels,
    )


def render_pdf(session: DbSession, card: Card, *, settings: Settings, labels: CardLabels) -> bytes:
    """The card's PDF (front and back pages) in the city's design, with no check or audit.

    :raises CardNotActive: as :func:`card_face`.
    :raises IssuanceError: as :func:`card_face`.
    """
    face = card_face(card, settings=settings, labels=labels)
    design = city.load(session, settings).card_design(settings.verify_base_url)
    return render_card_pdf(face, design)


def card_pdf(
    session: DbSession,
    card: Card,
    *,
    settings: Settings,
    labels: CardLabels,
    actor: Staff | None,
    now: datetime,
    mark_printed: bool = False,
) -> bytes:
    """The card's PDF (front and back pages). Every export of a card is audited.

    :raises CardNotActive: revoked or erased cards are not printed again.
    """
    if card.status == "revoked":
        raise CardNotActive(N_("A revoked card is not printed."), "card_revoked")
    pdf = render_pdf(session, card, settings=settings, labels=labels)
    if mark_printed:
        card.printed_at = now
    record(session, "card.print" if mark_printed else "card.pdf", card, actor=actor, now=now)
    return pdf


def card_preview(
    session: DbSession, card: Card, *, settings: Settings, labels: CardLabels
) -> tuple[bytes, bytes]:
    """PNG previews (front, back) for the counter's screen.

    :raises CardNotActive: as :func:`card_face`.
    :raises IssuanceError: as :func:`card_face`.
    """
    face = card_face(card, settings=settings, labels=labels)
    design = city.load(session, settings).card_design(settings.verify_base_url)
    return render_card_png(face, design, dpi=150)


# ---------------------------------------------------------------------------------------
# Batch printing on A4 sheets


def printable_cards(session: DbSession, *, now: datetime) -> list[CardView]:
    """Current, unexpired cards not printed yet, oldest first (the queue at the printer)."""
    cards = session.execute(
        select(Card)
        .where(
            Card.status.in_(PRINTABLE_STATUSES),
            Card.printed_at.is_(None),
            Card.expires_at > now,
            Card.resident_id.is_not(None),
        )
        .order_by(Card.issued_at, Card.id)
        .limit(BATCH_LIMIT)
    ).scalars()
    return [CardView(card, card.status) for card in cards]


@dataclass(frozen=True)
class QueuedCard:
    """A card at the printer, with the name it prints so the clerk knows whose it is."""

    view: CardView
    printed_name: str
    latin_name: str | None


def print_queue(
    session: DbSession, *, keys: registry.RegistryKeys, actor: Staff | None, now: datetime
) -> list[QueuedCard]:
    """:func:`printable_cards` with their printed names, opened here for the clerk.

    Listing names is a look into the registry, so it is audited like a search (the number
    listed, no names).
    """
    views = printable_cards(session, now=now)
    residents = [view.card.resident for view in views if view.card.resident is not None]
    wrapped = keys.keystore.get_many(resident.public_id for resident in residents)
    queued = []
    for view in views:
        resident = view.card.resident
        if resident is None or resident.public_id not in wrapped:
            continue
        printed = registry.open_details(resident, keys, wrapped[resident.public_id]).printed
        queued.append(QueuedCard(view, printed.name, printed.latin))
    audit.record(
        session,
        actor=actor,
        action="cards.print_queue",
        target_type="cards",
        target_ref="print_queue",
        now=now,
        detail={"results": len(queued)},
    )
    return queued


def cards_for_batch(session: DbSession, card_numbers: Iterable[str]) -> list[Card]:
    """The printable cards among ``card_numbers`` (others are silently left out).

    :raises ValidationFailed: ``nothing_selected``.
    """
    numbers: list[str] = []
    for text in card_numbers:
        try:
            numbers.append(normalize_card_number(text))
        except InvalidCardNumber:
            continue
    numbers = list(dict.fromkeys(numbers))[:BATCH_LIMIT]
    cards = (
        list(
            session.execute(
                select(Card)
                .where(Card.number.in_(numbers), Card.status.in_(PRINTABLE_STATUSES))
                .order_by(Card.issued_at, Card.id)
            ).scalars()
        )
        if numbers
        else []
    )
    if not cards:
        raise ValidationFailed(N_("Select at least one card to print."), "nothing_selected")
    return cards


def draw_batch(
    session: DbSession,
    cards: Sequence[Card],
    out: BinaryIO,
    *,
    settings: Settings,
    labels: CardLabels,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Write one A4 PDF of ``cards`` to ``out``; only reads the database.

    Faces are opened lazily, one card at a time, so personal data is in memory only while
    its sheet is drawn; the read transaction ends after each card, so a long batch holds
    no snapshot that would keep an erasure's clean-up waiting.

    :raises CardNotActive: as :func:`card_face`, for any card of the batch.
    :raises IssuanceError: as :func:`card_face`, for any card of the batch.
    """
    design = city.load(session, settings).card_design(settings.verify_base_url)

    def faces() -> Iterator[CardFace]:
        for card in cards:
            face = card_face(card, settings=settings, labels=labels)
            session.commit()  # nothing to write: this only ends the read
            yield face

    render_sheet_pdf(faces(), design, out, progress)


def mark_batch_printed(
    session: DbSession, card_ids: Sequence[int], *, actor: Staff | None, now: datetime
) -> list[Card]:
    """Mark printed those of ``card_ids`` that are still active (one event each).

    A card revoked or erased while its sheet was drawn is left out; the caller compares.
    """
    cards = list(
        session.scalars(
            select(Card)
            .where(
                Card.id.in_(card_ids),
                Card.status.in_(PRINTABLE_STATUSES),
                Card.resident_id.is_not(None),
            )
            .order_by(Card.id)
        )
    )
    for card in cards:
        card.printed_at = now
        record(session, "card.print", card, actor=actor, now=now, batch=len(card_ids))
    return cards
