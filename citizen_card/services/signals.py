"""Announcing publication changes: a card's status, a signing key.

Services call :func:`status_changed` or :func:`keys_changed` in the transaction that
makes the change. After that transaction commits, a stamp file in the instance folder is
rewritten; verifier backends in every worker process on the host watch its modification
time (see :mod:`citizen_card.services.publication`).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from sqlalchemy import event, update
from sqlalchemy.orm import Session

from citizen_card.models import StatusList
from citizen_card.services.types import DbSession

STAMP_NAME = "publication.stamp"
SESSION_FLAG = "citizen_card.publication_changed"

# Stamp files by database URL: the after-commit hook knows only the session's engine.
_STAMPS: dict[str, Path] = {}


def register_stamp(engine_url: str, instance_path: Path) -> Path:
    path = instance_path / STAMP_NAME
    _STAMPS[engine_url] = path
    return path


def _flag(session: DbSession) -> None:
    session.info[SESSION_FLAG] = str(session.get_bind().engine.url)


def status_changed(session: DbSession, status_list_id: int) -> None:
    """Record, in the caller's transaction, that a card status in this list changed."""
    session.execute(
        update(StatusList)
        .where(StatusList.id == status_list_id)
        .values(generation=StatusList.generation + 1)
    )
    _flag(session)


def keys_changed(session: DbSession) -> None:
    """Record, in the caller's transaction, that a signing key was made, retired or revoked."""
    _flag(session)


@event.listens_for(Session, "after_commit")
def _touch_stamp(session: Session) -> None:
    url = session.info.pop(SESSION_FLAG, None)
    path = _STAMPS.get(url) if url else None
    if path is not None:
        # Write-then-rename: readers never see a half-written stamp.
        tmp = path.with_suffix(".tmp")
        tmp.write_text(f"{time.time_ns()}\n")
        os.replace(tmp, path)


@event.listens_for(Session, "after_rollback")
def _forget_flag(session: Session) -> None:
    session.info.pop(SESSION_FLAG, None)
