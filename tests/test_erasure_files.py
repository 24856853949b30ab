"""After an erasure or a purge, the files on disk hold nothing of the person.

Crypto-shredding promises that an erased resident's data key is gone, and with it every
way to read their sealed record. These tests read the raw files, as someone who copied
the live instance folder (or the PostgreSQL data directory) would: the SQLite database and
key store with their ``-wal`` and ``-shm`` files, and the PostgreSQL relation file of the
key store table. They look for the wrapped data key and for pieces of every ciphertext the
resident had (their sealed record before and after an edit, their photo, their card's QR
text), taken before the erasure; before it, the same search finds them, so the test can
fail.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, select, text, update

from citizen_card import create_app
from citizen_card.cli import main as cli
from citizen_card.config import Settings
from citizen_card.context import app_context
from citizen_card.extensions import db
from citizen_card.models import Card, Resident
from citizen_card.services import keyring
from citizen_card.services.keystore import open_keystore
from tests.conftest import _key as instance_key
from tests.conftest import make_settings, photo_bytes, postgres_url, reset_postgres

SLICE = 24


def slices(blob: bytes, every: int = 997) -> list[bytes]:
    """Pieces of a ciphertext to look for; many, so a page boundary cannot hide them all."""
    # From byte 13 on: the version byte and the nonce prefix are not secret-looking enough.
    return [blob[start : start + SLICE] for start in range(13, len(blob) - SLICE, every)]


def found(haystack: bytes, needles: list[bytes]) -> int:
    return sum(1 for needle in needles if needle in haystack)


def instance_files(path: Path) -> bytes:
    return b"".join(f.read_bytes() for f in sorted(path.rglob("*")) if f.is_file())


class PostgresFiles:
    """The relation file of a table, read from the server's data directory."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))

    def read(self, table: str) -> bytes:
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            # Dirty pages live in shared buffers until a checkpoint writes them out.
            conn.execute(text("CHECKPOINT"))
            directory = conn.execute(text("SHOW data_directory")).scalar_one()
            relative = conn.execute(
                text("SELECT pg_relation_filepath(:t)"), {"t": table}
            ).scalar_one()
        path = Path(directory) / relative
        if not path.parent.is_dir():
            pytest.skip("the PostgreSQL server's files are not on this machine")
        # A table over 1 GB continues in path.1, path.2, ...; the key store is far smaller.
        return b"".join(p.read_bytes() for p in sorted(path.parent.glob(path.name + "*")))

    def close(self) -> None:
        self.engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Flask, str]]:
    """An app whose database AND key store are SQLite files, or both on PostgreSQL."""
    instance = tmp_path / "instance"
    if request.param == "sqlite":
        settings = make_settings(instance)
    else:
        url = postgres_url()
        reset_postgres(url)
        settings = make_settings(instance, url, keystore_url=url)
    open_keystore.cache_clear()
    app = create_app(settings)
    with app.app_context():
        db.create_all()
        keyring.ensure_signing_key(db.session, settings, now=datetime.now(UTC))
        db.session.commit()
    yield app, request.param
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
        app_context().registry_keys.keystore.engine.dispose()
    open_keystore.cache_clear()


def _register(client: FlaskClient, headers: dict[str, str], **names: str) -> str:
    created = client.post("/api/v1/residents", json=names, headers=headers)
    assert created.status_code == 201, created.json
    public_id: str = created.json["id"]
    photo = client.put(
        f"/api/v1/residents/{public_id}/photo",
        data=photo_bytes(),
        headers=headers | {"Content-Type": "image/jpeg"},
    )
    assert photo.status_code == 204
    return public_id


def _traces(app: Flask, public_id: str, older_sealed: bytes) -> tuple[list[bytes], list[bytes]]:
    """(wrapped key, ciphertext pieces) of one resident as they are now."""
    with app.app_context():
        keystore = app_context().registry_keys.keystore
        resident = db.session.scalars(select(Resident).where(Resident.public_id == public_id)).one()
        card = db.session.scalars(select(Card).where(Card.resident_id == resident.id)).first()
        pieces = slices(resident.sealed, 41) + slices(older_sealed, 41)
        assert resident.photo_sealed is not None
        pieces += slices(resident.photo_sealed)
        if card is not None and card.qr_sealed is not None:
            pieces += slices(card.qr_sealed, 41)
        return [keystore.get(public_id)], pieces


def _api_client(app: Flask) -> tuple[FlaskClient, dict[str, str]]:
    from citizen_card.services import accounts

    with app.app_context():
        ctx = app_context()
        staff = accounts.create_staff(
            db.session,
            username="clerk-files",
            role="clerk",
            password="correct horse battery staple",
            policy=ctx.password_policy,
            now=ctx.now(),
            actor=None,
            must_change_password=False,
        )
        token = accounts.create_api_token(db.session, staff, now=ctx.now(), actor=None)
        db.session.commit()
    return app.test_client(), {"Authorization": f"Bearer {token}"}


def _read_all(app: Flask, backend: str, files: PostgresFiles | None) -> bytes:
    with app.app_context():
        settings = app_context().settings
    blob = instance_files(settings.instance_path)
    if files is not None:
        blob += files.read("data_key")
    return blob


