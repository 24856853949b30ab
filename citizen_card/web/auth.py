"""Log in, log out, change one's password."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import login_user, logout_user
from werkzeug.wrappers import Response

from citizen_card.context import app_context
from citizen_card.extensions import db, limiter
from citizen_card.services import accounts
from citizen_card.services.errors import DomainError
from citizen_card.web.common import current_staff, flash_error, ok, role_required

bp = Blueprint("auth", __name__)


def _account_key() -> str:
    return "login-account:" + (request.form.get("username") or "").strip().casefold()[:64]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute;30 per hour", key_func=_account_key, methods=["POST"])
@limiter.limit("30 per minute;200 per hour", methods=["POST"])
def login() -> Response | str | tuple[str, int]:
    ctx = app_context()
    if request.method == "POST":
        username = request.form.get("username", "")
        password = request.form.get("password", "")
        try:
            staff = accounts.authenticate(
                db.session, username=username, password=password, policy=ctx.password_policy
            )
        except accounts.AuthenticationFailed:
            db.session.commit()
            flash(_("Wrong user name or password."), "error")
            return render_template("auth/login.html", username=username), 401
        # A fresh cookie and a fresh server-side session: no session fixation.
        lang = session.get("lang")
        session.clear()
        if lang:
            session["lang"] = lang
        session["sid"] = accounts.start_session(db.session, staff, now=ctx.now())
        db.session.commit()
        login_user(staff)
        if staff.must_change_password:
            return redirect(url_for("auth.change_password"))
        return redirect(url_for("site.index"))
    return render_template("auth/login.html", username="")


@bp.post("/logout")
def logout() -> Response:
    token = session.get("sid")
    if isinstance(token, str):
        accounts.end_session(db.session, token, now=app_context().now())
        db.session.commit()
    logout_user()
    session.clear()
    flash(_("You are logged out."), "success")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@role_required("admin", "clerk", "auditor")
def change_password() -> Response | str | tuple[str, int]:
    ctx = app_context()
    staff = current_staff()
    if request.method == "POST":
        current = request.form.get("current_password", "")
        new = request.form.get("new_password", "")
        if new != request.form.get("confirm_password", ""):
            flash(_("The two new passwords differ."), "error")
        elif not accounts.verify_password(staff, current, ctx.password_policy):
            flash(_("The current password is wrong."), "error")
        else:
            try:
                accounts.set_password(
                    db.session,
                    staff,
                    password=new,
                    policy=ctx.password_policy,
                    now=ctx.now(),
                    actor=staff,
                )
            except DomainError as exc:
                db.session.rollback()
                flash_error(exc)
            else:
                db.session.commit()
                ok(_("Your password is changed."))
                return redirect(url_for("site.index"))
        return render_template("auth/password.html"), 422
    return render_template("auth/password.html")
