"""What the issuer publishes for verifiers: keys, signed status lists, and the verifier
backend that serves them from memory.

A change of a card's status or of a key is announced (:func:`status_changed`,
:func:`keys_changed`) in the transaction that makes it. After that transaction commits,
a stamp file in the instance folder is rewritten; every worker process on the host sees
its modification time move on the next verification (one ``stat``, no database query)
and rebuilds its copies. Processes on other hosts notice within ``POLL_SECONDS`` through
a small fingerprint query.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from citizen_card.config import Settings
from citizen_card.database import DEFERRED, IMMEDIATE
from citizen_card.models import Card, SigningKey, StatusList, VerificationCount
from citizen_card.services import keyring
from citizen_card.services.signals import keys_changed, register_stamp, status_changed
from citizen_card.services.types import DbSession
from verify.credential import REASONS
from verify.status import (
    STATUS_REVOKED,
    STATUS_SUSPENDED,
    StatusBits,
    decode_status_list,
    encode_status_list,
)
from verify.status import (
    StatusList as SignedStatusList,
)
from verify.trust import TrustStore
from verify.web import VerifierPolicy

POLL_SECONDS = 5.0
# Verifiers may use a list this long without asking again (the draft's ttl claim) ...
LIST_TTL_SECONDS = 300
# ... and must stop trusting it after this (its exp claim); lists are re-signed well before.
LIST_LIFETIME = timedelta(days=7)
RESIGN_AFTER = timedelta(hours=1)
COUNT_FLUSH_SECONDS = 60.0
# A pending card (printed, not handed over yet) is published as suspended: until the
# resident holds it, only the card it replaces verifies as valid.
STATE_BITS = {"revoked": STATUS_REVOKED, "suspended": STATUS_SUSPENDED, "pending": STATUS_SUSPENDED}


@dataclass(frozen=True)
class _Snapshot:
    trust: TrustStore
    jwks: dict[str, Any]
    metadata: dict[str, Any]
    lists: dict[int, bytes]
    decoded: dict[int, SignedStatusList]
    built_at: datetime
    fingerprint: tuple[Any, ...]


class _OwnLists:
    """A :class:`verify.status.StatusSource` over the snapshot's decoded lists."""

    def __init__(self, issuer_id: str, decoded: dict[int, SignedStatusList]) -> None:
        self._issuer_id = issuer_id
        self._decoded = decoded

    def get(self, issuer_id: str, list_id: int) -> SignedStatusList | None:
        if issuer_id != self._issuer_id:
            return None
        return self._decoded.get(list_id)


