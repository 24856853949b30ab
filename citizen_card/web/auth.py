"""Log in (password, then a TOTP code where enrolled), log out, password, second factor."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from citizen_card import limit_keys
from citizen_card.context import app_context
from citizen_card.extensions import db, limiter
from citizen_card.models import Staff
from citizen_card.models.staff import ROLES
from citizen_card.services import accounts, audit, second_factor
from citizen_card.services.errors import DomainError
from citizen_card.web.common import current_staff, ok, role_required
from citizen_card.web.forms import FieldError, field_errors, one_error

bp = Blueprint("auth", __name__)
PENDING_SECONDS = 300
# Every login in this period after an administrator reset the password says so: showing
# it once would let the administrator, logging in first with the one-time password,
# see it in the clerk's place.
RESET_NOTICE_PERIOD = timedelta(days=30)
# Pages a staff member may open before choosing a password and enrolling a second factor.
SETUP_ENDPOINTS = {
    "auth.change_password",
    "auth.second_factor",
    "auth.logout",
    "auth.login",
    "auth.login_code",
    "site.set_language",
    "site.healthz",
    "static",
}


@bp.before_app_request
def require_account_setup() -> Response | None:
    """Send staff to choose a password, then to enrol a second factor, before anything else."""
    if not current_user.is_authenticated or request.endpoint in SETUP_ENDPOINTS:
        return None
    if (request.endpoint or "").startswith(("api_", "verify.")):
        return None
    staff = current_staff()
    if staff.must_change_password:
        return redirect(url_for("auth.change_password"))
    if second_factor.required_for(staff, app_context().settings) and not second_factor.enrolled(
        staff
    ):
        return redirect(url_for("auth.second_factor"))
    return None


def _account_key() -> str:
    # Normalised as accounts.authenticate reads it: fullwidth letters count as plain ones.
    return limit_keys.username_key(request.form.get("username") or "")


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
                db.session,
                username=username,
                password=password,
                policy=ctx.password_policy,
                now=ctx.now(),
            )
        except accounts.AuthenticationFailed:
            db.session.commit()
            return render_template(
                "auth/login.html",
                username=username[: accounts.USERNAME_MAX],
                form_errors=one_error(_("Wrong user name or password."), "username"),
            ), 401
        db.session.commit()
        if second_factor.enrolled(staff):
            _fresh_cookie()
            session["pending_staff"] = staff.id
            session["pending_at"] = int(ctx.now().timestamp())
            return redirect(url_for("auth.login_code"))
        return _complete_login(staff)
    return render_template("auth/login.html", username="")


def _fresh_cookie() -> None:
    # A fresh cookie and, below, a fresh server-side session: no session fixation. (The
    # visitor's language is a cookie of its own: it survives this.)
    session.clear()


def _complete_login(staff: Staff) -> Response | tuple[str, int]:
    ctx = app_context()
    if not accounts.consume_one_time_password(db.session, staff, now=ctx.now()):
        db.session.commit()
        used = _("This one-time password was used already. Ask an administrator for a new one.")
        return render_template(
            "auth/login.html", username=staff.username, form_errors=one_error(used, "password")
        ), 401
    _fresh_cookie()
    session["sid"] = accounts.start_session(db.session, staff, now=ctx.now())
    resets = audit.resets_of(db.session, staff, since=ctx.now() - RESET_NOTICE_PERIOD)
    db.session.commit()
    login_user(staff)
    for reset in resets:
        flash(
            _(
                "Your password was reset by an administrator (%(admin)s) on %(date)s UTC. "
                "Whoever knew the one-time password could log in as you; if you did not "
                "ask for this, tell your manager.",
                admin=reset.by,
                date=reset.at.strftime("%Y-%m-%d %H:%M"),
            ),
            "info",
        )
    if staff.must_change_password:
        return redirect(url_for("auth.change_password"))
    return redirect(url_for("site.index"))


def _pending_key() -> str:
    return limit_keys.opaque("login-code", str(session.get("pending_staff")))


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit("5 per minute;20 per hour", key_func=_pending_key, methods=["POST"])
@limiter.limit("30 per minute", methods=["POST"])
def login_code() -> Response | str | tuple[str, int]:
    """Second step of a login: the code from the staff member's authenticator app."""
    ctx = app_context()
    staff_id, started = session.get("pending_staff"), session.get("pending_at")
    if not isinstance(staff_id, int) or not isinstance(started, int):
        return redirect(url_for("auth.login"))
    if ctx.now().timestamp() - started > PENDING_SECONDS:
        session.clear()
        flash(_("The login took too long. Please start again."), "error")
        return redirect(url_for("auth.login"))
    if request.method == "GET":
        return render_template("auth/code.html")
    staff = db.session.get(Staff, staff_id)
    code = request.form.get("code", "")[:16]
    if (
        staff is None
        or not staff.active
        or not second_factor.check_code(
            db.session, staff, code, settings=ctx.settings, now=ctx.now()
        )
    ):
        db.session.commit()
        wrong = _("This code is not right, or was used already. Wait for the next one.")
        return render_template("auth/code.html", form_errors=one_error(wrong, "code")), 401
    return _complete_login(staff)


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
@role_required(*ROLES)
def change_password() -> Response | str | tuple[str, int]:
    ctx = app_context()
    staff = current_staff()
    if request.method == "POST":
        current = request.form.get("current_password", "")
        new = request.form.get("new_password", "")
        errors: list[FieldError] = []
        if new != request.form.get("confirm_password", ""):
            errors = one_error(_("The two new passwords differ."), "confirm_password")
        # After a one-time password the login itself was the proof (and that password is
        # used up); otherwise the current password is asked again.
        elif not staff.must_change_password and not accounts.verify_password(
            staff, current, ctx.password_policy
        ):
            errors = one_error(_("The current password is wrong."), "current_password")
        else:
            try:
                accounts.set_password(
                    db.session,
                    staff,
                    password=new,
                    policy=ctx.password_policy,
                    now=ctx.now(),
                    actor=staff,
                    keep_session_id=g.staff_session.id,
                )
            except DomainError as exc:
                db.session.rollback()
                errors = field_errors(exc, "new_password")
            else:
                db.session.commit()
                ok(_("Your password is changed."))
                return redirect(url_for("site.index"))
        return render_template("auth/password.html", form_errors=errors), 422
    return render_template("auth/password.html")


