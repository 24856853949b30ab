"""Everything ``create_app`` connects: extensions, hooks, error pages, blueprints."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, Response, current_app, g, jsonify, render_template, request, session
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError
from limits import parse_many
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from citizen_card import context
from citizen_card.config import Settings
from citizen_card.extensions import babel, csrf, db, limiter, login, migrate
from citizen_card.models import Staff
from citizen_card.paths import MIGRATIONS, TRANSLATIONS
from citizen_card.services import accounts
from citizen_card.services.errors import DomainError
from citizen_card.services.publication import IssuerVerifierBackend
from verify import web as verify_web

LANGUAGE_NAMES = {"en": "English", "fr": "Français", "pt": "Português", "es": "Español"}
log = logging.getLogger(__name__)


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    # Let SQLAlchemy, not pysqlite, decide when a transaction starts (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn: Any) -> None:
    if conn.dialect.name == "sqlite":
        # Take the write lock up front: a deferred transaction that reads and then writes
        # fails at once with "database is locked" when another writer got in between.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def init_app(app: Flask, settings: Settings) -> None:
    app.config.update(settings.flask_config())
    if not settings.testing:
        # FLASK_DEBUG=1 left in a production environment must not turn on debug mode
        # (exceptions propagated to the server, template reloading, verbose bad requests).
        app.debug = False
    context.install(app, settings)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS), render_as_batch=True)
    # Referrer-Policy: no-referrer makes browsers send no Referer (and "Origin: null") with
    # form posts, so Flask-WTF's Referer check on HTTPS would refuse every form, login
    # included. The CSRF token, SameSite cookies and _refuse_cross_site_forms do the job.
    app.config.setdefault("WTF_CSRF_SSL_STRICT", False)
    csrf.init_app(app)
    app.before_request(_refuse_cross_site_forms)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)
    login.init_app(app)
    login.login_view = "auth.login"
    login.login_message = ""
    login.session_protection = None  # server-side sessions below do this job
    login.user_loader(_load_staff)

    app.jinja_env.globals.update(
        LANGUAGE_NAMES=LANGUAGE_NAMES,
        languages=settings.languages,
        settings=settings,
        get_locale=get_locale,
    )
    app.jinja_env.add_extension("jinja2.ext.do")

    app.after_request(_security_headers)
    app.teardown_request(_rollback_on_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(DomainError, _domain_error)

    # Blueprints import the extensions above; importing them here keeps the factory the
    # only place where the app is assembled.
    from citizen_card.api import cards as api_cards
    from citizen_card.api import v1
    from citizen_card.web import admin, auth, cards, places, portal, residents, site

    for blueprint in (
        site.bp,
        auth.bp,
        residents.bp,
        admin.bp,
        v1.bp,
        api_cards.bp,
        cards.bp,
        portal.bp,
        places.bp,
        verify_web.bp,
    ):
        app.register_blueprint(blueprint)
    csrf.exempt(v1.bp)
    csrf.exempt(api_cards.bp)
    csrf.exempt(verify_web.bp)
    with app.app_context():
        backend = IssuerVerifierBackend(settings, db.engine)
    app.extensions[verify_web.EXTENSION_KEY] = backend
    # Anyone may verify, but not flood the service: a limit per address.
    for endpoint in verify_web.RATE_LIMITED_ENDPOINTS:
        app.view_functions[endpoint] = _per_address_limit(
            app.view_functions[endpoint], settings.verify_rate_limit
        )
    if settings.proxy_count:
        # Behind a reverse proxy the client address is in X-Forwarded-For.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=settings.proxy_count, x_proto=settings.proxy_count
        )


def _per_address_limit(view: Callable[..., Any], limit_text: str) -> Callable[..., Any]:
    """Count hits per client address in the limiter's storage (memory or Redis).

    This is the hot path of the service. Flask-Limiter's decorator evaluates its whole
    machinery (scopes, exemptions, headers) on each call, which costs more than the
    signature check itself; one ``hit`` on the same storage keeps the same guarantee.
    """
    (item,) = parse_many(limit_text)

    @wraps(view)
    def limited(*args: Any, **kwargs: Any) -> Any:
        prefix = current_app.config.get("RATELIMIT_KEY_PREFIX", "")
        if not limiter.limiter.hit(item, prefix, "verify", get_remote_address()):
            return error_response(
                429, "rate_limited", _("Too many requests. Please wait a moment.")
            )
        return view(*args, **kwargs)

    return limited


def _select_locale() -> str | None:
    settings = context.app_context().settings
    chosen = session.get("lang")
    if chosen in settings.languages:
        return str(chosen)
    return request.accept_languages.best_match(settings.languages) or settings.default_language


def _load_staff(user_id: str) -> Staff | None:
    token = session.get("sid")
    if not isinstance(token, str):
        return None
    ctx = context.app_context()
    row = accounts.resume_session(db.session, token, now=ctx.now(), timeouts=ctx.session_timeouts)
    if row is None:
        db.session.commit()  # the expired row was deleted
        session.clear()
        return None
    if str(row.staff_id) != user_id:
        return None
    g.staff_session = row
    db.session.commit()
    return row.staff


CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; worker-src 'self'; manifest-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def _security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(self), microphone=(), geolocation=()")
    if context.app_context().settings.secure_cookies:
        headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
    # Anything not explicitly cacheable (public keys, status lists, static files) may hold
    # personal data: keep it out of every cache.
    if request.endpoint not in _CACHEABLE:
        headers["Cache-Control"] = "no-store"
    elif response.status_code < 400 and "no-store" not in headers.get("Cache-Control", ""):
        # Public files hold nothing personal: any cache may keep them (revalidated unless
        # the view gave a max-age).
        response.cache_control.public = True
    return response


_CACHEABLE = {
    "verify.jwks",
    "verify.issuer_metadata",
    "verify.status_list",
    "verify.static",
    "verify.service_worker",
    "static",
    "places.geojson",
}


_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def _refuse_cross_site_forms() -> Any:
    """Refuse a page form posted from another site (browsers say so in Sec-Fetch-Site)."""
    if request.method in _SAFE_METHODS or wants_json():
        return None
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in ("same-origin", "none"):
        return _csrf_error(None)
    return None


def _rollback_on_error(exc: BaseException | None) -> None:
    if exc is not None:
        db.session.rollback()


def wants_json() -> bool:
    return request.path.startswith("/api/")


def error_response(status: int, code: str, message: str) -> tuple[Response | str, int]:
    db.session.rollback()
    if wants_json():
        return jsonify(error=code, message=message), status
    return render_template("error.html", status=status, message=message), status


def _http_error(exc: HTTPException) -> Any:
    status = exc.code or 500
    messages = {
        400: _("The request could not be understood."),
        401: _("Please log in."),
        403: _("You do not have access to this page."),
        404: _("This page does not exist."),
        405: _("This method is not allowed here."),
        413: _("What you sent is too large."),
        429: _("Too many attempts. Please wait a moment and try again."),
    }
    codes = {
        400: "bad_request",
        401: "unauthorized",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        413: "too_large",
        429: "rate_limited",
    }
    message = messages.get(status, _("Something went wrong. Please try again."))
    return error_response(status, codes.get(status, "error"), message)


def _csrf_error(exc: CSRFError | None) -> Any:
    return error_response(
        400, "csrf", _("The form expired or was sent from elsewhere. Please try again.")
    )


def _domain_error(exc: DomainError) -> Any:
    return error_response(exc.status, exc.code, exc.translated())
