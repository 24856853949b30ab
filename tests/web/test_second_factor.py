"""TOTP second factor: required for admins, enrolment with re-authentication, single use."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pyotp
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from citizen_card.extensions import db
from citizen_card.models import AuditEvent, Staff
from tests.conftest import TEST_PASSWORD, TEST_TOTP_SECRET, csrf_token, login


def password_step(client: FlaskClient, staff: Staff) -> str:
    response = client.post(
        "/login",
        data={
            "username": staff.username,
            "password": TEST_PASSWORD,
            "csrf_token": csrf_token(client),
        },
    )
    assert response.status_code == 302
    return response.headers["Location"]


def test_an_admin_without_a_second_factor_must_enrol_first(
    app: Flask, client: FlaskClient, make_staff: Callable[..., Staff]
) -> None:
    admin = make_staff("admin", totp=False)
    login(client, admin)
    response = client.get("/admin/staff")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/account/second-factor")
    page = client.get("/account/second-factor").get_data(as_text=True)
    assert 'src="data:image/png;base64,' in page
    secret = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', page)
    assert secret
    totp = pyotp.TOTP(secret.group(1).replace(" ", ""))
    token = csrf_token(client, "/account/second-factor")
    # Re-authentication: the right code with a wrong password is refused.
    refused = client.post(
        "/account/second-factor",
        data={"code": totp.now(), "password": "wrong password!!", "csrf_token": token},
    )
    assert refused.status_code == 422
    wrong_code = client.post(
        "/account/second-factor",
        data={"code": "000000", "password": TEST_PASSWORD, "csrf_token": token},
    )
    assert "does not match" in wrong_code.get_data(as_text=True)
    done = client.post(
        "/account/second-factor",
        data={"code": totp.now(), "password": TEST_PASSWORD, "csrf_token": token},
    )
    assert done.status_code == 302
    assert client.get("/admin/staff").status_code == 200
    with app.app_context():
        stored = db.session.get(Staff, admin.id)
        assert stored is not None and stored.totp_secret_sealed is not None
        assert secret.group(1).replace(" ", "").encode() not in stored.totp_secret_sealed


def test_login_asks_for_the_code_and_each_code_works_once(
    app: Flask, make_staff: Callable[..., Staff]
) -> None:
    admin = make_staff("admin")
    code = pyotp.TOTP(TEST_TOTP_SECRET).now()
    first = app.test_client()
    assert password_step(first, admin).endswith("/login/code")
    # Not logged in between the two steps.
    assert first.get("/admin/staff").status_code == 302
    ok = first.post(
        "/login/code", data={"code": code, "csrf_token": csrf_token(first, "/login/code")}
    )
    assert ok.status_code == 302
    assert first.get("/admin/staff").status_code == 200

    replay = app.test_client()
    password_step(replay, admin)
    again = replay.post(
        "/login/code", data={"code": code, "csrf_token": csrf_token(replay, "/login/code")}
    )
    assert again.status_code == 401
    assert "used already" in again.get_data(as_text=True)
    assert replay.get("/admin/staff").status_code == 302
    with app.app_context():
        actions = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.target_ref == str(admin.id))
        ).all()
    assert "auth.totp_failed" in actions


def test_the_code_step_expires_and_is_throttled(
    app: Flask, make_staff: Callable[..., Staff]
) -> None:
    admin = make_staff("admin")
    client = app.test_client()
    password_step(client, admin)
    token = csrf_token(client, "/login/code")
    codes = [
        client.post("/login/code", data={"code": "123456", "csrf_token": token}).status_code
        for _ in range(6)
    ]
    assert codes == [401] * 5 + [429]
    with client.session_transaction() as session:
        session["pending_at"] = int(time.time()) - 301
    late = client.get("/login/code")
    assert late.status_code == 302 and late.headers["Location"].endswith("/login")


def test_the_code_page_without_a_password_step_goes_back_to_login(client: FlaskClient) -> None:
    response = client.get("/login/code")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/login")


def test_clerks_need_a_second_factor_only_where_the_city_says(
    app: Flask, make_staff: Callable[..., Staff]
) -> None:
    clerk = make_staff("clerk")
    client = app.test_client()
    login(client, clerk)
    assert client.get("/residents/").status_code == 200
    from dataclasses import replace

    from citizen_card.context import EXTENSION_KEY

    ctx = app.extensions[EXTENSION_KEY]
    app.extensions[EXTENSION_KEY] = replace(
        ctx, settings=replace(ctx.settings, require_totp_for_clerks=True)
    )
    try:
        response = client.get("/residents/")
        assert response.status_code == 302
        assert response.headers["Location"].endswith("/account/second-factor")
    finally:
        app.extensions[EXTENSION_KEY] = ctx
