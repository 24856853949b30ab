"""Migration 0002_places: the editor role joins the staff table without losing a row."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from citizen_card import create_app
from citizen_card.config import Settings
from citizen_card.extensions import db
from citizen_card.paths import MIGRATIONS

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC).replace(tzinfo=None)


def _counts() -> dict[str, int]:
    tables = ("staff", "api_token", "staff_session", "audit_event")
    counts = {
        table: db.session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()  # noqa: S608 -- fixed table names
        for table in tables
    }
    # End the read transaction: on SQLite it holds the write lock a migration needs.
    db.session.commit()
    return counts


def test_staff_rows_and_their_dependants_survive_the_role_change(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    app: Flask = create_app(settings)
    with app.app_context():
        upgrade(directory=str(MIGRATIONS), revision="0001")
        db.session.execute(
            text(
                "INSERT INTO staff (id, username, role, password_hash, must_change_password,"
                " active, created_at, password_changed_at)"
                " VALUES (1, 'clerk-1', 'clerk', 'x', false, true, :now, :now)"
            ),
            {"now": NOW},
        )
        db.session.execute(
            text(
                "INSERT INTO api_token (token_hash, staff_id, created_at) VALUES (:hash, 1, :now)"
            ),
            {"hash": b"\x01" * 32, "now": NOW},
        )
        db.session.execute(
            text(
                "INSERT INTO staff_session (token_hash, staff_id, created_at, last_seen_at)"
                " VALUES (:hash, 1, :now, :now)"
            ),
            {"hash": b"\x02" * 32, "now": NOW},
        )
        db.session.execute(
            text(
                "INSERT INTO audit_event (seq, at, actor_id, actor_ref, action, target_type,"
                " target_ref, detail, prev_hash, hash)"
                " VALUES (1, :now, 1, 'staff:1', 'staff.create', 'staff', '1', '{}', :h, :h)"
            ),
            {"now": NOW, "h": b"\x00" * 32},
        )
        db.session.commit()
        before = _counts()

        upgrade(directory=str(MIGRATIONS))
        # SQLite rebuilt the staff table: nothing that refers to it was cascaded away.
        assert _counts() == before
        assert db.session.execute(text("SELECT actor_id FROM audit_event")).scalar_one() == 1
        assert db.session.execute(text("SELECT role FROM staff")).scalar_one() == "clerk"
        db.session.execute(
            text(
                "INSERT INTO staff (id, username, role, password_hash, must_change_password,"
                " active, created_at, password_changed_at)"
                " VALUES (2, 'editor-1', 'editor', 'x', false, true, :now, :now)"
            ),
            {"now": NOW},
        )
        db.session.commit()
        with pytest.raises(IntegrityError):
            db.session.execute(text("UPDATE staff SET role = 'owner' WHERE id = 2"))
        db.session.rollback()

        # The old schema has no editor: the downgrade says so instead of breaking rows.
        # (Flask-Migrate logs the error and exits.)
        with pytest.raises(SystemExit):
            downgrade(directory=str(MIGRATIONS), revision="0001")
        assert "1 editor account(s) exist" in caplog.text
        db.session.rollback()
        db.session.execute(text("DELETE FROM staff WHERE id = 2"))
        db.session.commit()
        downgrade(directory=str(MIGRATIONS), revision="0001")
        assert _counts() == before
        tables = set(db.inspect(db.engine).get_table_names())
        assert "place" not in tables and "place_join_request" not in tables
        db.session.remove()
        db.engine.dispose()
