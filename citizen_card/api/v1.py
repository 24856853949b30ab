"""JSON API v1 for counter systems. Same services as the pages, bearer tokens."""

from __future__ import annotations

from importlib import resources
from typing import Any

from flask import Blueprint, Response, request

from citizen_card import database
from citizen_card.api.common import ApiError, api_staff, bearer_required, json_object
from citizen_card.context import app_context
from citizen_card.extensions import db
from citizen_card.limits import enforce_search_limit
from citizen_card.services import duplicates, erasure, registry, search
from citizen_card.services.errors import N_, ValidationFailed, refuse_unknown_fields

bp = Blueprint("api_v1", __name__, url_prefix="/api/v1")

PHOTO_TYPES = {"image/jpeg", "image/png"}


def resident_json(record: registry.ResidentRecord) -> dict[str, Any]:
    return {
        "id": record.public_id,
        **record.details.to_json(),
        "printed_name": record.details.printed_name,
        "evidence": list(record.evidence),
        "has_photo": record.has_photo,
        "created_at": record.resident.created_at.isoformat(),
        "updated_at": record.resident.updated_at.isoformat(),
    }


@bp.get("/openapi.yaml")
def openapi() -> Response:
    text = resources.files("citizen_card.api").joinpath("openapi.yaml").read_text()
    return Response(text, mimetype="application/yaml")


@bp.post("/residents")
@bearer_required("clerk")
def create_resident() -> tuple[dict[str, Any], int]:
    ctx = app_context()
    body = json_object()
    evidence = body.pop("evidence", None)
    confirm = body.pop("confirm_duplicate", False)
    if not isinstance(confirm, bool):
        raise ValidationFailed(
            N_("confirm_duplicate is true or false."), "invalid", "confirm_duplicate"
        )
    details = registry.validate_details(body, ctx.registry_policy, today=ctx.now().date())
    staff = api_staff()
    try:
        resident = duplicates.register_new(
            db.session,
            details,
            keys=ctx.registry_keys,
            actor=staff,
            now=ctx.now(),
            confirm_duplicate=confirm,
            evidence=evidence,
        )
    except duplicates.LikelyDuplicate as exc:
        # The look-alikes are shown as a search shows them, and counted like one.
        enforce_search_limit(ctx.settings.search_rate_limit, staff.id)
        db.session.commit()  # the check's audit event
        body = {"error": exc.code, "message": exc.translated()}
        return body | {"residents": [hit_json(hit) for hit in exc.hits]}, exc.status
    db.session.commit()
    return {"id": resident.public_id}, 201


def hit_json(hit: search.SearchHit) -> dict[str, Any]:
    return {
        "id": hit.public_id,
        "printed_name": hit.printed_name,
        "latin_name": hit.latin_name,
        "registered_at": hit.registered_at.isoformat(),
        "has_photo": hit.has_photo,
        "card": (
            {"card_number": hit.card_number, "status": hit.card_state} if hit.card_number else None
        ),
    }


@bp.post("/residents/search")
@bearer_required("clerk")
def search_residents() -> dict[str, Any]:
    """Names travel in the body, never in the URL; every search is audited."""
    ctx = app_context()
    body = json_object()
    refuse_unknown_fields(body, ("q",))
    query = body.get("q")
    if not isinstance(query, str) or not query.strip():
        raise ApiError(400, "missing_query", N_('Give the name to search for in "q".'))
    if len(query) > search.QUERY_MAX:
        raise ValidationFailed(
            N_("Search for at most %(count)d characters."), "too_long", "q", count=search.QUERY_MAX
        )
    staff = api_staff()
    enforce_search_limit(ctx.settings.search_rate_limit, staff.id)
    hits = search.find(db.session, query, keys=ctx.registry_keys, actor=staff, now=ctx.now())
    db.session.commit()
    return {"residents": [hit_json(hit) for hit in hits]}


@bp.get("/residents/<public_id>")
@bearer_required("clerk")
@database.writes  # an audited reading: its transaction writes
def get_resident(public_id: str) -> dict[str, Any]:
    ctx = app_context()
    record = registry.view(
        db.session, public_id, keys=ctx.registry_keys, actor=api_staff(), now=ctx.now()
    )
    db.session.commit()
    return resident_json(record)


@bp.patch("/residents/<public_id>")
@bearer_required("clerk")
def update_resident(public_id: str) -> dict[str, Any]:
    ctx = app_context()
    resident = registry.get(db.session, public_id)
    registry.update(
        db.session,
        resident,
        json_object(),
        keys=ctx.registry_keys,
        policy=ctx.registry_policy,
        actor=api_staff(),
        now=ctx.now(),
    )
    db.session.commit()
    record = registry.ResidentRecord(
        resident,
        registry.open_details(resident, ctx.registry_keys),
        tuple(sorted({e.kind for e in resident.evidence})),
    )
    return resident_json(record)


@bp.delete("/residents/<public_id>")
@bearer_required("clerk")
def delete_resident(public_id: str) -> tuple[str, int]:
    ctx = app_context()
    resident = registry.get(db.session, public_id)
    erasure.erase(
        db.session,
        resident,
        keys=ctx.registry_keys,
        actor=api_staff(),
        now=ctx.now(),
        reason="request",
    )
    db.session.commit()
    return "", 204


@bp.get("/residents/<public_id>/export")
@bearer_required("clerk")
@database.writes  # an audited reading: its transaction writes
def export_resident(public_id: str) -> dict[str, Any]:
    ctx = app_context()
    data = registry.export(
        db.session, public_id, keys=ctx.registry_keys, actor=api_staff(), now=ctx.now()
    )
    db.session.commit()
    return data


@bp.put("/residents/<public_id>/photo")
@bearer_required("clerk")
def put_photo(public_id: str) -> tuple[str, int]:
    ctx = app_context()
    if request.mimetype not in PHOTO_TYPES:
        raise ApiError(
            415, "unsupported_media_type", N_("Send the photo as image/jpeg or image/png.")
        )
    # Decoded before the transaction begins: it holds the write lock while it lasts.
    photo = registry.prepare_photo(request.get_data(cache=False), ctx.registry_policy)
    resident = registry.get(db.session, public_id)
    registry.set_photo(
        db.session,
        resident,
        photo,
        keys=ctx.registry_keys,
        policy=ctx.registry_policy,
        actor=api_staff(),
        now=ctx.now(),
    )
    db.session.commit()
    return "", 204
