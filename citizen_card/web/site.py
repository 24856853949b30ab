"""Home, health check and language choice."""

from __future__ import annotations

from flask import Blueprint, redirect, request, session, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from citizen_card.context import app_context
from citizen_card.web.common import current_staff

bp = Blueprint("site", __name__)


@bp.get("/")
def index() -> Response:
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    role = current_staff().role
    target = {"clerk": "residents.index", "admin": "admin.staff_list", "auditor": "admin.audit_log"}
    return redirect(url_for(target[role]))


@bp.get("/healthz")
def healthz() -> tuple[dict[str, str], int]:
    return {"status": "ok"}, 200


@bp.post("/language")
def set_language() -> Response:
    lang = request.form.get("lang", "")
    if lang in app_context().settings.languages:
        session["lang"] = lang
    target = request.form.get("next") or ""
    # Only local paths: an open redirect would let a link borrow the service's name.
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("site.index")
    return redirect(target)
