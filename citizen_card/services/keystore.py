"""The residents' data keys, kept apart from the database that holds their ciphertext.

Crypto-shredding only works if destroying a key destroys every copy. A key stored in the
main database would live on in its backups; here the keys sit in a separate store (by
default ``instance/keystore.sqlite3``; for several hosts, a separate PostgreSQL database
with short backup retention). Erasing a resident deletes the key here, so a backup of
the main database taken before the erasure can no longer be read for that person.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from functools import cache

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Engine,
    LargeBinary,
    MetaData,
    String,
    Table,
    create_engine,
    delete,
    insert,
    select,
)

from citizen_card.database import (
    DEFERRED,
    IMMEDIATE,
    KEYSTORE_LOCK_TIMEOUT_MS,
    lock_timeout_connect_args,
    make_deletions_final,
)

metadata = MetaData()
data_key = Table(
    "data_key",
    metadata,
    Column("ref", String(32), primary_key=True),
    Column("wrapped", LargeBinary, nullable=False),
    Column("created_at", DateTime, nullable=False),
)


class MissingDataKey(LookupError):
    """The record's key is gone: the record was erased (or the store is not the right one)."""


class KeyStore:
    """A table of wrapped data keys, one per record reference."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        metadata.create_all(engine)

    def _reading(self) -> Connection:
        # Reads never take the key store's write lock (see citizen_card.database).
        return self.engine.connect().execution_options(sqlite_begin=DEFERRED)

    def _writing(self) -> Connection:
        return self.engine.connect().execution_options(sqlite_begin=IMMEDIATE)

    def put(self, ref: str, wrapped: bytes) -> None:
        # Committed at once and on its own: a key must exist before any ciphertext that
        # needs it is committed. A key left behind by a failed registration is swept.
        with self._writing() as conn, conn.begin():
            conn.execute(
                insert(data_key).values(
                    ref=ref, wrapped=wrapped, created_at=datetime.now(UTC).replace(tzinfo=None)
                )
            )

    def get(self, ref: str) -> bytes:
        with self._reading() as conn:
            wrapped = conn.execute(
                select(data_key.c.wrapped).where(data_key.c.ref == ref)
            ).scalar_one_or_none()
        if wrapped is None:
            raise MissingDataKey(ref)
        return bytes(wrapped)

    def get_many(self, refs: Iterable[str]) -> dict[str, bytes]:
        """Keys of several records in one query (records without a key are left out)."""
        refs = list(refs)
        if not refs:
            return {}
        with self._reading() as conn:
            rows = conn.execute(
                select(data_key.c.ref, data_key.c.wrapped).where(data_key.c.ref.in_(refs))
            )
            return {ref: bytes(wrapped) for ref, wrapped in rows}

    def delete(self, refs: Iterable[str]) -> bool:
        """Destroy the keys of ``refs``, in the table and in the files under it.

        Returns False when the files could not be cleaned at once (see
        :func:`citizen_card.database.make_deletions_final`); the keys are deleted anyway.
        """
        refs = list(refs)
        if not refs:
            return True
        with self._writing() as conn, conn.begin():
            conn.execute(delete(data_key).where(data_key.c.ref.in_(refs)))
        return self.make_deletions_final()

    def make_deletions_final(self) -> bool:
        """Leave no copy of a deleted key in the store's files (log, dead rows)."""
        return make_deletions_final(self.engine, rewrite_tables=[data_key.name])

    def refs(self, older_than: timedelta | None = None) -> set[str]:
        query = select(data_key.c.ref)
        if older_than is not None:
            cutoff = (datetime.now(UTC) - older_than).replace(tzinfo=None)
            query = query.where(data_key.c.created_at < cutoff)
        with self._reading() as conn:
            return set(conn.execute(query).scalars())


@cache
def open_keystore(url: str) -> KeyStore:
    """One store (and one connection pool) per URL for the life of the process."""
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    connect_args = lock_timeout_connect_args(url, KEYSTORE_LOCK_TIMEOUT_MS)
    return KeyStore(create_engine(url, connect_args=connect_args))
