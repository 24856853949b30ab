"""Batch print jobs: A4 sheets drawn in the background and handed out once, on any host.

A clerk picks cards at the printer's queue; :meth:`PrintJobs.start` checks the choice
and draws the sheets in a background thread while the progress page asks
:meth:`PrintJobs.job`. Jobs live in the database (:class:`JobStore`, table
``print_job``), so behind a load balancer the progress page and the download may land on
any host. The sheets hold names and photos: they are sealed (AES-GCM under a key derived
from the master key and the job id), handed out once by :meth:`PrintJobs.take_sheets`,
withdrawn when a resident on them is erased, and swept with the job an hour after its
last change. A job whose thread died with its host stops counting as running after
:data:`STALE_AFTER` without progress.

Transactions stay short: the cards and faces are read in transactions that never take
SQLite's write lock, the sheets are drawn outside any transaction, and one short writing
transaction marks the cards printed, writes their audit events and keeps the sheets.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import io
import json
import logging
import secrets
import threading
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, get_args

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import Session

from citizen_card import database
from citizen_card.card.pdf import CardLabels
from citizen_card.config import Settings
from citizen_card.models import PrintJobRow, Staff
from citizen_card.services import printing, privacy
from citizen_card.services.types import DbSession

log = logging.getLogger(__name__)

JobState = Literal["running", "done", "failed", "fetched", "withdrawn"]
JOB_STATES: frozenset[str] = frozenset(get_args(JobState))
JOB_MAX_AGE = timedelta(hours=1)
STALE_AFTER = timedelta(minutes=10)
MAX_JOB_ID_CHARS = 64
# The progress page is read every two seconds; writing progress more often is waste.
PROGRESS_EVERY = timedelta(seconds=1)


class BatchChanged(RuntimeError):
    """A card of the batch changed (revoked, erased) while its sheets were drawn."""


@dataclass(frozen=True)
class PrintJob:
    """What a job's progress page shows; the sheets themselves are kept apart."""

    job_id: str
    staff_id: int  # the clerk who started it: nobody else sees it
    state: JobState
    total: int
    done: int


def _valid_id(job_id: str) -> bool:
    return job_id.isalnum() and len(job_id) <= MAX_JOB_ID_CHARS


class JobStore:
    """Jobs and their sealed sheets in the ``print_job`` table, read by every host.

    Each call is its own short transaction on ``engine`` (reads never take SQLite's
    write lock), except :meth:`finish`, which writes in the caller's transaction so
    that the sheets are kept exactly when the cards are marked printed.
    """

    def __init__(self, engine: Callable[[], Engine], *, now: Callable[[], datetime]) -> None:
        self._engine = engine
        self._now = now

    def _session(self, mode: str) -> Session:
        return Session(self._engine().execution_options(sqlite_begin=mode))

    def save(self, job: PrintJob, *, card_ids: Sequence[int] | None = None) -> None:
        """Create the job or replace its state (and, when given, its cards)."""
        now = self._now()
        with self._session(database.IMMEDIATE) as session:
            row = session.get(PrintJobRow, job.job_id)
            if row is None:
                row = PrintJobRow(id=job.job_id, created_at=now, card_ids="[]")
                session.add(row)
            row.staff_id, row.state, row.total, row.done = (
                job.staff_id,
                job.state,
                job.total,
                job.done,
            )
            if card_ids is not None:
                row.card_ids = json.dumps(list(card_ids))
            row.updated_at = now
            session.commit()

    def load(self, job_id: str) -> PrintJob | None:
        """The job, or None when there is none (never saved, swept, or not an id)."""
        if not _valid_id(job_id):
            return None
        with self._session(database.DEFERRED) as session:
            row = session.get(PrintJobRow, job_id)
            if row is None:
                return None
            state = row.state
            if state == "running" and self._now() - row.updated_at > STALE_AFTER:
                state = "failed"  # the host drawing it went away
            if state not in JOB_STATES:
                return None
            return PrintJob(row.id, row.staff_id, state, row.total, row.done)  # type: ignore[arg-type]

    def finish(self, session: DbSession, job_id: str, sealed: bytes) -> None:
        """Keep the sheets and mark the job done, in ``session``'s transaction."""
        row = session.get(PrintJobRow, job_id)
        if row is None:
            raise LookupError("no such print job")
        row.sheets_sealed = sealed
        row.state, row.done, row.updated_at = "done", row.total, self._now()

    def take_sheets(self, job_id: str) -> bytes | None:
        """Remove the sheets and return them; of two callers at once, one gets them."""
        if not _valid_id(job_id):
            return None
        with self._session(database.IMMEDIATE) as session:
            sealed = session.scalar(
                select(PrintJobRow.sheets_sealed)
                .where(PrintJobRow.id == job_id, PrintJobRow.state == "done")
                .with_for_update()
            )
            if sealed is None:
                return None
            session.execute(
                update(PrintJobRow)
                .where(PrintJobRow.id == job_id)
                .values(sheets_sealed=None, state="fetched", updated_at=self._now())
            )
            session.commit()
            return bytes(sealed)

    def sweep(self, *, before: datetime) -> int:
        """Delete jobs (with any sheets) last changed before ``before``; how many."""
        with self._session(database.IMMEDIATE) as session:
            result = session.execute(delete(PrintJobRow).where(PrintJobRow.updated_at < before))
            session.commit()
            return int(result.rowcount)  # type: ignore[attr-defined]


