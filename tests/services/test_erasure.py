"""Erasure destroys the resident's key: a backup from before it no longer opens."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from citizen_card.context import app_context
from citizen_card.extensions import db
from citizen_card.models import Resident
from citizen_card.services import erasure, registry
from citizen_card.services.keystore import MissingDataKey


def test_a_backup_taken_before_erasure_cannot_be_read_after_it(
    app: Flask, make_resident: Callable[..., str], tmp_path: Path
) -> None:
    public_id = make_resident(given_names="Yohannes", family_names="Gebremedhin")
    keep = make_resident(given_names="Selam", family_names="Tesfay")
    with app.app_context():
        ctx = app_context()
        url = ctx.settings.database_url
        backup_url = None  # on PostgreSQL the copied rows below are the backup
        if url.startswith("sqlite"):
            backup = tmp_path / "backup.sqlite3"
            # SQLite's online backup, as an operator's nightly backup would take it.
            with (
                closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as source,
                closing(sqlite3.connect(backup)) as target,
            ):
                source.backup(target)
            backup_url = f"sqlite:///{backup}"
        sealed = {row.public_id: row.sealed for row in db.session.scalars(select(Resident))}
        resident = registry.get(db.session, public_id)
        assert registry.open_details(resident, ctx.registry_keys).family_names == "Gebremedhin"

        erasure.erase(
            db.session,
            resident,
            keys=ctx.registry_keys,
            actor=None,
            now=ctx.now(),
            reason="request",
        )
        db.session.commit()

        if backup_url is not None:
            engine = create_engine(backup_url)
            with Session(engine) as old:
                restored = old.scalars(
                    select(Resident).where(Resident.public_id == public_id)
                ).one()
                with pytest.raises(MissingDataKey):
                    registry.open_details(restored, ctx.registry_keys)
                with pytest.raises(MissingDataKey):
                    registry.open_photo(restored, ctx.registry_keys)
                other = old.scalars(select(Resident).where(Resident.public_id == keep)).one()
                assert registry.open_details(other, ctx.registry_keys).given_names == "Selam"
            engine.dispose()
        ghost = Resident(public_id=public_id, sealed=sealed[public_id])
        with pytest.raises(MissingDataKey):
            registry.open_details(ghost, ctx.registry_keys)
        assert public_id not in ctx.registry_keys.keystore.refs()
        assert keep in ctx.registry_keys.keystore.refs()


def test_a_rolled_back_erasure_keeps_the_key(app: Flask, make_resident: Callable[..., str]) -> None:
    public_id = make_resident()
    with app.app_context():
        ctx = app_context()
        resident = registry.get(db.session, public_id)
        erasure.erase(
            db.session,
            resident,
            keys=ctx.registry_keys,
            actor=None,
            now=ctx.now(),
            reason="request",
        )
        db.session.rollback()
        resident = registry.get(db.session, public_id)
        assert registry.open_details(resident, ctx.registry_keys).given_names == "María José"
