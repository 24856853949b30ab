"""A revoked key recalls its cards: no card it signed stays "active" anywhere.

Before, `citizen-card keys revoke KID` made verification answer ``key_revoked`` while the
cards stayed active in the API, in the print queue and at /my-card, and a new card was
refused with ``has_current_card``. Also, one kid in 64 starts with "-", which the command
took for an option.
"""

from __future__ import annotations

from collections.abc import Callable

from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from citizen_card.cli import main
from citizen_card.context import app_context
from citizen_card.extensions import db
from citizen_card.models import AuditEvent, Staff
from citizen_card.services import keyring
from tests.conftest import csrf_token, login


def _issue(client: FlaskClient, headers: dict[str, str], resident_id: str) -> dict[str, str]:
    response = client.post(f"/api/v1/residents/{resident_id}/cards", headers=headers)
    assert response.status_code == 201, response.json
    card: dict[str, str] = response.json
    return card


def _rotate_until_kid_starts_with_dash(app: Flask) -> str:
    """Make signing keys until one's kid starts with '-' (one in 64 does)."""
    with app.app_context():
        ctx = app_context()
        for _ in range(2000):
            key = keyring.rotate(db.session, ctx.settings, now=ctx.now(), actor=None)
            if key.kid.startswith("-"):
                db.session.commit()
                return key.kid
        raise AssertionError("no kid starting with '-' in 2000 keys")


def test_revoking_a_key_recalls_every_card_it_signed(
    app: Flask,
    client: FlaskClient,
    runner: CliRunner,
    clerk_headers: dict[str, str],
    make_resident: Callable[..., str],
    make_staff: Callable[..., Staff],
) -> None:
    kid = _rotate_until_kid_starts_with_dash(app)
    residents = [make_resident(given_names=name) for name in ("Awa", "Bintou", "Chidi")]
    cards = [_issue(client, clerk_headers, resident) for resident in residents]
    suspended = cards[2]["card_number"]
    assert (
        client.post(
            f"/api/v1/cards/{suspended}/suspend", json={}, headers=clerk_headers
        ).status_code
        == 200
    )
    with app.app_context():
        ctx = app_context()
        keyring.rotate(db.session, ctx.settings, now=ctx.now(), actor=None)
        db.session.commit()
    other = _issue(client, clerk_headers, make_resident(given_names="Dmytro"))

    result = runner.invoke(main, ["keys", "revoke", kid, "--yes"])

    assert result.exit_code == 0, result.output
    assert f"Key {kid} is revoked." in result.output
    assert "3 card(s) it signed are now revoked" in result.output
    assert "3 resident(s) need a new card" in result.output
    assert not any(name in result.output for name in ("Awa", "Bintou", "Chidi", "García"))
    for card in cards:
        state = client.get(f"/api/v1/cards/{card['card_number']}", headers=clerk_headers).json
        assert (state["status"], state["revocation_reason"]) == ("revoked", "key_compromised")
        verdict = client.post("/api/v1/verify", json={"qr": card["qr"]}).json
        assert verdict["reason"] == "key_revoked"
        refused = client.post(
            "/my-card",
            data={
                "card_number": card["card_number"],
                "code": card["download_code"],
                "csrf_token": csrf_token(client, "/my-card"),
            },
        )
        assert refused.status_code == 400
    assert (
        client.get(f"/api/v1/cards/{other['card_number']}", headers=clerk_headers).json["status"]
        == "active"
    )
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent.target_ref).where(
                AuditEvent.action == "card.revoke",
                AuditEvent.detail == '{"reason":"key_compromised"}',
            )
        ).all()
    assert sorted(events) == sorted(c["card_number"].replace("-", "") for c in cards)

    clerk = app.test_client()
    login(clerk, make_staff("clerk"))
    queue = clerk.get("/cards/print").get_data(as_text=True)
    assert not any(c["card_number"] in queue for c in cards)
    assert other["card_number"] in queue
    listing = clerk.get("/residents/recall").get_data(as_text=True)
    assert all(name in listing for name in ("Awa", "Bintou", "Chidi"))
    assert "3 residents need a new card" in clerk.get("/residents/").get_data(as_text=True)

    # The counter issues the first replacement at once: no has_current_card.
    _issue(client, clerk_headers, residents[0])
    listing = clerk.get("/residents/recall").get_data(as_text=True)
    assert "Awa" not in listing and "Bintou" in listing
    with app.app_context():
        opened = db.session.scalars(
            select(AuditEvent.detail).where(AuditEvent.action == "residents.recall_list")
        ).all()
    assert opened == ['{"results":3}', '{"results":2}']


def test_a_kid_starting_with_a_dash_is_a_kid(app: Flask, runner: CliRunner) -> None:
    kid = _rotate_until_kid_starts_with_dash(app)
    result = runner.invoke(main, ["keys", "revoke", kid, "--yes"])
    assert result.exit_code == 0, result.output
    listing = runner.invoke(main, ["keys", "list"]).output
    assert f"{kid}  revoked" in listing
    unknown = runner.invoke(main, ["keys", "revoke", "-AAAAAAA", "--yes"])
    assert unknown.exit_code == 1
    assert "No key with this id." in unknown.output
