"""Home, health check, language choice and the privacy notice."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from citizen_card import languages
from citizen_card.context import app_context
from citizen_card.extensions import db
from citizen_card.services import accounts
from citizen_card.web.common import current_staff, local_path, ok
from verify import language

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
    """The language switch: a staff account keeps it; a visitor's browser keeps it."""
    lang = request.form.get("lang", "")[:8]
    # Only local paths: an open redirect would let a link borrow the service's name.
    response = redirect(local_path(request.form.get("next") or "") or url_for("site.index"))
    if current_user.is_authenticated:
        accounts.set_language(
            db.session,
            current_staff(),
            lang,
            offered=languages.offered(),
            now=app_context().now(),
        )
        db.session.commit()
        with force_locale(languages.select_locale()):
            ok(_("The language of your pages is saved."))
    elif lang in languages.offered():
        language.keep(response, lang)
    return response
