"""Batch print jobs: A4 sheets drawn in the background and handed out once.

A clerk picks cards at the printer's queue; :meth:`PrintJobs.start` checks the choice
and draws the sheets in a background thread while the progress page asks
:meth:`PrintJobs.job`. The sheets hold names and photos: they are sealed (AES-GCM under
a key derived from the master key and the job id) before a :class:`PrintJobStore` keeps
them, handed out once by :meth:`PrintJobs.take_sheets`, and swept with the job after an
hour when nobody fetched them.

Where jobs are kept is the store's business. :class:`FileJobStore` keeps them as files
in the instance folder, so any worker process on the host can show a job and serve it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import io
import json
import logging
import os
import secrets
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal, Protocol, get_args

from citizen_card.card.pdf import CardLabels
from citizen_card.config import Settings
from citizen_card.models import Staff
from citizen_card.services import printing, privacy
from citizen_card.services.types import DbSession

log = logging.getLogger(__name__)

JobState = Literal["running", "done", "failed", "fetched"]
JOB_STATES: frozenset[str] = frozenset(get_args(JobState))
JOB_MAX_AGE = timedelta(hours=1)
MAX_JOB_ID_CHARS = 64


@dataclass(frozen=True)
class PrintJob:
    """What a job's progress page shows; the sheets themselves are kept apart."""

    job_id: str
    staff_id: int  # the clerk who started it: nobody else sees it
    state: JobState
    total: int
    done: int


class PrintJobStore(Protocol):
    """Where jobs and their sealed sheets are kept, for every worker process to read."""

    def save(self, job: PrintJob) -> None:
        """Create the job or replace its state."""
        ...

    def load(self, job_id: str) -> PrintJob | None:
        """The job, or None when there is none (never saved, swept, or unreadable)."""
        ...

    def put_sheets(self, job_id: str, sealed: bytes) -> None:
        """Keep a finished job's sealed sheets."""
        ...

    def take_sheets(self, job_id: str) -> bytes | None:
        """Remove the job's sealed sheets and return them; None when there are none.

        Of two callers at the same time, at most one gets them.
        """
        ...

    def drop_sheets(self, job_id: str) -> None:
        """Remove the job's sheets, if any."""
        ...

    def sweep(self, *, before: datetime) -> None:
        """Forget jobs and sheets last written before ``before``."""
        ...


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

    def __init__(self, store: PrintJobStore, *, master_key: bytes, scope: BatchScope) -> None:
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
        # End the read transaction: on SQLite it holds the write lock the job needs.
        session.rollback()
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
        if not job_id.isalnum() or len(job_id) > MAX_JOB_ID_CHARS:
            return None
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
        pdf = privacy.open_sealed(self._sheets_key(job_id), sealed, job_id.encode())
        self.store.save(dataclasses.replace(job, state="fetched"))
        return pdf

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
        # from the master key, so the store's files or rows alone do not give them away.
        return hmac.new(self._master_key, b"print-job:" + job_id.encode(), hashlib.sha256).digest()

    def _run(self, job_id: str, numbers: list[str], staff_id: int) -> None:
        with self._scope() as batch:
            job = PrintJob(job_id, staff_id, "running", len(numbers), 0)

            def progress(done: int) -> None:
                self.store.save(dataclasses.replace(job, done=done))

            session = batch.session
            try:
                cards = printing.cards_for_batch(session, numbers)
                job = dataclasses.replace(job, total=len(cards))
                buffer = io.BytesIO()
                printing.render_batch(
                    session,
                    cards,
                    buffer,
                    settings=batch.settings,
                    labels=batch.labels,
                    actor=session.get(Staff, staff_id),
                    now=batch.now,
                    progress=progress,
                )
                self.store.put_sheets(job_id, self.seal_sheets(job_id, buffer.getvalue()))
                session.commit()
            except Exception as exc:
                session.rollback()
                self.store.drop_sheets(job_id)
                # The type only: messages may quote values from the records.
                log.error("print job failed: %s", type(exc).__name__)
                self.store.save(dataclasses.replace(job, state="failed"))
            else:
                self.store.save(dataclasses.replace(job, state="done", done=job.total))


class FileJobStore:
    """Jobs as ``<id>.json`` and sealed sheets as ``<id>.pdf`` in one private folder."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, job_id: str, suffix: str) -> Path:
        if not job_id.isalnum() or len(job_id) > MAX_JOB_ID_CHARS:
            raise ValueError("not a job id")
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        return self.directory / f"{job_id}{suffix}"

    def save(self, job: PrintJob) -> None:
        state = {"staff_id": job.staff_id, "state": job.state, "total": job.total, "done": job.done}
        path = self._path(job.job_id, ".json")
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(json.dumps(state))
        os.replace(temporary, path)  # atomic: a reader never sees half a state

    def load(self, job_id: str) -> PrintJob | None:
        path = self._path(job_id, ".json")
        try:
            state = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(state, dict):
            return None
        staff_id, job_state = state.get("staff_id"), state.get("state")
        total, done = state.get("total"), state.get("done")
        if job_state not in JOB_STATES:
            return None
        if not (type(staff_id) is int and type(total) is int and type(done) is int):
            return None
        return PrintJob(job_id, staff_id, job_state, total, done)

    def put_sheets(self, job_id: str, sealed: bytes) -> None:
        self._path(job_id, ".pdf").write_bytes(sealed)

    def take_sheets(self, job_id: str) -> bytes | None:
        path = self._path(job_id, ".pdf")
        # Renaming first makes the take atomic: a second caller finds nothing to rename.
        taken = path.with_name(f"{path.name}.{secrets.token_hex(8)}.taken")
        try:
            os.rename(path, taken)
        except OSError:
            return None
        try:
            return taken.read_bytes()
        finally:
            taken.unlink(missing_ok=True)

    def drop_sheets(self, job_id: str) -> None:
        self._path(job_id, ".pdf").unlink(missing_ok=True)

    def sweep(self, *, before: datetime) -> None:
        if not self.directory.is_dir():
            return
        limit = before.timestamp()
        for path in self.directory.iterdir():
            try:
                if path.stat().st_mtime < limit:
                    path.unlink()
            except OSError:
                continue
