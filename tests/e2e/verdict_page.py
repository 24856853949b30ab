"""What the browser tests read off the verify pages: the verdict as shown, page errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

VERDICT_TIMEOUT_MS = 10_000
# Every state the verdict settles in (pending is the only one it passes through).
SETTLED = ", ".join(
    f"#verdict[data-state={state}]"
    for state in ("valid", "not_valid", "cannot_confirm", "offline", "ready")
)


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


READ_VERDICT = """() => {
    const root = document.getElementById("verdict");
    const part = (name) => root.querySelector(`[data-part=${name}]`);
    const shown = (element) => Boolean(element) && element.closest("[hidden]") === null;
    const text = (element) => (shown(element) ? element.textContent.trim() : null);
    const field = (name) => text(root.querySelector(`[data-field=${name}]`));
    const box = (element) => {
        const r = element.getBoundingClientRect();
        return { top: r.top, bottom: r.bottom, left: r.left, right: r.right };
    };
    const banner = root.querySelector(".verdict__banner");
    const style = getComputedStyle(banner);
    const expiry = root.querySelector("[data-field=expires_at]");
    return {
        state: root.dataset.state,
        reason: root.dataset.reason,
        tone: root.dataset.tone,
        icon: part("icon").getAttribute("href"),
        title: text(part("title")),
        what: text(part("what")),
        next: text(part("next")),
        checkedAt: text(part("checked-at")),
        name: field("name"),
        latinName: field("latin_name"),
        nameCheck: text(part("name-check")),
        cardNumber: field("card_number"),
        expiryLabel: text(part("expiry-label")),
        expiryWeight: getComputedStyle(expiry).fontWeight,
        issuer: field("issuer"),
        freshness: text(part("freshness")),
        checkAgain: shown(part("again")),
        background: style.backgroundColor,
        color: style.color,
        verdictBox: box(root),
        bannerBox: box(banner),
        bodyBox: shown(part("body")) ? box(part("body")) : null,
        viewport: { width: innerWidth, height: innerHeight },
        pageText: document.body.innerText,
    };
}"""


def read_verdict(page: Any) -> dict[str, Any]:
    """Wait until the verdict settles, then read everything it shows."""
    page.wait_for_selector(SETTLED, timeout=VERDICT_TIMEOUT_MS)
    return dict(page.evaluate(READ_VERDICT))


def _luminance(rgb: str) -> float:
    channels = [int(part) / 255 for part in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str) -> float:
    """WCAG 2 contrast ratio of two CSS ``rgb(...)`` colours."""
    light, dark = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def tamper(token: str) -> str:
    position = len(token) - 20  # inside the 64-byte signature
    return token[:position] + ("A" if token[position] != "A" else "B") + token[position + 1 :]


def snap(page: Any, directory: Path, name: str) -> Path:
    """Keep a full-page screenshot for people to look at after the run."""
    path = directory / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def wait_for_offline_ready(page: Any, list_path: str = "/status/3") -> None:
    """Wait until the worker of every page scope is activated (each may add to the cache
    as it installs: none may put back later what a test takes out), and the cache holds
    what an offline check needs."""
    page.evaluate(
        """async () => {
            const scopes = JSON.parse(
                document.getElementById("verify-config").textContent).urls.scopes;
            const activated = (worker) => new Promise((resolve) => {
                if (worker.state === "activated") resolve();
                worker.addEventListener("statechange", () => {
                    if (worker.state === "activated") resolve();
                });
            });
            const settled = (registration) => {
                const worker = registration.installing || registration.waiting
                    || registration.active;
                if (worker) return activated(worker);
                return new Promise((resolve) => registration.addEventListener(
                    "updatefound", () => activated(registration.installing).then(resolve)));
            };
            for (let round = 0; round < 200; round++) {
                const all = await navigator.serviceWorker.getRegistrations();
                const found = scopes.map((scope) => all.find(
                    (r) => new URL(r.scope).pathname === scope));
                if (found.every(Boolean)) {
                    await Promise.all(found.map(settled));
                    return;
                }
                await new Promise((resolve) => setTimeout(resolve, 50));
            }
            throw new Error("the service workers were not all registered in 10 s");
        }"""
    )
    page.wait_for_function(
        """async (listPath) => {
            if (!navigator.serviceWorker.controller) return false;
            for (const name of await caches.keys()) {
                const cache = await caches.open(name);
                const paths = (await cache.keys()).map((request) => new URL(request.url).pathname);
                if (["/V", listPath, "/.well-known/jwks.json",
                     "/verify-static/credential.js"].every((p) => paths.includes(p))) return true;
            }
            return false;
        }""",
        arg=list_path,
        timeout=VERDICT_TIMEOUT_MS,
        polling=100,
    )


def drop_from_offline_cache(page: Any, *paths: str) -> None:
    """Remove saved copies from the worker's cache, as if they had never been fetched.

    The browser's HTTP cache goes too: it may still hold a copy from the last minute
    (lists are public for 60 s), which a worker's fetch would be answered with.
    """
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.clearBrowserCache")
    cdp.detach()
    page.evaluate(
        """async (paths) => {
            for (const name of await caches.keys()) {
                const cache = await caches.open(name);
                for (const path of paths) await cache.delete(path);
            }
        }""",
        list(paths),
    )
