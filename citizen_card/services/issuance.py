"""Cards: issue, renew, replace, suspend, reinstate, revoke; download codes; rendering.

A card row is the only thing kept about a card: its number, status, validity, status
list entry and the QR text sealed under the resident's data key. The rules that make bad
states impossible live in the database (one current card per resident, unique numbers,
unique status entries); this module chooses random values, lets the constraints decide,
and retries or turns a collision into a clean :class:`~errors.Conflict`.

Expiry is not a status: a card past ``expires_at`` keeps its status, verifiers answer
``expired`` from the signed date, and the purge deletes it later.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import BinaryIO

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from citizen_card.card.errors import RenderError
from citizen_card.card.pdf import CardFace, CardLabels, render_card_pdf, render_sheet_pdf
from citizen_card.card.qr import qr_matrix
from citizen_card.config import Settings
from citizen_card.models import Card, Resident, Staff, StatusList
from citizen_card.models.card import CURRENT_STATUSES
from citizen_card.services import audit, city, keyring, privacy, publication, registry
from citizen_card.services.errors import N_, Conflict, DomainError, NotFound, ValidationFailed
from citizen_card.services.types import DbSession
from verify.cardnumber import (
    ALPHABET,
    InvalidCardNumber,
    format_card_number,
    new_card_number,
    normalize_card_number,
)
from verify.credential import (
    MAX_NAME_CHARS,
    CardClaims,
    CredentialError,
    decode_claims_unverified,
    encode_token,
    extract_token,
    qr_text,
    token_bytes,
)
from verify.status import LIST_SIZE

# Reasons a clerk may give. "renewed", "expired" and "erased" are set by the system.
REVOKE_REASONS = (
    "lost",
    "stolen",
    "damaged",
    "name_change",
    "issued_in_error",
    "left_city",
    "deceased",
    "withdrawn",
)
REPLACE_REASONS = ("lost", "stolen", "damaged", "name_change")
REASON_LABELS = {
    "lost": N_("Lost"),
    "stolen": N_("Stolen"),
    "damaged": N_("Damaged"),
    "name_change": N_("Name changed"),
    "issued_in_error": N_("Issued in error"),
    "left_city": N_("Moved away"),
    "deceased": N_("Deceased"),
    "withdrawn": N_("Withdrawn by the city"),
    "renewed": N_("Renewed"),
    "expired": N_("Expired"),
    "erased": N_("Record erased"),
}
_LOOKALIKES = str.maketrans("ILO", "110")  # read as the card number is: I, L -> 1, O -> 0
DOWNLOAD_CODE_LENGTH = 12  # 60 bits of Crockford base 32
DOWNLOAD_CODE_VALIDITY = timedelta(days=30)
# Each attempt picks fresh random values; a handful of collisions in a row means the
# database is not answering as expected, not bad luck (55 bits of card number).
MAX_ATTEMPTS = 8
RANDOM_INDEX_TRIES = 16
BATCH_LIMIT = 500


class IssuanceError(DomainError):
    """A card operation the card's or resident's state does not allow."""

    def __init__(self, message: str, code: str, *, status: int = 409, **params: object) -> None:
        super().__init__(message, code, **params)
        self.status = status


class CardNotActive(IssuanceError):
    def __init__(
        self, message: str = N_("This card is not active."), code: str = "card_not_active"
    ):
        super().__init__(message, code)


class CardNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__(N_("No such card."), "card_not_found")


class DownloadRefused(DomainError):
    """One answer for every failed download, so a guesser learns nothing from it."""

    status = 400

    def __init__(self) -> None:
        super().__init__(
            N_("This card number and code do not open a card. Check both, or ask at the counter."),
            "download_refused",
        )


@dataclass(frozen=True)
class IssuedCard:
    """A new card with what is shown once: the QR text and the one-time download code."""

    card: Card
    qr: str
    download_code: str


@dataclass(frozen=True)
class CardView:
    """A card as the counter sees it."""

    card: Card
    state: str  # active, suspended, revoked or expired

    @property
    def number(self) -> str:
        return format_card_number(self.card.number)

    @property
    def is_current(self) -> bool:
        return self.card.status in CURRENT_STATUSES


# ---------------------------------------------------------------------------------------
# Reading


def state_of(card: Card, now: datetime) -> str:
    """Status as a verifier reports it: a current card past its expiry is ``expired``."""
    if card.status in CURRENT_STATUSES and card.expires_at <= now:
        return "expired"
    return card.status


def get_card(session: DbSession, card_number: str) -> Card:
    """The card with this number in any printed or typed form.

    :raises CardNotFound: unknown or malformed number.
    """
    try:
        number = normalize_card_number(card_number)
    except InvalidCardNumber as exc:
        raise CardNotFound from exc
    card = session.execute(select(Card).where(Card.number == number)).scalar_one_or_none()
    if card is None:
        raise CardNotFound
    return card


def view_card(session: DbSession, card_number: str, *, now: datetime) -> CardView:
    """:raises CardNotFound:"""
    card = get_card(session, card_number)
    return CardView(card, state_of(card, now))


def cards_of(session: DbSession, resident: Resident, *, now: datetime) -> list[CardView]:
    """The resident's cards, newest first."""
    cards = session.execute(
        select(Card).where(Card.resident_id == resident.id).order_by(Card.id.desc())
    ).scalars()
    return [CardView(card, state_of(card, now)) for card in cards]


