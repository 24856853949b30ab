"""Security headers on every answer of every route, cookies, error pages, debug mode."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from citizen_card import create_app
from citizen_card.config import Settings
from citizen_card.extensions import db
from tests.conftest import csrf_token
from tests.security import routes
from tests.security.routes import PRINCIPALS


def _directives(csp: str) -> dict[str, list[str]]:
    parsed = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            parsed[words[0].lower()] = words[1:]
    return parsed


def header_problems(endpoint: str, response: TestResponse) -> list[str]:
    """What is wrong with one answer's headers (empty when nothing is)."""
    headers = response.headers
    problems = []
    csp = headers.get("Content-Security-Policy", "")
    directives = _directives(csp)
    if not csp:
        problems.append("no Content-Security-Policy")
    if "'unsafe-inline'" in csp or "'unsafe-eval'" in csp:
        problems.append(f"CSP allows unsafe-inline/eval: {csp}")
    if directives.get("frame-ancestors") != ["'none'"]:
        problems.append(f"CSP frame-ancestors is not 'none': {csp}")
    # object-src falls back to default-src; either way no plugin content may load.
    object_src = directives.get("object-src", directives.get("default-src"))
    if object_src != ["'none'"]:
        problems.append(f"CSP object-src is not 'none': {csp}")
    if "script-src" not in directives and directives.get("default-src") != ["'none'"]:
        problems.append(f"CSP has no script-src: {csp}")
    if headers.get("X-Content-Type-Options") != "nosniff":
        problems.append("X-Content-Type-Options is not nosniff")
    if headers.get("Referrer-Policy") != "no-referrer":
        problems.append(f"Referrer-Policy is {headers.get('Referrer-Policy')!r}")
    cache = headers.get("Cache-Control", "")
    cache_words = {word.strip().split("=")[0] for word in cache.lower().split(",")}
    if endpoint in routes.CACHEABLE and response.status_code < 400:
        if "no-store" in cache_words or "private" in cache_words:
            problems.append(f"public file kept out of caches: Cache-Control {cache!r}")
        if "public" not in cache_words:
            problems.append(f"public file not marked public: Cache-Control {cache!r}")
    elif "no-store" not in cache_words:
        problems.append(f"may hold personal data but Cache-Control is {cache!r}")
    if "Strict-Transport-Security" in headers:
        problems.append("HSTS sent by an app without secure cookies")
    return problems


def test_every_route_answers_with_security_headers(
    route: tuple[str, str, str], world: routes.World
) -> None:
    """Every caller (anonymous and each role), allowed or refused, gets the headers."""
    endpoint, method, rule = route
    if endpoint not in routes.ACCESS:
        pytest.fail(f"{endpoint} ({method} {rule}) is not classified in tests/security/routes.py")
    targets = routes.make_targets(world)
    problems = []
    for principal in PRINCIPALS:
        if principal in routes.ACCESS[endpoint] and principal != routes.ANONYMOUS:
            continue  # checked last, once refusals had their turn
        response = routes.call(world, endpoint, method, principal, targets)
        problems += [
            f"{principal} {response.status_code}: {p}" for p in header_problems(endpoint, response)
        ]
    for principal in sorted(routes.ACCESS[endpoint] - {routes.ANONYMOUS}):
        response = routes.call(world, endpoint, method, principal, targets)
        problems += [
            f"{principal} {response.status_code}: {p}" for p in header_problems(endpoint, response)
        ]
    assert not problems, f"{method} {rule}:\n" + "\n".join(problems)


def test_header_check_catches_a_weak_answer() -> None:
    """The check above can fail: a bare answer breaks every rule."""
    bare = TestResponse(b"", 200, {"Cache-Control": "public, max-age=60"}, request=None)
    problems = header_problems("residents.show", bare)
    assert len(problems) == 7, problems
    lax = TestResponse(
        b"",
        200,
        {
            "Content-Security-Policy": "default-src 'self'; script-src 'self' 'unsafe-inline'",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
        },
        request=None,
    )
    assert len(header_problems("verify.jwks", lax)) == 5


