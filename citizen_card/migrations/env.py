"""Alembic environment: run migrations on the app's engine, inside its app context."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from alembic import context
from flask import current_app
from sqlalchemy.engine import Connection

target_db = current_app.extensions["migrate"].db
target_metadata = target_db.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=target_db.engine.url.render_as_string(hide_password=False),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    with target_db.engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            # SQLite alters tables by copying them; batch mode does that for us.
            render_as_batch=True,
            compare_type=True,
        )
        with _sqlite_foreign_keys_off(connection), context.begin_transaction():
            context.run_migrations()


@contextmanager
def _sqlite_foreign_keys_off(connection: Connection) -> Iterator[None]:
    """Batch mode drops and re-creates a table; with foreign keys on, SQLite's implicit
    DELETE of the old table would cascade to every row that refers to it (sessions and
    API tokens of a rebuilt staff table). SQLite's own recipe: keys off outside the
    transaction, check them after, keys on again."""
    if connection.dialect.name != "sqlite":
        yield
        return
    # The pragma is a no-op inside a transaction, so it goes to the driver before one.
    raw = connection.connection.driver_connection
    raw.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
        broken = raw.execute("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"the migration left rows with broken foreign keys: {broken}")
    finally:
        raw.execute("PRAGMA foreign_keys=ON")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
