"""What the issuer publishes for verifiers: keys and signed status lists.

Status changes are announced here (:func:`status_changed`) in the transaction that makes
them; verifiers in every worker process rebuild their in-memory copy when the
generation moves.
"""

from __future__ import annotations

from sqlalchemy import update

from citizen_card.models import StatusList
from citizen_card.services.types import DbSession

SESSION_FLAG = "citizen_card.status_changed"


def status_changed(session: DbSession, status_list_id: int) -> None:
    """Record, in the caller's transaction, that a card status in this list changed."""
    session.execute(
        update(StatusList)
        .where(StatusList.id == status_list_id)
        .values(generation=StatusList.generation + 1)
    )
    session.info[SESSION_FLAG] = True
