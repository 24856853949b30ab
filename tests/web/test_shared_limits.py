"""Rate limits shared by several worker processes through Redis.

Two app objects stand for two gunicorn workers: each has its own memory, so only the
shared Redis storage can make a limit hold across them.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import replace

import pytest
from flask import Flask

from citizen_card import create_app
from citizen_card.config import Settings
from citizen_card.extensions import db
from tests.conftest import csrf_token

REDIS_URL = os.environ.get("TEST_REDIS_URL")


@pytest.fixture
def workers(settings: Settings) -> Iterator[tuple[Flask, Flask]]:
    if not REDIS_URL:
        pytest.skip("shared rate limits need TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/0)")
    shared = replace(
        settings,
        ratelimit_storage_uri=REDIS_URL,
        verify_rate_limit="10 per minute",
        # A fresh key space per test run: counts from other runs must not leak in.
        extra={"RATELIMIT_KEY_PREFIX": f"test-{secrets.token_hex(4)}"},
    )
    first, second = create_app(shared), create_app(shared)
    with first.app_context():
        db.create_all()
    yield first, second
    for app in (first, second):
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_the_verify_limit_holds_across_workers(workers: tuple[Flask, Flask]) -> None:
    first, second = (app.test_client() for app in workers)
    # Addresses of this run only: Redis outlives the test process.
    net = f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}"
    address = {"REMOTE_ADDR": f"{net}.3"}
    codes = [
        (first if i % 2 else second)
        .post("/api/v1/verify", json={"qr": "x"}, environ_base=address)
        .status_code
        for i in range(11)
    ]
    assert codes == [200] * 10 + [429]
    other = first.post("/api/v1/verify", json={"qr": "x"}, environ_base={"REMOTE_ADDR": f"{net}.4"})
    assert other.status_code == 200


def test_the_login_limit_holds_across_workers(workers: tuple[Flask, Flask]) -> None:
    first, second = (app.test_client() for app in workers)
    username = f"someone-{secrets.token_hex(4)}"
    codes = []
    for i in range(11):
        client = first if i % 2 else second
        codes.append(
            client.post(
                "/login",
                data={
                    "username": username,
                    "password": "not the password",
                    "csrf_token": csrf_token(client),
                },
                environ_base={"REMOTE_ADDR": f"10.9.0.{i}"},
            ).status_code
        )
    assert codes == [401] * 10 + [429]
