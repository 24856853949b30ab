"""Issuing from many threads at once: the database constraints keep cards apart.

Each thread has its own app context, so its own session and connection, as in a
threaded or multi-process server.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import func, select

from citizen_card.context import app_context
from citizen_card.extensions import db
from citizen_card.models import AuditEvent, Card
from citizen_card.services import audit, issuance, registry
from citizen_card.services.errors import Conflict

THREADS = 50


def _issue_in_thread(
    app: Flask, public_id: str, barrier: threading.Barrier, outcomes: list[object]
) -> None:
    with app.app_context():
        ctx = app_context()
        try:
            resident = registry.get(db.session, public_id)
            db.session.rollback()  # start the race from a fresh transaction
            barrier.wait()
            issued = issuance.issue(
                db.session, resident, settings=ctx.settings, actor=None, now=ctx.now()
            )
            db.session.commit()
            outcomes.append(issued.card.number)
        except Exception as exc:  # the test inspects whatever happened
            db.session.rollback()
            outcomes.append(exc)
        finally:
            db.session.remove()


def _run(app: Flask, public_ids: list[str]) -> list[object]:
    barrier = threading.Barrier(len(public_ids), timeout=60)
    outcomes: list[object] = []
    threads = [
        threading.Thread(target=_issue_in_thread, args=(app, public_id, barrier, outcomes))
        for public_id in public_ids
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return outcomes


@pytest.mark.slow
def test_fifty_cards_issued_concurrently(app: Flask, make_resident: Callable[..., str]) -> None:
    public_ids = [make_resident(given_names=f"Person {i}") for i in range(THREADS)]

    outcomes = _run(app, public_ids)

    errors = [o for o in outcomes if isinstance(o, BaseException)]
    assert errors == []
    assert len(set(outcomes)) == THREADS
    with app.app_context():
        cards = db.session.execute(select(Card)).scalars().all()
        assert len(cards) == THREADS
        assert len({c.number for c in cards}) == THREADS
        assert len({(c.status_list_id, c.status_index) for c in cards}) == THREADS
        # One list, not one per racing transaction.
        assert {c.status_list_id for c in cards} == {1}
        per_resident = db.session.execute(
            select(Card.resident_id, func.count()).group_by(Card.resident_id)
        ).all()
        assert sorted(n for _, n in per_resident) == [1] * THREADS
        issues = db.session.scalar(select(func.count()).where(AuditEvent.action == "card.issue"))
        assert issues == THREADS
        assert audit.verify_chain(db.session).ok


@pytest.mark.slow
def test_two_concurrent_issues_for_one_resident(
    app: Flask, make_resident: Callable[..., str]
) -> None:
    public_id = make_resident()

    outcomes = _run(app, [public_id, public_id])

    numbers = [o for o in outcomes if isinstance(o, str)]
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(numbers) == 1
    assert len(errors) == 1
    assert isinstance(errors[0], Conflict)
    assert errors[0].code == "has_current_card"
    with app.app_context():
        cards = db.session.execute(select(Card)).scalars().all()
        assert [c.number for c in cards] == numbers
        assert audit.verify_chain(db.session).ok
