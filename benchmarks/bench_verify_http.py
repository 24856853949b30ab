"""In-browser verification time on /V, measured in headless Chromium. Run by hand:

    .venv/bin/python benchmarks/bench_verify_http.py [--loads 20] [--calls 200]

Serves a stand-alone verifier (verify.web.create_verifier_app) on 127.0.0.1 and prints:

- page load: the page's own ``card-verify`` performance measure around
  ``verifier.verify(token)`` on each fresh load of ``/V#TOKEN``; it includes fetching
  (revalidating) the JWKS and the status list, signature checks and inflating the list.
- cold verifier: a new ``Verifier`` per call in an open page (keys and list fetched again).
- warm verifier: one ``Verifier`` re-used, as on /scan at a desk (keys and list in memory).

Target: page-load verification <= 50 ms. The HTTP throughput of /api/v1/verify is
measured separately (wrk), not here.
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from verify.cardnumber import new_card_number  # noqa: E402 -- needs the path set above
from verify.credential import CardClaims, Ed25519Signer, encode_token, kid_to_text  # noqa: E402
from verify.status import STATUS_REVOKED, StatusBits, encode_status_list  # noqa: E402
from verify.web import StaticVerifierBackend, create_verifier_app  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
BASE_URL = "https://verify.city.example"
LIST_ID = 1


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def build_city(directory: Path) -> tuple[StaticVerifierBackend, str]:
    """A city with one key, a realistically full status list, and one valid token."""
    key = Ed25519PrivateKey.generate()
    signer = Ed25519Signer(key)
    jwks = {
        "iss": "LIS",
        "issuer_name": "Lisboa",
        "verify_url": BASE_URL,
        "keys": [
            {
                "kty": "OKP",
                "crv": "Ed25519",
                "x": _b64url(key.public_key().public_bytes_raw()),
                "kid": kid_to_text(signer.kid),
                "alg": "EdDSA",
                "use": "sig",
                "status": "active",
            }
        ],
        "revoked_kids": [],
    }
    (directory / "jwks.json").write_text(json.dumps(jwks))
    # 2% of entries revoked at random: a list that compresses like a real one, not zeros.
    import random

    rng = random.Random(7)
    bits = StatusBits()
    for index in rng.sample(range(len(bits)), len(bits) // 50):
        bits.set(index, STATUS_REVOKED)
    now = int(time.time())
    status_path = directory / "status" / "LIS" / f"{LIST_ID}.cwt"
    status_path.parent.mkdir(parents=True)
    status_path.write_bytes(
        encode_status_list(
            bits,
            uri=f"{BASE_URL}/status/{LIST_ID}",
            issued_at=now,
            expires_at=now + 86400,
            ttl=300,
            signer=signer,
        )
    )
    valid_index = next(i for i in range(len(bits)) if bits.get(i) == 0)
    token = encode_token(
        CardClaims(
            issuer="LIS",
            issued_at=now - 86400,
            expires_at=now + 365 * 86400,
            card_number=new_card_number(),
            name="Maria da Conceição Silva Pereira dos Santos",
            status_list=LIST_ID,
            status_index=valid_index,
        ),
        signer,
    )
    backend = StaticVerifierBackend([directory / "jwks.json"], directory / "status")
    return backend, token


def summary(label: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (
        f"{label:<34} n={len(samples):<4} median {statistics.median(samples):6.2f} ms   "
        f"p95 {p95:6.2f} ms   max {max(samples):6.2f} ms"
    )


IN_PAGE_LOOP = """async ([token, calls, warm]) => {
    const { Verifier } = await import("/verify-static/credential.js");
    const config = JSON.parse(document.getElementById("verify-config").textContent);
    const times = [];
    let verifier = new Verifier(config.urls);
    await verifier.verify(token);
    for (let i = 0; i < calls; i++) {
        if (!warm) verifier = new Verifier(config.urls);
        const start = performance.now();
        const result = await verifier.verify(token);
        times.push(performance.now() - start);
        if (!result.valid) throw new Error("unexpected verdict " + result.reason);
    }
    return times;
}"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=20, help="fresh page loads to time")
    parser.add_argument("--calls", type=int, default=200, help="verify calls in an open page")
    args = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as temporary:
        backend, token = build_city(Path(temporary))
        server = make_server("127.0.0.1", 0, create_verifier_app(backend), threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{server.server_port}"
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                context = browser.new_context()
                page = context.new_page()
                loads: list[float] = []
                for _ in range(args.loads):
                    page.goto("about:blank")
                    page.goto(f"{url}/V#{token}")
                    page.wait_for_selector("#verdict[data-state=valid]")
                    loads.append(
                        page.evaluate(
                            "() => performance.getEntriesByName('card-verify').at(-1).duration"
                        )
                    )
                cold = page.evaluate(IN_PAGE_LOOP, [token, max(1, args.calls // 4), False])
                warm = page.evaluate(IN_PAGE_LOOP, [token, args.calls, True])
                version = browser.version
                browser.close()
        finally:
            server.shutdown()
            server.server_close()

    print(f"Chromium {version}, token {len(token)} base32 chars, status list 131072 entries")
    print(summary("page load (/V#token, first verify)", loads[1:] or loads))
    print(f"{'  first load, no service worker yet':<34} {loads[0]:6.2f} ms")
    print(summary("cold verifier (fetch keys + list)", cold))
    print(summary("warm verifier (desk, lists cached)", warm))
    target_ok = statistics.median(loads[1:] or loads) <= 50
    print(f"target <= 50 ms on page load: {'met' if target_ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
