"""Browser fixtures: Debian's Chromium driven by Playwright, and a verifier served over HTTP.

Playwright's own browser download is never used: tests launch /usr/bin/chromium and are
skipped, with a message, where it is missing. The verifier runs as a stand-alone app
(verify.web.create_verifier_app) in a thread, on 127.0.0.1 and a free port; 127.0.0.1 is
a secure context, so WebCrypto and service workers work without TLS.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from werkzeug.serving import WSGIRequestHandler, make_server

from citizen_card.wiring import ROUTE_ENVIRON_KEY

REPO_ROOT = Path(__file__).resolve().parents[2]
# Same reason as tests/verify/conftest.py: the editable install predates verify/.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from verify.cardnumber import new_card_number  # noqa: E402 -- needs the path set above
from verify.credential import (  # noqa: E402 -- same
    CardClaims,
    Ed25519Signer,
    encode_token,
    kid_to_text,
)
from verify.status import (  # noqa: E402 -- same
    STATUS_REVOKED,
    STATUS_SUSPENDED,
    StatusBits,
    encode_status_list,
)
from verify.web import StaticVerifierBackend, create_verifier_app  # noqa: E402 -- same


class RouteLoggingHandler(WSGIRequestHandler):
    """werkzeug's request handler, logging as `citizen-card serve` does: the route
    template, never the path (which holds resident ids and card numbers) or the address.

    The verifier app sets no route name, so its lines show "(path hidden)".
    """

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        environ = getattr(self, "environ", {})
        route = environ.get(ROUTE_ENVIRON_KEY, "(path hidden)")
        logging.getLogger("werkzeug").info('"%s %s" %s %s', self.command, route, code, size)


def make_test_server(app: Any, port: int = 0) -> Any:
    """A threaded werkzeug server on 127.0.0.1 with :class:`RouteLoggingHandler`, each
    response read whole and closed first (:func:`_buffered`)."""
    return make_server(
        "127.0.0.1", port, _buffered(app), threaded=True, request_handler=RouteLoggingHandler
    )


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
BASE_URL = "https://verify.city.example"
LIST_ID = 3
VALID_INDEX = 10
REVOKED_INDEX = 11
SUSPENDED_INDEX = 12


def launch_chromium(playwright: Any, extra_args: list[str] | None = None) -> Any:
    """Launch the system Chromium, or skip the test when there is none."""
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)")
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, *(extra_args or [])]
    )


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def jwks_document(
    key: Ed25519PrivateKey,
    iss: str,
    name: str,
    verify_url: str,
    revoked: tuple[Ed25519PrivateKey, ...] = (),
) -> dict[str, Any]:
    return {
        "iss": iss,
        "issuer_name": name,
        "verify_url": verify_url,
        "keys": [
            {
                "kty": "OKP",
                "crv": "Ed25519",
                "x": _b64url(key.public_key().public_bytes_raw()),
                "kid": kid_to_text(Ed25519Signer(key).kid),
                "alg": "EdDSA",
                "use": "sig",
                "status": "active",
            }
        ],
        "revoked_kids": [kid_to_text(Ed25519Signer(k).kid) for k in revoked],
    }


def default_bits() -> StatusBits:
    bits = StatusBits()
    bits.set(REVOKED_INDEX, STATUS_REVOKED)
    bits.set(SUSPENDED_INDEX, STATUS_SUSPENDED)
    return bits


def _buffered(app: Any) -> Any:
    """Read each response whole and close it before sending.

    werkzeug's dev server skips closing a response when the browser resets the
    connection mid-request (service worker fetches are aborted when a context closes),
    which leaves a static file open and trips filterwarnings=error with a ResourceWarning
    in some later test. A production server (gunicorn) does not have that race.
    """

    def wsgi(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        iterable = app(environ, start_response)
        try:
            return [b"".join(iterable)]
        finally:
            if hasattr(iterable, "close"):
                iterable.close()

    return wsgi


@dataclass
class ServedCity:
    """A verifier serving one city's keys and lists from ``directory``."""

    directory: Path
    # Status entries of the published list, for tests to point cards at.
    VALID_INDEX = VALID_INDEX
    REVOKED_INDEX = REVOKED_INDEX
    SUSPENDED_INDEX = SUSPENDED_INDEX
    BASE_URL = BASE_URL
    signer: Ed25519Signer = field(
        default_factory=lambda: Ed25519Signer(Ed25519PrivateKey.from_private_bytes(b"\x05" * 32))
    )
    other_signer: Ed25519Signer = field(
        default_factory=lambda: Ed25519Signer(Ed25519PrivateKey.from_private_bytes(b"\x06" * 32))
    )
    # A key Lisboa withdrew (listed in revoked_kids), and one it never had.
    revoked_signer: Ed25519Signer = field(
        default_factory=lambda: Ed25519Signer(Ed25519PrivateKey.from_private_bytes(b"\x07" * 32))
    )
    unknown_signer: Ed25519Signer = field(
        default_factory=lambda: Ed25519Signer(Ed25519PrivateKey.from_private_bytes(b"\x08" * 32))
    )
    card_number: str = field(default_factory=new_card_number)
    url: str = ""
    _server: Any = None
    _thread: threading.Thread | None = None
    _connections: set[socket.socket] = field(default_factory=set)

    def start(self) -> None:
        own = self.directory / "jwks.json"
        own.write_text(
            json.dumps(
                jwks_document(
                    Ed25519PrivateKey.from_private_bytes(b"\x05" * 32),
                    "LIS",
                    "Lisboa",
                    BASE_URL,
                    revoked=(Ed25519PrivateKey.from_private_bytes(b"\x07" * 32),),
                )
            )
        )
        porto = self.directory / "porto.json"
        porto.write_text(
            json.dumps(
                jwks_document(
                    Ed25519PrivateKey.from_private_bytes(b"\x06" * 32),
                    "OPO",
                    "Porto",
                    "https://verify.porto.example",
                )
            )
        )
        self.publish(default_bits())
        backend = StaticVerifierBackend([own, porto], self.directory / "status")
        app = create_verifier_app(backend)
        self._server = server = make_test_server(app)
        accept = server.get_request

        def get_request() -> tuple[socket.socket, Any]:
            connection, address = accept()
            self._connections.add(connection)
            return connection, address

        server.get_request = get_request  # type: ignore[method-assign]
        self.url = f"http://127.0.0.1:{server.server_port}"
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving for real: the listening socket, and every kept-alive connection
        (a browser, its service worker above all, would go on using those)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        for connection in self._connections:
            with contextlib.suppress(OSError):  # closed already
                connection.shutdown(socket.SHUT_RDWR)
        self._connections.clear()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def token(self, signer: Ed25519Signer | None = None, **overrides: Any) -> str:
        now = int(time.time())
        values: dict[str, Any] = {
            "issuer": "LIS",
            "issued_at": now - 86400,
            "expires_at": now + 365 * 86400,
            "card_number": self.card_number,
            "name": "Maria da Conceição Silva",
            "status_list": LIST_ID,
            "status_index": VALID_INDEX,
        }
        values.update(overrides)
        return encode_token(CardClaims(**values), signer or self.signer)

    def publish_other_city(self, bits: StatusBits | None = None) -> None:
        """Save Porto's list beside Lisboa's, as a verifier that accepts both keeps them."""
        now = int(time.time())
        data = encode_status_list(
            bits or StatusBits(),
            uri=f"https://verify.porto.example/status/{LIST_ID}",
            issued_at=now,
            expires_at=now + 7 * 86400,
            ttl=300,
            signer=self.other_signer,
        )
        path = self.directory / "status" / "OPO" / f"{LIST_ID}.cwt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    @property
    def list_path(self) -> Path:
        return self.directory / "status" / "LIS" / f"{LIST_ID}.cwt"

    @staticmethod
    def default_bits() -> StatusBits:
        """The published list: one entry revoked, one suspended, the rest valid."""
        return default_bits()

    def publish(self, bits: StatusBits) -> None:
        """Publish Lisboa's list as the issuer signs them: now, valid for 7 days."""
        now = int(time.time())
        data = encode_status_list(
            bits,
            uri=f"{BASE_URL}/status/{LIST_ID}",
            issued_at=now,
            expires_at=now + 7 * 86400,
            ttl=300,
            signer=self.signer,
        )
        path = self.list_path
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(data)
        temporary.replace(path)  # atomic, as an issuer would publish


