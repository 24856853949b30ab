"""What an administrator does to a clerk's account shows: at the clerk's logins and, with
user names, in the audit page. On SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from citizen_card.models import Staff
from tests.conftest import TEST_PASSWORD, csrf_token, login

NOTICE = "Your password was reset by an administrator"


def _reset(admin_client: FlaskClient, clerk: Staff) -> str:
    page = admin_client.post(
        f"/admin/staff/{clerk.id}/reset",
        data={"csrf_token": csrf_token(admin_client, "/admin/staff")},
    ).get_data(as_text=True)
    match = re.search(r'<code class="secret">([^<]+)</code>', page)
    assert match
    return match.group(1)


def _log_in(app: Flask, username: str, password: str) -> FlaskClient:
    client = app.test_client()
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def test_a_reset_is_shown_at_the_clerks_logins_even_after_the_admin_used_it(
    app: Flask, make_staff: Callable[..., Staff]
) -> None:
    admin, clerk = make_staff("admin", username="root-admin"), make_staff("clerk")
    admin_client = app.test_client()
    login(admin_client, admin)
    clerk_client = app.test_client()
    login(clerk_client, clerk)
    assert NOTICE not in clerk_client.get("/residents/").get_data(as_text=True)

    # The admin resets the password and logs in as the clerk with the one-time password,
    # choosing a new one: the session as the clerk sees the notice ...
    one_time = _reset(admin_client, clerk)
    as_clerk = _log_in(app, clerk.username, one_time)
    page = as_clerk.get("/account/password").get_data(as_text=True)
    assert NOTICE in page and "root-admin" in page
    changed = as_clerk.post(
        "/account/password",
        data={
            "new_password": "a fresh passphrase for the test",
            "confirm_password": "a fresh passphrase for the test",
            "csrf_token": csrf_token(as_clerk, "/account/password"),
        },
    )
    assert changed.status_code == 302
    # ... and so does every later login of the account: the admin cannot use it up.
    later = _log_in(app, clerk.username, "a fresh passphrase for the test")
    html = later.get("/residents/").get_data(as_text=True)
    assert NOTICE in html and "root-admin" in html
    assert "could log in as you" in html


def test_the_audit_page_names_staff_and_marks_resets(
    app: Flask, make_staff: Callable[..., Staff]
) -> None:
    admin = make_staff("admin", username="root-admin")
    clerk = make_staff("clerk", username="desk-clerk-1")
    auditor = make_staff("auditor", username="the-auditor")
    admin_client = app.test_client()
    login(admin_client, admin)
    _reset(admin_client, clerk)
    auditor_client = app.test_client()
    login(auditor_client, auditor)
    html = auditor_client.get("/admin/audit").get_data(as_text=True)
    row = re.search(r'<tr class="audit-reset">(.*?)</tr>', html, re.S)
    assert row, "no reset row"
    cells = row.group(1)
    assert "root-admin" in cells and "desk-clerk-1" in cells
    assert "Password reset by an administrator" in cells
    assert f"staff:{admin.id}" not in html  # names, not ids
    assert TEST_PASSWORD not in html
