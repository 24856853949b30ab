"""/v, /V and /scan in headless Chromium: in-browser verification, offline use, scanning."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from verify.credential import qr_text
from verify.status import STATUS_REVOKED

# Fixtures (served_city, browser_context, chromium_launcher) come from conftest.py; the
# city's constants are attributes of the ServedCity it returns.
ServedCity = Any

pytestmark = pytest.mark.browser

VERDICT_TIMEOUT_MS = 10_000
LIST_CHECKED = ("valid", "revoked", "suspended")


class PageWatch:
    """Collects what a page did that a test may want to forbid: errors, CSP violations,
    and requests to the verification API (which in-browser checks never need)."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        self.api_posts: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on(
            "console",
            lambda message: self.errors.append(message.text) if message.type == "error" else None,
        )
        page.on(
            "request",
            lambda request: (
                self.api_posts.append(request.url) if "/api/v1/verify" in request.url else None
            ),
        )


def read_verdict(page: Any) -> dict[str, Any]:
    page.wait_for_selector(
        "#verdict[data-state=valid], #verdict[data-state=invalid], #verdict[data-state=unable]",
        timeout=VERDICT_TIMEOUT_MS,
    )
    return dict(
        page.evaluate(
            """() => {
                const root = document.getElementById("verdict");
                const text = (selector) => root.querySelector(selector)?.textContent ?? "";
                const shown = (selector) => {
                    const element = root.querySelector(selector);
                    return Boolean(element) && element.closest("[hidden]") === null;
                };
                return {
                    state: root.dataset.state,
                    reason: root.dataset.reason,
                    title: text("[data-part=title]"),
                    reasonText: text("[data-part=reason]"),
                    name: shown("[data-field=name]") ? text("[data-field=name]") : null,
                    cardNumber: text("[data-field=card_number]"),
                    issuer: text("[data-field=issuer]"),
                    photoPrompt: shown("[data-part=photo]"),
                    freshness: shown("[data-part=freshness]") ? text("[data-part=freshness]") : "",
                };
            }"""
        )
    )


def tamper(token: str) -> str:
    position = len(token) - 20  # inside the 64-byte signature
    return token[:position] + ("A" if token[position] != "A" else "B") + token[position + 1 :]


