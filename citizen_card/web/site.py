"""Home, health check, language choice and the privacy notice."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from citizen_card.context import app_context
from citizen_card.web.common import current_staff, local_path

bp = Blueprint("site", __name__)


@bp.get("/")
def index() -> Response | str:
    """Staff go to their home page; everyone else gets the residents' start page."""
    if not current_user.is_authenticated:
        return render_template("start.html", city_name=app_context().settings.issuer_name)
    role = current_staff().role
    target = {
        "clerk": "residents.index",
        "admin": "admin.staff_list",
        "auditor": "admin.audit_log",
        "editor": "places.manage",
    }
    return redirect(url_for(target[role]))


@bp.get("/healthz")
def healthz() -> tuple[dict[str, str], int]:
    return {"status": "ok"}, 200


@bp.get("/privacy")
def privacy() -> str:
    """What the service keeps about residents, for residents: public, translated."""
    settings = app_context().settings
    return render_template(
        "privacy.html",
        retention_months=settings.retention_months,
        collect_date_of_birth=settings.collect_date_of_birth,
        collect_gender=settings.collect_gender,
    )


@bp.post("/language")
def set_language() -> Response:
    lang = request.form.get("lang", "")
    if lang in app_context().settings.languages:
        session["lang"] = lang
    # Only local paths: an open redirect would let a link borrow the service's name.
    return redirect(local_path(request.form.get("next") or "") or url_for("site.index"))
