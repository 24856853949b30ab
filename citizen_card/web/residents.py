"""Counter pages: find, register, view, edit and erase residents."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from citizen_card import database
from citizen_card.context import app_context
from citizen_card.extensions import db
from citizen_card.limits import enforce_search_limit
from citizen_card.models.resident import EVIDENCE_KINDS
from citizen_card.services import (
    cards,
    compromise,
    duplicates,
    erasure,
    issuance,
    names,
    registry,
    search,
)
from citizen_card.services.errors import DomainError, Problems, ValidationFailed
from citizen_card.web.common import current_staff, ok, role_required, shown_again, uploaded_file
from citizen_card.web.forms import field_errors, kept_photo, photo_text

bp = Blueprint("residents", __name__, url_prefix="/residents")

DETAIL_FIELDS = (
    "given_names",
    "family_names",
    "name_order",
    "latin_name",
    "used_name",
    "date_of_birth",
    "gender",
    "contact",
)


def _submitted_details() -> dict[str, Any]:
    return {name: request.form.get(name) or None for name in DETAIL_FIELDS if name in request.form}


def _photo_upload(policy: registry.RegistryPolicy) -> registry.PreparedPhoto | None:
    """The uploaded photo, else the one the form kept from a refused try; decoded before
    any transaction begins (database.py).

    :raises ValidationFailed: the upload is not a usable image, or it came as text.
    """
    data = uploaded_file("photo")
    if data is None:
        data = kept_photo()
    return None if data is None else registry.prepare_photo(data, policy)


def _form(
    values: dict[str, Any],
    evidence: Any = (),
    error: DomainError | None = None,
    photo: registry.PreparedPhoto | None = None,
    **context: Any,
) -> str:
    """The resident form, with every problem of ``error`` and the photo kept for a retry."""
    return render_template(
        "residents/form.html",
        values=values,
        evidence=evidence,
        form_errors=field_errors(error),
        kept_photo=photo_text(photo),
        printed_preview=names.printed_name(
            values.get("given_names") or "",
            values.get("family_names") or "",
            values.get("name_order") or names.GIVEN_FIRST,
        ),
        unspaced_ranges=names.unspaced_ranges(),
        **context,
    )


@bp.route("/", methods=["GET", "POST"])
@role_required("clerk")
def index() -> str:
    # The name searched for travels in a POST body, never in the URL: URLs end up in the
    # counter browser's history and in proxy logs.
    query = request.form.get("q", "").strip()[:200] if request.method == "POST" else ""
    results: list[search.SearchHit] = []
    if query:
        ctx = app_context()
        staff = current_staff()
        enforce_search_limit(ctx.settings.search_rate_limit, staff.id)
        results = search.find(db.session, query, keys=ctx.registry_keys, actor=staff, now=ctx.now())
        db.session.commit()
    return render_template(
        "residents/index.html",
        query=query,
        results=results,
        recall_count=compromise.recall_count(db.session),
    )


@bp.get("/recall")
@role_required("clerk")
@database.writes  # an audited reading: its transaction writes
def recall() -> str:
    """Residents whose card was signed with a withdrawn key: call them back for a new one."""
    ctx = app_context()
    entries = compromise.residents_to_recall(
        db.session, keys=ctx.registry_keys, actor=current_staff(), now=ctx.now()
    )
    db.session.commit()
    return render_template("residents/recall.html", entries=entries)


@bp.route("/new", methods=["GET", "POST"])
@role_required("clerk")
def new() -> BaseResponse | tuple[str, int] | str:
    ctx = app_context()
    if request.method == "GET":
        return _form({})
    values = _submitted_details()
    evidence = request.form.getlist("evidence")
    staff = current_staff()
    # The photo and every field are checked, so that one answer names every problem and
    # a photo that passed is shown again rather than lost.
    problems = Problems()
    details = problems.check(
        lambda: registry.validate_details(values, ctx.registry_policy, today=ctx.now().date())
    )
    photo = problems.check(lambda: _photo_upload(ctx.registry_policy), "photo")
    try:
        problems.raise_any()
        assert details is not None  # noqa: S101 — raise_any raised otherwise
        resident = duplicates.register_new(
            db.session,
            details,
            keys=ctx.registry_keys,
            actor=staff,
            now=ctx.now(),
            confirm_duplicate=request.form.get("confirm_duplicate") == "yes",
            evidence=evidence,
            photo=photo,
            policy=ctx.registry_policy,
        )
    except duplicates.LikelyDuplicate as exc:
        # Ask the clerk, keeping all that was typed and the photo; the look is a search.
        enforce_search_limit(ctx.settings.search_rate_limit, staff.id)
        db.session.commit()  # the check's audit event, nothing else
        return _form(shown_again(values), evidence, None, photo, look_alikes=exc.hits), exc.status
    except DomainError as exc:
        # Nothing was committed: the resident and the photo are stored together or not at all.
        db.session.rollback()
        return _form(shown_again(values), evidence, exc, photo), exc.status
    db.session.commit()
    ok(_("The resident is registered."))
    return redirect(url_for("residents.show", public_id=resident.public_id))


@bp.get("/<public_id>")
@role_required("clerk")
@database.writes  # an audited reading: its transaction writes
def show(public_id: str) -> str:
    ctx = app_context()
    record = registry.view(
        db.session, public_id, keys=ctx.registry_keys, actor=current_staff(), now=ctx.now()
    )
    db.session.commit()
    card_views = cards.cards_of(db.session, record.resident, now=ctx.now())
    return render_template(
        "residents/show.html",
        record=record,
        evidence_kinds=EVIDENCE_KINDS,
        cards=card_views,
        revoke_reasons=issuance.REVOKE_REASONS,
        replace_reasons=issuance.REPLACE_REASONS,
        reason_labels=issuance.REASON_LABELS,
    )


@bp.get("/<public_id>/export.json")
@role_required("clerk")
@database.writes  # an audited reading: its transaction writes
def export(public_id: str) -> Response:
    """Everything held about the resident, as a file to give them."""
    ctx = app_context()
    data = registry.export(
        db.session, public_id, keys=ctx.registry_keys, actor=current_staff(), now=ctx.now()
    )
    db.session.commit()
    body = json.dumps(data, ensure_ascii=False, indent=2)
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="resident-{public_id}.json"'},
    )


@bp.get("/<public_id>/photo.jpg")
@role_required("clerk")
def photo(public_id: str) -> Response:
    ctx = app_context()
    resident = registry.get(db.session, public_id)
    jpeg = registry.open_photo(resident, ctx.registry_keys)
    if jpeg is None:
        abort(404)
    return Response(jpeg, mimetype="image/jpeg", headers={"Cache-Control": "no-store"})


@bp.get("/<public_id>/thumb.jpg")
@role_required("clerk")
def thumbnail(public_id: str) -> Response:
    """The small photo beside a search result (the search that listed it was audited)."""
    ctx = app_context()
    jpeg = registry.open_thumbnail(registry.get(db.session, public_id), ctx.registry_keys)
    if jpeg is None:
        abort(404)
    return Response(jpeg, mimetype="image/jpeg", headers={"Cache-Control": "no-store"})


@bp.route("/<public_id>/edit", methods=["GET", "POST"])
@role_required("clerk")
def edit(public_id: str) -> BaseResponse | tuple[str, int] | str:
    ctx = app_context()
    if request.method == "GET":
        resident = registry.get(db.session, public_id)
        details = registry.open_details(resident, ctx.registry_keys)
        return _form(details.to_json(), resident=resident)
    values = _submitted_details()
    evidence = request.form.getlist("evidence")
    problems = Problems()
    photo = problems.check(
        lambda: _photo_upload(ctx.registry_policy), "photo"
    )  # before the transaction
    try:
        problems.raise_any()
        resident = registry.get(db.session, public_id)
        registry.update(
            db.session,
            resident,
            values | {"evidence": evidence},
            keys=ctx.registry_keys,
            policy=ctx.registry_policy,
            actor=current_staff(),
            now=ctx.now(),
            photo=photo,
        )
    except DomainError as exc:
        db.session.rollback()
        resident = registry.get(db.session, public_id)
        return _form(shown_again(values), evidence, exc, photo, resident=resident), exc.status
    db.session.commit()
    ok(_("The changes are saved."))
    return redirect(url_for("residents.show", public_id=public_id))


@bp.route("/<public_id>/erase", methods=["GET", "POST"])
@role_required("clerk")
def erase(public_id: str) -> BaseResponse | str:
    ctx = app_context()
    resident = registry.get(db.session, public_id)
    if request.method == "GET":
        return render_template("residents/erase.html", resident=resident)
    if request.form.get("confirm") != "erase":
        raise ValidationFailed(_("Tick the box to confirm the erasure."), "not_confirmed")
    erasure.erase(
        db.session,
        resident,
        keys=ctx.registry_keys,
        actor=current_staff(),
        now=ctx.now(),
        reason="request",
    )
    db.session.commit()
    ok(_("The resident's record is erased. Their cards are revoked."))
    return redirect(url_for("residents.index"))
