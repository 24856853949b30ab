"""Batch print jobs through the service, and the contract every job store keeps."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select, update

from citizen_card.context import app_context
from citizen_card.extensions import db
from citizen_card.models import AuditEvent, Card, PrintJobRow, Resident, Staff
from citizen_card.services import issuance, print_jobs, registry
from citizen_card.services.errors import ValidationFailed
from citizen_card.services.print_jobs import JobStore, PrintJob
from verify.cardnumber import format_card_number


@pytest.fixture
def store(app: Flask) -> Iterator[JobStore]:
    """The app's job store, on a real SQLite file and a real PostgreSQL (``app``)."""
    with app.app_context():
        yield app_context().print_jobs.store


def _job(app: Flask, make_staff: Callable[..., Staff], job_id: str, **fields: object) -> PrintJob:
    values: dict[str, object] = {"state": "running", "total": 3, "done": 0} | fields
    return PrintJob(job_id, make_staff("clerk").id, **values)  # type: ignore[arg-type]


def test_a_saved_job_reads_back_and_its_state_is_replaced(
    app: Flask, store: JobStore, make_staff: Callable[..., Staff]
) -> None:
    job = _job(app, make_staff, "a1" * 16)
    assert store.load(job.job_id) is None
    store.save(job)
    assert store.load(job.job_id) == job
    store.save(dataclasses.replace(job, state="done", done=3))
    assert store.load(job.job_id) == dataclasses.replace(job, state="done", done=3)


def test_sheets_are_taken_once(
    app: Flask, store: JobStore, make_staff: Callable[..., Staff]
) -> None:
    job = _job(app, make_staff, "b2" * 16)
    store.save(job)
    assert store.take_sheets(job.job_id) is None  # not done yet
    store.finish(db.session, job.job_id, b"sealed sheets")
    db.session.commit()
    assert store.take_sheets(job.job_id) == b"sealed sheets"
    assert store.take_sheets(job.job_id) is None
    assert store.load(job.job_id) == dataclasses.replace(job, state="fetched", done=3)
    row = db.session.get(PrintJobRow, job.job_id)
    assert row is not None and row.sheets_sealed is None  # the sheets are not kept


def test_sweep_forgets_what_was_written_before(
    app: Flask, store: JobStore, make_staff: Callable[..., Staff]
) -> None:
    job = _job(app, make_staff, "d4" * 16, state="done", total=1, done=1)
    store.save(job)
    written = datetime.now(UTC)
    store.sweep(before=written - timedelta(hours=1))
    assert store.load(job.job_id) == job
    store.sweep(before=written + timedelta(minutes=1))
    assert store.load(job.job_id) is None


def test_a_job_whose_host_went_away_stops_counting_as_running(
    app: Flask, store: JobStore, make_staff: Callable[..., Staff]
) -> None:
    job = _job(app, make_staff, "e5" * 16)
    store.save(job)
    db.session.execute(
        update(PrintJobRow)
        .where(PrintJobRow.id == job.job_id)
        .values(updated_at=datetime.now(UTC) - print_jobs.STALE_AFTER - timedelta(seconds=1))
    )
    db.session.commit()
    assert store.load(job.job_id) == dataclasses.replace(job, state="failed")


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