class IssuerVerifierBackend:
    """The issuing app's :class:`verify.web.VerifierBackend`: everything from memory."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self._settings = settings
        self._engine = engine
        self._policy = VerifierPolicy(
            status_max_age_seconds=settings.status_max_age_hours * 3600,
            verdict_clear_seconds=settings.verdict_clear_seconds,
        )
        # Reads never take the write lock: a request that holds it (a logged-in clerk's
        # POST) must not wait on itself when it verifies (database.py).
        self._reader = engine.execution_options(sqlite_begin=DEFERRED)
        self._writer = engine.execution_options(sqlite_begin=IMMEDIATE)
        self._stamp = register_stamp(str(engine.url), settings.instance_path)
        self._lock = threading.Lock()
        self._snapshot: _Snapshot | None = None
        self._stamp_mtime: int | None = None
        self._polled_at = 0.0
        self._counts: Counter[tuple[str, str]] = Counter()
        self._flushed_at = time.monotonic()

    # --- freshness --------------------------------------------------------------------

    def _stamp_now(self) -> int | None:
        try:
            return os.stat(self._stamp).st_mtime_ns
        except FileNotFoundError:
            return None

    def _fingerprint(self, session: Session) -> tuple[Any, ...]:
        lists = session.execute(
            select(func.count(StatusList.id), func.coalesce(func.sum(StatusList.generation), 0))
        ).one()
        keys = session.execute(
            select(SigningKey.kid, SigningKey.state).order_by(SigningKey.id)
        ).all()
        return (tuple(lists), tuple(tuple(k) for k in keys))

    def snapshot(self) -> _Snapshot:
        now = time.monotonic()
        stamp = self._stamp_now()
        current = self._snapshot
        stale = (
            current is None
            or stamp != self._stamp_mtime
            or datetime.now(UTC) - current.built_at > RESIGN_AFTER
        )
        if not stale and now - self._polled_at < POLL_SECONDS:
            assert current is not None  # noqa: S101 — not stale means built
            return current
        with self._lock:
            current = self._snapshot
            with Session(self._reader) as session:
                fingerprint = self._fingerprint(session)
                self._polled_at = time.monotonic()
                if (
                    current is not None
                    and stamp == self._stamp_mtime
                    and fingerprint == current.fingerprint
                    and datetime.now(UTC) - current.built_at <= RESIGN_AFTER
                ):
                    return current
                self._stamp_mtime = stamp
                self._snapshot = self._build(session, fingerprint)
                return self._snapshot

    def _build(self, session: Session, fingerprint: tuple[Any, ...]) -> _Snapshot:
        settings = self._settings
        now = datetime.now(UTC)
        published = keyring.published_keys(session, settings)
        trust = TrustStore([published.issuer])
        base = published.issuer.verify_url
        lists: dict[int, bytes] = {}
        decoded: dict[int, SignedStatusList] = {}
        key = keyring.active_key(session)
        list_ids = list(session.scalars(select(StatusList.id).order_by(StatusList.id)))
        if key is not None:
            signer = keyring.signer(key, settings)
            for list_id in list_ids:
                bits = StatusBits()
                rows = session.execute(
                    select(Card.status_index, Card.status).where(
                        Card.status_list_id == list_id, Card.status.in_(tuple(STATE_BITS))
                    )
                )
                for index, status in rows:
                    bits.set(index, STATE_BITS[status])
                data = encode_status_list(
                    bits,
                    uri=f"{base}/status/{list_id}",
                    issued_at=int(now.timestamp()),
                    expires_at=int((now + LIST_LIFETIME).timestamp()),
                    ttl=LIST_TTL_SECONDS,
                    signer=signer,
                )
                lists[list_id] = data
                decoded[list_id] = decode_status_list(data, trust, now=int(now.timestamp()))
        metadata = {
            "issuer": settings.issuer_id,
            "issuer_name": settings.issuer_name,
            "verify_url": base,
            "jwks_uri": f"{base}/.well-known/jwks.json",
            "status_list_uri_template": f"{base}/status/{{list_id}}",
            "status_lists": [f"{base}/status/{list_id}" for list_id in list_ids],
        }
        return _Snapshot(trust, published.jwks, metadata, lists, decoded, now, fingerprint)

    # --- VerifierBackend ----------------------------------------------------------------

    def trust(self) -> TrustStore:
        return self.snapshot().trust

    def status_source(self) -> _OwnLists:
        # The verify view asks for trust() first, which just checked freshness; asking
        # again would cost a second stat() per verification for nothing.
        snapshot = self._snapshot or self.snapshot()
        return _OwnLists(self._settings.issuer_id, snapshot.decoded)

    def jwks(self) -> dict[str, Any]:
        return self.snapshot().jwks

    def issuer_metadata(self) -> dict[str, Any]:
        return self.snapshot().metadata

    def status_list(self, list_id: int) -> bytes | None:
        return self.snapshot().lists.get(list_id)

    def expected_base(self) -> str | None:
        return self._settings.verify_base_url.rstrip("/")

    def policy(self) -> VerifierPolicy:
        return self._policy

    def count(self, reason: str) -> None:
        """Count a verification by day and reason; written to the database once a minute.

        The write happens in a short-lived thread of its own: the request that happens to
        be the minute's last never waits for the database's write lock.
        """
        day = datetime.now(UTC).date().isoformat()
        with self._lock:
            self._counts[(day, reason if reason in REASONS else "malformed")] += 1
            due = time.monotonic() - self._flushed_at >= COUNT_FLUSH_SECONDS
            if due:
                self._flushed_at = time.monotonic()
        if due:
            threading.Thread(target=self.flush_counts, name="verification-counts").start()

    def flush_counts(self, session: DbSession | None = None) -> None:
        """Write the buffered counts; in ``session`` when the caller has one open (on
        SQLite a second connection would wait for the caller's write lock)."""
        with self._lock:
            counts, self._counts = self._counts, Counter()
            self._flushed_at = time.monotonic()
        if not counts:
            return
        if session is not None:
            add_counts(session, counts)
            return
        try:
            with Session(self._writer) as own:
                add_counts(own, counts)
                own.commit()
        except SQLAlchemyError:
            # Busy (or briefly unreachable): keep the counts for the next flush.
            with self._lock:
                self._counts.update(counts)


def add_counts(session: DbSession, counts: Counter[tuple[str, str]]) -> None:
    """Add to the per-day counters; concurrent processes add, never overwrite."""
    for (day, reason), n in counts.items():
        day_date = datetime.fromisoformat(day).date()
        updated = session.execute(
            update(VerificationCount)
            .where(VerificationCount.day == day_date, VerificationCount.reason == reason)
            .values(count=VerificationCount.count + n)
        )
        if updated.rowcount == 0:  # type: ignore[attr-defined]
            try:
                with session.begin_nested():
                    session.add(VerificationCount(day=day_date, reason=reason, count=n))
            except IntegrityError:
                session.execute(
                    update(VerificationCount)
                    .where(VerificationCount.day == day_date, VerificationCount.reason == reason)
                    .values(count=VerificationCount.count + n)
                )


def daily_counts(session: DbSession, days: int = 30) -> list[tuple[str, dict[str, int]]]:
    """Counters for the admin page: newest day first, reason → count."""
    rows = session.execute(
        select(VerificationCount).order_by(VerificationCount.day.desc(), VerificationCount.reason)
    ).scalars()
    table: dict[str, dict[str, int]] = {}
    for row in rows:
        table.setdefault(row.day.isoformat(), {})[row.reason] = row.count
    return list(table.items())[:days]


__all__ = ["IssuerVerifierBackend", "add_counts", "daily_counts", "keys_changed", "status_changed"]
