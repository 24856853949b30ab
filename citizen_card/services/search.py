"""Finding residents: blind-index search that is audited, narrow and counted.

A search is a look into the registry, so it is accountable like reading a record: every
search writes an audit event (who, when, how many results; never the words searched),
and the auditor sees how many searches each account makes per day, so a clerk quietly
walking the alphabet stands out. The views limit searches per account and hour.

Results show what tells people apart at the counter (the name as printed and its Latin
form, the photo, the current card and its state, the registration date), never a date of
birth or a contact: reading those stays a separate, audited action (:func:`registry.view`).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select

from citizen_card.models import AuditEvent, Card, Resident, ResidentNameToken, Staff
from citizen_card.services import audit, privacy, registry
from citizen_card.services.types import DbSession
from verify.cardnumber import InvalidCardNumber, format_card_number, normalize_card_number

SEARCH_LIMIT = 50
QUERY_MAX = 200
SEARCH_ACTION = "resident.search"


@dataclass(frozen=True)
class SearchHit:
    """One resident in a result list."""

    public_id: str
    printed_name: str
    latin_name: str | None
    registered_at: datetime
    has_photo: bool
    card_number: str | None  # the newest card, printed form
    card_state: str | None  # active, suspended, revoked or expired


def _newest_cards(session: DbSession, resident_ids: list[int]) -> dict[int, Card]:
    newest: dict[int, Card] = {}
    if not resident_ids:
        return newest
    cards = session.scalars(
        select(Card).where(Card.resident_id.in_(resident_ids)).order_by(Card.id.desc())
    )
    for card in cards:
        assert card.resident_id is not None  # noqa: S101 — selected by resident
        newest.setdefault(card.resident_id, card)
    return newest


def residents_with_all(digests: list[bytes], limit: int) -> Select[Any]:
    """Ids of residents indexed under every one of ``digests``."""
    return (
        select(ResidentNameToken.resident_id)
        .where(ResidentNameToken.digest.in_(digests))
        .group_by(ResidentNameToken.resident_id)
        .having(func.count(func.distinct(ResidentNameToken.digest)) == len(digests))
        .limit(limit)
    )


def _card_holder(query: str) -> Select[Any] | None:
    """The resident holding the card whose number ``query`` is, in any printed form
    (dashes or spaces, any case, I and L for 1, O for 0), or None when it is not one."""
    try:
        number = normalize_card_number(query.strip())
    except InvalidCardNumber:
        return None
    return select(Card.resident_id).where(Card.number == number, Card.resident_id.is_not(None))


def matching_ids(
    session: DbSession, query: str, *, keys: registry.RegistryKeys, limit: int = SEARCH_LIMIT
) -> list[int]:
    """Ids of residents whose names hold every word of ``query`` (as a word or a word
    start, in any order), or those words written together, or who hold the card whose
    number ``query`` is. Blind indexes and card numbers only: no name is opened."""
    query = query[:QUERY_MAX]
    wanted: list[Select[Any]] = []
    digests = privacy.query_digests(keys.blind_index_key, query)
    if digests:
        wanted.append(residents_with_all(digests, limit))
    joined = privacy.joined_query_digest(keys.blind_index_key, query)
    if joined is not None:
        wanted.append(residents_with_all([joined], limit))
    holder = _card_holder(query)
    if holder is not None:
        wanted.append(holder)
    ids: set[int] = set()
    for statement in wanted:  # apart, not a UNION: SQLite takes no LIMIT inside one
        ids.update(session.scalars(statement))
    return sorted(ids)[:limit]


def hits_for(
    session: DbSession, ids: list[int], *, keys: registry.RegistryKeys, now: datetime
) -> list[SearchHit]:
    """What a result list shows of these residents (their names opened), by name.

    Not audited here: the caller records the look (:func:`find`, a duplicate check)."""
    residents = list(session.scalars(select(Resident).where(Resident.id.in_(ids)))) if ids else []
    wrapped = keys.keystore.get_many(r.public_id for r in residents)
    cards = _newest_cards(session, [r.id for r in residents])
    hits = []
    for resident in residents:
        if resident.public_id not in wrapped:
            continue  # erased a moment ago: its key is gone
        details = registry.open_details(resident, keys, wrapped[resident.public_id])
        card = cards.get(resident.id)
        hits.append(
            SearchHit(
                public_id=resident.public_id,
                printed_name=details.printed_name,
                latin_name=details.latin_name,
                registered_at=resident.created_at,
                has_photo=resident.photo_sealed is not None,
                card_number=format_card_number(card.number) if card else None,
                card_state=card.state_at(now) if card else None,
            )
        )
    return sorted(hits, key=lambda hit: hit.printed_name.casefold())


def find(
    session: DbSession,
    query: str,
    *,
    keys: registry.RegistryKeys,
    actor: Staff | None,
    now: datetime,
    limit: int = SEARCH_LIMIT,
) -> list[SearchHit]:
    """Residents whose names match ``query`` (:func:`matching_ids`), or who hold the
    card whose number it is.

    Matching happens on blind indexes only; the names of the hits are opened to show
    them. "Garcia" finds "García"; word order does not matter; "李小龙" finds "李 小龙".
    The search is audited with the number of results, in the caller's transaction.
    """
    ids = matching_ids(session, query, keys=keys, limit=limit)
    hits = hits_for(session, ids, keys=keys, now=now)
    audit.record(
        session,
        actor=actor,
        action=SEARCH_ACTION,
        target_type="residents",
        target_ref="search",
        now=now,
        # How many, never what: the words searched are personal data.
        detail={"results": len(hits)},
    )
    return hits


@dataclass(frozen=True)
class SearchCount:
    day: date
    staff_ref: str
    username: str | None
    searches: int
    results: int


def daily_counts(session: DbSession, *, now: datetime, days: int = 30) -> list[SearchCount]:
    """Searches (and results seen) per staff account and day over the last ``days``,
    newest day first, busiest account first."""
    rows = session.execute(
        select(func.date(AuditEvent.at), AuditEvent.actor_ref, Staff.username, AuditEvent.detail)
        .outerjoin(Staff, Staff.id == AuditEvent.actor_id)
        .where(AuditEvent.action == SEARCH_ACTION, AuditEvent.at >= now - timedelta(days=days))
    )
    searches: Counter[tuple[str, str, str | None]] = Counter()
    results: Counter[tuple[str, str, str | None]] = Counter()
    for day, actor_ref, username, detail in rows:
        # func.date gives a date on PostgreSQL and ISO text on SQLite.
        key = (str(day), actor_ref, username)
        searches[key] += 1
        seen = json.loads(detail).get("results", 0)
        results[key] += seen if isinstance(seen, int) else 0
    counts = [
        SearchCount(date.fromisoformat(day), actor_ref, username, n, results[key])
        for key, n in searches.items()
        for day, actor_ref, username in [key]
    ]
    return sorted(counts, key=lambda c: (-c.day.toordinal(), -c.searches, c.staff_ref))


__all__ = [
    "SEARCH_LIMIT",
    "SearchCount",
    "SearchHit",
    "daily_counts",
    "find",
    "hits_for",
    "matching_ids",
    "residents_with_all",
]
