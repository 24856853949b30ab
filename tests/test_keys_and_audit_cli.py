"""Key rotation and revocation, and the audit chain, through the command line."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text

from citizen_card.cli import main
from citizen_card.extensions import db
from citizen_card.models import AuditEvent


def issue(client: FlaskClient, headers: dict[str, str], resident_id: str) -> str:
    response = client.post(f"/api/v1/residents/{resident_id}/cards", headers=headers)
    assert response.status_code == 201
    qr: str = response.json["qr"]
    return qr


def reason(client: FlaskClient, qr: str) -> str:
    result: str = client.post("/api/v1/verify", json={"qr": qr}).json["reason"]
    return result


def test_rotation_keeps_old_cards_and_revocation_kills_them(
    app: Flask,
    client: FlaskClient,
    runner: CliRunner,
    clerk_headers: dict[str, str],
    make_resident: Callable[..., str],
) -> None:
    old_card = issue(client, clerk_headers, make_resident())
    old_kid = client.get("/.well-known/jwks.json").json["keys"][0]["kid"]

    rotated = runner.invoke(main, ["keys", "rotate"])
    assert rotated.exit_code == 0, rotated.output
    new_card = issue(client, clerk_headers, make_resident(given_names="Ana"))
    states = {k["kid"]: k["status"] for k in client.get("/.well-known/jwks.json").json["keys"]}
    assert states[old_kid] == "retired"
    assert sorted(states.values()) == ["active", "retired"]
    assert reason(client, old_card) == "ok"
    assert reason(client, new_card) == "ok"

    listing = runner.invoke(main, ["keys", "list"])
    assert f"{old_kid}  retired" in listing.output

    # A kid may start with "-" (base64url): after "--" it is never read as an option.
    revoked = runner.invoke(main, ["keys", "revoke", "--yes", "--", old_kid])
    assert revoked.exit_code == 0, revoked.output
    jwks = client.get("/.well-known/jwks.json").json
    assert old_kid not in {k["kid"] for k in jwks["keys"]}
    assert jwks["revoked_kids"] == [old_kid]
    assert reason(client, old_card) == "key_revoked"
    assert reason(client, new_card) == "ok"

    exported = json.loads(runner.invoke(main, ["keys", "export"]).output)
    assert exported == jwks
    assert runner.invoke(main, ["keys", "revoke", "AAAAAAAA", "--yes"]).exit_code != 0
    with app.app_context():
        actions = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.target_type == "key")
        ).all()
    assert actions == ["key.create", "key.rotate", "key.revoke"]


def test_revoking_the_signing_key_makes_a_new_one(
    client: FlaskClient,
    runner: CliRunner,
    clerk_headers: dict[str, str],
    make_resident: Callable[..., str],
) -> None:
    card = issue(client, clerk_headers, make_resident())
    kid = client.get("/.well-known/jwks.json").json["keys"][0]["kid"]
    assert runner.invoke(main, ["keys", "revoke", "--yes", "--", kid]).exit_code == 0
    assert reason(client, card) == "key_revoked"
    fresh = issue(client, clerk_headers, make_resident(given_names="Rui"))
    assert reason(client, fresh) == "ok"


def _tamper(app: Flask, sql: str) -> None:
    with app.app_context():
        db.session.execute(text(sql))
        db.session.commit()


def _fill_log(client: FlaskClient, headers: dict[str, str]) -> None:
    for name in ("Ana", "Rui", "Eva", "Zé"):
        assert (
            client.post(
                "/api/v1/residents",
                json={"given_names": name, "family_names": "Silva"},
                headers=headers,
            ).status_code
            == 201
        )


def test_an_intact_chain_verifies_and_its_head_can_be_signed(
    app: Flask, client: FlaskClient, runner: CliRunner, clerk_headers: dict[str, str]
) -> None:
    _fill_log(client, clerk_headers)
    result = runner.invoke(main, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "Audit log intact" in result.output
    statement = json.loads(runner.invoke(main, ["audit", "export-head"]).output)
    assert statement["chain_ok"] is True
    from citizen_card.services import audit
    from verify.credential import b64url_decode

    jwk = client.get("/.well-known/jwks.json").json["keys"][0]
    with app.app_context():
        assert audit.check_head(db.session, statement, b64url_decode(jwk["x"]))
        forged = statement | {"seq": statement["seq"] - 1}
        assert not audit.check_head(db.session, forged, b64url_decode(jwk["x"]))


TAMPERING = {
    "edit": (
        ["UPDATE audit_event SET action = 'resident.view' WHERE seq = 4"],
        "event 4: contents were changed",
    ),
    "delete": (["DELETE FROM audit_event WHERE seq = 3"], "event 3: missing or reordered"),
    "reorder": (
        [
            "UPDATE audit_event SET seq = 1004 WHERE seq = 4",
            "UPDATE audit_event SET seq = 4 WHERE seq = 5",
            "UPDATE audit_event SET seq = 5 WHERE seq = 1004",
        ],
        "event 4: does not follow the previous event",
    ),
    "truncate": (
        ["DELETE FROM audit_event WHERE seq = (SELECT MAX(seq) FROM audit_event)"],
        "events after this point were removed",
    ),
}


@pytest.mark.parametrize("kind", sorted(TAMPERING))
def test_tampering_is_detected_and_located(
    app: Flask, client: FlaskClient, runner: CliRunner, clerk_headers: dict[str, str], kind: str
) -> None:
    _fill_log(client, clerk_headers)
    assert runner.invoke(main, ["audit", "verify"]).exit_code == 0
    statements, expected = TAMPERING[kind]
    for statement in statements:
        _tamper(app, statement)
    result = runner.invoke(main, ["audit", "verify"])
    assert result.exit_code != 0
    assert expected in result.output