@pytest.fixture(scope="session")
def playwright_sync() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def chromium(playwright_sync: Any) -> Iterator[Any]:
    browser = launch_chromium(playwright_sync)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def chromium_launcher(playwright_sync: Any) -> Callable[[list[str]], Any]:
    """Launches another Chromium with extra flags (e.g. a fake camera); caller closes it."""
    return lambda extra_args: launch_chromium(playwright_sync, extra_args)


@pytest.fixture
def served_city(tmp_path: Path) -> Iterator[ServedCity]:
    city = ServedCity(tmp_path)
    city.start()
    yield city
    city.stop()


@pytest.fixture
def browser_context(chromium: Any) -> Iterator[Any]:
    """A fresh profile per test: no service worker or cache carried between tests."""
    context = chromium.new_context(viewport={"width": 360, "height": 740})
    yield context
    context.close()


ARTIFACTS = REPO_ROOT / "test-artifacts"
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desk": {"width": 1366, "height": 768}}


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where browser tests keep their screenshots (test-artifacts/, ignored by git), so a
    person can look at every verdict after a run."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def live_url(app: Any) -> Iterator[str]:
    """The issuing app of the test (``app``) served over HTTP on 127.0.0.1, in threads."""
    server = make_test_server(app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()
    server.server_close()
