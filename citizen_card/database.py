"""How the service uses its databases: transactions and locks, and making deletions final.

**Transactions on SQLite.** SQLite has one writer at a time. A transaction that only
reads must never take the write lock (readers in WAL mode never wait for writers), and a
transaction that will write should take it at its start (``BEGIN IMMEDIATE``): a deferred
transaction that reads and then writes fails at once with "database is locked" when
another writer committed in between. So every transaction says what it is:

- a request whose method writes (POST, PUT, PATCH, DELETE), or whose view is marked with
  :func:`writes` (a GET that records an audit event), begins ``IMMEDIATE``;
- every other request, and any connection opened with ``execution_options(
  sqlite_begin="DEFERRED")`` (the verifier backend's reads), begins deferred and never
  holds the write lock;
- outside a request (commands, background work) a transaction begins ``IMMEDIATE``
  unless the code says it only reads (:func:`reading`);
- a writer waits at most ``DATABASE_LOCK_TIMEOUT_MS`` (5 s) for the lock; then the request
  ends with 503 and ``Retry-After`` (wiring.py), never a 30-second hang. PostgreSQL
  connections get the same bound as ``lock_timeout``.

Work that takes time (decoding a photo, drawing sheets of cards) happens before or after
the write transaction, not inside it.

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
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from sqlalchemy import Engine, event
from sqlalchemy.exc import OperationalError

log = logging.getLogger(__name__)

# How long the key store waits for a lock; the main database's wait is a setting
# (DATABASE_LOCK_TIMEOUT_MS), passed as pysqlite's timeout or PostgreSQL's lock_timeout.
KEYSTORE_LOCK_TIMEOUT_MS = 5000


def lock_timeout_connect_args(url: str, timeout_ms: int) -> dict[str, Any]:
    """Connection arguments that bound every lock wait to ``timeout_ms``."""
    if url.startswith("sqlite"):
        return {"timeout": timeout_ms / 1000}  # pysqlite's timeout is SQLite's busy timeout
    return {"options": f"-c lock_timeout={int(timeout_ms)}"}


IMMEDIATE = "IMMEDIATE"
DEFERRED = "DEFERRED"
# Outside a request (commands, background work, tests) a transaction takes the lock up
# front, the safe choice when nothing says it only reads.
_begin_mode: ContextVar[str] = ContextVar("citizen_card_sqlite_begin", default=IMMEDIATE)
F = TypeVar("F", bound=Callable[..., Any])
WRITES_MARK = "citizen_card_writes"
CHECKPOINT_ATTEMPTS = 5
# A key store table rewrite waits this long for its lock, then leaves the job to the purge;
# it is tried this many times while an older transaction still sees the deleted rows.
VACUUM_LOCK_TIMEOUT = "10s"
REWRITE_ATTEMPTS = 10


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
    # Zeros over deleted content, in b-tree cells and freed pages alike: an erased record
    # must not live on in the free space of the file.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn: Any) -> None:
    if conn.dialect.name != "sqlite":
        return
    mode = conn.get_execution_options().get("sqlite_begin") or _begin_mode.get()
    conn.exec_driver_sql("BEGIN IMMEDIATE" if mode == IMMEDIATE else "BEGIN")


def writes(view: F) -> F:
    """Mark a view that writes although its method is GET (an audited reading): its
    transaction takes the SQLite write lock at its start."""
    setattr(view, WRITES_MARK, True)
    return view


def view_writes(view: Callable[..., Any] | None) -> bool:
    """True when ``view`` (or a function it wraps) is marked with :func:`writes`."""
    while view is not None:
        if getattr(view, WRITES_MARK, False):
            return True
        view = getattr(view, "__wrapped__", None)
    return False


def set_request_mode(will_write: bool) -> None:
    """How the transactions of the current request (or thread) begin on SQLite."""
    _begin_mode.set(IMMEDIATE if will_write else DEFERRED)


def reset_request_mode() -> None:
    """Back to the default once a request is over (threads serve many requests)."""
    _begin_mode.set(IMMEDIATE)


@contextmanager
def reading() -> Iterator[None]:
    """Transactions begun inside only read: they never take the SQLite write lock (work
    outside a request that reads for long, such as drawing a print job's sheets)."""
    token = _begin_mode.set(DEFERRED)
    try:
        yield
    finally:
        _begin_mode.reset(token)


def is_lock_timeout(exc: BaseException) -> bool:
    """True for "the database is busy" errors: SQLite's lock wait ran out, or a
    PostgreSQL lock_timeout."""
    orig = getattr(exc, "orig", exc)
    if type(orig).__module__.startswith("sqlite3"):
        text = str(orig)
        return "database is locked" in text or "database table is locked" in text
    return getattr(orig, "sqlstate", None) == "55P03"  # lock_not_available


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


_NOT_REMOVABLE = re.compile(r"(\d+) dead row versions cannot be removed yet")


def _rewrite_postgres_tables(engine: Engine, tables: Sequence[str]) -> bool:
    """``VACUUM FULL`` each table until no dead row version is carried over.

    VACUUM FULL copies a deleted row into the new file when a transaction that began
    before the deletion might still see it ("dead row versions cannot be removed yet",
    in its VERBOSE report). Such a transaction ends within moments on the key store, so
    the rewrite is tried again a few times; if one still holds on, the purge retries.
    """
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f"SET lock_timeout = '{VACUUM_LOCK_TIMEOUT}'")
            raw: Any = conn.connection.dbapi_connection
            for table in tables:
                if not _rewrite_until_clean(conn, raw, table):
                    return False
    except OperationalError as exc:
        log.warning(
            "key store rewrite after an erasure failed (%s); the purge retries it",
            type(exc.orig).__name__,
        )
        return False
    return True


def _rewrite_until_clean(conn: Any, raw: Any, table: str) -> bool:
    kept: list[int] = []

    def notice(diagnostic: Any) -> None:
        found = _NOT_REMOVABLE.search(diagnostic.message_detail or "")
        if found:
            kept.append(int(found.group(1)))

    raw.add_notice_handler(notice)
    try:
        for attempt in range(REWRITE_ATTEMPTS):
            kept.clear()
            # A table name from our own metadata, never from input.
            conn.exec_driver_sql(f'VACUUM (FULL, VERBOSE) "{table}"')
            if not any(kept):
                return True
            time.sleep(0.1 * (attempt + 1))
    finally:
        raw.remove_notice_handler(notice)
    log.warning("an open transaction kept deleted key store rows; the purge retries it")
    return False


__all__ = [
    "is_lock_timeout",
    "is_sqlite_connection",
    "make_deletions_final",
    "reading",
    "reset_request_mode",
    "set_request_mode",
    "view_writes",
    "writes",
]
