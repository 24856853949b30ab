"""What is single-use is used once, however many requests race for it.

Ten clients send the same download code, one-time password (a new account's or a reset
one) or TOTP code at the same moment, released together by a barrier, each with its own
connection, on SQLite and on PostgreSQL. Exactly one wins; the others get the ordinary
refusal, and the database and audit log show one use. Rate limits are off here: they are
another defence, tested elsewhere, and would hide a race behind 429s.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from citizen_card import create_app
from citizen_card.config import Settings
from citizen_card.context import app_context
from citizen_card.extensions import db
from citizen_card.models import AuditEvent, Staff, StaffSession
from citizen_card.services import keyring
from tests.conftest import csrf_token, login, totp_codes

RACERS = 10


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    """The app without rate limits (they would refuse racers before the race)."""
    unlimited = replace(settings, extra={"RATELIMIT_ENABLED": False})
    app = create_app(unlimited)
    with app.app_context():
        db.create_all()
        keyring.ensure_signing_key(db.session, unlimited, now=app_context().now())
        db.session.commit()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def race(clients: list[FlaskClient], request: Callable[[FlaskClient], TestResponse]) -> list[int]:
    """Send ``request`` from every client at once; the status codes, in no order."""
    barrier = threading.Barrier(len(clients), timeout=30)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def run(client: FlaskClient) -> None:
        try:
            barrier.wait()
            response = request(client)
            response.get_data()
            statuses.append(response.status_code)
        except BaseException as exc:  # the test reports whatever broke
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    return statuses


def _count(app: Flask, action: str) -> int:
    with app.app_context():
        return int(
            db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == action))
            or 0
        )


def _sessions(app: Flask, staff_id: int) -> int:
    with app.app_context():
        query = select(func.count(StaffSession.id)).where(StaffSession.staff_id == staff_id)
        return int(db.session.scalar(query) or 0)


def test_a_download_code_gives_one_pdf(
    app: Flask, make_resident: Callable[..., str], clerk_headers: dict[str, str]
) -> None:
    api = app.test_client()
    public_id = make_resident()
    issued = api.post(f"/api/v1/residents/{public_id}/cards", headers=clerk_headers).json
    clients = [app.test_client() for _ in range(RACERS)]
    tokens = {id(client): csrf_token(client, "/my-card") for client in clients}
    statuses = race(
        clients,
        lambda client: client.post(
            "/my-card",
            data={
                "card_number": issued["card_number"],
                "code": issued["download_code"],
                "csrf_token": tokens[id(client)],
            },
        ),
    )
    assert sorted(statuses) == [200] + [400] * (RACERS - 1)
    assert _count(app, "card.download") == 1


def _one_time_password(admin: FlaskClient, username: str) -> str:
    page = admin.post(
        "/admin/staff",
        data={
            "username": username,
            "role": "clerk",
            "csrf_token": csrf_token(admin, "/admin/staff"),
        },
    ).get_data(as_text=True)
    match = re.search(r'<code class="secret">([^<]+)</code>', page)
    assert match, "no one-time password shown"
    return match.group(1)


def _login_race(app: Flask, username: str, password: str) -> list[int]:
    clients = [app.test_client() for _ in range(RACERS)]
    tokens = {id(client): csrf_token(client) for client in clients}
    return race(
        clients,
        lambda client: client.post(
            "/login",
            data={"username": username, "password": password, "csrf_token": tokens[id(client)]},
        ),
    )


def test_a_new_accounts_one_time_password_opens_one_session(
    app: Flask, make_staff: Callable[..., Staff]
) -> None:
    admin = app.test_client()
    login(admin, make_staff("admin"))
    password = _one_time_password(admin, "new-clerk")
    statuses = _login_race(app, "new-clerk", password)
    assert sorted(statuses) == [302] + [401] * (RACERS - 1)
    with app.app_context():
        staff_id = db.session.scalars(select(Staff.id).where(Staff.username == "new-clerk")).one()
    assert _sessions(app, staff_id) == 1
    assert _count(app, "auth.login") == 2  # the admin's and the winner's
    # Used up: the same password does not open a second login later either.
    late = app.test_client()
    refused = late.post(
        "/login",
        data={"username": "new-clerk", "password": password, "csrf_token": csrf_token(late)},
    )
    assert refused.status_code == 401


def test_a_reset_password_opens_one_session(app: Flask, make_staff: Callable[..., Staff]) -> None:
    admin = app.test_client()
    login(admin, make_staff("admin"))
    clerk = make_staff("clerk")
    page = admin.post(
        f"/admin/staff/{clerk.id}/reset", data={"csrf_token": csrf_token(admin, "/admin/staff")}
    ).get_data(as_text=True)
    match = re.search(r'<code class="secret">([^<]+)</code>', page)
    assert match
    statuses = _login_race(app, clerk.username, match.group(1))
    assert sorted(statuses) == [302] + [401] * (RACERS - 1)
    assert _sessions(app, clerk.id) == 1
    with app.app_context():
        refusals = db.session.scalars(
            select(AuditEvent.detail).where(AuditEvent.action == "auth.login_failed")
        ).all()
    assert (
        refusals.count('{"cause":"one_time_password_used"}')
        + refusals.count('{"cause":"wrong_password"}')
        == RACERS - 1
    )


def test_a_totp_code_completes_one_login(app: Flask, make_staff: Callable[..., Staff]) -> None:
    admin = make_staff("admin")  # enrolled with TEST_TOTP_SECRET
    clients = [app.test_client() for _ in range(RACERS)]
    tokens = {}
    for client in clients:
        response = client.post(
            "/login",
            data={
                "username": admin.username,
                "password": "correct horse battery staple",
                "csrf_token": csrf_token(client),
            },
        )
        assert response.headers["Location"].endswith("/login/code")
        tokens[id(client)] = csrf_token(client, "/login/code")
    code = totp_codes()[0]
    statuses = race(
        clients,
        lambda client: client.post(
            "/login/code", data={"code": code, "csrf_token": tokens[id(client)]}
        ),
    )
    assert sorted(statuses) == [302] + [401] * (RACERS - 1)
    assert _sessions(app, admin.id) == 1
    assert _count(app, "auth.totp_failed") == RACERS - 1