@bp.route("/account/second-factor", methods=["GET", "POST"], endpoint="second_factor")
@role_required(*ROLES)
@limiter.limit("10 per minute", methods=["POST"])
def second_factor_setup() -> Response | str | tuple[str, int]:
    """Enrol an authenticator app; asks for the password again (re-authentication)."""
    ctx = app_context()
    staff = current_staff()
    pending = session.get("totp_pending")
    secret = second_factor.open_pending(pending, staff, ctx.settings) if pending else None
    errors: list[FieldError] = []
    if request.method == "POST" and secret is not None:
        if not accounts.verify_password(
            staff, request.form.get("password", ""), ctx.password_policy
        ):
            errors = one_error(_("The password is wrong."), "password")
        else:
            try:
                second_factor.confirm_enrolment(
                    db.session,
                    staff,
                    secret=secret,
                    code=request.form.get("code", "")[:16],
                    settings=ctx.settings,
                    now=ctx.now(),
                )
            except DomainError as exc:
                db.session.rollback()
                errors = field_errors(exc, "code")
            else:
                db.session.commit()
                session.pop("totp_pending", None)
                ok(_("Your second factor is set up."))
                return redirect(url_for("site.index"))
    if secret is None:
        if request.method == "POST":
            # The code shown before is gone (another tab, an expired session): say so.
            errors = one_error(_("The set-up started again: scan the new code below."))
        secret = second_factor.new_secret()
        session["totp_pending"] = second_factor.seal_pending(secret, staff, ctx.settings)
    qr = second_factor.provisioning_qr(
        secret, username=staff.username, issuer=f"{ctx.settings.issuer_name} citizen card"
    )
    status = 422 if request.method == "POST" else 200
    return render_template(
        "auth/second_factor.html",
        qr=qr,
        secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        enrolled=second_factor.enrolled(staff),
        form_errors=errors,
    ), status
