"""Services asking to be listed in the places directory, and editors' decisions.

A request holds what the public page would show and how to reach the person who sent
it. That contact (and their message) is deleted at the decision: accepting makes an
unpublished place from the request, rejecting keeps only that it was rejected. The
database refuses a decided request that still holds a contact. Requests nobody decided
within ``STALE_AFTER`` are closed by ``citizen-card purge``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from citizen_card.models import Place, PlaceJoinRequest, Staff
from citizen_card.services import audit, places
from citizen_card.services.errors import N_, DomainError, NotFound
from citizen_card.services.places import FieldProblem, Languages, PlaceInvalid
from citizen_card.services.types import DbSession

# A flood from many addresses must not fill the database: past this many waiting
# requests, new ones are refused until editors catch up.
MAX_PENDING = 500
STALE_AFTER = timedelta(days=90)
CONTACT_LIMITS = {"contact_name": 150, "contact_email": 254, "contact_phone": 40, "message": 2000}
CONTACT_LABELS = {
    "contact_name": N_("Your name"),
    "contact_email": N_("E-mail address"),
    "contact_phone": N_("Phone number"),
    "message": N_("Message"),
}
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class JoinRequestNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__(N_("No such request."), "join_request_not_found")


class TooManyRequests(DomainError):
    status = 503

    def __init__(self) -> None:
        super().__init__(
            N_("Too many requests are waiting. Please try again in a few days."),
            "join_requests_full",
        )


def _problem(message: str, code: str, name: str, **params: Any) -> FieldProblem:
    return FieldProblem(message, code, name, label=CONTACT_LABELS[name], **params)


def _contact(raw: Mapping[str, Any], problems: list[FieldProblem]) -> dict[str, str | None]:
    values: dict[str, str | None] = {}
    for name, limit in CONTACT_LIMITS.items():
        value = raw.get(name)
        text = value.strip() if isinstance(value, str) else ""
        if name != "message":
            text = " ".join(text.split())
        if len(text) > limit:
            problems.append(
                _problem(
                    N_("%(label)s must be %(count)d characters or fewer."),
                    "too_long",
                    name,
                    count=limit,
                )
            )
        values[name] = text or None
    if not values["contact_name"]:
        problems.append(_problem(N_("Enter your name."), "required", "contact_name"))
    email, phone = values["contact_email"], values["contact_phone"]
    if email and not _EMAIL.fullmatch(email):
        problems.append(
            _problem(
                N_("Enter an e-mail address like name@example.org."), "invalid", "contact_email"
            )
        )
    if not email and not phone:
        problems.append(
            _problem(
                N_("Enter an e-mail address or a phone number, so we can answer you."),
                "required",
                "contact_email",
            )
        )
    return values


def submit(
    session: DbSession,
    raw: Mapping[str, Any],
    *,
    language: str,
    languages: Languages,
    now: datetime,
) -> PlaceJoinRequest:
    """Store a service's request to be listed, to wait for an editor.

    :raises PlaceInvalid: the place or the contact is wrong (every problem listed).
    :raises TooManyRequests: ``MAX_PENDING`` requests are already waiting.
    """
    language = language if language in languages.available else languages.default
    # The service writes in the visitor's language; it becomes the place's text there.
    place_raw = {
        key: raw.get(key) for key in ("category", "address", "opening_hours", "phone", "website")
    }
    for name in places.TEXT_FIELDS:
        place_raw[f"{name}_{languages.default}"] = raw.get("name") if name == "name" else None
        place_raw[f"{name}_{language}"] = raw.get(name)
    problems: list[FieldProblem] = []
    values = None
    try:
        values = places.validate(place_raw, languages)
    except PlaceInvalid as exc:
        # The name goes in two languages; a problem with it is said once.
        for problem in map(_plain_field, exc.problems):
            if not any((p.field, p.code) == (problem.field, problem.code) for p in problems):
                problems.append(problem)
    contact = _contact(raw, problems)
    if problems or values is None:
        raise PlaceInvalid(problems)
    waiting = session.execute(
        select(func.count(PlaceJoinRequest.id)).where(PlaceJoinRequest.status == "pending")
    ).scalar_one()
    if waiting >= MAX_PENDING:
        raise TooManyRequests()
    texts = values.texts.get(language) or values.texts[languages.default]
    request = PlaceJoinRequest(
        status="pending",
        language=language,
        name=texts.name or values.texts[languages.default].name,
        category=values.category,
        address=values.address,
        benefit=texts.benefit,
        opening_hours=values.opening_hours,
        phone=values.phone,
        website=values.website,
        created_at=now,
        **contact,
    )
    session.add(request)
    session.flush()
    audit.record(
        session,
        actor=None,
        action="place_request.create",
        target_type="place_request",
        target_ref=request.id,
        now=now,
    )
    return request


def _plain_field(problem: FieldProblem) -> FieldProblem:
    """The public form has one field per text: "name", not "name_fr"."""
    if problem.language is None or problem.field is None:
        return problem
    params = {key: value for key, value in problem.params.items() if key != "label"}
    base = problem.field.rsplit("_", 1)[0]
    return FieldProblem(problem.template, problem.code, base, label=problem.label, **params)


def pending(session: DbSession) -> list[PlaceJoinRequest]:
    """Requests waiting for a decision, oldest first."""
    statement = (
        select(PlaceJoinRequest)
        .where(PlaceJoinRequest.status == "pending")
        .order_by(PlaceJoinRequest.created_at, PlaceJoinRequest.id)
    )
    return list(session.execute(statement).scalars())


def count_pending(session: DbSession) -> int:
    return int(
        session.execute(
            select(func.count(PlaceJoinRequest.id)).where(PlaceJoinRequest.status == "pending")
        ).scalar_one()
    )


def _forget_contact(request: PlaceJoinRequest, status: str, now: datetime) -> None:
    request.status = status
    request.decided_at = now
    request.contact_name = request.contact_email = request.contact_phone = None
    request.message = None


def decide(
    session: DbSession,
    request_id: int,
    *,
    accept: bool,
    languages: Languages,
    actor: Staff | None,
    now: datetime,
) -> tuple[PlaceJoinRequest, Place | None, bool]:
    """Accept (an unpublished place is made from the request) or reject a request; the
    requester's contact is deleted either way. Returns the request, the new place, and
    whether this call decided it (False when it was already decided).

    :raises JoinRequestNotFound:
    """
    request = session.execute(
        select(PlaceJoinRequest).where(PlaceJoinRequest.id == request_id).with_for_update()
    ).scalar_one_or_none()
    if request is None:
        raise JoinRequestNotFound()
    if request.status != "pending":
        place = session.get(Place, request.place_id) if request.place_id else None
        return request, place, False
    place = None
    if accept:
        raw: dict[str, Any] = {
            "category": request.category,
            "address": request.address,
            "opening_hours": request.opening_hours,
            "phone": request.phone,
            "website": request.website,
            f"name_{languages.default}": request.name,
            f"name_{request.language}": request.name,
            f"benefit_{request.language}": request.benefit,
        }
        values = places.validate(raw, languages)
        place = places.create_place(
            session, values, languages=languages, actor=actor, now=now, source="request"
        )
        request.place_id = place.id
    _forget_contact(request, "accepted" if accept else "rejected", now)
    audit.record(
        session,
        actor=actor,
        action="place_request.accept" if accept else "place_request.reject",
        target_type="place_request",
        target_ref=request.id,
        now=now,
        detail={"place": place.id} if place is not None else None,
    )
    return request, place, True


def close_stale(session: DbSession, *, now: datetime) -> int:
    """Reject requests waiting longer than ``STALE_AFTER``, deleting their contacts."""
    result = session.execute(
        update(PlaceJoinRequest)
        .where(
            PlaceJoinRequest.status == "pending",
            PlaceJoinRequest.created_at < now - STALE_AFTER,
        )
        .values(
            status="rejected",
            decided_at=now,
            contact_name=None,
            contact_email=None,
            contact_phone=None,
            message=None,
        )
    )
    closed = int(getattr(result, "rowcount", 0))
    if closed:
        audit.record(
            session,
            actor=None,
            action="place_request.expire",
            target_type="place_request",
            target_ref="stale",
            now=now,
            detail={"count": closed},
        )
    return int(closed)
