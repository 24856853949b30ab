"""How the service uses its databases: SQLite connection settings, and making deletions final.

Deleting a row does not remove its bytes from the files. SQLite keeps the old page images
in the write-ahead log until a checkpoint, and leaves deleted cells and freed pages as they
were; PostgreSQL keeps a deleted row version in the table's file until the space is reused.
For data that must really be gone (a resident's data key, their sealed record) the service
asks for more:

- every SQLite connection runs with ``secure_delete``, so freed space in the pages it writes
  is overwritten with zeros;
- after a commit that erased someone, :func:`make_deletions_final` checkpoints the SQLite
  write-ahead log into the database file and truncates it to nothing, and rewrites the
  PostgreSQL key store table (``VACUUM FULL``) so that its file holds no dead row.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import OperationalError

log = logging.getLogger(__name__)

# How long a writer waits for the SQLite write lock before giving up.
SQLITE_BUSY_TIMEOUT_MS = 30000
CHECKPOINT_ATTEMPTS = 5
# A key store table rewrite waits this long for its lock, then leaves the job to the purge.
VACUUM_LOCK_TIMEOUT = "10s"


def is_sqlite_connection(dbapi_connection: Any) -> bool:
    return type(dbapi_connection).__module__.startswith("sqlite3")


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    if not is_sqlite_connection(dbapi_connection):
        return
    # Let SQLAlchemy, not pysqlite, decide when a transaction starts (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    # Zeros over deleted content, in b-tree cells and freed pages alike: an erased record
    # must not live on in the free space of the file.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn: Any) -> None:
    if conn.dialect.name == "sqlite":
        # Take the write lock up front: a deferred transaction that reads and then writes
        # fails at once with "database is locked" when another writer got in between.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_deletions_final(engine: Engine, *, rewrite_tables: Sequence[str] = ()) -> bool:
    """Make the files of ``engine``'s database forget what committed deletions removed.

    SQLite: checkpoint the write-ahead log into the database file and truncate it (its
    frames hold the pages as they were before the deletion). PostgreSQL: rewrite each of
    ``rewrite_tables`` into a fresh file (``VACUUM FULL``), which leaves no dead row
    version behind; only small tables (the key store) are named here.

    Call it outside any transaction on ``engine``. Returns False when the work could not
    be finished now (a reader held the log, or the table stayed locked); the daily purge
    calls it again, so the failure is logged, not raised.
    """
    if engine.dialect.name == "sqlite":
        return _checkpoint_sqlite(engine)
    if engine.dialect.name == "postgresql" and rewrite_tables:
        return _rewrite_postgres_tables(engine, rewrite_tables)
    return True


def _checkpoint_sqlite(engine: Engine) -> bool:
    for attempt in range(CHECKPOINT_ATTEMPTS):
        with engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            assert raw is not None  # noqa: S101 — a checked-out connection has one
            # Straight on the driver connection: no BEGIN, a checkpoint runs outside any
            # transaction. It waits (busy_timeout) for readers still on older frames.
            busy, _log_frames, _done = raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy == 0:
            return True
        time.sleep(0.05 * (attempt + 1))
    log.warning("write-ahead log checkpoint incomplete after an erasure; the purge retries it")
    return False


def _rewrite_postgres_tables(engine: Engine, tables: Sequence[str]) -> bool:
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f"SET lock_timeout = '{VACUUM_LOCK_TIMEOUT}'")
            for table in tables:
                # A table name from our own metadata, never from input.
                conn.exec_driver_sql(f'VACUUM FULL "{table}"')
    except OperationalError as exc:
        log.warning(
            "key store rewrite after an erasure failed (%s); the purge retries it",
            type(exc.orig).__name__,
        )
        return False
    return True


__all__ = ["is_sqlite_connection", "make_deletions_final"]