def _current_card(session: DbSession, resident: Resident) -> Card | None:
    return session.execute(
        select(Card).where(Card.resident_id == resident.id, Card.status.in_(CURRENT_STATUSES))
    ).scalar_one_or_none()


# ---------------------------------------------------------------------------------------
# Allocation: card numbers and status list entries


def _used_entries(session: DbSession, status_list_id: int) -> int:
    count = session.scalar(select(func.count(Card.id)).where(Card.status_list_id == status_list_id))
    return int(count or 0)


def _open_status_list(session: DbSession, now: datetime) -> StatusList:
    """The newest list with room, or a new one when it is full (or there is none yet)."""
    latest = session.execute(
        select(StatusList).order_by(StatusList.id.desc()).limit(1)
    ).scalar_one_or_none()
    if latest is not None and _used_entries(session, latest.id) < latest.size:
        return latest
    # An explicit id, not the sequence: two transactions that both find the list full
    # try to create the same next list, and the primary key lets exactly one of them.
    next_id = latest.id + 1 if latest is not None else 1
    savepoint = session.begin_nested()
    try:
        created = StatusList(id=next_id, size=LIST_SIZE, created_at=now, generation=0)
        session.add(created)
        session.flush()
    except IntegrityError:
        savepoint.rollback()
        existing = session.execute(
            select(StatusList).where(StatusList.id == next_id)
        ).scalar_one_or_none()
        if existing is None:
            raise
        return existing
    savepoint.commit()
    return created


def _free_index(session: DbSession, status_list: StatusList) -> int | None:
    """A random unused index; the unique constraint still has the last word."""
    taken = select(Card.id).where(Card.status_list_id == status_list.id)
    for _ in range(RANDOM_INDEX_TRIES):
        candidate = secrets.randbelow(status_list.size)
        if session.scalar(taken.where(Card.status_index == candidate).limit(1)) is None:
            return candidate
    # Only a nearly full list gets here: pick among the free entries directly.
    used = set(
        session.execute(
            select(Card.status_index).where(Card.status_list_id == status_list.id)
        ).scalars()
    )
    free = [i for i in range(status_list.size) if i not in used]
    return secrets.choice(free) if free else None


def _free_number(session: DbSession) -> str:
    for _ in range(MAX_ATTEMPTS):
        number = new_card_number()
        if session.scalar(select(Card.id).where(Card.number == number)) is None:
            return number
    raise IssuanceError(N_("No card number could be allocated. Try again."), "allocation_failed")


def _qr_aad(number: str) -> bytes:
    return b"card-qr:" + number.encode()


