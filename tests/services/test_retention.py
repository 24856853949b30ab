"""Deleting on schedule (citizen-card purge) and the resident's export."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import timedelta

from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from citizen_card.cli import main
from citizen_card.extensions import db
from citizen_card.models import Card, Resident


def issue(client: FlaskClient, headers: dict[str, str], resident_id: str) -> dict[str, str]:
    response = client.post(f"/api/v1/residents/{resident_id}/cards", headers=headers)
    assert response.status_code == 201
    body: dict[str, str] = response.json
    return body


def age_card(app: Flask, number: str, days_ago: int) -> None:
    """Move a card's validity into the past, as if time had passed."""
    with app.app_context():
        from citizen_card.context import app_context

        now = app_context().now()
        db.session.execute(
            update(Card)
            .where(Card.number == number.replace("-", ""))
            .values(
                issued_at=now - timedelta(days=days_ago + 365),
                expires_at=now - timedelta(days=days_ago),
            )
        )
        db.session.commit()


def residents(app: Flask) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(select(Resident.public_id)))


def test_purge_deletes_only_residents_past_retention(
    app: Flask,
    client: FlaskClient,
    runner: CliRunner,
    clerk_headers: dict[str, str],
    make_resident: Callable[..., str],
) -> None:
    long_expired = make_resident(given_names="Old")
    recently_expired = make_resident(given_names="Recent")
    current = make_resident(given_names="Current")
    never_issued = make_resident(given_names="Fresh")
    old_card = issue(client, clerk_headers, long_expired)
    age_card(app, old_card["card_number"], days_ago=800)  # retention is 24 months
    age_card(app, issue(client, clerk_headers, recently_expired)["card_number"], days_ago=30)
    issue(client, clerk_headers, current)

    dry = runner.invoke(main, ["purge", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "Would delete 1 resident record(s)" in dry.output
    assert residents(app) == {long_expired, recently_expired, current, never_issued}

    done = runner.invoke(main, ["purge"])
    assert "Deleted 1 resident record(s)" in done.output
    assert residents(app) == {recently_expired, current, never_issued}
    # The card number stays, revoked, so its status-list index is never reused.
    with app.app_context():
        kept = db.session.scalars(
            select(Card).where(Card.number == old_card["card_number"].replace("-", ""))
        ).one()
        assert (kept.resident_id, kept.status) == (None, "revoked")
    assert runner.invoke(main, ["purge"]).output.startswith("Deleted 0")


def test_export_gives_everything_held(
    client: FlaskClient, clerk_headers: dict[str, str], make_resident: Callable[..., str]
) -> None:
    resident_id = make_resident(contact="+33 6 00 00 00 00", date_of_birth="1990-05-17")
    card = issue(client, clerk_headers, resident_id)
    export = client.get(f"/api/v1/residents/{resident_id}/export", headers=clerk_headers)
    assert export.status_code == 200
    data = export.json
    assert data["details"]["family_names"] == "García López"
    assert data["details"]["date_of_birth"] == "1990-05-17"
    assert data["details"]["contact"] == "+33 6 00 00 00 00"
    assert {e["kind"] for e in data["evidence_seen"]} == {"identity", "residence"}
    assert [c["card_number"] for c in data["cards"]] == [card["card_number"].replace("-", "")]
    assert base64.b64decode(data["photo_jpeg_base64"])[:3] == b"\xff\xd8\xff"
    assert export.headers["Cache-Control"] == "no-store"
