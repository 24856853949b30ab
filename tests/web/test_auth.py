"""Staff login, sessions, roles, throttling: through HTTP."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from citizen_card.extensions import db
from citizen_card.models import AuditEvent, Staff, StaffSession
from tests.conftest import TEST_PASSWORD, csrf_token, login


def test_login_page_is_served(client: FlaskClient) -> None:
    page = client.get("/login")
    assert page.status_code == 200
    assert 'name="csrf_token"' in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"


def test_login_then_logout_ends_the_server_session(
    app: Flask, client: FlaskClient, make_staff: Callable[..., Staff]
) -> None:
    clerk = make_staff("clerk")
    login(client, clerk)
    assert client.get("/residents/").status_code == 200
    with app.app_context():
        assert db.session.scalar(select(func.count(StaffSession.id))) == 1
    client.post("/logout", data={"csrf_token": csrf_token(client, "/residents/")})
    with app.app_context():
        assert db.session.scalar(select(func.count(StaffSession.id))) == 0
    assert client.get("/residents/").status_code == 302


def test_a_stolen_cookie_stops_working_after_logout(
    client: FlaskClient, app: Flask, make_staff: Callable[..., Staff]
) -> None:
    clerk = make_staff("clerk")
    login(client, clerk)
    cookie = client.get_cookie("session")
    assert cookie is not None
    client.post("/logout", data={"csrf_token": csrf_token(client, "/residents/")})
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    assert thief.get("/residents/").status_code == 302


def test_login_gives_a_new_session_cookie(
    client: FlaskClient, make_staff: Callable[..., Staff]
) -> None:
    clerk = make_staff("clerk")
    client.get("/login")
    before = client.get_cookie("session")
    login(client, clerk)
    after = client.get_cookie("session")
    assert after is not None and (before is None or before.value != after.value)


def test_wrong_password_and_unknown_user_answer_alike(
    client: FlaskClient, make_staff: Callable[..., Staff]
) -> None:
    clerk = make_staff("clerk")
    token = csrf_token(client)
    wrong = client.post(
        "/login", data={"username": clerk.username, "password": "x" * 14, "csrf_token": token}
    )
    unknown = client.post(
        "/login", data={"username": "nobody", "password": "x" * 14, "csrf_token": token}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong user name or password." in wrong.get_data(as_text=True)
    assert "Wrong user name or password." in unknown.get_data(as_text=True)


def test_login_without_csrf_token_is_refused(
    client: FlaskClient, make_staff: Callable[..., Staff]
) -> None:
    clerk = make_staff("clerk")
    response = client.post("/login", data={"username": clerk.username, "password": TEST_PASSWORD})
    assert response.status_code == 400
    assert "form expired" in response.get_data(as_text=True)


def test_login_is_throttled_per_account(
    client: FlaskClient, make_staff: Callable[..., Staff]
) -> None:
    clerk = make_staff("clerk")
    token = csrf_token(client)
    codes = [
        client.post(
            "/login",
            data={"username": clerk.username, "password": "wrong password!", "csrf_token": token},
            environ_base={"REMOTE_ADDR": f"10.0.0.{i}"},
        ).status_code
        for i in range(12)
    ]
    assert codes[:10] == [401] * 10
    assert codes[10:] == [429, 429]
    # Even the right password waits now: the limit is on the account, not the guess.
    right = client.post(
        "/login",
        data={"username": clerk.username, "password": TEST_PASSWORD, "csrf_token": token},
        environ_base={"REMOTE_ADDR": "10.0.1.1"},
    )
    assert right.status_code == 429


def test_disabling_an_account_ends_its_sessions(
    app: Flask, make_staff: Callable[..., Staff]
) -> None:
    admin, clerk = make_staff("admin"), make_staff("clerk")
    clerk_client, admin_client = app.test_client(), app.test_client()
    login(clerk_client, clerk)
    login(admin_client, admin)
    assert clerk_client.get("/residents/").status_code == 200
    response = admin_client.post(
        f"/admin/staff/{clerk.id}/active",
        data={"active": "0", "csrf_token": csrf_token(admin_client, "/admin/staff")},
    )
    assert response.status_code == 302
    assert clerk_client.get("/residents/").status_code == 302
    again = clerk_client.post(
        "/login",
        data={
            "username": clerk.username,
            "password": TEST_PASSWORD,
            "csrf_token": csrf_token(clerk_client),
        },
    )
    assert again.status_code == 401
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action)).all()
        assert "staff.disable" in actions


def test_roles_see_only_their_pages(app: Flask, make_staff: Callable[..., Staff]) -> None:
    expected = {
        "clerk": {"/residents/": 200, "/admin/staff": 403, "/admin/audit": 403},
        "admin": {"/residents/": 403, "/admin/staff": 200, "/admin/audit": 200},
        "auditor": {"/residents/": 403, "/admin/staff": 403, "/admin/audit": 200},
    }
    for role, pages in expected.items():
        client = app.test_client()
        login(client, make_staff(role))
        assert {path: client.get(path).status_code for path in pages} == pages, role


def test_anonymous_is_sent_to_login(client: FlaskClient) -> None:
    for path in ("/residents/", "/admin/staff", "/admin/audit", "/residents/new"):
        response = client.get(path)
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]


def test_first_login_with_one_time_password_must_change_it(
    app: Flask, client: FlaskClient, make_staff: Callable[..., Staff]
) -> None:
    admin = make_staff("admin")
    admin_client = app.test_client()
    login(admin_client, admin)
    page = admin_client.post(
        "/admin/staff",
        data={
            "username": "newclerk",
            "role": "clerk",
            "csrf_token": csrf_token(admin_client, "/admin/staff"),
        },
    ).get_data(as_text=True)
    import re

    match = re.search(r'<code class="secret">([^<]+)</code>', page)
    assert match
    one_time = match.group(1)
    response = client.post(
        "/login",
        data={"username": "newclerk", "password": one_time, "csrf_token": csrf_token(client)},
    )
    assert response.headers["Location"].endswith("/account/password")
    token = csrf_token(client, "/account/password")
    short = client.post(
        "/account/password",
        data={
            "current_password": one_time,
            "new_password": "short",
            "confirm_password": "short",
            "csrf_token": token,
        },
    )
    assert short.status_code == 422
    assert "at least 12 characters" in short.get_data(as_text=True)
    common = "password1234"
    refused = client.post(
        "/account/password",
        data={
            "current_password": one_time,
            "new_password": common,
            "confirm_password": common,
            "csrf_token": token,
        },
    )
    assert "too common" in refused.get_data(as_text=True)
    new = "ümlaut-Пароль-密码-long"
    done = client.post(
        "/account/password",
        data={
            "current_password": one_time,
            "new_password": new,
            "confirm_password": new,
            "csrf_token": token,
        },
    )
    assert done.status_code == 302
    fresh = app.test_client()
    ok = fresh.post(
        "/login", data={"username": "newclerk", "password": new, "csrf_token": csrf_token(fresh)}
    )
    assert ok.headers["Location"].endswith("/")


def test_language_follows_the_browser_and_can_be_switched(client: FlaskClient) -> None:
    french = client.get("/login", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert "Connexion" in french.get_data(as_text=True)
    english = client.get("/login", headers={"Accept-Language": "en"})
    assert "Staff login" in english.get_data(as_text=True)
    client.post(
        "/language", data={"lang": "fr", "next": "/login", "csrf_token": csrf_token(client)}
    )
    switched = client.get("/login", headers={"Accept-Language": "en"})
    assert "Connexion" in switched.get_data(as_text=True)


def test_idle_and_absolute_timeouts_end_the_session(
    app: Flask, client: FlaskClient, make_staff: Callable[..., Staff]
) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    clerk = make_staff("clerk")
    for column, age in (
        ("last_seen_at", timedelta(minutes=31)),
        ("created_at", timedelta(hours=11)),
    ):
        login(client, clerk)
        assert client.get("/residents/").status_code == 200
        with app.app_context():
            from citizen_card.context import app_context

            past = app_context().now() - age
            db.session.execute(update(StaffSession).values({column: past}))
            db.session.commit()
        response = client.get("/residents/")
        assert response.status_code == 302, column
        assert "/login" in response.headers["Location"]
        with app.app_context():
            assert db.session.scalar(select(func.count(StaffSession.id))) == 0


ELSEWHERE = (
    "https://evil.example/",
    "//evil.example/x",
    "javascript:alert(1)",
    # Browsers drop tabs and newlines inside a URL and read a backslash as a slash.
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "\t//evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    " //evil.example",
    "/\x00/evil.example",
    "/\x0b/evil.example",
    "/\u00a0/evil.example",
    "/\u3000/evil.example",
    # Encoded slashes and backslashes, once or twice.
    "/%2Fevil.example",
    "/%2fevil.example",
    "%2F%2Fevil.example",
    "/%5Cevil.example",
    "/%252Fevil.example",
    "/%09/evil.example",
    "https:/evil.example",
    "http:evil.example",
    "/" + "a" * 5000,
    "",
)


@pytest.mark.parametrize("target", ELSEWHERE)
def test_the_language_switch_does_not_redirect_elsewhere(client: FlaskClient, target: str) -> None:
    response = client.post(
        "/language", data={"lang": "fr", "next": target, "csrf_token": csrf_token(client)}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/", repr(target)


@pytest.mark.parametrize("target", ["/my-card", "/admin/audit?before=120", "/privacy"])
def test_the_language_switch_returns_to_the_page(client: FlaskClient, target: str) -> None:
    response = client.post(
        "/language", data={"lang": "fr", "next": target, "csrf_token": csrf_token(client)}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == target


def test_an_admin_resets_a_password_and_ends_the_sessions(
    app: Flask, make_staff: Callable[..., Staff]
) -> None:
    import re

    admin, clerk = make_staff("admin"), make_staff("clerk")
    admin_client, clerk_client = app.test_client(), app.test_client()
    login(admin_client, admin)
    login(clerk_client, clerk)
    page = admin_client.post(
        f"/admin/staff/{clerk.id}/reset",
        data={"csrf_token": csrf_token(admin_client, "/admin/staff")},
    ).get_data(as_text=True)
    match = re.search(r'<code class="secret">([^<]+)</code>', page)
    assert match
    assert clerk_client.get("/residents/").status_code == 302  # the old session is gone
    fresh = app.test_client()
    old = fresh.post(
        "/login",
        data={
            "username": clerk.username,
            "password": TEST_PASSWORD,
            "csrf_token": csrf_token(fresh),
        },
    )
    assert old.status_code == 401
    new = fresh.post(
        "/login",
        data={
            "username": clerk.username,
            "password": match.group(1),
            "csrf_token": csrf_token(fresh),
        },
    )
    assert new.headers["Location"].endswith("/account/password")
    with app.app_context():
        actions = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.target_ref == str(clerk.id))
        ).all()
    assert "staff.password_reset" in actions
