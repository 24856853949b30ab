"""Of clerks handing over the same new card at once, exactly one wins.

Ten clients, released together by a barrier, each with its own connection, hand over a
pending card (a replacement for a damaged card) through the API and through the pages,
on SQLite and on PostgreSQL: one succeeds, the others get 409, the old card is revoked
once and the audit log shows one hand-over.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from citizen_card import create_app
from citizen_card.config import Settings
from citizen_card.context import app_context
from citizen_card.extensions import db
from citizen_card.models import AuditEvent, Card, Staff
from citizen_card.services import accounts, keyring
from tests.conftest import TEST_PASSWORD, csrf_token, login
from tests.web.test_single_use import RACERS, race
from verify.cardnumber import normalize_card_number


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    """The app without rate limits (they would refuse racers before the race)."""
    unlimited = replace(settings, extra={"RATELIMIT_ENABLED": False})
    app = create_app(unlimited)
    with app.app_context():
        db.create_all()
        keyring.ensure_signing_key(db.session, unlimited, now=app_context().now())
        db.session.commit()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _card(app: Flask, number: str) -> Card:
    with app.app_context():
        card = db.session.execute(
            select(Card).where(Card.number == normalize_card_number(number))
        ).scalar_one()
        db.session.expunge(card)
        return card


def _count(app: Flask, action: str, **detail: object) -> int:
    with app.app_context():
        rows = db.session.execute(
            select(AuditEvent.detail).where(AuditEvent.action == action)
        ).scalars()
        return sum(1 for row in rows if detail.items() <= json.loads(row).items())


def _pending_printed_card(
    app: Flask, api: FlaskClient, headers: dict[str, str], public_id: str
) -> tuple[str, str]:
    first = api.post(f"/api/v1/residents/{public_id}/cards", headers=headers).json
    pending = api.post(
        f"/api/v1/cards/{first['card_number']}/replace", headers=headers, json={"reason": "damaged"}
    )
    assert pending.status_code == 201, pending.json
    assert pending.json["status"] == "pending"
    printed = api.get(f"/api/v1/cards/{pending.json['card_number']}/pdf", headers=headers)
    assert printed.status_code == 200
    with app.app_context():  # the API's PDF is not the printer's: mark it printed
        card = db.session.execute(
            select(Card).where(Card.number == normalize_card_number(pending.json["card_number"]))
        ).scalar_one()
        card.printed_at = app_context().now()
        db.session.commit()
    return first["card_number"], pending.json["card_number"]


def test_two_clerks_handing_over_at_once_one_wins_by_the_api(
    app: Flask, make_resident: Callable[..., str], clerk_headers: dict[str, str]
) -> None:
    api = app.test_client()
    old, new = _pending_printed_card(app, api, clerk_headers, make_resident())
    clients = [app.test_client() for _ in range(RACERS)]
    statuses = race(
        clients,
        lambda client: client.post(f"/api/v1/cards/{new}/hand-over", headers=clerk_headers),
    )
    assert sorted(statuses) == [200] + [409] * (RACERS - 1)
    assert _count(app, "card.hand_over") == 1
    assert _count(app, "card.revoke", reason="superseded") == 1
    assert (_card(app, old).status, _card(app, new).status) == ("revoked", "active")
    again = api.post(f"/api/v1/cards/{new}/hand-over", headers=clerk_headers)
    assert again.status_code == 409 and again.json["error"] == "already_handed_over"


def test_two_clerks_handing_over_at_once_one_wins_by_the_pages(
    app: Flask,
    make_resident: Callable[..., str],
    clerk_headers: dict[str, str],
) -> None:
    old, new = _pending_printed_card(app, app.test_client(), clerk_headers, make_resident())
    # Each racer is a logged-in counter browser of its own (its own session cookie).
    staff = [_clerk(app, i) for i in range(RACERS)]
    clients = []
    for account in staff:
        client = app.test_client()
        login(client, account)
        clients.append(client)
    tokens = {id(c): csrf_token(c, "/residents/") for c in clients}
    statuses = race(
        clients,
        lambda client: client.post(
            f"/cards/{new}/hand-over", data={"csrf_token": tokens[id(client)]}
        ),
    )
    assert sorted(statuses) == [302] + [409] * (RACERS - 1)
    assert _count(app, "card.hand_over") == 1
    assert (_card(app, old).status, _card(app, new).status) == ("revoked", "active")


def _clerk(app: Flask, i: int) -> Staff:
    with app.app_context():
        ctx = app_context()
        staff = accounts.create_staff(
            db.session,
            username=f"racer-{i}",
            role="clerk",
            password=TEST_PASSWORD,
            policy=ctx.password_policy,
            now=ctx.now(),
            actor=None,
            must_change_password=False,
        )
        db.session.commit()
        db.session.refresh(staff)
        db.session.expunge(staff)
        return staff