@pytest.mark.parametrize(
    ("case", "state", "reason", "title"),
    [
        ("valid", "valid", "ok", "Valid card"),
        ("revoked", "invalid", "revoked", "Not valid"),
        ("suspended", "invalid", "suspended", "Not valid"),
        ("expired", "invalid", "expired", "Not valid"),
        ("tampered", "invalid", "bad_signature", "Not valid"),
    ],
)
def test_landing_page_verifies_in_the_browser(
    served_city: ServedCity,
    browser_context: Any,
    case: str,
    state: str,
    reason: str,
    title: str,
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

    assert (verdict["state"], verdict["reason"], verdict["title"]) == (state, reason, title)
    assert verdict["reasonText"]
    if case == "tampered":
        assert verdict["name"] is None
    else:
        assert verdict["name"] == "Maria da Conceição Silva"
        assert verdict["issuer"] == "Lisboa"
        assert "Keys checked" in verdict["freshness"]
    # An expired card needs no revocation list, so none is fetched or mentioned.
    assert ("Revocation list from" in verdict["freshness"]) is (case in LIST_CHECKED)
    assert verdict["photoPrompt"] is (case == "valid")
    # Checked in the browser: nothing sent to the server, and the token left the address.
    assert watch.api_posts == []
    assert "#" not in page.url
    assert watch.errors == []


def test_page_without_token_asks_for_a_scan(served_city: ServedCity, browser_context: Any) -> None:
    page = browser_context.new_page()
    page.goto(f"{served_city.url}/v")

    verdict = read_verdict(page)

    assert (verdict["state"], verdict["reason"]) == ("unable", "no_token")


def test_other_city_card_is_checked_by_the_server(
    served_city: ServedCity, browser_context: Any
) -> None:
    token = served_city.token(served_city.other_signer, issuer="OPO")
    page = browser_context.new_page()
    watch = PageWatch(page)

    page.goto(f"{served_city.url}/V#{token}")
    verdict = read_verdict(page)

    assert (verdict["state"], verdict["reason"], verdict["issuer"]) == ("valid", "ok", "Porto")
    assert len(watch.api_posts) == 1


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

    assert (verdict["state"], verdict["reason"]) == ("invalid", "revoked")
    assert len(watch.api_posts) == 1
    assert "server" in verdict["freshness"]


def wait_for_offline_ready(page: Any) -> None:
    """Wait until the worker controls the page and has cached what an offline check needs."""
    page.wait_for_function(
        """async () => {
            const registration = await navigator.serviceWorker.ready;
            if (!registration.active || !navigator.serviceWorker.controller) return false;
            const names = await caches.keys();
            for (const name of names) {
                const cache = await caches.open(name);
                const paths = (await cache.keys()).map((request) => new URL(request.url).pathname);
                if (["/V", "/status/3", "/.well-known/jwks.json",
                     "/verify-static/credential.js"].every((p) => paths.includes(p))) return true;
            }
            return false;
        }""",
        timeout=VERDICT_TIMEOUT_MS,
        polling=100,
    )


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

    assert (verdict["state"], verdict["reason"]) == ("invalid", "revoked")
    assert verdict["name"] == "Maria da Conceição Silva"
    assert "Revocation list from" in verdict["freshness"]

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

    assert (verdict["state"], verdict["reason"]) == ("invalid", "revoked")
    assert elapsed < 1.0


def scans_done(page: Any) -> int:
    return int(page.evaluate("() => Number(document.body.dataset.scans ?? 0)"))


def test_scan_page_takes_a_usb_scanner_typing_and_enter(
    served_city: ServedCity, browser_context: Any
) -> None:
    page = browser_context.new_page()
    watch = PageWatch(page)
    page.goto(f"{served_city.url}/scan")
    page.wait_for_selector("#verdict[data-state=idle]")
    assert page.evaluate("() => document.activeElement.id") == "scan-input"

    # A USB scanner is a keyboard: it types the QR text and presses Enter.
    page.keyboard.type(qr_text(served_city.BASE_URL, served_city.token()))
    page.keyboard.press("Enter")
    page.wait_for_function("() => Number(document.body.dataset.scans) === 1")
    first = read_verdict(page)

    page.keyboard.type(
        qr_text(served_city.BASE_URL, served_city.token(status_index=served_city.SUSPENDED_INDEX))
    )
    page.keyboard.press("Enter")
    page.wait_for_function("() => Number(document.body.dataset.scans) === 2")
    second = read_verdict(page)

    assert (first["state"], first["name"]) == ("valid", "Maria da Conceição Silva")
    assert (second["state"], second["reason"]) == ("invalid", "suspended")
    assert page.input_value("#scan-input") == ""
    assert page.evaluate("() => document.activeElement.id") == "scan-input"
    assert watch.api_posts == []
    assert watch.errors == []


def write_y4m(png: Path, destination: Path, width: int = 640, height: int = 480) -> None:
    """A few identical grey frames showing the QR code, in the Y4M format Chromium's fake
    camera reads (I420: full-size Y plane, then quarter-size U and V at 128 = no colour)."""
    from PIL import Image

    canvas = Image.new("L", (width, height), 255)
    with Image.open(png) as qr_image:
        side = min(width, height) - 40
        code = qr_image.convert("L").resize((side, side), Image.Resampling.NEAREST)
    canvas.paste(code, ((width - side) // 2, (height - side) // 2))
    luma = canvas.tobytes()
    chroma = bytes([128]) * ((width // 2) * (height // 2))
    with destination.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode("ascii"))
        for _ in range(10):
            out.write(b"FRAME\n" + luma + chroma + chroma)


def test_scan_page_reads_a_qr_code_from_the_camera(
    served_city: ServedCity, chromium_launcher: Any, tmp_path: Path
) -> None:
    import qrcode

    png = tmp_path / "card-qr.png"
    qrcode.make(
        qr_text(served_city.BASE_URL, served_city.token(status_index=served_city.REVOKED_INDEX)),
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        border=4,
    ).save(png)
    video = tmp_path / "camera.y4m"
    write_y4m(png, video)
    browser = chromium_launcher(
        [
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    try:
        context = browser.new_context(viewport={"width": 800, "height": 900})
        context.grant_permissions(["camera"], origin=served_city.url)
        page = context.new_page()
        watch = PageWatch(page)
        page.goto(f"{served_city.url}/scan")
        page.wait_for_selector("#verdict[data-state=idle]")

        page.click("#camera-toggle")
        page.wait_for_function(
            "() => Number(document.body.dataset.scans) >= 1", timeout=VERDICT_TIMEOUT_MS
        )
        verdict = read_verdict(page)

        assert (verdict["state"], verdict["reason"]) == ("invalid", "revoked")
        assert verdict["name"] == "Maria da Conceição Silva"
        assert page.get_attribute("#camera-toggle", "aria-pressed") == "true"
        assert watch.errors == []
        context.close()
    finally:
        browser.close()
