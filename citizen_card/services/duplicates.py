"""Registering someone who may be registered already: ask before saving.

A likely duplicate is a resident with the same name tokens (in any order, accents and
case aside, so given and family names swapped count too) and the same date of birth
(both unknown counts as the same). The candidates are found on blind indexes, then
opened and compared; a check that finds someone is a look into the registry and is
audited like a search, and shows no more than a search would (:class:`search.SearchHit`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from citizen_card.models import Resident, Staff
from citizen_card.services import audit, privacy, registry, search
from citizen_card.services.errors import N_, Conflict
from citizen_card.services.keystore import MissingDataKey
from citizen_card.services.types import DbSession

CANDIDATE_LIMIT = 20


class LikelyDuplicate(Conflict):
    """The resident seems registered already; ``hits`` says who, as a search shows them."""

    def __init__(self, hits: list[search.SearchHit]) -> None:
        super().__init__(
            N_(
                "A resident with the same names and date of birth is registered already. "
                "Check that it is not the same person before registering again."
            ),
            "likely_duplicate",
        )
        self.hits = hits


def _name_key(details: registry.ResidentDetails) -> tuple[str, ...]:
    return tuple(sorted(privacy.normalise_name(f"{details.given_names} {details.family_names}")))


def likely_duplicates(
    session: DbSession,
    details: registry.ResidentDetails,
    *,
    keys: registry.RegistryKeys,
    actor: Staff | None,
    now: datetime,
) -> list[search.SearchHit]:
    """Residents who look like the one about to be registered. A check that finds
    someone is audited as a search (how many, never who or what was typed)."""
    wanted = _name_key(details)
    digests = [privacy.blind_index(keys.blind_index_key, token) for token in set(wanted)]
    if not digests:
        return []
    candidate_ids = list(session.scalars(search.residents_with_all(digests, CANDIDATE_LIMIT)))
    candidates = session.scalars(select(Resident).where(Resident.id.in_(candidate_ids)))
    same: list[int] = []
    for resident in candidates:
        try:
            other = registry.open_details(resident, keys)
        except MissingDataKey:  # erased a moment ago: its key is gone
            continue
        if _name_key(other) == wanted and other.date_of_birth == details.date_of_birth:
            same.append(resident.id)
    if not same:
        return []
    hits = search.hits_for(session, same, keys=keys, now=now)
    audit.record(
        session,
        actor=actor,
        action=search.SEARCH_ACTION,
        target_type="residents",
        target_ref="duplicate-check",
        now=now,
        detail={"results": len(hits)},
    )
    return hits


def register_new(
    session: DbSession,
    details: registry.ResidentDetails,
    *,
    keys: registry.RegistryKeys,
    actor: Staff | None,
    now: datetime,
    confirm_duplicate: bool = False,
    evidence: Any = None,
    photo: bytes | registry.PreparedPhoto | None = None,
    policy: registry.RegistryPolicy | None = None,
) -> Resident:
    """Register a resident (:func:`registry.register`), unless someone like them is
    registered already and the clerk has not said it is another person.

    :raises LikelyDuplicate: with the look-alikes, before anything is saved; the audit
        event of the check is in the session: commit it.
    :raises ValidationFailed: as :func:`registry.register`.
    """
    if not confirm_duplicate:
        hits = likely_duplicates(session, details, keys=keys, actor=actor, now=now)
        if hits:
            raise LikelyDuplicate(hits)
    return registry.register(
        session,
        details,
        keys=keys,
        actor=actor,
        now=now,
        evidence=evidence,
        photo=photo,
        policy=policy,
    )


__all__ = ["LikelyDuplicate", "likely_duplicates", "register_new"]
