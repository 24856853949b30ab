"""A live issuer and the stand-alone verifier CLI: revocation is seen at once."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

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
    headers = _clerk_headers(app)
    client = app.test_client()
    card = _card(client, headers, "Selam", "Tesfay")
    jwks = f"{base}/.well-known/jwks.json"

    code, result = run_cli(card["qr"], "--trust", jwks)
    assert (code, result["reason"]) == (0, "ok")
    assert result["name"] == "Selam Tesfay"
    # Checked against the list the issuer serves now (re-signed within the hour).
    assert isinstance(result["status_age_seconds"], int)
    assert 0 <= result["status_age_seconds"] < 3600 and result["status_checked_at"]

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
    second = _card(client, headers, "Ana", "Sá")
    pdf.write_bytes(client.get(f"/api/v1/cards/{second['card_number']}/pdf", headers=headers).data)
    code, result = run_cli(str(pdf), "--trust", jwks)
    assert (code, result["reason"], result["name"]) == (0, "ok", "Ana Sá")


def test_the_cli_offline_on_the_list_it_saved_online(
    live_issuer: tuple[str, Flask], tmp_path: Path
) -> None:
    _, app = live_issuer
    headers = _clerk_headers(app)
    client = app.test_client()
    kept = _card(client, headers, "فاطمة الزهراء", "الحسينية", "Fatima Alzahra Alhusainia")
    stolen = _card(client, headers, "Selam", "Tesfay")
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_bytes(client.get("/.well-known/jwks.json").data)
    saved = tmp_path / "status"

    # Online, with a directory: the lists are checked and saved there.
    client.post(
        f"/api/v1/cards/{stolen['card_number']}/revoke", json={"reason": "stolen"}, headers=headers
    )
    code, result = run_cli(kept["qr"], "--trust", str(jwks_file), "--status-dir", str(saved))
    assert (code, result["reason"], result["latin_name"]) == (0, "ok", "Fatima Alzahra Alhusainia")
    assert list(saved.glob("*/*.cwt"))

    # Offline, on the saved list: valid within the window, then "cannot confirm" ...
    now = int(time.time())
    offline = ["--trust", str(jwks_file), "--status-dir", str(saved), "--offline"]
    assert run_cli(kept["qr"], *offline, "--now", str(now + 3600))[0] == 0
    code, result = run_cli(kept["qr"], *offline, "--now", str(now + 2 * 86400))
    assert (code, result["reason"], result["valid"]) == (3, "status_unknown", False)
    assert result["status_age_seconds"] >= 2 * 86400
    code, result = run_cli(
        kept["qr"], *offline, "--now", str(now + 2 * 86400), "--max-status-age", "72"
    )
    assert (code, result["reason"]) == (0, "ok")
    # ... past the list's own exp (7 days) whatever window is asked for ...
    code, result = run_cli(
        kept["qr"], *offline, "--now", str(now + 8 * 86400), "--max-status-age", "720"
    )
    assert (code, result["reason"]) == (3, "status_unknown")
    # ... and the stolen card is revoked on that list however old it is.
    for days in (0, 2, 8):
        code, result = run_cli(stolen["qr"], *offline, "--now", str(now + days * 86400))
        assert (code, result["reason"]) == (1, "revoked")


def _clerk_headers(app: Flask) -> dict[str, str]:
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
    return {"Authorization": f"Bearer {token}"}


def _card(
    client: FlaskClient, headers: dict[str, str], given: str, family: str, latin: str | None = None
) -> dict[str, str]:
    resident = client.post(
        "/api/v1/residents",
        json={"given_names": given, "family_names": family, "latin_name": latin},
        headers=headers,
    ).json["id"]
    client.put(
        f"/api/v1/residents/{resident}/photo",
        data=photo_bytes(),
        headers=headers | {"Content-Type": "image/jpeg"},
    )
    card: dict[str, str] = client.post(f"/api/v1/residents/{resident}/cards", headers=headers).json
    return card
