"""The /scan desk page in Chromium: USB scanner and camera, a verdict that stays in view,
says when it was made, and clears itself; optional sound and vibration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from verdict_page import PageWatch, read_verdict, snap

from verify.credential import qr_text

ServedCity = Any
pytestmark = pytest.mark.browser

VERDICT_TIMEOUT_MS = 10_000
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desk": {"width": 1366, "height": 768}}
NAME = "فاطمة الزهراء الحسينية"
LATIN = "Fatima Alzahra Alhusainia"
# Records vibrations instead of buzzing, and counts the tones played.
RECORD_SIGNALS = """(() => {
    window.vibrations = [];
    navigator.vibrate = (pattern) => { window.vibrations.push(pattern); return true; };
    window.tones = 0;
    const original = AudioContext.prototype.createOscillator;
    AudioContext.prototype.createOscillator = function () {
        window.tones += 1;
        return original.call(this);
    };
})();"""


def scans_done(page: Any) -> int:
    return int(page.evaluate("() => Number(document.body.dataset.scans ?? 0)"))


def scan(page: Any, text: str) -> dict[str, Any]:
    """Type the code as a USB scanner does (keys, then Enter) and read the verdict."""
    done = scans_done(page)
    page.keyboard.type(text)
    page.keyboard.press("Enter")
    page.wait_for_function(f"() => Number(document.body.dataset.scans) === {done + 1}")
    return read_verdict(page)


def open_scanner(served_city: ServedCity, context: Any) -> tuple[Any, PageWatch]:
    page = context.new_page()
    watch = PageWatch(page)
    page.goto(f"{served_city.url}/scan")
    page.wait_for_selector("#verdict[data-state=ready]")
    return page, watch


def local_time(page: Any) -> str:
    return str(
        page.evaluate(
            """() => new Intl.DateTimeFormat(document.documentElement.lang,
                {timeStyle: "short"}).format(Date.now())"""
        )
    )


def test_a_usb_scanner_types_the_code_and_presses_enter(
    served_city: ServedCity, browser_context: Any
) -> None:
    page, watch = open_scanner(served_city, browser_context)
    assert page.evaluate("() => document.activeElement.id") == "scan-input"

    first = scan(page, qr_text(served_city.BASE_URL, served_city.token()))
    assert (first["state"], first["name"]) == ("valid", "Maria da Conceição Silva")
    assert first["checkedAt"] == f"Checked at {local_time(page)}."

    # The next scan replaces the verdict: nothing of the first card is left.
    second = scan(
        page,
        qr_text(
            served_city.BASE_URL,
            served_city.token(
                status_index=served_city.SUSPENDED_INDEX, name=NAME, latin_name=LATIN
            ),
        ),
    )
    assert (second["state"], second["reason"], second["title"]) == (
        "not_valid",
        "suspended",
        "Suspended",
    )
    assert (second["name"], second["latinName"]) == (NAME, LATIN)
    assert "Maria" not in second["pageText"]
    assert page.input_value("#scan-input") == ""
    assert page.evaluate("() => document.activeElement.id") == "scan-input"
    assert watch.api_posts == []
    assert watch.errors == []


@pytest.mark.parametrize("focused", ["#camera-toggle", "#scan-feedback", "body"])
def test_the_scanner_is_heard_wherever_the_focus_is(
    served_city: ServedCity, browser_context: Any, focused: str
) -> None:
    page, _ = open_scanner(served_city, browser_context)
    if focused == "body":
        page.evaluate("() => document.activeElement.blur()")
    else:
        page.focus(focused)

    verdict = scan(page, qr_text(served_city.BASE_URL, served_city.token()))

    assert verdict["state"] == "valid"
    # Enter went to the field, not to the focused control: the camera did not start,
    # the setting did not change.
    assert page.text_content("#camera-toggle") == "Start camera"
    assert page.is_checked("#scan-feedback") is False


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
@pytest.mark.parametrize("case", ["valid", "revoked", "no-list", "unreadable", "forged"])
def test_every_verdict_fits_the_screen_of_the_desk(
    served_city: ServedCity, chromium: Any, artifacts: Path, case: str, viewport: str
) -> None:
    def card(**overrides: Any) -> str:
        return str(served_city.token(name=NAME, latin_name=LATIN, **overrides))

    texts = {
        "valid": card(),
        "revoked": card(status_index=served_city.REVOKED_INDEX),
        # The longest words of all: cannot confirm, with its "Check again".
        "no-list": card(),
        "unreadable": card()[:-7],
        "forged": card(signer=served_city.unknown_signer),
    }
    if case == "no-list":
        served_city.list_path.unlink()
    context = chromium.new_context(viewport=VIEWPORTS[viewport])
    page, _ = open_scanner(served_city, context)
    verdict = scan(page, qr_text(served_city.BASE_URL, texts[case]))
    snap(page, artifacts / "scanner", f"usb-{case}-{viewport}")
    context.close()

    box, screen = verdict["verdictBox"], verdict["viewport"]
    assert box["top"] >= 0 and box["bottom"] <= screen["height"], (box, screen)
    assert box["right"] <= screen["width"]
    assert verdict["checkAgain"] is (case == "no-list")


def test_the_verdict_clears_itself_after_the_set_delay(
    served_city: ServedCity, browser_context: Any
) -> None:
    browser_context.clock.install()
    page, _ = open_scanner(served_city, browser_context)
    verdict = scan(page, qr_text(served_city.BASE_URL, served_city.token()))
    assert verdict["state"] == "valid"
    browser_context.clock.pause_at(page.evaluate("() => Date.now()") / 1000)

    browser_context.clock.run_for(28_000)
    assert read_verdict(page)["state"] == "valid"
    browser_context.clock.run_for(3_000)
    cleared = read_verdict(page)

    # After the 30 s of the policy, back to "ready", with no name left in the page.
    assert (cleared["state"], cleared["reason"], cleared["title"]) == (
        "ready",
        "idle",
        "Ready to scan",
    )
    assert "Maria" not in cleared["pageText"]
    assert cleared["checkedAt"] is None
    assert page.evaluate("() => document.getElementById('scan-stage').dataset.showing") == "none"


def test_sound_and_vibration_are_off_until_chosen_on_this_device(
    served_city: ServedCity, browser_context: Any
) -> None:
    browser_context.add_init_script(RECORD_SIGNALS)
    page, _ = open_scanner(served_city, browser_context)
    valid = qr_text(served_city.BASE_URL, served_city.token())
    revoked = qr_text(
        served_city.BASE_URL, served_city.token(status_index=served_city.REVOKED_INDEX)
    )

    scan(page, valid)
    assert page.evaluate("() => [window.vibrations, window.tones]") == [[], 0]

    page.check("#scan-feedback")
    page.focus("#scan-input")
    scan(page, valid)
    scan(page, revoked)
    # One short buzz and one high tone for valid; two long ones for "do not accept".
    assert page.evaluate("() => [window.vibrations, window.tones]") == [
        [[120], [250, 100, 250]],
        3,
    ]

    page.reload()
    page.wait_for_selector("#verdict[data-state=ready]")
    assert page.is_checked("#scan-feedback")
    assert page.evaluate("() => localStorage.getItem('citizen-card-scan-feedback')") == "on"


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


@pytest.fixture
def camera_browser(served_city: ServedCity, chromium_launcher: Any, tmp_path: Path) -> Any:
    """A Chromium whose fake camera shows the QR code of a revoked card in two forms."""
    import qrcode

    png = tmp_path / "card-qr.png"
    token = served_city.token(status_index=served_city.REVOKED_INDEX, name=NAME, latin_name=LATIN)
    qrcode.make(
        qr_text(served_city.BASE_URL, token),
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
    yield browser
    browser.close()


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
def test_the_camera_verdict_takes_the_place_of_the_picture_and_stays_in_view(
    served_city: ServedCity, camera_browser: Any, artifacts: Path, viewport: str
) -> None:
    context = camera_browser.new_context(viewport=VIEWPORTS[viewport])
    context.grant_permissions(["camera"], origin=served_city.url)
    page = context.new_page()
    watch = PageWatch(page)
    page.goto(f"{served_city.url}/scan")
    page.wait_for_selector("#verdict[data-state=ready]")
    assert page.text_content("#camera-toggle") == "Start camera"

    page.click("#camera-toggle")
    page.wait_for_function(
        "() => Number(document.body.dataset.scans) >= 1", timeout=VERDICT_TIMEOUT_MS
    )
    verdict = read_verdict(page)
    snap(page, artifacts / "scanner", f"camera-revoked-{viewport}")
    camera = page.evaluate(
        """() => {
            const video = document.getElementById("camera-video");
            const box = video.getBoundingClientRect();
            const verdict = document.getElementById("verdict").getBoundingClientRect();
            return {
                playing: !video.paused && !video.hidden,
                covered: box.top >= verdict.top - 1 && box.bottom <= verdict.bottom + 1,
                scrolled: scrollY,
                label: document.getElementById("camera-toggle").textContent,
            };
        }"""
    )

    assert (verdict["state"], verdict["reason"]) == ("not_valid", "revoked")
    assert (verdict["name"], verdict["latinName"]) == (NAME, LATIN)
    # The whole verdict is on screen, without scrolling, and over the camera picture,
    # which keeps running for the next card.
    box, screen = verdict["verdictBox"], verdict["viewport"]
    assert camera["scrolled"] == 0
    assert box["top"] >= 0 and box["bottom"] <= screen["height"] and box["right"] <= screen["width"]
    assert camera["playing"] and camera["covered"]
    assert camera["label"] == "Stop camera"
    assert verdict["checkedAt"] == f"Checked at {local_time(page)}."

    page.click("#camera-toggle")
    assert page.text_content("#camera-toggle") == "Start camera"
    assert page.text_content("#camera-status") == "Camera off."
    assert watch.errors == []
    context.close()
