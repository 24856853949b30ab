"""Append-only, hash-chained audit events.

Each event's hash covers the previous hash and the event's own fields, so editing,
deleting, reordering or truncating events breaks the chain at a point
:func:`verify_chain` names. Events hold ids and codes, never personal data, so they
outlive an erasure.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from citizen_card.config import Settings
from citizen_card.models import AuditEvent, AuditHead, Staff
from citizen_card.services.types import DbSession

GENESIS = b"\x00" * 32
SYSTEM_ACTOR = "system"


def _event_digest(prev_hash: bytes, event: AuditEvent) -> bytes:
    body = json.dumps(
        {
            "seq": event.seq,
            "at": event.at.isoformat(timespec="microseconds"),
            "actor": event.actor_ref,
            "action": event.action,
            "target_type": event.target_type,
            "target": event.target_ref,
            "detail": event.detail,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    ).encode()
    return hashlib.sha256(prev_hash + body).digest()


def record(
    session: DbSession,
    *,
    actor: Staff | None,
    action: str,
    target_type: str,
    target_ref: str | int,
    now: datetime,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event in the caller's transaction (it commits or rolls back with it)."""
    head = session.execute(
        select(AuditHead).where(AuditHead.id == 1).with_for_update()
    ).scalar_one_or_none()
    if head is None:
        head = AuditHead(id=1, seq=0, hash=GENESIS)
        session.add(head)
    event = AuditEvent(
        seq=head.seq + 1,
        at=now,
        actor_id=actor.id if actor is not None else None,
        actor_ref=f"staff:{actor.id}" if actor is not None else SYSTEM_ACTOR,
        action=action,
        target_type=target_type,
        target_ref=str(target_ref),
        detail=json.dumps(detail or {}, sort_keys=True, separators=(",", ":")),
        prev_hash=head.hash,
        hash=b"",
    )
    event.hash = _event_digest(head.hash, event)
    head.seq, head.hash = event.seq, event.hash
    session.add(event)
    return event


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    events: int
    head: bytes
    first_bad_seq: int | None = None
    problem: str | None = None


def verify_chain(session: DbSession) -> ChainReport:
    """Walk the whole chain and report the first event that does not fit."""
    prev = GENESIS
    expected_seq = 1
    count = 0
    for event in session.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars():
        if event.seq != expected_seq:
            return ChainReport(False, count, prev, expected_seq, "missing or reordered event")
        if event.prev_hash != prev:
            return ChainReport(False, count, prev, event.seq, "does not follow the previous event")
        if _event_digest(prev, event) != event.hash:
            return ChainReport(False, count, prev, event.seq, "contents were changed")
        prev = event.hash
        expected_seq += 1
        count += 1
    head = session.get(AuditHead, 1)
    if head is not None and (head.seq != count or head.hash != prev):
        return ChainReport(False, count, prev, count + 1, "events after this point were removed")
    return ChainReport(True, count, prev)


def signed_head(session: DbSession, settings: Settings, *, now: datetime) -> dict[str, Any]:
    """The chain head, signed with the issuer's current key.

    Kept elsewhere (printed, mailed to an oversight body), it proves later that the log
    held at least these events with exactly this content: no rewrite can keep the hash.
    """
    from citizen_card.services import keyring

    report = verify_chain(session)
    key = keyring.active_key(session)
    if key is None:
        raise RuntimeError("no signing key")
    statement: dict[str, Any] = {
        "issuer": settings.issuer_id,
        "seq": report.events,
        "head": report.head.hex(),
        "at": now.isoformat(timespec="seconds"),
        "kid": key.kid,
        "chain_ok": report.ok,
    }
    signature = keyring.signer(key, settings).sign(_statement_bytes(statement))
    statement["signature"] = base64.urlsafe_b64encode(signature).rstrip(b"=").decode()
    return statement


def _statement_bytes(statement: dict[str, Any]) -> bytes:
    body = {k: v for k, v in statement.items() if k != "signature"}
    return (
        b"citizen-card audit head\n"
        + json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    )


def check_head(session: DbSession, statement: dict[str, Any], public_key: bytes) -> bool:
    """True when the signature holds and the log still has that head at that position."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    signature = base64.urlsafe_b64decode(str(statement.get("signature", "")) + "==")
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(
            signature, _statement_bytes(statement)
        )
    except (InvalidSignature, ValueError):
        return False
    event = session.execute(
        select(AuditEvent).where(AuditEvent.seq == statement.get("seq"))
    ).scalar_one_or_none()
    return event is not None and event.hash.hex() == statement.get("head")


# ---------------------------------------------------------------------------------------
# Reading the log as people do


@dataclass(frozen=True)
class AuditRow:
    """An event with the staff names it refers to (user names are not personal data of
    residents; they are shown, not stored in the event, so the chain never changes)."""

    event: AuditEvent
    actor_name: str
    target_name: str | None  # the staff account's user name, for events about staff


def _staff_ref(ref: str) -> int | None:
    number = ref.removeprefix("staff:")
    return int(number) if number.isdigit() and len(number) < 10 else None


def page(session: DbSession, *, before: int | None, limit: int) -> list[AuditRow]:
    """The newest ``limit`` events (before sequence number ``before``), with names."""
    query = select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(limit)
    if before is not None:
        query = query.where(AuditEvent.seq < before)
    events = list(session.execute(query).scalars())
    ids = {_staff_ref(event.actor_ref) for event in events}
    ids |= {_staff_ref(event.target_ref) for event in events if event.target_type == "staff"}
    ids.discard(None)
    names = dict(session.execute(select(Staff.id, Staff.username).where(Staff.id.in_(ids))).all())

    def name_of(ref: str) -> str | None:
        staff_id = _staff_ref(ref)
        return names.get(staff_id) if staff_id is not None else None

    return [
        AuditRow(
            event,
            name_of(event.actor_ref) or event.actor_ref,
            name_of(event.target_ref) if event.target_type == "staff" else None,
        )
        for event in events
    ]


RESET_ACTION = "staff.password_reset"


@dataclass(frozen=True)
class PasswordReset:
    at: datetime
    by: str  # the administrator's user name, or their former id once the account is gone


def resets_of(session: DbSession, staff: Staff, *, since: datetime) -> list[PasswordReset]:
    """The administrators' resets of this account's password since ``since``, oldest
    first: what the account holder is told at each login (from the append-only log, so
    the administrator cannot hide one)."""
    events = session.execute(
        select(AuditEvent)
        .where(
            AuditEvent.action == RESET_ACTION,
            AuditEvent.target_type == "staff",
            AuditEvent.target_ref == str(staff.id),
            AuditEvent.at >= since,
        )
        .order_by(AuditEvent.seq)
    ).scalars()
    rows = list(events)
    ids = {_staff_ref(event.actor_ref) for event in rows} - {None}
    names = dict(session.execute(select(Staff.id, Staff.username).where(Staff.id.in_(ids))).all())
    return [
        PasswordReset(event.at, names.get(_staff_ref(event.actor_ref) or 0, event.actor_ref))
        for event in rows
    ]
