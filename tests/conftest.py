"""Fixtures: an app per test on a real SQLite file and, when TEST_DATABASE_URL is set,
on the real PostgreSQL server too."""

from __future__ import annotations

import base64
import io
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import create_engine, text

from citizen_card import create_app
from citizen_card.config import Settings, load_settings
from citizen_card.extensions import db
from citizen_card.models import Staff
from citizen_card.services import accounts, keyring, registry

pytest_plugins = ["tests.log_scan"]

TEST_PASSWORD = "correct horse battery staple"
TEST_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
POSTGRES_URL = os.environ.get("TEST_DATABASE_URL")


def _key(fill: int) -> str:
    return base64.urlsafe_b64encode(bytes([fill]) * 32).rstrip(b"=").decode()


def postgres_url() -> str:
    if not POSTGRES_URL:
        pytest.skip(
            "PostgreSQL tests need TEST_DATABASE_URL (e.g. postgresql://postgres@127.0.0.1:5432/test)"
        )
    return POSTGRES_URL


def reset_postgres(url: str) -> None:
    url = "postgresql+psycopg://" + url.split("://", 1)[1]
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def make_settings(instance: Path, database_url: str | None = None, **overrides: Any) -> Settings:
    instance.mkdir(parents=True, exist_ok=True)
    settings = load_settings(
        instance,
        SECRET_KEY=_key(1),
        MASTER_KEY=_key(2),
        BLIND_INDEX_KEY=_key(3),
        DATABASE_URL=database_url or f"sqlite:///{instance / 'test.sqlite3'}",
        ISSUER_ID="LIS",
        ISSUER_NAME="Lisboa",
        VERIFY_BASE_URL="https://verify.lisboa.example",
    )
    # Cheap argon2 in tests: the cost is configuration, the code path is the same.
    return replace(settings, argon2_time_cost=1, argon2_memory_kib=1024, testing=True, **overrides)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'instance' / 'test.sqlite3'}"
    url = postgres_url()
    reset_postgres(url)
    return url


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path / "instance", database_url)


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    app = create_app(settings)
    with app.app_context():
        db.create_all()
        keyring.ensure_signing_key(db.session, settings, now=datetime.now(UTC))
        db.session.commit()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """Runs the citizen-card command on the same instance and database as ``app``."""
    env = {
        "INSTANCE": str(settings.instance_path),
        "SECRET_KEY": _key(1),
        "MASTER_KEY": _key(2),
        "BLIND_INDEX_KEY": _key(3),
        "DATABASE_URL": settings.database_url,
        "ISSUER_ID": settings.issuer_id,
        "ISSUER_NAME": settings.issuer_name,
        "VERIFY_BASE_URL": settings.verify_base_url,
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_KIB": "1024",
    }
    for name, value in env.items():
        monkeypatch.setenv(f"CITIZEN_CARD_{name}", value)
    return CliRunner()


@pytest.fixture
def make_staff(app: Flask) -> Callable[..., Staff]:
    def _create(
        role: str = "clerk",
        username: str | None = None,
        password: str = TEST_PASSWORD,
        totp: bool | None = None,
    ) -> Staff:
        """A staff account; admins get a second factor (TEST_TOTP_SECRET) unless totp=False."""
        with app.app_context():
            from citizen_card.context import app_context
            from citizen_card.services import second_factor

            ctx = app_context()
            staff = accounts.create_staff(
                db.session,
                username=username or f"{role}-{os.urandom(3).hex()}",
                role=role,
                password=password,
                policy=ctx.password_policy,
                now=ctx.now(),
                actor=None,
                must_change_password=False,
            )
            if totp if totp is not None else role == "admin":
                db.session.flush()
                second_factor.enrol_secret(staff, TEST_TOTP_SECRET, ctx.settings)
            db.session.commit()
            db.session.refresh(staff)
            db.session.expunge(staff)
            return staff

    return _create


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def totp_codes() -> list[str]:
    """The current code and the next: a code works once, so a second login needs the next."""
    import pyotp

    totp = pyotp.TOTP(TEST_TOTP_SECRET)
    now = time.time()
    return [totp.at(now), totp.at(now + 30)]


def login(client: FlaskClient, staff: Staff, password: str = TEST_PASSWORD) -> None:
    response = client.post(
        "/login",
        data={"username": staff.username, "password": password, "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    if response.headers["Location"].endswith("/login/code"):
        token = csrf_token(client, "/login/code")
        for code in totp_codes():
            response = client.post("/login/code", data={"code": code, "csrf_token": token})
            if response.status_code == 302:
                break
        assert response.status_code == 302, response.get_data(as_text=True)


@pytest.fixture
def clerk_client(client: FlaskClient, make_staff: Callable[..., Staff]) -> FlaskClient:
    login(client, make_staff("clerk"))
    return client


@pytest.fixture
def api_token(app: Flask, make_staff: Callable[..., Staff]) -> Callable[..., str]:
    def _create(role: str = "clerk") -> str:
        staff = make_staff(role)
        with app.app_context():
            from citizen_card.context import app_context

            token = accounts.create_api_token(
                db.session, db.session.get(Staff, staff.id), now=app_context().now(), actor=None
            )
            db.session.commit()
            return token

    return _create


@pytest.fixture
def clerk_headers(api_token: Callable[..., str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_token('clerk')}"}


def photo_bytes(size: tuple[int, int] = (800, 1000), fmt: str = "JPEG", **save: Any) -> bytes:
    image = Image.new("RGB", size, (180, 140, 120))
    for x in range(0, size[0], 40):
        for y in range(0, size[1], 40):
            image.putpixel((x, y), (x % 255, y % 255, 90))
    out = io.BytesIO()
    image.save(out, fmt, **save)
    return out.getvalue()


@pytest.fixture
def make_resident(app: Flask) -> Callable[..., str]:
    """Register a resident through the service; returns its public id."""

    def _create(photo: bool = True, **overrides: Any) -> str:
        values = {"given_names": "María José", "family_names": "García López"} | overrides
        with app.app_context():
            from citizen_card.context import app_context

            ctx = app_context()
            details = registry.validate_details(values, ctx.registry_policy, today=ctx.now().date())
            resident = registry.register(
                db.session,
                details,
                keys=ctx.registry_keys,
                actor=None,
                now=ctx.now(),
                evidence=["identity", "residence"],
            )
            if photo:
                registry.set_photo(
                    db.session,
                    resident,
                    photo_bytes(),
                    keys=ctx.registry_keys,
                    policy=ctx.registry_policy,
                    actor=None,
                    now=ctx.now(),
                )
            db.session.commit()
            return resident.public_id

    return _create


@pytest.fixture
def make_place(app: Flask) -> Callable[..., int]:
    """Add a place through the service (published unless said otherwise); returns its id."""

    def _create(published: bool = True, **fields: str) -> int:
        from citizen_card.context import app_context
        from citizen_card.services import places

        values = {"category": "library", "name_en": "Central Library"} | fields
        with app.app_context():
            ctx = app_context()
            languages = places.Languages.from_settings(ctx.settings)
            place = places.create_place(
                db.session,
                places.validate(values, languages),
                languages=languages,
                actor=None,
                now=ctx.now(),
                published=published,
            )
            db.session.commit()
            return place.id

    return _create
