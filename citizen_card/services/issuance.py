"""The life of a card: issue, renew, replace, suspend, reinstate, revoke, hand over.

The rules that make bad states impossible live in the database (one current card per
resident, unique numbers, unique status entries); this module chooses random values
(card numbers, status list entries), lets the constraints decide, and retries or turns a
collision into a clean :class:`~errors.Conflict`. Every change writes its audit event
and tells the publisher in the same transaction.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from citizen_card.card.errors import RenderError
from citizen_card.card.qr import MAX_PREFERRED_VERSION, qr_matrix
from citizen_card.config import Settings
from citizen_card.models import Card, Resident, Staff, StatusList
from citizen_card.models.card import CURRENT_STATUSES, LIVE_STATUSES
from citizen_card.services import city, downloads, keyring, publication, registry
from citizen_card.services.cards import (
    CardNotActive,
    IssuanceError,
    current_card,
    pending_card,
    record,
    seal_qr,
)
from citizen_card.services.errors import N_, Conflict, ValidationFailed
from citizen_card.services.types import DbSession
from verify.cardnumber import new_card_number
from verify.credential import MAX_NAME_CHARS, CardClaims, encode_token, qr_text
from verify.status import LIST_SIZE

# Reasons a clerk may give. "renewed", "expired", "erased", "key_compromised" and
# "superseded" (the new card was handed over) are set by the system.
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
# A card in the wrong hands stops at once; otherwise the resident keeps a working card
# until the new one is in their hand (hand_over revokes the old one then).
REVOKE_AT_ONCE_REASONS = ("lost", "stolen")
MAX_QR_VERSION = MAX_PREFERRED_VERSION
MAX_QR_VERSION_TWO_FORMS = 11
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
    "key_compromised": N_("Signing key withdrawn"),
    "superseded": N_("Replaced by the new card"),
}
# Each attempt picks fresh random values; a handful of collisions in a row means the
# database is not answering as expected, not bad luck (55 bits of card number).
MAX_ATTEMPTS = 8
RANDOM_INDEX_TRIES = 16


@dataclass(frozen=True)
class IssuedCard:
    """A new card with what is shown once: the QR text and the one-time download code."""

    card: Card
    qr: str
    download_code: str


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


def _create_card(
    session: DbSession,
    resident: Resident,
    *,
    settings: Settings,
    actor: Staff | None,
    now: datetime,
    replaces: Card | None = None,
) -> IssuedCard:
    """Insert a new card for a resident who holds no current card (constraint-checked), or
    a pending one that ``replaces`` the current card once handed over."""
    if pending_card(session, resident) is not None:
        raise _has_pending_card()
    if resident.photo_sealed is None:
        raise IssuanceError(
            N_("Take the resident's photo before issuing a card."), "no_photo", status=422
        )
    keys = registry.RegistryKeys.from_settings(settings)
    printed = registry.open_details(resident, keys).printed
    if any(len(form) > MAX_NAME_CHARS for form in (printed.name, printed.latin or "")):
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
                name=printed.name,
                status_list=status_list.id,
                status_index=index,
                latin_name=printed.latin,
            ),
            signer,
        )
        qr = qr_text(settings.verify_base_url, token)
        try:
            version = qr_matrix(qr).version
        except RenderError as exc:
            raise _qr_too_large() from exc
        if version > max_qr_version(printed):
            raise _qr_too_large()
        card = Card(
            number=number,
            resident_id=resident.id,
            status="pending" if replaces is not None else "active",
            replaces_id=replaces.id if replaces is not None else None,
            issued_at=issued_at,
            expires_at=expires_at,
            kid=key.kid,
            status_list_id=status_list.id,
            status_index=index,
            issued_by_id=actor.id if actor is not None else None,
            qr_sealed=seal_qr(data_key, number, qr),
        )
        code = downloads.make_code(card, now)
        savepoint = session.begin_nested()
        try:
            session.add(card)
            session.flush()
        except IntegrityError:
            savepoint.rollback()
            # Which constraint? If the resident now has a current (or pending) card,
            # another request won the race; otherwise the number or status entry
            # collided: draw again.
            if pending_card(session, resident) is not None:
                raise _has_pending_card() from None
            if replaces is None and current_card(session, resident) is not None:
                raise _has_current_card() from None
            continue
        savepoint.commit()
        return IssuedCard(card, qr, code)
    raise IssuanceError(N_("No card number could be allocated. Try again."), "allocation_failed")


def max_qr_version(printed: registry.PrintedName) -> int:
    """The largest QR version a card may carry: 10 (the design's limit), or 11 when the
    card prints and signs the name in two forms, which version 10 cannot hold for a
    name of 20 Arabic letters with its Latin form (see docs/architecture.md)."""
    return MAX_QR_VERSION_TWO_FORMS if printed.latin is not None else MAX_QR_VERSION


def _qr_too_large() -> IssuanceError:
    return IssuanceError(
        N_("The name is too long for the card's QR code."), "name_too_long", status=422
    )


def _has_current_card() -> Conflict:
    return Conflict(
        N_("This resident already has a current card. Renew or replace it instead."),
        "has_current_card",
    )


def _has_pending_card() -> Conflict:
    return Conflict(
        N_(
            "A new card for this resident is waiting to be handed over. "
            "Hand it over or revoke it first."
        ),
        "has_pending_card",
    )


def _set_status(session: DbSession, card: Card, status: str, reason: str | None = None) -> None:
    card.status = status
    card.revocation_reason = reason
    if status == "revoked":
        # A revoked card is never downloaded again.
        card.download_code_hash = None
    session.flush()
    publication.status_changed(session, card.status_list_id)


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
    current = current_card(session, resident)
    previous: str | None = None
    if current is not None:
        if current.expires_at > now:
            raise _has_current_card()
        _set_status(session, current, "revoked", "expired")
        record(session, "card.revoke", current, actor=actor, now=now, reason="expired")
        previous = current.number
    issued = _create_card(session, resident, settings=settings, actor=actor, now=now)
    record(
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
    at_once = reason in REVOKE_AT_ONCE_REASONS or card.expires_at <= now
    if at_once:
        _set_status(session, card, "revoked", reason)
        record(session, "card.revoke", card, actor=actor, now=now, reason=reason)
    issued = _create_card(
        session,
        resident,
        settings=settings,
        actor=actor,
        now=now,
        replaces=None if at_once else card,
    )
    if not at_once:
        publication.status_changed(session, issued.card.status_list_id)
    record(
        session,
        action,
        issued.card,
        actor=actor,
        now=now,
        resident=resident.public_id,
        replaces=card.number,
        reason=reason,
        pending=None if at_once else True,
    )
    return issued


def renew(
    session: DbSession, card: Card, *, settings: Settings, actor: Staff | None, now: datetime
) -> IssuedCard:
    """A new card with a new validity, ``pending`` until it is handed over: the old card
    keeps working until then (:func:`hand_over` revokes it). An expired card is revoked
    (``renewed``) at once, there being nothing to keep working.

    A suspended card must be reinstated or replaced first, so that a suspension is never
    lifted by accident.

    :raises CardNotActive: the card is suspended or revoked.
    :raises Conflict: ``has_pending_card`` when a new card is already waiting.
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
    """Replace a lost, stolen, damaged or outdated card. A lost or stolen card is revoked
    at once and the new one is active; otherwise the new card is ``pending`` and the old
    one works until the new one is handed over.

    :raises ValidationFailed: ``invalid_reason``.
    :raises CardNotActive: the card is already revoked (or still pending).
    :raises Conflict: ``has_pending_card`` when a new card is already waiting.
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
    record(session, "card.suspend", card, actor=actor, now=now)
    return card


def reinstate(session: DbSession, card: Card, *, actor: Staff | None, now: datetime) -> Card:
    """Lift a suspension.

    :raises CardNotActive: ``card_not_suspended`` for any card that is not suspended.
    """
    if card.status != "suspended":
        raise CardNotActive(N_("Only a suspended card can be reinstated."), "card_not_suspended")
    _set_status(session, card, "active")
    record(session, "card.reinstate", card, actor=actor, now=now)
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
    record(session, "card.revoke", card, actor=actor, now=now, reason=reason)
    return card


def _check_reason(reason: object, allowed: Sequence[str]) -> None:
    if not isinstance(reason, str) or reason not in allowed:
        raise ValidationFailed(
            N_("Choose a reason: %(reasons)s."),
            "invalid_reason",
            "reason",
            reasons=", ".join(allowed),
        )


def hand_over(session: DbSession, card: Card, *, actor: Staff | None, now: datetime) -> Card:
    """Record that the printed card reached the resident.

    A pending card becomes active and the card it replaces is revoked (``superseded``) in
    the same transaction. Conditional UPDATEs decide between clerks handing over at the
    same moment: exactly one succeeds (PostgreSQL re-checks the condition after waiting
    for the winner's row lock; SQLite has one writer at a time).

    :raises CardNotActive: the card is not active or pending, ``not_printed``, or
        ``replaced_card_suspended``.
    :raises Conflict: ``already_handed_over``.
    """
    if card.status not in ("active", "pending"):
        raise CardNotActive()
    if card.printed_at is None:
        raise CardNotActive(N_("Print the card before handing it over."), "not_printed")
    if card.handed_over_at is not None:
        raise _already_handed_over()
    old = card.replaces if card.status == "pending" else None
    if old is not None:
        revoked = session.execute(
            update(Card)
            .where(Card.id == old.id, Card.status == "active")
            .values(status="revoked", revocation_reason="superseded", download_code_hash=None)
            .execution_options(synchronize_session=False)
        )
        if revoked.rowcount == 1:  # type: ignore[attr-defined]
            for name, value in (
                ("status", "revoked"),
                ("revocation_reason", "superseded"),
                ("download_code_hash", None),
            ):
                set_committed_value(old, name, value)
            record(session, "card.revoke", old, actor=actor, now=now, reason="superseded")
            publication.status_changed(session, old.status_list_id)
        else:
            # Revoked meanwhile (lost, or another clerk won): go on. Suspended: a hand-over
            # must not lift a suspension by the back door.
            session.refresh(old)
            if old.status == "suspended":
                raise CardNotActive(
                    N_("The card this one replaces is suspended. Reinstate or revoke it first."),
                    "replaced_card_suspended",
                )
    claimed = session.execute(
        update(Card)
        .where(Card.id == card.id, Card.status == card.status, Card.handed_over_at.is_(None))
        .values(status="active", handed_over_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise _already_handed_over()
    was_pending = card.status == "pending"
    set_committed_value(card, "status", "active")
    set_committed_value(card, "handed_over_at", now)
    if was_pending:
        publication.status_changed(session, card.status_list_id)
    record(
        session,
        "card.hand_over",
        card,
        actor=actor,
        now=now,
        replaces=old.number if old is not None else None,
    )
    return card


def _already_handed_over() -> Conflict:
    return Conflict(N_("This card is already handed over."), "already_handed_over")


def recall_signed_by(session: DbSession, kid: str, *, actor: Staff | None, now: datetime) -> int:
    """Revoke every current card signed with key ``kid`` (reason ``key_compromised``).

    Verifiers refuse such cards already (``key_revoked``); revoking them too takes them
    out of the print queue and /my-card, makes the counter's view say what happened, and
    lets a clerk issue a new card at once. One audit event per card; returns how many.
    """
    recalled = list(
        session.scalars(
            select(Card).where(Card.kid == kid, Card.status.in_(LIVE_STATUSES)).order_by(Card.id)
        )
    )
    for card in recalled:
        card.status = "revoked"
        card.revocation_reason = "key_compromised"
        card.download_code_hash = None
        record(session, "card.revoke", card, actor=actor, now=now, reason="key_compromised")
    session.flush()
    for list_id in sorted({card.status_list_id for card in recalled}):
        publication.status_changed(session, list_id)
    return len(recalled)
