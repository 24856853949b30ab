"""/v, /V and /scan in headless Chromium: in-browser verification, offline use, scanning."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from verdict_page import PageWatch, read_verdict, tamper, wait_for_offline_ready

from verify.status import STATUS_REVOKED

# Fixtures (served_city, browser_context, chromium_launcher) come from conftest.py; the
# city's constants are attributes of the ServedCity it returns.
ServedCity = Any

pytestmark = pytest.mark.browser

VERDICT_TIMEOUT_MS = 10_000
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desk": {"width": 1366, "height": 768}}


@pytest.mark.parametrize(
    ("case", "state", "reason"),
    [
        ("valid", "valid", "ok"),
        ("revoked", "not_valid", "revoked"),
        ("suspended", "not_valid", "suspended"),
        ("expired", "not_valid", "expired"),
        ("tampered", "not_valid", "bad_signature"),
    ],
)
def test_landing_page_verifies_in_the_browser(
    served_city: ServedCity, browser_context: Any, case: str, state: str, reason: str
) -> None:
    tokens = {
        "valid": served_city.token(),
        "revoked": served_city.token(status_index=served_city.REVOKED_INDEX),
        "suspended": served_city.token(status_index=served_city.SUSPENDED_INDEX),
        "expired": served_city.token(issued_at=1_600_000_000, expires_at=1_700_000_000),
        "tampered": tamper(served_city.token()),
    }
    page = browser_context.new_page()
    watch = PageWatch(page)

    # The phone camera opens the QR text as it is: upper-case host, /V, token in fragment.
    page.goto(f"{served_city.url}/V#{tokens[case]}")
    verdict = read_verdict(page)

    assert (verdict["state"], verdict["reason"]) == (state, reason)
    assert verdict["name"] == (None if case == "tampered" else "Maria da Conceição Silva")
    # Only a card whose dates hold needs the list, and then it says which list it used.
    assert ("list of cancelled cards from" in (verdict["freshness"] or "")) is (
        case in ("valid", "revoked", "suspended")
    )
    # Checked in the browser: nothing sent to the server, and the token left the address.
    assert watch.api_posts == []
    assert "#" not in page.url
    assert watch.errors == []


def test_page_without_token_asks_for_a_scan(served_city: ServedCity, browser_context: Any) -> None:
    page = browser_context.new_page()
    page.goto(f"{served_city.url}/v")

    verdict = read_verdict(page)

    assert (verdict["state"], verdict["reason"], verdict["title"]) == (
        "ready",
        "no_token",
        "Scan a card",
    )


def test_reloading_after_a_check_offers_to_scan_another_card(
    served_city: ServedCity, browser_context: Any
) -> None:
    token = served_city.token()
    page = browser_context.new_page()
    page.goto("about:blank")
    page.goto(f"{served_city.url}/V#{token}")
    assert read_verdict(page)["state"] == "valid"
    entries = page.evaluate("() => history.length")

    page.reload()
    verdict = read_verdict(page)

    assert (verdict["state"], verdict["reason"], verdict["title"]) == (
        "ready",
        "scan_another",
        "Scan another card",
    )
    assert "Maria" not in verdict["pageText"]
    # The token went out of the address by rewriting the entry, not by adding one; the
    # entry keeps only that a check was made, and nothing else on the device holds it.
    assert page.evaluate("() => history.length") == entries
    kept = page.evaluate(
        """() => JSON.stringify([history.state, location.href, {...localStorage},
            {...sessionStorage}])"""
    )
    assert kept == f'[{{"checked":true}},"{served_city.url}/V",{{}},{{}}]'
    page.go_back()
    assert page.url == "about:blank"
    page.go_forward()
    assert "#" not in page.url
    assert read_verdict(page)["reason"] == "scan_another"


def test_the_browsers_own_history_still_records_the_address_it_opened(
    served_city: ServedCity, playwright_sync: Any, tmp_path: Path
) -> None:
    # A limit the page cannot lift (see docs/threat-model.md): the browser records the
    # visit to the address the camera opened, fragment and all, before any script runs.
    import sqlite3

    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS

    token = served_city.token()
    profile = tmp_path / "profile"
    context = playwright_sync.chromium.launch_persistent_context(
        str(profile), executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
    )
    page = context.new_page()
    page.goto(f"{served_city.url}/V#{token}")
    assert read_verdict(page)["state"] == "valid"
    assert "#" not in page.url
    context.close()

    with sqlite3.connect(profile / "Default" / "History") as history:
        urls = [row[0] for row in history.execute("SELECT url FROM urls")]
    assert f"{served_city.url}/V#{token}" in urls


def test_other_city_card_is_checked_by_the_server(
    served_city: ServedCity, browser_context: Any
) -> None:
    token = served_city.token(served_city.other_signer, issuer="OPO")
    page = browser_context.new_page()
    watch = PageWatch(page)

    page.goto(f"{served_city.url}/V#{token}")
    # Without Porto's list the server cannot confirm the card either.
    assert read_verdict(page)["state"] == "cannot_confirm"
    served_city.publish_other_city()
    page.goto("about:blank")
    page.goto(f"{served_city.url}/V#{token}")
    verdict = read_verdict(page)

    assert (verdict["state"], verdict["reason"], verdict["issuer"]) == ("valid", "ok", "Porto")
    assert "city's server" in verdict["freshness"]
    assert len(watch.api_posts) == 2


def test_without_webcrypto_ed25519_the_server_decides(
    served_city: ServedCity, browser_context: Any
) -> None:
    # Older browsers have no Ed25519 in WebCrypto: importKey rejects as it would there.
    browser_context.add_init_script(
        """(() => {
            const original = crypto.subtle.importKey.bind(crypto.subtle);
            crypto.subtle.importKey = (format, key, algorithm, ...rest) =>
                (algorithm?.name ?? algorithm) === "Ed25519"
                    ? Promise.reject(new DOMException("no Ed25519", "NotSupportedError"))
                    : original(format, key, algorithm, ...rest);
        })();"""
    )
    page = browser_context.new_page()
    watch = PageWatch(page)

    page.goto(f"{served_city.url}/V#{served_city.token(status_index=served_city.REVOKED_INDEX)}")
    verdict = read_verdict(page)

    assert (verdict["state"], verdict["reason"]) == ("not_valid", "revoked")
    assert len(watch.api_posts) == 1
    assert "city's server" in verdict["freshness"]


def test_works_offline_after_one_visit(served_city: ServedCity, browser_context: Any) -> None:
    page = browser_context.new_page()
    page.goto(f"{served_city.url}/V#{served_city.token()}")
    assert read_verdict(page)["state"] == "valid"
    wait_for_offline_ready(page)

    # Network off, and the server really gone: only the service worker can answer.
    browser_context.set_offline(True)
    served_city.stop()
    revoked = served_city.token(status_index=served_city.REVOKED_INDEX)
    page.goto("about:blank")
    page.goto(f"{served_city.url}/V#{revoked}")
    verdict = read_verdict(page)

    assert (verdict["state"], verdict["reason"]) == ("not_valid", "revoked")
    assert verdict["name"] == "Maria da Conceição Silva"
    assert "list of cancelled cards from" in verdict["freshness"]

    page.goto("about:blank")
    page.goto(f"{served_city.url}/V#{served_city.token()}")
    assert read_verdict(page)["state"] == "valid"


def test_revocation_shows_on_the_next_load(served_city: ServedCity, browser_context: Any) -> None:
    token = served_city.token()
    page = browser_context.new_page()
    page.goto(f"{served_city.url}/V#{token}")
    assert read_verdict(page)["reason"] == "ok"
    wait_for_offline_ready(page)  # the worker, with its cached list, is now in the way

    bits = served_city.default_bits()
    bits.set(served_city.VALID_INDEX, STATUS_REVOKED)
    started = time.monotonic()
    served_city.publish(bits)
    page.goto("about:blank")
    page.goto(f"{served_city.url}/V#{token}")
    verdict = read_verdict(page)
    elapsed = time.monotonic() - started

    assert (verdict["state"], verdict["reason"]) == ("not_valid", "revoked")
    assert elapsed < 1.0
