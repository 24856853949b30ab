"""The admin pages for signing keys (list, rotate, revoke after a confirmation that says
how many cards will be recalled) and for the instance's settings. Both databases."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from citizen_card.config import Settings
from citizen_card.context import app_context
from citizen_card.extensions import db
from citizen_card.models import AuditEvent, Card, SigningKey, Staff
from citizen_card.services import instance_settings, issuance, keyring, registry
from tests.conftest import csrf_token, login


def _admin(app: Flask, make_staff: Callable[..., Staff]) -> FlaskClient:
    client = app.test_client()
    login(client, make_staff("admin"))
    return client


def _issue_cards(app: Flask, make_resident: Callable[..., str], count: int) -> None:
    public_ids = [make_resident(given_names=f"Ana{i}") for i in range(count)]
    with app.app_context():
        ctx = app_context()
        for public_id in public_ids:
            resident = registry.get(db.session, public_id)
            issuance.issue(db.session, resident, settings=ctx.settings, actor=None, now=ctx.now())
        db.session.commit()


def _active_kid(app: Flask) -> str:
    with app.app_context():
        key = keyring.active_key(db.session)
        assert key is not None
        return key.kid


def test_keys_are_listed_and_rotated(
    app: Flask, make_staff: Callable[..., Staff], make_resident: Callable[..., str]
) -> None:
    admin = _admin(app, make_staff)
    _issue_cards(app, make_resident, 2)
    old = _active_kid(app)
    page = admin.get("/admin/keys").get_data(as_text=True)
    row = re.search(rf"<code>{re.escape(old)}</code>.*?</tr>", page, re.S)
    assert row and "active (signing)" in row.group(0)
    assert re.search(r'class="numeric">2<', row.group(0))

    rotated = admin.post(
        "/admin/keys/rotate", data={"csrf_token": csrf_token(admin, "/admin/keys")}
    )
    assert rotated.status_code == 302
    new = _active_kid(app)
    assert new != old
    page = admin.get("/admin/keys").get_data(as_text=True)
    assert f"New signing key {new}" in page
    with app.app_context():
        assert (
            db.session.execute(select(SigningKey.state).where(SigningKey.kid == old)).scalar_one()
            == "retired"
        )
        assert (
            db.session.execute(
                select(AuditEvent.actor_ref).where(AuditEvent.action == "key.rotate")
            )
            .scalar_one()
            .startswith("staff:")
        )


def test_revoking_a_key_says_how_many_cards_are_recalled_and_asks_first(
    app: Flask, make_staff: Callable[..., Staff], make_resident: Callable[..., str]
) -> None:
    admin = _admin(app, make_staff)
    _issue_cards(app, make_resident, 3)
    kid = _active_kid(app)
    page = admin.get(f"/admin/keys/{kid}/revoke").get_data(as_text=True)
    assert "3 cards signed with this key will be recalled." in page
    token = csrf_token(admin, f"/admin/keys/{kid}/revoke")
    refused = admin.post(f"/admin/keys/{kid}/revoke", data={"csrf_token": token})
    assert refused.status_code == 422
    assert 'class="error-summary' in refused.get_data(as_text=True)
    assert _active_kid(app) == kid  # nothing happened

    done = admin.post(f"/admin/keys/{kid}/revoke", data={"csrf_token": token, "confirm": "revoke"})
    assert done.status_code == 302
    message = admin.get("/admin/keys").get_data(as_text=True)
    assert "3 card(s) it signed are revoked" in message
    with app.app_context():
        statuses = set(db.session.execute(select(Card.status)).scalars())
        assert statuses == {"revoked"}
    assert _active_kid(app) != kid  # a new signing key was made first
    assert admin.get("/admin/keys/NOSUCHKY/revoke").status_code == 404


def test_the_settings_page_lists_every_setting_and_no_secret(
    app: Flask, make_staff: Callable[..., Staff], settings: Settings
) -> None:
    admin = _admin(app, make_staff)
    html = admin.get("/admin/settings").get_data(as_text=True)
    for row in instance_settings.describe(settings):
        assert f"<code>{row.variable}</code>" in html
    for name in (
        "CITIZEN_CARD_ISSUER_ID",
        "CITIZEN_CARD_RETENTION_MONTHS",
        "CITIZEN_CARD_SEARCH_RATE_LIMIT",
    ):
        assert name in html
    assert "CITIZEN_CARD_INSTANCE<" in html  # the variable that really sets the folder
    for secret in (settings.secret_key, settings.master_key, settings.blind_index_key):
        assert secret.hex() not in html
    assert "SECRET_KEY" not in html and "MASTER_KEY" not in html


def test_passwords_in_connection_urls_are_masked(settings: Settings) -> None:
    with_password = replace(
        settings,
        keystore_url="postgresql+psycopg://keys:hunter2-long@db.example/keys",
        ratelimit_storage_uri="redis://:s3cret@127.0.0.1:6379/0",
    )
    shown = {row.name: row.value for row in instance_settings.describe(with_password)}
    assert shown["keystore_url"] == "postgresql+psycopg://keys:***@db.example/keys"
    assert shown["ratelimit_storage_uri"] == "redis://:***@127.0.0.1:6379/0"
    assert all("hunter2" not in value and "s3cret" not in value for value in shown.values())
