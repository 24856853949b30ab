"""Admin pages (staff accounts) and the auditor's audit log."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from citizen_card import database, limits
from citizen_card.context import app_context
from citizen_card.extensions import db
from citizen_card.models import Staff
from citizen_card.models.staff import ROLES
from citizen_card.models.types import MAX_INTEGER
from citizen_card.services import (
    accounts,
    audit,
    compromise,
    instance_settings,
    keyring,
    publication,
    search,
)
from citizen_card.services.errors import DomainError
from citizen_card.web.common import current_staff, flash_error, ok, role_required
from citizen_card.web.forms import FieldError, field_errors
from verify import web as verify_web

bp = Blueprint("admin", __name__, url_prefix="/admin")
AUDIT_PAGE = 100


@bp.get("/staff")
@role_required("admin")
def staff_list() -> str:
    staff = db.session.execute(select(Staff).order_by(Staff.username)).scalars().all()
    return render_template("admin/staff.html", staff=staff, roles=ROLES, new_password=None)


@bp.post("/staff")
@role_required("admin")
def staff_create() -> Response | tuple[str, int] | str:
    ctx = app_context()
    password = accounts.generate_password()
    try:
        created = accounts.create_staff(
            db.session,
            username=request.form.get("username", ""),
            role=request.form.get("role", ""),
            password=password,
            policy=ctx.password_policy,
            now=ctx.now(),
            actor=current_staff(),
        )
    except DomainError as exc:
        db.session.rollback()
        ids = {"username": "new-username", "role": "new-role"}  # the inputs' ids on the page
        errors = [
            FieldError(ids.get(e.field or "", e.field), e.message)
            for e in field_errors(exc, "username")
        ]
        staff = db.session.execute(select(Staff).order_by(Staff.username)).scalars().all()
        return render_template(
            "admin/staff.html", staff=staff, roles=ROLES, new_password=None, form_errors=errors
        ), exc.status
    db.session.commit()
    staff = db.session.execute(select(Staff).order_by(Staff.username)).scalars().all()
    return render_template(
        "admin/staff.html", staff=staff, roles=ROLES, new_password=(created.username, password)
    )


@bp.post("/staff/<int:staff_id>/active")
@role_required("admin")
def staff_set_active(staff_id: int) -> Response:
    ctx = app_context()
    target = accounts.get_staff(db.session, staff_id)
    active = request.form.get("active") == "1"
    try:
        accounts.set_active(db.session, target, active=active, now=ctx.now(), actor=current_staff())
    except DomainError as exc:
        db.session.rollback()
        flash_error(exc)
    else:
        db.session.commit()
        ok(_("The account is enabled.") if active else _("The account is disabled."))
    return redirect(url_for("admin.staff_list"))


@bp.post("/staff/<int:staff_id>/reset")
@role_required("admin")
def staff_reset(staff_id: int) -> str:
    ctx = app_context()
    target = accounts.get_staff(db.session, staff_id)
    password = accounts.generate_password()
    accounts.set_password(
        db.session,
        target,
        password=password,
        policy=ctx.password_policy,
        now=ctx.now(),
        actor=current_staff(),
        must_change=True,
    )
    db.session.commit()
    staff = db.session.execute(select(Staff).order_by(Staff.username)).scalars().all()
    return render_template(
        "admin/staff.html", staff=staff, roles=ROLES, new_password=(target.username, password)
    )


@bp.get("/audit")
@role_required("auditor", "admin")
def audit_log() -> str:
    before = request.args.get("before", type=int)
    # Like a "before" that is not a number, one out of range shows the newest page.
    in_range = before is not None and 0 < before <= MAX_INTEGER
    rows = audit.page(db.session, before=before if in_range else None, limit=AUDIT_PAGE)
    return render_template("admin/audit.html", rows=rows, page_size=AUDIT_PAGE)


@bp.get("/searches")
@role_required("auditor", "admin")
def searches() -> str:
    """Searches per staff account and day: a registry walked one prefix after another
    shows up here as a tall column."""
    counts = search.daily_counts(db.session, now=app_context().now())
    return render_template(
        "admin/searches.html",
        counts=counts,
        limit=limits.describe(app_context().settings.search_rate_limit),
    )


@bp.get("/verifications")
@role_required("admin")
@database.writes
def verifications() -> str:
    """How many cards were checked per day and with what verdict; nothing per card."""
    backend = current_app.extensions[verify_web.EXTENSION_KEY]
    # Counts are buffered in memory; show this process's latest too.
    backend.flush_counts(db.session)
    db.session.commit()
    days = publication.daily_counts(db.session)
    reasons = sorted({reason for _, counts in days for reason in counts}, key=_reason_order)
    return render_template("admin/verifications.html", days=days, reasons=reasons)


def _reason_order(reason: str) -> tuple[int, str]:
    return (0 if reason == "ok" else 1, reason)


# ---------------------------------------------------------------------------------------
# Signing keys and the instance's settings


@bp.get("/keys")
@role_required("admin")
def keys() -> str:
    return render_template("admin/keys.html", keys=compromise.key_overview(db.session))


@bp.post("/keys/rotate")
@role_required("admin")
def keys_rotate() -> Response:
    ctx = app_context()
    key = keyring.rotate(db.session, ctx.settings, now=ctx.now(), actor=current_staff())
    db.session.commit()
    ok(
        _(
            "New signing key %(kid)s. The previous key is retired: its cards still verify.",
            kid=key.kid,
        )
    )
    return redirect(url_for("admin.keys"))


@bp.route("/keys/<kid>/revoke", methods=["GET", "POST"])
@role_required("admin")
def keys_revoke(kid: str) -> Response | str | tuple[str, int]:
    ctx = app_context()
    if request.method == "GET" or request.form.get("confirm") != "revoke":
        overview = compromise.cards_to_recall(db.session, kid[:16])
        missing = request.method == "POST"
        return render_template("admin/key_revoke.html", overview=overview, not_confirmed=missing), (
            422 if missing else 200
        )
    done = compromise.revoke_key(
        db.session, ctx.settings, kid[:16], now=ctx.now(), actor=current_staff()
    )
    db.session.commit()
    ok(
        _(
            "Key %(kid)s is revoked. %(cards)d card(s) it signed are revoked; "
            "%(residents)d resident(s) need a new card (clerks see them under Cards to reissue).",
            kid=done.kid,
            cards=done.cards_revoked,
            residents=done.residents_to_recall,
        )
    )
    return redirect(url_for("admin.keys"))


@bp.get("/settings")
@role_required("admin")
def settings() -> str:
    return render_template(
        "admin/settings.html", rows=instance_settings.describe(app_context().settings)
    )
