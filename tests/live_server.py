"""A real ``citizen-card serve`` for tests: gunicorn on a fresh instance, on loopback.

:func:`start_server` runs ``citizen-card init`` and ``serve`` in a temporary instance and
waits for /healthz; :class:`Server` speaks HTTP to it with a cookie jar (so a form can
be posted with its CSRF token, as a browser would). When the server stops, its whole
output goes through the session's log scan (tests/log_scan.py).
"""

from __future__ import annotations

import http.cookiejar
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
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.log_scan import scan_output

CLI = Path(sys.executable).with_name("citizen-card")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    base: str
    process: subprocess.Popen[str]
    env: dict[str, str]
    log_path: Path
    output: str = ""
    stopped: bool = False
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

    def stop(self) -> str:
        """Stop the server (once) and return everything it wrote; the log scan sees it."""
        if not self.stopped:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.output = self.log_path.read_text()
            self.stopped = True
            scan_output("citizen-card serve", self.output)
        return self.output

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


def cli(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        [str(CLI), *args], env=env, input=stdin, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@contextmanager
def start_server(
    instance: Path, *extra: str, env: dict[str, str] | None = None
) -> Iterator[Server]:
    """Run ``citizen-card serve`` (with ``extra`` arguments) until the block ends."""
    if not CLI.exists():
        pytest.skip("the citizen-card command is not installed in this environment")
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "CITIZEN_CARD_INSTANCE": str(instance),
        "CITIZEN_CARD_ARGON2_TIME_COST": "1",
        "CITIZEN_CARD_ARGON2_MEMORY_KIB": "1024",
        "CITIZEN_CARD_VERIFY_BASE_URL": f"http://127.0.0.1:{port}",
    } | (env or {})
    cli(env, "init")
    # The output goes to a file: a pipe that nobody reads until the end fills up, and
    # the server's threads then block writing their access log lines.
    log_path = instance.parent / f"serve-{port}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(CLI), "serve", "--host", "127.0.0.1", "--port", str(port), *extra],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
    running = Server(f"http://127.0.0.1:{port}", process, env, log_path)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if running.request("GET", "/healthz")[0] == 200:
                break
        except OSError:
            time.sleep(0.1)
    else:
        process.kill()
        process.wait()
        pytest.fail("citizen-card serve did not start: " + log_path.read_text())
    try:
        yield running
    finally:
        running.stop()
