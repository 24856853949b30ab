"""Every verdict of the /V landing page, in Chromium, on a phone and at a desk.

Each verdict has its own heading, colour, icon and next step; the name is shown in every
form the card prints; "Valid until" appears on a valid card only; "Check again" only where
checking again can change the answer. Screenshots of every case are kept in
test-artifacts/verdicts/ for people to look at.

The "cannot confirm" cases are the real thing: the page was opened once online, then the
network is cut and the server stopped, and the page's clock is moved on (Playwright's
clock) until the saved status list is too old, or the list is gone from the saved copy.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from verdict_page import (
    PageWatch,
    contrast,
    drop_from_offline_cache,
    read_verdict,
    snap,
    tamper,
    wait_for_offline_ready,
)

ServedCity = Any
pytestmark = pytest.mark.browser

NAME = "فاطمة الزهراء الحسينية"
LATIN = "Fatima Alzahra Alhusainia"
DAY = 86400
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desk": {"width": 1366, "height": 768}}


@dataclass(frozen=True)
class Case:
    """One verdict: how to make its card, and what the page must then show."""

    token: Callable[[ServedCity], str]
    state: str
    reason: str
    tone: str
    icon: str
    title: str
    claims_shown: bool = True
    # offline: open online first, then cut the network and stop the server; clock_days
    # moves the page's clock on; drop removes saved copies from the offline cache.
    offline: bool = False
    clock_days: float = 0
    drop: tuple[str, ...] = ()


def _two_forms(city: ServedCity, **overrides: Any) -> str:
    return str(city.token(name=NAME, latin_name=LATIN, **overrides))


CASES = {
    "valid": Case(_two_forms, "valid", "ok", "valid", "valid", "Valid"),
    "valid-latin-only": Case(lambda city: city.token(), "valid", "ok", "valid", "valid", "Valid"),
    "revoked": Case(
        lambda city: _two_forms(city, status_index=city.REVOKED_INDEX),
        "not_valid",
        "revoked",
        "stop",
        "cancelled",
        "Cancelled — do not accept",
    ),
    "suspended": Case(
        lambda city: _two_forms(city, status_index=city.SUSPENDED_INDEX),
        "not_valid",
        "suspended",
        "stop",
        "paused",
        "Suspended",
    ),
    "expired": Case(
        lambda city: _two_forms(city, issued_at=1_600_000_000, expires_at=1_700_000_000),
        "not_valid",
        "expired",
        "stop",
        "expired",
        # 1_700_000_000 is 14 November 2023 (UTC).
        "Expired on November 14, 2023",
    ),
    "not-yet-valid": Case(
        lambda city: _two_forms(city, issued_at=int(time.time()) + 30 * DAY),
        "not_valid",
        "not_yet_valid",
        "stop",
        "expired",
        "Not valid yet",
    ),
    "forged": Case(
        lambda city: tamper(_two_forms(city)),
        "not_valid",
        "bad_signature",
        "stop",
        "forged",
        "Possibly forged — do not accept",
        claims_shown=False,
    ),
    "unknown-key": Case(
        lambda city: _two_forms(city, signer=city.unknown_signer),
        "not_valid",
        "unknown_key",
        "stop",
        "forged",
        "Possibly forged — do not accept",
        claims_shown=False,
    ),
    "key-revoked": Case(
        lambda city: _two_forms(city, signer=city.revoked_signer),
        "not_valid",
        "key_revoked",
        "stop",
        "cancelled",
        "Recalled — do not accept",
        claims_shown=False,
    ),
    "unknown-issuer": Case(
        lambda city: _two_forms(city, issuer="XYZ"),
        "not_valid",
        "unknown_issuer",
        "stop",
        "unknown",
        "Unknown issuer — do not accept",
        claims_shown=False,
    ),
    "unreadable": Case(
        lambda city: _two_forms(city)[:-7],
        "not_valid",
        "malformed",
        "retry",
        "unreadable",
        "Could not read the code — scan again",
        claims_shown=False,
    ),
    "stale-list": Case(
        _two_forms,
        "cannot_confirm",
        "status_unknown",
        "caution",
        "caution",
        "Cannot confirm — status out of date",
        offline=True,
        clock_days=2,
    ),
    "list-past-its-expiry": Case(
        _two_forms,
        "cannot_confirm",
        "status_unknown",
        "caution",
        "caution",
        "Cannot confirm — status out of date",
        offline=True,
        clock_days=8,
    ),
    "no-list": Case(
        _two_forms,
        "cannot_confirm",
        "status_unknown",
        "caution",
        "caution",
        "Cannot confirm — status not checked",
        offline=True,
        drop=("/status/3",),
    ),
    "cannot-check": Case(
        _two_forms,
        "offline",
        "offline",
        "caution",
        "caution",
        "Cannot check — no connection",
        claims_shown=False,
        offline=True,
        drop=("/status/3", "/.well-known/jwks.json"),
    ),
}
CHECK_AGAIN_REASONS = {"status_unknown", "offline"}


def open_card(city: ServedCity, context: Any, case: Case, token: str) -> tuple[Any, PageWatch]:
    page = context.new_page()
    watch = PageWatch(page)
    if case.offline:
        # One visit online installs the worker and saves keys and lists ...
        page.goto(f"{city.url}/V#{city.token()}")
        read_verdict(page)
        wait_for_offline_ready(page)
        drop_from_offline_cache(page, *case.drop)
        # ... then the network is cut and the server is really gone.
        context.set_offline(True)
        city.stop()
        page.goto("about:blank")
    if case.clock_days:
        context.clock.set_fixed_time(time.time() + case.clock_days * DAY)
    page.goto(f"{city.url}/V#{token}")
    return page, watch


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
@pytest.mark.parametrize("name", list(CASES))
def test_each_verdict_has_its_own_words_colour_and_icon(
    served_city: ServedCity, chromium: Any, artifacts: Path, name: str, viewport: str
) -> None:
    case = CASES[name]
    token = case.token(served_city)
    context = chromium.new_context(viewport=VIEWPORTS[viewport], locale="en-GB")
    try:
        page, watch = open_card(served_city, context, case, token)
        verdict = read_verdict(page)
        snap(page, artifacts / "verdicts", f"{name}-{viewport}")
    finally:
        context.close()

    # Decision first: state, colour, icon and heading belong to this verdict.
    assert (verdict["state"], verdict["reason"], verdict["tone"], verdict["icon"]) == (
        case.state,
        case.reason,
        case.tone,
        f"#verdict-icon-{case.icon}",
    )
    assert verdict["title"] == case.title
    assert verdict["what"] and verdict["next"]
    # Words on the banner pass WCAG AA (4.5:1) against its colour.
    assert contrast(verdict["color"], verdict["background"]) >= 4.5
    # The decision is in view without scrolling, on the phone as at the desk.
    assert 0 <= verdict["bannerBox"]["top"] < verdict["bannerBox"]["bottom"]
    assert verdict["bannerBox"]["bottom"] <= verdict["viewport"]["height"]
    assert verdict["bannerBox"]["right"] <= verdict["viewport"]["width"]

    # Details second: the name as printed, in both forms, and what to do with it.
    if case.claims_shown:
        latin_only = name == "valid-latin-only"
        assert verdict["name"] == ("Maria da Conceição Silva" if latin_only else NAME)
        assert verdict["latinName"] == (None if latin_only else LATIN)
        assert verdict["nameCheck"] == (
            "Check that the name on the card is exactly this."
            if latin_only
            else "Check that the names on the card are exactly these."
        )
        assert verdict["bodyBox"]["top"] >= verdict["bannerBox"]["bottom"]
        assert verdict["issuer"] == "Lisboa"
    else:
        assert verdict["name"] is None and verdict["bodyBox"] is None
        assert NAME not in verdict["pageText"]
    # "Valid until", in bold, only on a valid card.
    if case.state == "valid":
        assert (verdict["expiryLabel"], verdict["expiryWeight"]) == ("Valid until", "700")
        assert "Compare the photo" in verdict["next"]
    else:
        assert "Valid until" not in verdict["pageText"]
        if case.claims_shown:
            assert (verdict["expiryLabel"], verdict["expiryWeight"]) == ("Expiry date", "400")
    # Offered only where checking again can change the answer.
    assert verdict["checkAgain"] is (case.reason in CHECK_AGAIN_REASONS)
    # Cards of this city are checked in the browser; another city's, or a card whose
    # list is out of reach, go to the server.
    assert bool(watch.api_posts) is (case.reason in ("unknown_issuer",) or bool(case.drop))
    assert watch.errors == [] or case.offline


def test_a_stale_list_says_from_when_it_is(
    served_city: ServedCity, browser_context: Any, artifacts: Path
) -> None:
    published = time.time()
    page, _ = open_card(served_city, browser_context, CASES["stale-list"], _two_forms(served_city))

    verdict = read_verdict(page)

    # The list on the phone is from the first visit, two days before the page's clock.
    listed = page.evaluate(
        """(seconds) => new Intl.DateTimeFormat(document.documentElement.lang,
            {dateStyle: "medium", timeStyle: "short"}).format(seconds * 1000)""",
        published,
    )
    assert listed in verdict["what"] and "2 days ago" in verdict["what"]
    assert verdict["name"] == NAME


@pytest.mark.parametrize("clock_days", [2, 8])
def test_a_card_revoked_in_the_saved_list_stays_revoked_offline(
    served_city: ServedCity, browser_context: Any, clock_days: int
) -> None:
    # Revoked as stolen, the list saved on the phone; days later, offline.
    revoked = _two_forms(served_city, status_index=served_city.REVOKED_INDEX)
    case = Case(_two_forms, "", "", "", "", "", offline=True, clock_days=clock_days)
    page, watch = open_card(served_city, browser_context, case, revoked)

    verdict = read_verdict(page)

    assert (verdict["state"], verdict["reason"]) == ("not_valid", "revoked")
    assert verdict["title"] == "Cancelled — do not accept"
    assert f"{clock_days} days ago" in verdict["freshness"]
    assert watch.api_posts == []


def test_check_again_finds_the_list_once_it_is_back(
    served_city: ServedCity, browser_context: Any
) -> None:
    # The verifier's copy of the list is missing for a while (its copy job failed).
    served_city.list_path.unlink()
    page = browser_context.new_page()
    page.goto(f"{served_city.url}/V#{served_city.token()}")
    first = read_verdict(page)
    assert (first["state"], first["title"], first["checkAgain"]) == (
        "cannot_confirm",
        "Cannot confirm — status not checked",
        True,
    )

    served_city.publish(served_city.default_bits())
    page.click("[data-part=again]")
    page.wait_for_selector("#verdict[data-state=valid]")

    assert read_verdict(page)["checkAgain"] is False