def withdraw_sheets_of(session: DbSession, card_ids: Iterable[int], *, now: datetime) -> int:
    """Drop the unfetched sheets of every job that holds one of ``card_ids``, in the
    caller's transaction (an erasure's): a face on them belongs to someone erased."""
    wanted = set(card_ids)
    if not wanted:
        return 0
    withdrawn = 0
    jobs = session.scalars(
        select(PrintJobRow).where(PrintJobRow.state.in_(("running", "done"))).with_for_update()
    )
    for row in jobs:
        if wanted & set(json.loads(row.card_ids)):
            row.sheets_sealed, row.state, row.updated_at = None, "withdrawn", now
            withdrawn += 1
    return withdrawn


@dataclass(frozen=True)
class BatchContext:
    """What a job's thread draws the sheets with: its own session, and the app's values."""

    session: DbSession
    settings: Settings
    labels: CardLabels
    now: datetime


#: Opens a :class:`BatchContext` in the job's thread and closes its session afterwards.
BatchScope = Callable[[], AbstractContextManager[BatchContext]]


class PrintJobs:
    """Starts batch print jobs and hands their sheets out once; one per app."""

    def __init__(self, store: JobStore, *, master_key: bytes, scope: BatchScope) -> None:
        self.store = store
        self._master_key = master_key
        self._scope = scope
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()

    def start(
        self,
        session: DbSession,
        card_numbers: Sequence[str],
        *,
        staff_id: int,
        now: datetime,
    ) -> str:
        """Draw the sheets of ``card_numbers`` in a background thread; return the job id.

        :raises ValidationFailed: ``nothing_selected``, checked here, so that an empty
            choice is an error on the page and not a failed job.
        """
        printing.cards_for_batch(session, card_numbers)
        session.rollback()  # end the read: the job's thread writes on its own
        self.store.sweep(before=now - JOB_MAX_AGE)
        job_id = secrets.token_hex(16)
        numbers = list(card_numbers)
        self.store.save(PrintJob(job_id, staff_id, "running", len(numbers), 0))
        thread = threading.Thread(
            target=self._run, args=(job_id, numbers, staff_id), name=f"print-{job_id[:8]}"
        )
        with self._lock:
            self._threads = {k: t for k, t in self._threads.items() if t.is_alive()}
            self._threads[job_id] = thread
        thread.start()
        return job_id

    def job(self, job_id: str, *, staff_id: int) -> PrintJob | None:
        """The job, or None when there is no job ``job_id`` of this clerk's."""
        job = self.store.load(job_id)
        if job is None or job.staff_id != staff_id:
            return None
        return job

    def take_sheets(self, job_id: str, *, staff_id: int) -> bytes | None:
        """The finished job's PDF, once: the job then says ``fetched``; else None."""
        job = self.job(job_id, staff_id=staff_id)
        if job is None or job.state != "done":
            return None
        sealed = self.store.take_sheets(job_id)
        if sealed is None:
            return None
        return privacy.open_sealed(self._sheets_key(job_id), sealed, job_id.encode())

    def seal_sheets(self, job_id: str, pdf: bytes) -> bytes:
        """The sheets of job ``job_id`` sealed as the store keeps them."""
        return privacy.seal(self._sheets_key(job_id), pdf, job_id.encode())

    def wait(self, job_id: str, timeout: float | None = None) -> bool:
        """Wait for a job this process started; True once it has finished."""
        with self._lock:
            thread = self._threads.get(job_id)
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    def _sheets_key(self, job_id: str) -> bytes:
        # The sheets hold names and photos: at rest they are sealed under a key derived
        # from the master key, so the table's rows alone do not give them away.
        return hmac.new(self._master_key, b"print-job:" + job_id.encode(), hashlib.sha256).digest()

    def _run(self, job_id: str, numbers: list[str], staff_id: int) -> None:
        with self._scope() as batch:
            session = batch.session
            job = PrintJob(job_id, staff_id, "running", len(numbers), 0)
            try:
                with database.reading():
                    cards = printing.cards_for_batch(session, numbers)
                    card_ids = [card.id for card in cards]
                    job = dataclasses.replace(job, total=len(cards))
                    self.store.save(job, card_ids=card_ids)
                    buffer = io.BytesIO()
                    printing.draw_batch(
                        session,
                        cards,
                        buffer,
                        settings=batch.settings,
                        labels=batch.labels,
                        progress=self._progress(job),
                    )
                    session.commit()  # ends the last read; nothing was written
                sealed = self.seal_sheets(job_id, buffer.getvalue())
                # One short writing transaction: printed marks, events, and the sheets.
                marked = printing.mark_batch_printed(
                    session, card_ids, actor=session.get(Staff, staff_id), now=batch.now
                )
                if len(marked) != len(card_ids):
                    raise BatchChanged
                self.store.finish(session, job_id, sealed)
                session.commit()
            except Exception as exc:
                session.rollback()
                # The type only: messages may quote values from the records.
                log.error("print job failed: %s", type(exc).__name__)
                self.store.save(dataclasses.replace(job, state="failed"))

    def _progress(self, job: PrintJob) -> Callable[[int], None]:
        last = [datetime.now(UTC)]

        def progress(done: int) -> None:
            now = datetime.now(UTC)
            if now - last[0] >= PROGRESS_EVERY or done == job.total:
                last[0] = now
                self.store.save(dataclasses.replace(job, done=done))

        return progress


__all__ = [
    "JOB_MAX_AGE",
    "BatchChanged",
    "BatchContext",
    "JobStore",
    "PrintJob",
    "PrintJobs",
    "withdraw_sheets_of",
]