def test_an_erased_resident_leaves_no_key_or_ciphertext_in_the_files(
    store_app: tuple[Flask, str],
) -> None:
    app, backend = store_app
    client, headers = _api_client(app)
    erased = _register(client, headers, given_names="Yohannes", family_names="Gebremedhin")
    kept = _register(client, headers, given_names="Selam", family_names="Tesfay")
    with app.app_context():
        query = select(Resident.sealed).where(Resident.public_id == erased)
        older = db.session.scalars(query).one()
    # An edit leaves an older version of the sealed record behind; a card adds its QR text.
    edited = client.patch(
        f"/api/v1/residents/{erased}", json={"used_name": "Yoni"}, headers=headers
    )
    assert edited.status_code == 200
    assert client.post(f"/api/v1/residents/{erased}/cards", headers=headers).status_code == 201
    keys, pieces = _traces(app, erased, older)
    kept_keys, _ = _traces(app, kept, b"")
    files = PostgresFiles(postgres_url()) if backend == "postgresql" else None
    try:
        before = _read_all(app, backend, files)
        assert found(before, keys) == 1, "the test does not see the key where it is kept"
        if backend == "sqlite":
            assert found(before, pieces) > len(pieces) // 2

        assert client.delete(f"/api/v1/residents/{erased}", headers=headers).status_code == 204

        after = _read_all(app, backend, files)
        assert found(after, keys) == 0, "the erased resident's wrapped data key is still on disk"
        assert found(after, kept_keys) == 1, "the other resident's key must stay"
        if backend == "sqlite":
            assert found(after, pieces) == 0, "pieces of the erased record are still on disk"
    finally:
        if files is not None:
            files.close()


def test_the_purge_leaves_no_key_or_ciphertext_in_the_files(
    store_app: tuple[Flask, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    app, backend = store_app
    client, headers = _api_client(app)
    stale = _register(client, headers, given_names="Oksana", family_names="Hrytsenko")
    kept = _register(client, headers, given_names="Amadou", family_names="Diallo")
    with app.app_context():
        settings: Settings = app_context().settings
        # Registered three years ago and never given a card: past the retention period.
        db.session.execute(
            update(Resident)
            .where(Resident.public_id == stale)
            .values(created_at=datetime.now(UTC) - timedelta(days=3 * 365))
        )
        db.session.commit()
    keys, pieces = _traces(app, stale, b"")
    kept_keys, _ = _traces(app, kept, b"")
    files = PostgresFiles(postgres_url()) if backend == "postgresql" else None
    env = {
        "INSTANCE": str(settings.instance_path),
        "SECRET_KEY": instance_key(1),
        "MASTER_KEY": instance_key(2),
        "BLIND_INDEX_KEY": instance_key(3),
        "DATABASE_URL": settings.database_url,
        "KEYSTORE_URL": settings.keystore_url,
    }
    for name, value in env.items():
        monkeypatch.setenv(f"CITIZEN_CARD_{name}", value)
    try:
        assert found(_read_all(app, backend, files), keys) == 1
        result = CliRunner().invoke(cli, ["purge"])
        assert result.exit_code == 0, result.output
        assert "Deleted 1 resident record(s)" in result.output
        after = _read_all(app, backend, files)
        assert found(after, keys) == 0, "the purged resident's wrapped data key is still on disk"
        assert found(after, kept_keys) == 1
        if backend == "sqlite":
            assert found(after, pieces) == 0, "pieces of the purged record are still on disk"
    finally:
        if files is not None:
            files.close()


def test_a_reader_that_holds_on_delays_the_cleaning_until_the_purge(
    store_app: tuple[Flask, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An old transaction that still sees the deleted rows (a long read) stops the file
    cleaning: the erasure is committed anyway, and the next purge finishes the job."""
    from citizen_card import database

    app, backend = store_app
    monkeypatch.setattr(database, "CHECKPOINT_ATTEMPTS", 1)
    monkeypatch.setattr(database, "REWRITE_ATTEMPTS", 2)
    client, headers = _api_client(app)
    erased = _register(client, headers, given_names="Nasrin", family_names="Sotoudeh")
    keys, pieces = _traces(app, erased, b"")
    with app.app_context():
        settings: Settings = app_context().settings
    files = PostgresFiles(postgres_url()) if backend == "postgresql" else None
    reader = _hold_an_old_snapshot(settings, backend)
    try:
        assert client.delete(f"/api/v1/residents/{erased}", headers=headers).status_code == 204
        held = _read_all(app, backend, files)
        if backend == "sqlite":
            assert found(held, pieces) > 0  # the log could not be truncated under the reader
        else:
            assert found(held, keys) == 1  # VACUUM FULL had to keep the dead row
    finally:
        reader.close()
    for name, value in {
        "INSTANCE": str(settings.instance_path),
        "SECRET_KEY": instance_key(1),
        "MASTER_KEY": instance_key(2),
        "BLIND_INDEX_KEY": instance_key(3),
        "DATABASE_URL": settings.database_url,
        "KEYSTORE_URL": settings.keystore_url,
    }.items():
        monkeypatch.setenv(f"CITIZEN_CARD_{name}", value)
    try:
        result = CliRunner().invoke(cli, ["purge"])
        assert result.exit_code == 0, result.output
        after = _read_all(app, backend, files)
        assert found(after, keys) == 0
        if backend == "sqlite":
            assert found(after, pieces) == 0
    finally:
        if files is not None:
            files.close()


class _Reader:
    def __init__(self, close: Callable[[], None]) -> None:
        self.close = close


def _hold_an_old_snapshot(settings: Settings, backend: str) -> _Reader:
    """A connection inside a transaction that began before the erasure."""
    if backend == "sqlite":
        import sqlite3

        conn = sqlite3.connect(settings.database_url.removeprefix("sqlite:///"))
        conn.execute("BEGIN")
        conn.execute("SELECT count(*) FROM resident").fetchone()
        return _Reader(conn.close)
    import psycopg

    pg = psycopg.connect(settings.keystore_url)
    pg.execute("SELECT txid_current()")  # an open transaction with an id: the horizon stays
    return _Reader(lambda: (pg.rollback(), pg.close()))
