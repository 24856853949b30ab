"""Reads never take the write lock; writers wait a bounded time, then hear 503.

Before, every transaction began ``BEGIN IMMEDIATE``: a logged-in clerk's page held
SQLite's write lock while the verifier backend opened a second session that waited for
it, so /scan, /V, the JWKS and the status list took 30 s and answered 500, and every
writer queued behind them. Here another connection holds the write lock on purpose (as a
long write by another clerk would) while a logged-in clerk and an anonymous verifier use
the read routes: they all answer. A writing request waits the configured time and gets a
clear 503 with Retry-After; once the lock is free the same request succeeds.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace

import pytest
from flask import Flask

from citizen_card import create_app
from citizen_card.config import Settings
from citizen_card.context import app_context
from citizen_card.extensions import db
from citizen_card.models import Staff
from citizen_card.services import keyring
from tests.conftest import csrf_token, login

READ_ROUTES = ["/scan", "/V", "/v", "/.well-known/jwks.json", "/status/1", "/verify-sw.js"]


@pytest.fixture
def sqlite_app(settings: Settings) -> Iterator[Flask]:
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("the write lock under test is SQLite's")
    app = create_app(replace(settings, database_lock_timeout_ms=300))
    with app.app_context():
        db.create_all()
        keyring.ensure_signing_key(db.session, app_context().settings, now=app_context().now())
        db.session.commit()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@contextmanager
def write_lock_held(app: Flask) -> Iterator[None]:
    """Hold SQLite's write lock from another connection, as a long write would."""
    path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


def _clerk_token(app: Flask) -> dict[str, str]:
    from citizen_card.services import accounts

    with app.app_context():
        staff = db.session.scalars(db.select(Staff).where(Staff.role == "clerk")).first()
        token = accounts.create_api_token(db.session, staff, now=app_context().now(), actor=None)
        db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def test_read_routes_answer_while_another_writer_holds_the_lock(
    sqlite_app: Flask, make_staff: Callable[..., Staff], make_resident: Callable[..., str]
) -> None:
    app = sqlite_app
    clerk = app.test_client()
    login(clerk, make_staff("clerk"))
    headers = _clerk_token(app)
    public_id = make_resident()
    issued = clerk.post(f"/api/v1/residents/{public_id}/cards", headers=headers)
    assert issued.status_code == 201  # so that status list 1 exists
    anonymous = app.test_client()
    with write_lock_held(app):
        for client in (clerk, anonymous):
            for path in READ_ROUTES:
                response = client.get(path)
                assert response.status_code == 200, (path, response.status_code)
        # Counter pages that only read answer too.
        assert clerk.get("/residents/").status_code == 200
        # The print queue names the residents, so looking at it is audited: a writer,
        # which waits its bounded time and says busy.
        # (So is a resident's page: it used to raise instead of answering 503.)
        for audited in ("/cards/print", f"/residents/{public_id}"):
            busy = clerk.get(audited)
            assert busy.status_code == 503 and busy.headers["Retry-After"] == "2", audited
        card = clerk.get(f"/api/v1/cards/{issued.json['card_number']}", headers=headers)
        assert card.status_code == 200


def test_a_writer_waits_a_bounded_time_then_hears_503(
    sqlite_app: Flask, make_staff: Callable[..., Staff]
) -> None:
    app = sqlite_app
    clerk = app.test_client()
    login(clerk, make_staff("clerk"))
    headers = _clerk_token(app)
    body = {"given_names": "Ana", "family_names": "Silva"}
    with write_lock_held(app):
        busy = clerk.post("/api/v1/residents", json=body, headers=headers)
        assert busy.status_code == 503
        assert busy.json["error"] == "busy"
        assert busy.headers["Retry-After"] == "2"
        token = csrf_token(clerk, "/residents/")
        page = clerk.post("/residents/", data={"q": "silva", "csrf_token": token})
        assert page.status_code == 503  # a search writes its audit event
        assert "busy for a moment" in page.get_data(as_text=True)
    done = clerk.post("/api/v1/residents", json=body, headers=headers)
    assert done.status_code == 201
    with app.app_context():
        from citizen_card.services import audit

        assert audit.verify_chain(db.session).ok  # nothing half-written by the refused one
