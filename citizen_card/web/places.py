"""The places directory: public pages (/places, /places/<ref>, /places.json, /places/join)
and the editors' pages under /manage/places.

Public pages load nothing from another site: a map appears only when the city set a
tile server (MAP_TILE_URL), and then that one origin is added to the page's CSP.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug.http import is_resource_modified
from werkzeug.wrappers import Response as BaseResponse

from citizen_card.config import tile_origin
from citizen_card.context import app_context
from citizen_card.database import make_deletions_final
from citizen_card.extensions import db, limiter
from citizen_card.models.place import CATEGORIES
from citizen_card.services import place_requests, places, places_csv, places_geojson
from citizen_card.services.errors import DomainError
from citizen_card.services.places import CATEGORY_LABELS, Languages, PlaceInvalid
from citizen_card.web.common import (
    current_staff,
    flash_error,
    ok,
    role_required,
    shown_again,
    uploaded_file,
)
from citizen_card.web.forms import FieldError, field_errors
from citizen_card.wiring import CSP

bp = Blueprint("places", __name__)
EDITORS = ("editor", "admin")
HONEYPOT = "homepage"
GEOJSON_MAX_AGE = 60
# In the order of the form, which the error summary follows.
JOIN_FIELDS = (
    "name",
    "category",
    "benefit",
    "address",
    "opening_hours",
    "phone",
    "website",
    "contact_name",
    "contact_email",
    "contact_phone",
    "message",
)


def _languages() -> Languages:
    return Languages.from_settings(app_context().settings)


def _locale() -> str:
    return str(get_locale() or _languages().default)


def _page_number() -> int:
    return max(1, min(request.args.get("page", 1, type=int) or 1, 10_000))


def _filters() -> tuple[str, str | None]:
    query = (request.args.get("q") or "").strip()[:200]
    category = request.args.get("category") or None
    return query, category if category in CATEGORIES else None


def _map() -> dict[str, str] | None:
    settings = app_context().settings
    if not settings.map_tile_url:
        return None
    return {
        "tiles": settings.map_tile_url,
        "attribution": settings.map_attribution,
        "origin": tile_origin(settings.map_tile_url),
    }


def _problems(error: DomainError | None, order: tuple[str, ...] = ()) -> dict[str, Any]:
    """Every problem for the summary, in the form's ``order``, and the first one of each
    field beside it."""
    problems = error.problems if isinstance(error, PlaceInvalid) else []
    if order:
        rank = {name: index for index, name in enumerate(order)}
        problems = sorted(problems, key=lambda p: rank.get(p.field or "", len(rank)))
    errors: dict[str, str] = {}
    for problem in problems:
        if problem.field and problem.field not in errors:
            errors[problem.field] = problem.translated()
    # The summary every form shows (citizen_card/templates/_forms.html).
    summary = [FieldError(p.field, p.translated()) for p in problems]
    if error is not None and not summary:
        summary = field_errors(error)
    return {"problems": problems, "errors": errors, "form_errors": summary}


# Public pages


@bp.get("/places")
def index() -> Response:
    """Where the card is accepted: search, filter by category, a map when configured."""
    query, category = _filters()
    page = places.search(
        db.session,
        query=query,
        category=category,
        language=_locale(),
        languages=_languages(),
        page=_page_number(),
        category_names=places.folded_category_names(),
    )
    counts = places.category_counts(db.session)
    map_config = _map()
    response = Response(
        render_template(
            "places/index.html",
            page=page,
            counts=counts,
            labels=CATEGORY_LABELS,
            map_config=map_config,
        )
    )
    if map_config is not None:
        # Exactly the tile server's origin, and only on the page that shows the map.
        images = f"img-src 'self' data: blob: {map_config['origin']}"
        response.headers["Content-Security-Policy"] = CSP.replace(
            "img-src 'self' data: blob:", images
        )
    return response


@bp.get("/places/<key>")
def show(key: str) -> str:
    place = places.view(places.find_published(db.session, key), _locale(), _languages())
    return render_template("places/show.html", place=place, labels=CATEGORY_LABELS)


@bp.get("/places.json")
def geojson() -> Response:
    """The published places as GeoJSON, with ETag and Last-Modified (answers 304)."""
    query, category = _filters()
    stamp = places_geojson.directory_stamp(db.session)
    etag = stamp.etag(request.host, query, category or "")
    # Public data for other sites' maps and apps: any origin may read it (no cookies).
    headers = {"ETag": f'"{etag}"', "Access-Control-Allow-Origin": "*"}
    if stamp.last_modified is not None:
        headers["Last-Modified"] = stamp.last_modified.strftime("%a, %d %b %Y %H:%M:%S GMT")
    if not is_resource_modified(request.environ, etag=etag, last_modified=stamp.last_modified):
        response = Response(status=304, headers=headers)
    else:
        base = url_for("places.index", _external=True)
        collection = places_geojson.feature_collection(
            db.session,
            languages=_languages(),
            place_url=lambda ref: f"{base}/{quote(ref)}",
            query=query,
            category=category,
        )
        body = json.dumps(collection, ensure_ascii=False, separators=(",", ":"))
        response = Response(body, mimetype="application/geo+json", headers=headers)
    response.cache_control.max_age = GEOJSON_MAX_AGE
    return response


def _join_limit() -> str:
    return app_context().settings.places_join_rate_limit


@bp.route("/places/join", methods=["GET", "POST"])
@limiter.limit(_join_limit, methods=["POST"])
def join() -> BaseResponse | tuple[str, int] | str:
    """A service asks to be listed; the request waits for an editor."""
    if request.method == "GET":
        return _join_form({}, None)
    raw = {name: request.form.get(name, "") for name in JOIN_FIELDS}
    if request.form.get(HONEYPOT):
        # Only a robot fills a field people cannot see: thank it and keep nothing.
        return redirect(url_for("places.join_sent"))
    ctx = app_context()
    try:
        place_requests.submit(
            db.session, raw, language=_locale(), languages=_languages(), now=ctx.now()
        )
    except DomainError as exc:
        db.session.rollback()
        return _join_form(raw, exc), exc.status
    db.session.commit()
    return redirect(url_for("places.join_sent"))


def _join_form(values: dict[str, str], error: DomainError | None) -> str:
    return render_template(
        "places/join.html",
        values=shown_again(values),
        error=error,
        **_problems(error, JOIN_FIELDS),
        categories=CATEGORIES,
        labels=CATEGORY_LABELS,
        honeypot=HONEYPOT,
    )


@bp.get("/places/join/sent")
def join_sent() -> str:
    return render_template("places/join_sent.html")


# Editors' pages


def _place_form(
    values: dict[str, Any], error: DomainError | None, place_id: int | None = None
) -> str:
    return render_template(
        "places/form.html",
        values=shown_again(values),
        error=error,
        **_problems(error),
        place_id=place_id,
        categories=CATEGORIES,
        labels=CATEGORY_LABELS,
        form_languages=_languages().available,
        language_name=places.language_name,
    )


def _submitted_place() -> dict[str, str]:
    names = ["ref", "category", "address", "latitude", "longitude"]
    names += ["opening_hours", "phone", "website"]
    names += [f"{name}_{code}" for code in _languages().available for name in places.TEXT_FIELDS]
    return {name: request.form.get(name, "") for name in names}


def _manage_page(import_error: DomainError | None = None) -> str:
    query, category = _filters()
    state = request.args.get("state") or ""
    published = {"published": True, "unpublished": False}.get(state)
    page = places.search(
        db.session,
        query=query,
        category=category,
        language=_locale(),
        languages=_languages(),
        published=published,
        page=_page_number(),
        category_names=places.folded_category_names(),
    )
    return render_template(
        "places/manage.html",
        page=page,
        state=state if published is not None else "",
        categories=CATEGORIES,
        labels=CATEGORY_LABELS,
        pending=place_requests.count_pending(db.session),
        import_error=import_error,
    )


@bp.get("/manage/places")
@role_required(*EDITORS)
def manage() -> str:
    return _manage_page()


@bp.route("/manage/places/new", methods=["GET", "POST"])
@role_required(*EDITORS)
def new() -> BaseResponse | tuple[str, int] | str:
    if request.method == "GET":
        return _place_form({}, None)
    ctx = app_context()
    raw = _submitted_place()
    try:
        place = places.create_place(
            db.session,
            places.validate(raw, _languages()),
            languages=_languages(),
            actor=current_staff(),
            now=ctx.now(),
            published=request.form.get("published") == "1",
        )
    except DomainError as exc:
        db.session.rollback()
        return _place_form(raw, exc), exc.status
    db.session.commit()
    ok(_("The place is saved."))
    return redirect(url_for("places.edit", place_id=place.id))


@bp.route("/manage/places/<int:place_id>", methods=["GET", "POST"])
@role_required(*EDITORS)
def edit(place_id: int) -> BaseResponse | tuple[str, int] | str:
    ctx = app_context()
    place = places.get_place(db.session, place_id)
    if request.method == "GET":
        return _place_form(places.form_values(place), None, place.id)
    raw = _submitted_place() | {"ref": place.ref}
    try:
        places.update_place(
            db.session,
            place,
            places.validate(raw, _languages()),
            actor=current_staff(),
            now=ctx.now(),
        )
    except DomainError as exc:
        db.session.rollback()
        return _place_form(raw | {"published": "yes" if place.published else "no"}, exc, place_id)
    db.session.commit()
    ok(_("The place is saved."))
    return redirect(url_for("places.edit", place_id=place.id))


@bp.post("/manage/places/<int:place_id>/published")
@role_required(*EDITORS)
def set_published(place_id: int) -> BaseResponse:
    ctx = app_context()
    place = places.get_place(db.session, place_id)
    published = request.form.get("published") == "1"
    places.set_published(db.session, place, published, actor=current_staff(), now=ctx.now())
    db.session.commit()
    ok(_("The place is published.") if published else _("The place is no longer published."))
    if request.form.get("next_page") == "list":
        return redirect(url_for("places.manage"))
    return redirect(url_for("places.edit", place_id=place_id))


@bp.get("/manage/places.csv")
@role_required(*EDITORS)
def export_csv() -> Response:
    body = places_csv.export_csv(db.session, languages=_languages())
    return Response(
        body.encode("utf-8"),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="places.csv"'},
    )


@bp.post("/manage/places/import")
@role_required(*EDITORS)
def import_csv() -> BaseResponse | tuple[str, int]:
    ctx = app_context()
    try:
        report = places_csv.import_csv(
            db.session,
            uploaded_file("file") or b"",
            languages=_languages(),
            actor=current_staff(),
            now=ctx.now(),
        )
    except DomainError as exc:
        db.session.rollback()
        return _manage_page(exc), exc.status
    db.session.commit()
    ok(
        _(
            "Imported: %(created)d new, %(updated)d changed, %(unchanged)d unchanged.",
            created=report.created,
            updated=report.updated,
            unchanged=report.unchanged,
        )
    )
    return redirect(url_for("places.manage"))


@bp.get("/manage/places/requests")
@role_required(*EDITORS)
def requests() -> str:
    return render_template(
        "places/requests.html",
        requests=place_requests.pending(db.session),
        labels=CATEGORY_LABELS,
        language_name=places.language_name,
    )


@bp.post("/manage/places/requests/<int:request_id>")
@role_required(*EDITORS)
def decide(request_id: int) -> BaseResponse:
    ctx = app_context()
    accept = request.form.get("decision") == "accept"
    try:
        _request, place, decided = place_requests.decide(
            db.session,
            request_id,
            accept=accept,
            languages=_languages(),
            actor=current_staff(),
            now=ctx.now(),
        )
    except DomainError as exc:
        db.session.rollback()
        flash_error(exc)
        return redirect(url_for("places.requests"))
    db.session.commit()
    if not decided:
        ok(_("This request was already decided."))
        return redirect(url_for("places.requests"))
    # The contact is gone from the table; clear it from SQLite's write-ahead log too (what
    # cannot be finished now, the daily purge finishes).
    make_deletions_final(db.engine)
    if place is not None:
        ok(_("The request is accepted: check the new place, then publish it."))
        return redirect(url_for("places.edit", place_id=place.id))
    ok(_("The request is rejected."))
    return redirect(url_for("places.requests"))
