"""Everything ``create_app`` connects: extensions, hooks, error pages, blueprints."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, Response, current_app, g, jsonify, render_template, request, session
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from limits import parse_many
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from citizen_card import context, database, languages
from citizen_card.config import Settings
from citizen_card.extensions import babel, csrf, db, limiter, login, migrate
from citizen_card.limit_keys import address_key
from citizen_card.limits import LimitReached
from citizen_card.models import Staff
from citizen_card.paths import MIGRATIONS, TRANSLATIONS
from citizen_card.services import accounts
from citizen_card.services.errors import DomainError
from citizen_card.services.publication import IssuerVerifierBackend
from verify import language as verify_language
from verify import web as verify_web
from verify.page_language import page_dir, page_lang

log = logging.getLogger(__name__)


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
    app.before_request(_prepare_request)
    app.before_request(_refuse_cross_site_forms)
    limiter.init_app(app)
    offered = languages.install(app, settings.default_language)
    babel.init_app(app, locale_selector=languages.select_locale)
    login.init_app(app)
    login.login_view = "auth.login"
    login.login_message = ""
    login.session_protection = None  # server-side sessions below do this job
    login.user_loader(_load_staff)

    app.jinja_env.globals.update(
        language_name=languages.name,
        city_language=languages.city_default,
        languages=offered,
        settings=settings,
        get_locale=get_locale,
        page_lang=page_lang,
        page_dir=page_dir,
    )
    app.jinja_env.add_extension("jinja2.ext.do")

    app.after_request(_security_headers)
    app.after_request(_remember_language)
    app.teardown_request(_rollback_on_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(OperationalError, _database_busy)

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
        if not limiter.limiter.hit(item, prefix, "verify", address_key()):
            return error_response(
                429, "rate_limited", _("Too many requests. Please wait a moment.")
            )
        return view(*args, **kwargs)

    return limited


def _remember_language(response: Response) -> Response:
    # A ?lang= on a page (the receipt's link to /my-card) is kept in the visitor's browser;
    # the verify pages do this themselves.
    if request.blueprint != "verify" and response.mimetype == "text/html":
        verify_language.remember_choice(response, languages.offered())
    return response


def _load_staff(user_id: str) -> Staff | None:
    if g.get("database_busy"):
        return None  # the busy page is drawn without asking the database again
    token = session.get("sid")
    if not isinstance(token, str):
        return None
    ctx = context.app_context()
    try:
        row = accounts.resume_session(
            db.session, token, now=ctx.now(), timeouts=ctx.session_timeouts
        )
        db.session.commit()  # the session's bookkeeping: last seen, or an expired row gone
    except OperationalError as exc:
        db.session.rollback()
        # A writing request (by its method, or an audited reading marked
        # database.writes) would only wait for the same lock again: it is busy.
        view = current_app.view_functions.get(request.endpoint or "")
        writing = request.method not in _SAFE_METHODS or database.view_writes(view)
        if not database.is_lock_timeout(exc) or writing:
            g.database_busy = True
            raise
        # A reading request met a writer: the bookkeeping can wait for the next request.
        row = accounts.resume_session(
            db.session, token, now=ctx.now(), timeouts=ctx.session_timeouts, touch=False
        )
    if row is None:
        session.clear()
        return None
    if str(row.staff_id) != user_id:
        return None
    g.staff_session = row
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


# The WSGI environ key where the access log finds the route template (see cli.serve).
ROUTE_ENVIRON_KEY = "citizen_card.route"


def _prepare_request() -> None:
    """Say how this request's transactions begin, and name its route for the access log.

    A request that writes (by its method, or a view marked ``database.writes``) takes the
    SQLite write lock when its transaction begins; any other never takes it
    (database.py).

    The access log gets the route template, never the path itself: a path holds card
    numbers and resident ids (``/cards/23P2A7DJXWYA/pdf``); beside a time they tie a card
    to a moment, and beside an address to a place. The template
    (``/cards/<card_number>/pdf``) says what the server did and nothing about whom.
    """
    view = current_app.view_functions.get(request.endpoint or "")
    database.set_request_mode(request.method not in _SAFE_METHODS or database.view_writes(view))
    rule = request.url_rule
    request.environ[ROUTE_ENVIRON_KEY] = rule.rule if rule is not None else "(no route)"


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
    database.reset_request_mode()


def _database_busy(exc: OperationalError) -> Any:
    """A lock wait ran out (another writer held it for seconds): say so, and when to retry.

    Any other database error is a fault, not a busy moment: it stays a 500.
    """
    if not database.is_lock_timeout(exc):
        raise exc
    log.warning("database busy: a request gave up waiting for a lock")
    response = error_response(
        503, "busy", _("The service is busy for a moment. Please try again in a few seconds.")
    )
    return (*response, {"Retry-After": "2"})


def wants_json() -> bool:
    return request.path.startswith("/api/")


def error_response(
    status: int, code: str, message: str, *, field: str | None = None
) -> tuple[Response | str, int]:
    db.session.rollback()
    if wants_json():
        body = {"error": code, "message": message} | ({"field": field} if field else {})
        return jsonify(body), status
    page = render_template(
        "error.html", status=status, message=message, database_busy=code == "busy"
    )
    return page, status


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
    response = error_response(
        exc.status, exc.code, exc.translated(), field=getattr(exc, "field", None)
    )
    if isinstance(exc, LimitReached):
        return (*response, {"Retry-After": str(exc.retry_after)})
    return response
