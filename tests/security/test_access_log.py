"""The production server's access log names routes, never the card or person served.

A real ``citizen-card serve`` (gunicorn) runs on a fresh instance; a clerk registers a
resident over the API, issues a card, fetches it and its PDF, opens the counter pages for
the card and the resident, and the resident downloads the card at /my-card. Every line
the server wrote is then searched for the card number (both forms), the resident id, the
names, the QR token, the download code and the client address; the lines are also handed
to the session-wide log scan (tests/log_scan.py).
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TEST_PASSWORD, photo_bytes
from tests.log_scan import scan_output

CLI = Path(sys.executable).with_name("citizen-card")
ACCESS_LINE = re.compile(r'"(GET|POST|PUT|PATCH|DELETE|HEAD) ')


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    base: str
    process: subprocess.Popen[str]
    env: dict[str, str]
    output: str = ""
    cookies: http.cookiejar.CookieJar = field(default_factory=http.cookiejar.CookieJar)

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes, dict[str, str]]:
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirect()
        )
        request = urllib.request.Request(  # noqa: S310 — a loopback URL the test built
            self.base + path, data=body, method=method, headers=headers or {}
        )
        try:
            with opener.open(request, timeout=30) as response:
                return response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, error.read(), dict(error.headers)

    def form(self, path: str, fields: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
        """Fill in the form on the page at ``path`` (CSRF token included) and send it."""
        _, page, _ = self.request("GET", path)
        token = re.search(rb'name="csrf_token" value="([^"]+)"', page)
        assert token, f"no CSRF token on {path}"
        data = urllib.parse.urlencode(fields | {"csrf_token": token.group(1).decode()}).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return self.request("POST", path, body=data, headers=headers)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _cli(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        [str(CLI), *args], env=env, input=stdin, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    if not CLI.exists():
        pytest.skip("the citizen-card command is not installed in this environment")
    port = _free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "CITIZEN_CARD_INSTANCE": str(tmp_path / "instance"),
        "CITIZEN_CARD_ARGON2_TIME_COST": "1",
        "CITIZEN_CARD_ARGON2_MEMORY_KIB": "1024",
        "CITIZEN_CARD_VERIFY_BASE_URL": f"http://127.0.0.1:{port}",
    }
    _cli(env, "init")
    process = subprocess.Popen(
        [str(CLI), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    running = Server(f"http://127.0.0.1:{port}", process, env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if running.request("GET", "/healthz")[0] == 200:
                break
        except OSError:
            time.sleep(0.1)
    else:
        process.kill()
        pytest.fail("citizen-card serve did not start: " + (process.communicate()[0] or ""))
    try:
        yield running
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            running.output = process.communicate(timeout=30)[0] or ""
        except subprocess.TimeoutExpired:
            process.kill()
            running.output = process.communicate()[0] or ""
        scan_output("citizen-card serve", running.output)


def test_the_access_log_ties_no_card_or_resident_to_anyone(server: Server) -> None:
    env = server.env
    _cli(
        env, "create-staff", "clerk-log", "--role", "clerk", "--password-stdin", stdin=TEST_PASSWORD
    )
    token = _cli(env, "create-token", "clerk-log").strip()
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

    server.process.send_signal(signal.SIGTERM)
    output = server.process.communicate(timeout=30)[0] or ""
    server.output = output
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
