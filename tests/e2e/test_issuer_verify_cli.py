"""A live issuer and the stand-alone verifier CLI: revocation is seen at once."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from flask import Flask

from citizen_card import create_app
from citizen_card.config import Settings
from citizen_card.context import app_context
from citizen_card.extensions import db
from citizen_card.services import accounts, keyring
from tests.conftest import photo_bytes
from tests.e2e.conftest import make_test_server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def live_issuer(settings: Settings) -> Iterator[tuple[str, Flask]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = create_app(replace(settings, verify_base_url=base))
    with app.app_context():
        db.create_all()
        keyring.ensure_signing_key(db.session, app_context().settings, now=app_context().now())
        db.session.commit()
    server = make_test_server(app, port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base, app
    server.shutdown()
    thread.join()
    server.server_close()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def run_cli(*args: str) -> tuple[int, dict[str, object]]:
    result = subprocess.run(
        [sys.executable, "-m", "verify", *args, "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return result.returncode, json.loads(result.stdout)


def test_the_cli_sees_a_revocation_within_the_second(
    live_issuer: tuple[str, Flask], tmp_path: Path
) -> None:
    base, app = live_issuer
    with app.app_context():
        ctx = app_context()
        staff = accounts.create_staff(
            db.session,
            username="clerk",
            role="clerk",
            password="a long enough passphrase",
            policy=ctx.password_policy,
            now=ctx.now(),
            actor=None,
            must_change_password=False,
        )
        token = accounts.create_api_token(db.session, staff, now=ctx.now(), actor=None)
        db.session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    resident = client.post(
        "/api/v1/residents",
        json={"given_names": "Selam", "family_names": "Tesfay"},
        headers=headers,
    ).json["id"]
    client.put(
        f"/api/v1/residents/{resident}/photo",
        data=photo_bytes(),
        headers=headers | {"Content-Type": "image/jpeg"},
    )
    card = client.post(f"/api/v1/residents/{resident}/cards", headers=headers).json
    jwks = f"{base}/.well-known/jwks.json"

    code, result = run_cli(card["qr"], "--trust", jwks)
    assert (code, result["reason"]) == (0, "ok")
    assert result["name"] == "Selam Tesfay"

    assert (
        client.post(
            f"/api/v1/cards/{card['card_number']}/revoke",
            json={"reason": "stolen"},
            headers=headers,
        ).status_code
        == 200
    )
    code, result = run_cli(card["qr"], "--trust", jwks)
    assert (code, result["reason"]) == (1, "revoked")

    # The PDF the resident downloads verifies the same way, straight from the file.
    pdf = tmp_path / "card.pdf"
    other = client.post(
        "/api/v1/residents", json={"given_names": "Ana", "family_names": "Sá"}, headers=headers
    ).json["id"]
    client.put(
        f"/api/v1/residents/{other}/photo",
        data=photo_bytes(),
        headers=headers | {"Content-Type": "image/jpeg"},
    )
    second = client.post(f"/api/v1/residents/{other}/cards", headers=headers).json
    pdf.write_bytes(client.get(f"/api/v1/cards/{second['card_number']}/pdf", headers=headers).data)
    code, result = run_cli(str(pdf), "--trust", jwks)
    assert (code, result["reason"], result["name"]) == (0, "ok", "Ana Sá")