def _code_digest(number: str, code: str) -> bytes:
    # Bound to the card number: a code only ever opens the card it was made for.
    return privacy.hash_secret(f"download:{number}:{code}")


def _new_download_code(card: Card, now: datetime) -> str:
    code = "".join(secrets.choice(ALPHABET) for _ in range(DOWNLOAD_CODE_LENGTH))
    card.download_code_hash = _code_digest(card.number, code)
    card.download_code_expires_at = now + DOWNLOAD_CODE_VALIDITY
    card.download_code_used_at = None
    return code


def format_download_code(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def normalize_download_code(text: str) -> str | None:
    compact = text.upper().replace(" ", "").replace("-", "")[:64]
    compact = compact.translate(_LOOKALIKES)
    if len(compact) != DOWNLOAD_CODE_LENGTH or any(c not in ALPHABET for c in compact):
        return None
    return compact


def _create_card(
    session: DbSession,
    resident: Resident,
    *,
    settings: Settings,
    actor: Staff | None,
    now: datetime,
) -> IssuedCard:
    """Insert a new card for a resident who holds no current card (constraint-checked)."""
    if resident.photo_sealed is None:
        raise IssuanceError(
            N_("Take the resident's photo before issuing a card."), "no_photo", status=422
        )
    keys = registry.RegistryKeys.from_settings(settings)
    name = registry.open_details(resident, keys).printed_name
    if len(name) > MAX_NAME_CHARS:
        raise IssuanceError(
            N_("The name is longer than %(count)d characters and does not fit on the card."),
            "name_too_long",
            status=422,
            count=MAX_NAME_CHARS,
        )
    key = keyring.active_key(session)
    if key is None:
        raise IssuanceError(N_("There is no signing key. Ask an administrator."), "no_signing_key")
    signer = keyring.signer(key, settings)
    design = city.load(session, settings)
    # Whole seconds: the token's dates are whole seconds and the row must say the same.
    issued_at = now.replace(microsecond=0)
    expires_at = issued_at + timedelta(days=design.validity_days)
    data_key = registry.data_key(resident, keys)
    for _ in range(MAX_ATTEMPTS):
        status_list = _open_status_list(session, now)
        index = _free_index(session, status_list)
        if index is None:
            continue  # filled up under us; the next round opens a new list
        number = _free_number(session)
        token = encode_token(
            CardClaims(
                issuer=settings.issuer_id,
                issued_at=int(issued_at.timestamp()),
                expires_at=int(expires_at.timestamp()),
                card_number=number,
                name=name,
                status_list=status_list.id,
                status_index=index,
            ),
            signer,
        )
        qr = qr_text(settings.verify_base_url, token)
        try:
            qr_matrix(qr)
        except RenderError as exc:
            raise IssuanceError(
                N_("The name is too long for the card's QR code."), "name_too_long", status=422
            ) from exc
        card = Card(
            number=number,
            resident_id=resident.id,
            status="active",
            issued_at=issued_at,
            expires_at=expires_at,
            kid=key.kid,
            status_list_id=status_list.id,
            status_index=index,
            issued_by_id=actor.id if actor is not None else None,
            qr_sealed=privacy.seal(data_key, qr.encode(), _qr_aad(number)),
        )
        code = _new_download_code(card, now)
        savepoint = session.begin_nested()
        try:
            session.add(card)
            session.flush()
        except IntegrityError:
            savepoint.rollback()
            # Which constraint? If the resident now has a current card, another request
            # won the race; otherwise the number or status entry collided: draw again.
            if _current_card(session, resident) is not None:
                raise _has_current_card() from None
            continue
        savepoint.commit()
        return IssuedCard(card, qr, code)
    raise IssuanceError(N_("No card number could be allocated. Try again."), "allocation_failed")


def _has_current_card() -> Conflict:
    return Conflict(
        N_("This resident already has a current card. Renew or replace it instead."),
        "has_current_card",
    )


def _set_status(session: DbSession, card: Card, status: str, reason: str | None = None) -> None:
    card.status = status
    card.revocation_reason = reason
    if status == "revoked":
        # A revoked card is never downloaded again.
        card.download_code_hash = None
    session.flush()
    publication.status_changed(session, card.status_list_id)


def _record(
    session: DbSession,
    action: str,
    card: Card,
    *,
    actor: Staff | None,
    now: datetime,
    **detail: object,
) -> None:
    audit.record(
        session,
        actor=actor,
        action=action,
        target_type="card",
        target_ref=card.number,
        now=now,
        detail={k: v for k, v in detail.items() if v is not None},
    )


# ---------------------------------------------------------------------------------------
# Life of a card


def issue(
    session: DbSession,
    resident: Resident,
    *,
    settings: Settings,
    actor: Staff | None,
    now: datetime,
) -> IssuedCard:
    """Issue a first card, or a new one when the current card has expired.

    An expired current card is closed (revoked, reason ``expired``) in the same
    transaction, so the resident never holds two current cards.

    :raises IssuanceError: ``no_photo``, ``name_too_long``, ``no_signing_key``.
    :raises Conflict: ``has_current_card`` (also when a concurrent request won).
    """
    current = _current_card(session, resident)
    previous: str | None = None
    if current is not None:
        if current.expires_at > now:
            raise _has_current_card()
        _set_status(session, current, "revoked", "expired")
        _record(session, "card.revoke", current, actor=actor, now=now, reason="expired")
        previous = current.number
    issued = _create_card(session, resident, settings=settings, actor=actor, now=now)
    _record(
        session,
        "card.issue",
        issued.card,
        actor=actor,
        now=now,
        resident=resident.public_id,
        replaces=previous,
    )
    return issued


def _successor(
    session: DbSession,
    card: Card,
    reason: str,
    action: str,
    *,
    settings: Settings,
    actor: Staff | None,
    now: datetime,
) -> IssuedCard:
    resident = card.resident
    if resident is None:
        raise CardNotActive(N_("This card's record was erased."), "card_erased")
    _set_status(session, card, "revoked", reason)
    _record(session, "card.revoke", card, actor=actor, now=now, reason=reason)
    issued = _create_card(session, resident, settings=settings, actor=actor, now=now)
    _record(
        session,
        action,
        issued.card,
        actor=actor,
        now=now,
        resident=resident.public_id,
        replaces=card.number,
        reason=reason,
    )
    return issued


def renew(
    session: DbSession, card: Card, *, settings: Settings, actor: Staff | None, now: datetime
) -> IssuedCard:
    """A new card with a new validity; the old one is revoked (``renewed``) at once.

    Renewing also works for a card that has just expired; a suspended card must be
    reinstated or replaced first, so that a suspension is never lifted by accident.

    :raises CardNotActive: the card is suspended or revoked.
    :raises IssuanceError: as :func:`issue`.
    """
    if card.status != "active":
        raise CardNotActive()
    return _successor(
        session, card, "renewed", "card.renew", settings=settings, actor=actor, now=now
    )


def replace(
    session: DbSession,
    card: Card,
    reason: str,
    *,
    settings: Settings,
    actor: Staff | None,
    now: datetime,
) -> IssuedCard:
    """Replace a lost, stolen, damaged or outdated card: old revoked, new issued, one
    transaction.

    :raises ValidationFailed: ``invalid_reason``.
    :raises CardNotActive: the card is already revoked.
    """
    _check_reason(reason, REPLACE_REASONS)
    if card.status not in CURRENT_STATUSES:
        raise CardNotActive()
    return _successor(
        session, card, reason, "card.replace", settings=settings, actor=actor, now=now
    )


def suspend(session: DbSession, card: Card, *, actor: Staff | None, now: datetime) -> Card:
    """Suspend an active card (verifiers answer ``suspended`` until it is reinstated).

    :raises CardNotActive: the card is not active.
    """
    if card.status != "active":
        raise CardNotActive()
    _set_status(session, card, "suspended")
    _record(session, "card.suspend", card, actor=actor, now=now)
    return card


def reinstate(session: DbSession, card: Card, *, actor: Staff | None, now: datetime) -> Card:
    """Lift a suspension.

    :raises CardNotActive: ``card_not_suspended`` for any card that is not suspended.
    """
    if card.status != "suspended":
        raise CardNotActive(N_("Only a suspended card can be reinstated."), "card_not_suspended")
    _set_status(session, card, "active")
    _record(session, "card.reinstate", card, actor=actor, now=now)
    return card


def revoke(
    session: DbSession, card: Card, reason: str, *, actor: Staff | None, now: datetime
) -> Card:
    """Revoke for good. The status entry stays revoked in the published list.

    :raises ValidationFailed: ``invalid_reason``.
    :raises CardNotActive: ``card_revoked`` when it is already revoked.
    """
    _check_reason(reason, REVOKE_REASONS)
    if card.status == "revoked":
        raise CardNotActive(N_("This card is already revoked."), "card_revoked")
    _set_status(session, card, "revoked", reason)
    _record(session, "card.revoke", card, actor=actor, now=now, reason=reason)
    return card


def _check_reason(reason: object, allowed: Sequence[str]) -> None:
    if not isinstance(reason, str) or reason not in allowed:
        raise ValidationFailed(
            N_("Choose a reason: %(reasons)s."),
            "invalid_reason",
            "reason",
            reasons=", ".join(allowed),
        )


# ---------------------------------------------------------------------------------------
# Download codes


def new_download_code(session: DbSession, card: Card, *, actor: Staff | None, now: datetime) -> str:
    """A fresh one-time code for the resident; any earlier code stops working.

    :raises CardNotActive: the card is revoked or its record erased.
    """
    if card.status == "revoked" or card.resident_id is None or card.qr_sealed is None:
        raise CardNotActive()
    code = _new_download_code(card, now)
    _record(session, "card.download_code", card, actor=actor, now=now)
    return code


def redeem_download_code(session: DbSession, card_number: str, code: str, *, now: datetime) -> Card:
    """The card that this number and code open; the code is used up.

    Single use, because the code is the only thing between a stranger who saw the
    receipt and the resident's photo and name; the counter makes a new one on request.

    :raises DownloadRefused: for every reason (unknown number, wrong, used or expired
        code, card revoked or expired), so the answer tells a guesser nothing.
    """
    try:
        number = normalize_card_number(card_number)
    except InvalidCardNumber as exc:
        raise DownloadRefused from exc
    canonical_code = normalize_download_code(code) or ""
    card = session.execute(select(Card).where(Card.number == number)).scalar_one_or_none()
    expected = card.download_code_hash if card is not None else None
    digest = _code_digest(number, canonical_code)
    if card is None or expected is None or not hmac.compare_digest(expected, digest):
        raise DownloadRefused
    usable = (
        card.download_code_used_at is None
        and card.download_code_expires_at is not None
        and card.download_code_expires_at > now
        and state_of(card, now) in CURRENT_STATUSES
        and card.qr_sealed is not None
        and card.resident is not None
    )
    if not usable:
        raise DownloadRefused
    card.download_code_used_at = now
    _record(session, "card.download", card, actor=None, now=now)
    return card


# ---------------------------------------------------------------------------------------
# Rendering


def card_face(card: Card, *, settings: Settings, labels: CardLabels) -> CardFace:
    """The values printed on a card, opened from the sealed record.

    The name comes from the signed QR text, not from the current record: what is
    printed must be what the QR code says, even after the record was edited.

    :raises CardNotActive: ``card_erased`` when the record (and so the photo) is gone.
    :raises IssuanceError: ``no_photo`` when the photo was removed since.
    """
    resident = card.resident
    if resident is None or card.qr_sealed is None:
        raise CardNotActive(N_("This card's record was erased."), "card_erased")
    keys = registry.RegistryKeys.from_settings(settings)
    qr = privacy.open_sealed(
        registry.data_key(resident, keys), card.qr_sealed, _qr_aad(card.number)
    ).decode()
    try:
        signed_name = decode_claims_unverified(token_bytes(extract_token(qr))).name
    except CredentialError as exc:  # our own sealed text: only a bug gets here
        raise IssuanceError(N_("This card cannot be rendered."), "card_unreadable") from exc
    details = registry.open_details(resident, keys)
    photo = registry.open_photo(resident, keys)
    if photo is None:
        raise IssuanceError(N_("The resident has no photo."), "no_photo", status=422)
    return CardFace(
        names=signed_name,
        # The Latin form is not signed; print it only while it still belongs to the name.
        latin_name=details.latin_name if details.printed_name == signed_name else None,
        photo_jpeg=photo,
        card_number=format_card_number(card.number),
        valid_until=card.expires_at.date(),
        qr_text=qr,
        labels=labels,
    )


def qr_of(card: Card, *, settings: Settings) -> str | None:
    """The exact QR text of a card, or None once the record is erased."""
    if card.resident is None or card.qr_sealed is None:
        return None
    keys = registry.RegistryKeys.from_settings(settings)
    return privacy.open_sealed(
        registry.data_key(card.resident, keys), card.qr_sealed, _qr_aad(card.number)
    ).decode()


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
    face = card_face(card, settings=settings, labels=labels)
    design = city.load(session, settings).card_design(settings.verify_base_url)
    pdf = render_card_pdf(face, design)
    if mark_printed:
        card.printed_at = now
    _record(session, "card.print" if mark_printed else "card.pdf", card, actor=actor, now=now)
    return pdf


def download_pdf(
    session: DbSession,
    card_number: str,
    code: str,
    *,
    settings: Settings,
    labels: CardLabels,
    now: datetime,
) -> tuple[Card, bytes]:
    """What /my-card hands out: the card's PDF for a valid number and one-time code.

    :raises DownloadRefused: as :func:`redeem_download_code`.
    """
    card = redeem_download_code(session, card_number, code, now=now)
    face = card_face(card, settings=settings, labels=labels)
    design = city.load(session, settings).card_design(settings.verify_base_url)
    return card, render_card_pdf(face, design)


def card_preview(
    session: DbSession, card: Card, *, settings: Settings, labels: CardLabels
) -> tuple[bytes, bytes]:
    """PNG previews (front, back) for the counter's screen."""
    from citizen_card.card.pdf import render_card_png

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
            Card.status == "active",
            Card.printed_at.is_(None),
            Card.expires_at > now,
            Card.resident_id.is_not(None),
        )
        .order_by(Card.issued_at, Card.id)
        .limit(BATCH_LIMIT)
    ).scalars()
    return [CardView(card, "active") for card in cards]


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
                .where(Card.number.in_(numbers), Card.status == "active")
                .order_by(Card.issued_at, Card.id)
            ).scalars()
        )
        if numbers
        else []
    )
    if not cards:
        raise ValidationFailed(N_("Select at least one card to print."), "nothing_selected")
    return cards


def render_batch(
    session: DbSession,
    cards: Sequence[Card],
    out: BinaryIO,
    *,
    settings: Settings,
    labels: CardLabels,
    actor: Staff | None,
    now: datetime,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Write one A4 PDF of ``cards`` to ``out`` and mark them printed (one event each).

    Faces are opened lazily, one sheet at a time, so personal data is in memory only
    while its sheet is drawn.
    """
    design = city.load(session, settings).card_design(settings.verify_base_url)

    def faces() -> Iterator[CardFace]:
        for card in cards:
            yield card_face(card, settings=settings, labels=labels)

    render_sheet_pdf(faces(), design, out, progress)
    for card in cards:
        card.printed_at = now
        _record(session, "card.print", card, actor=actor, now=now, batch=len(cards))


def hand_over(session: DbSession, card: Card, *, actor: Staff | None, now: datetime) -> Card:
    """Record that the printed card reached the resident.

    :raises CardNotActive: the card is not active, or ``not_printed``.
    """
    if card.status != "active":
        raise CardNotActive()
    if card.printed_at is None:
        raise CardNotActive(N_("Print the card before handing it over."), "not_printed")
    card.handed_over_at = now
    _record(session, "card.hand_over", card, actor=actor, now=now)
    return card
