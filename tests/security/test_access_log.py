"""The production server's access log names routes, never the card or person served.

A real ``citizen-card serve`` (gunicorn) runs on a fresh instance; a clerk registers a
resident over the API, issues a card, fetches it and its PDF, opens the counter pages for
the card and the resident, and the resident downloads the card at /my-card. Every line
the server wrote is then searched for the card number (both forms), the resident id, the
names, the QR token, the download code and the client address; the lines are also handed
to the session-wide log scan (tests/log_scan.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import TEST_PASSWORD, photo_bytes
from tests.live_server import Server, cli, start_server

ACCESS_LINE = re.compile(r'"(GET|POST|PUT|PATCH|DELETE|HEAD) ')


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with start_server(tmp_path / "instance") as running:
        yield running


def test_the_access_log_ties_no_card_or_resident_to_anyone(server: Server) -> None:
    env = server.env
    cli(
        env, "create-staff", "clerk-log", "--role", "clerk", "--password-stdin", stdin=TEST_PASSWORD
    )
    token = cli(env, "create-token", "clerk-log").strip()
    api = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    names = {"given_names": "Wanjiru", "family_names": "Kamau-Otieno"}
    status, body, _ = server.request(
        "POST", "/api/v1/residents", body=json.dumps(names).encode(), headers=api
    )
    assert status == 201, body
    resident_id = json.loads(body)["id"]
    photo_headers = {"Authorization": f"Bearer {token}", "Content-Type": "image/jpeg"}
    path = f"/api/v1/residents/{resident_id}/photo"
    assert server.request("PUT", path, body=photo_bytes(), headers=photo_headers)[0] == 204
    status, body, _ = server.request(
        "POST", f"/api/v1/residents/{resident_id}/cards", body=b"", headers=api
    )
    assert status == 201, body
    card = json.loads(body)
    number, qr, code = card["card_number"], card["qr"], card["download_code"]
    compact = number.replace("-", "")
    assert server.request("GET", f"/api/v1/cards/{number}", headers=api)[0] == 200
    assert server.request("GET", f"/api/v1/cards/{compact}/pdf", headers=api)[0] == 200
    status, _, headers = server.form("/login", {"username": "clerk-log", "password": TEST_PASSWORD})
    assert status == 302, headers
    assert server.request("GET", f"/cards/{compact}")[0] == 200
    assert server.request("GET", f"/cards/{compact}/front.png")[0] == 200
    assert server.request("GET", f"/residents/{resident_id}")[0] == 200
    status, body, _ = server.form("/my-card", {"card_number": number, "code": code})
    assert status == 200 and body.startswith(b"%PDF"), body[:200]
    server.request("GET", f"/no/such/page/{compact}")  # a 404 names no path either

    output = server.stop()
    access = [line for line in output.splitlines() if ACCESS_LINE.search(line)]
    assert len(access) >= 12, output  # the access log is really there
    for route in (
        '"GET /api/v1/cards/<card_number>/pdf" 200',
        '"GET /cards/<card_number>/<any(front, back):face>.png" 200',
        '"GET /residents/<public_id>" 200',
        '"POST /my-card" 200',
        '"GET (no route)" 404',
    ):
        assert any(route in line for line in access), f"no {route} in {access}"
    # No client address beside a route: the server's own start-up lines may name its own.
    assert not any("127.0.0.1" in line for line in access), access
    secrets = [
        number,
        compact,
        resident_id,
        "Wanjiru",
        "Kamau-Otieno",
        qr.split("#")[1][:24],
        code,
        code.replace("-", ""),
    ]
    leaked = [secret for secret in secrets if secret in output]
    assert leaked == [], f"identifiers in the server's output: {leaked}"