@pytest.fixture
def secure_app(settings: Settings) -> Iterator[Flask]:
    app = create_app(dataclasses.replace(settings, secure_cookies=True))
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_secure_cookies_bring_hsts_and_a_host_only_session_cookie(
    secure_app: Flask, make_staff: Callable[..., object]
) -> None:
    client = secure_app.test_client()
    base = "https://localhost"
    page = client.get(f"{base}/login")
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    assert int(re.search(r"max-age=(\d+)", page.headers["Strict-Transport-Security"])[1]) >= (
        365 * 24 * 3600
    )
    assert "no-store" in page.headers["Cache-Control"]
    staff = make_staff("clerk")
    token = csrf_token(client, f"{base}/login")
    response = client.post(
        f"{base}/login",
        data={
            "username": staff.username,
            "password": "correct horse battery staple",
            "csrf_token": token,
        },
    )
    assert response.status_code == 302
    cookies = [c for c in response.headers.getlist("Set-Cookie") if "session=" in c]
    assert cookies, response.headers
    cookie = cookies[-1]
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert cookie.startswith("__Host-session="), cookie
    assert "secure" in attributes and "httponly" in attributes
    assert "samesite=lax" in attributes
    assert "path=/" in attributes  # a __Host- cookie: path /, no Domain
    assert not any(a.startswith("domain=") for a in attributes)
    assert not any(a.startswith(("expires=", "max-age=")) for a in attributes), (
        "not a session cookie"
    )
    assert "Strict-Transport-Security" in client.get(f"{base}/api/v1/openapi.yaml").headers


def test_plain_http_settings_send_no_hsts_and_a_plain_session_cookie(world: routes.World) -> None:
    assert world.app.config["SESSION_COOKIE_NAME"] == "session"
    assert "Strict-Transport-Security" not in world.client("clerk").get("/residents/").headers


@pytest.mark.parametrize(
    ("method", "path", "status", "json"),
    [
        ("GET", "/no-such-page", 404, False),
        ("GET", "/api/v1/no-such-thing", 404, True),
        ("GET", "/logout", 405, False),
        ("DELETE", "/api/v1/residents", 405, True),
    ],
)
def test_client_errors_are_generic(
    client: FlaskClient, method: str, path: str, status: int, json: bool
) -> None:
    response = client.open(path, method=method)
    assert response.status_code == status
    body = response.get_data(as_text=True)
    assert "Traceback" not in body and "werkzeug" not in body.lower()
    assert not header_problems("site.index", response)
    if json:
        assert response.mimetype == "application/json"
        assert set(response.get_json()) == {"error", "message"}
    else:
        assert response.mimetype == "text/html"
        assert "<h1>" in body


@pytest.fixture
def failing_app(settings: Settings) -> Iterator[Flask]:
    """A throwaway app with two views that raise, as a bug in production would."""
    app = create_app(settings)
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/test-only/boom")
    def boom() -> str:
        raise RuntimeError("internal detail 4f1c")

    @app.get("/api/v1/test-only/boom")
    def api_boom() -> str:
        raise RuntimeError("internal detail 4f1c")

    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_a_server_error_shows_the_generic_page(failing_app: Flask) -> None:
    client = failing_app.test_client()
    page = client.get("/test-only/boom")
    assert page.status_code == 500
    body = page.get_data(as_text=True)
    assert page.mimetype == "text/html"
    assert "Something went wrong" in body
    assert "internal detail" not in body and "Traceback" not in body and "RuntimeError" not in body
    assert not header_problems("site.index", page)

    api = client.get("/api/v1/test-only/boom")
    assert api.status_code == 500
    assert api.get_json() == {
        "error": "error",
        "message": "Something went wrong. Please try again.",
    }
    assert "internal detail" not in api.get_data(as_text=True)


def test_debug_mode_is_off_in_production(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLASK_DEBUG", "1")
    production = dataclasses.replace(settings, testing=False)
    app = create_app(production)
    assert app.debug is False
    assert app.config["DEBUG"] is False
    assert app.config["TESTING"] is False
    assert not app.config.get("PROPAGATE_EXCEPTIONS")
    assert app.jinja_env.auto_reload is False


def test_forms_work_over_https_without_a_referer(
    secure_app: Flask, make_staff: Callable[..., object]
) -> None:
    """Browsers send no Referer under Referrer-Policy: no-referrer; login must still work."""
    client = secure_app.test_client()
    staff = make_staff("clerk")
    token = csrf_token(client, "https://localhost/login")
    response = client.post(
        "https://localhost/login",
        data={"username": staff.username, "password": "wrong password", "csrf_token": token},
        headers={"Sec-Fetch-Site": "same-origin"},
    )
    assert response.status_code == 401  # the password was checked: CSRF let it through


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
def test_forms_posted_from_another_site_are_refused(world: routes.World, site: str) -> None:
    clerk = world.client("clerk")
    response = clerk.post(
        "/residents/new",
        data={
            "given_names": "Ana",
            "family_names": "Silva",
            "csrf_token": world.csrf_token("clerk"),
        },
        headers={"Sec-Fetch-Site": site},
    )
    assert response.status_code == 400
    same_origin = clerk.post(
        "/residents/new",
        data={
            "given_names": "Ana",
            "family_names": "Silva",
            "csrf_token": world.csrf_token("clerk"),
            "evidence": ["identity", "residence"],
        },
        headers={"Sec-Fetch-Site": "same-origin"},
    )
    assert same_origin.status_code == 302
