"""`citizen-card serve` is secure by default and keeps limits honest (citizen_card/serving.py)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from citizen_card import serving
from citizen_card.config import Settings
from tests.live_server import start_server


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost"])
def test_loopback_keeps_the_configured_cookies(settings: Settings, host: str) -> None:
    chosen = serving.plan(settings, host=host, workers=None, threads=None, plain_http=False)
    assert chosen.settings.secure_cookies is False
    assert (chosen.workers, chosen.threads) == (1, serving.DEFAULT_THREADS)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "::", "cards.city.example"])  # noqa: S104 — the hosts under test
def test_any_other_address_gets_secure_cookies(settings: Settings, host: str) -> None:
    chosen = serving.plan(settings, host=host, workers=None, threads=None, plain_http=False)
    assert chosen.settings.secure_cookies is True
    assert chosen.warnings == ()


def test_plain_http_must_be_asked_for_and_warns(settings: Settings) -> None:
    chosen = serving.plan(settings, host="0.0.0.0", workers=None, threads=None, plain_http=True)  # noqa: S104
    assert chosen.settings.secure_cookies is False
    assert "test network only" in chosen.warnings[0]


def test_several_workers_need_shared_limits(settings: Settings) -> None:
    with pytest.raises(serving.ServeRefused, match="memory://"):
        serving.plan(settings, host="127.0.0.1", workers=3, threads=None, plain_http=False)
    shared = replace(settings, ratelimit_storage_uri="redis://127.0.0.1:6379/0")
    chosen = serving.plan(shared, host="127.0.0.1", workers=None, threads=4, plain_http=False)
    assert (chosen.workers, chosen.threads) == (serving.DEFAULT_SHARED_WORKERS, 4)


def test_served_on_every_address_the_cookie_is_secure_and_hsts_is_sent(tmp_path: Path) -> None:
    with start_server(tmp_path / "instance", "--host", "0.0.0.0") as server:  # noqa: S104
        status, _, headers = server.request("GET", "/login")
        assert status == 200
        cookie = headers.get("Set-Cookie", "")
        assert cookie.startswith("__Host-session=") and "Secure" in cookie
        assert headers["Strict-Transport-Security"].startswith("max-age=")
