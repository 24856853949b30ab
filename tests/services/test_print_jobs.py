"""Batch print jobs through the service, and the contract every job store keeps."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from citizen_card.context import app_context
from citizen_card.extensions import db
from citizen_card.models import AuditEvent, Card, Resident, Staff
from citizen_card.services import issuance, registry
from citizen_card.services.errors import ValidationFailed
from citizen_card.services.print_jobs import FileJobStore, PrintJob, PrintJobStore
from verify.cardnumber import format_card_number


@pytest.fixture(params=["files"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> PrintJobStore:
    """Every implementation of PrintJobStore; each must pass the same tests."""
    assert request.param == "files"
    return FileJobStore(tmp_path / "print-jobs")


def test_a_saved_job_reads_back_and_its_state_is_replaced(store: PrintJobStore) -> None:
    job = PrintJob("a1" * 16, staff_id=7, state="running", total=3, done=0)
    assert store.load(job.job_id) is None
    store.save(job)
    assert store.load(job.job_id) == job
    store.save(PrintJob(job.job_id, 7, "done", 3, 3))
    assert store.load(job.job_id) == PrintJob(job.job_id, 7, "done", 3, 3)


def test_sheets_are_taken_once(store: PrintJobStore) -> None:
    store.put_sheets("b2" * 16, b"sealed sheets")
    assert store.take_sheets("b2" * 16) == b"sealed sheets"
    assert store.take_sheets("b2" * 16) is None
    store.put_sheets("c3" * 16, b"sealed")
    store.drop_sheets("c3" * 16)
    store.drop_sheets("c3" * 16)  # dropping nothing is fine
    assert store.take_sheets("c3" * 16) is None


def test_sweep_forgets_what_was_written_before(store: PrintJobStore) -> None:
    job = PrintJob("d4" * 16, staff_id=1, state="done", total=1, done=1)
    store.save(job)
    store.put_sheets(job.job_id, b"sealed")
    written = datetime.now(UTC)
    store.sweep(before=written - timedelta(hours=1))
    assert store.load(job.job_id) == job
    store.sweep(before=written + timedelta(minutes=1))
    assert store.load(job.job_id) is None
    assert store.take_sheets(job.job_id) is None


def test_file_store_refuses_paths_and_ignores_broken_files(tmp_path: Path) -> None:
    store = FileJobStore(tmp_path / "print-jobs")
    with pytest.raises(ValueError):
        store.load("../config")
    store.save(PrintJob("e5" * 16, 1, "running", 1, 0))
    (tmp_path / "print-jobs" / f"{'e5' * 16}.json").write_text('{"staff_id": "1"}')
    assert store.load("e5" * 16) is None
    assert (tmp_path / "print-jobs").stat().st_mode & 0o077 == 0


# ---------------------------------------------------------------------------------------
# The service, with the app's own store and a real thread


@pytest.fixture
def ctx(app: Flask) -> Iterator[None]:
    with app.app_context():
        yield
        db.session.rollback()


def _issue(public_id: str) -> Card:
    c = app_context()
    resident = registry.get(db.session, public_id)
    card = issuance.issue(db.session, resident, settings=c.settings, actor=None, now=c.now()).card
    db.session.commit()
    return card


def _run_job(numbers: list[str], staff_id: int) -> str:
    c = app_context()
    jobs = c.print_jobs
    job_id = jobs.start(db.session, numbers, staff_id=staff_id, now=c.now())
    assert jobs.wait(job_id, timeout=120)
    db.session.expire_all()
    return job_id


def test_a_job_draws_the_sheets_for_its_clerk_and_hands_them_out_once(
    ctx: None, make_resident: Callable[..., str], make_staff: Callable[..., Staff]
) -> None:
    clerk, other = make_staff("clerk"), make_staff("clerk")
    cards = [_issue(make_resident(given_names=name)) for name in ("Ana", "Bo")]
    jobs = app_context().print_jobs

    job_id = _run_job([format_card_number(c.number) for c in cards], clerk.id)

    assert jobs.job(job_id, staff_id=other.id) is None
    assert jobs.take_sheets(job_id, staff_id=other.id) is None
    assert jobs.job(job_id, staff_id=clerk.id) == PrintJob(job_id, clerk.id, "done", 2, 2)
    pdf = jobs.take_sheets(job_id, staff_id=clerk.id)
    assert pdf is not None and pdf.startswith(b"%PDF-")
    assert jobs.take_sheets(job_id, staff_id=clerk.id) is None
    assert jobs.job(job_id, staff_id=clerk.id) == PrintJob(job_id, clerk.id, "fetched", 2, 2)
    assert all(card.printed_at is not None for card in cards)
    events = db.session.execute(
        select(AuditEvent.actor_id).where(AuditEvent.action == "card.print")
    ).scalars()
    assert list(events) == [clerk.id, clerk.id]


def test_a_failed_job_marks_nothing_printed_and_keeps_no_sheets(
    ctx: None, make_resident: Callable[..., str], make_staff: Callable[..., Staff]
) -> None:
    clerk = make_staff("clerk")
    good = _issue(make_resident(given_names="Ana"))
    broken = _issue(make_resident(given_names="Bo"))
    # The photo went away after issue: the sheet with this card cannot be drawn.
    resident = db.session.get(Resident, broken.resident_id)
    assert resident is not None
    resident.photo_sealed = None
    db.session.commit()

    job_id = _run_job([good.number, broken.number], clerk.id)

    jobs = app_context().print_jobs
    assert jobs.job(job_id, staff_id=clerk.id) == PrintJob(job_id, clerk.id, "failed", 2, 0)
    assert jobs.take_sheets(job_id, staff_id=clerk.id) is None
    assert good.printed_at is None and broken.printed_at is None


def test_nothing_printable_is_refused_before_a_job_starts(
    ctx: None, make_staff: Callable[..., Staff]
) -> None:
    c = app_context()
    with pytest.raises(ValidationFailed) as caught:
        c.print_jobs.start(db.session, ["not a card"], staff_id=1, now=c.now())
    assert caught.value.code == "nothing_selected"


@pytest.mark.parametrize("job_id", ["", "../../config", "a" * 65, "ab-cd"])
def test_odd_job_ids_are_no_job(ctx: None, job_id: str) -> None:
    jobs = app_context().print_jobs
    assert jobs.job(job_id, staff_id=1) is None
    assert jobs.take_sheets(job_id, staff_id=1) is None
