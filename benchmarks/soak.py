"""A mixed load on the real service for a minute: no 5xx, no lock errors, p99 under 1 s.

Run by hand (loopback only; bounded in time and in the number of people):

    .venv/bin/python benchmarks/soak.py                        # the embedded default
    .venv/bin/python benchmarks/soak.py --postgres postgresql://postgres@127.0.0.1:5432/soak \\
        --redis redis://127.0.0.1:6379/9                        # two hosts, PostgreSQL + Redis

What runs at once, for ``--seconds`` (60):

- 4 clerks, each registering a resident over the API, uploading a photo and issuing a
  card, again and again (think time 0.5 s);
- 1 clerk printing a batch of 200 cards on A4 sheets (started at second 5, progress
  polled, sheets downloaded);
- 20 verifiers (anonymous), each opening /V, the JWKS and the status list and checking a
  card through POST /api/v1/verify, about once a second;
- 2 logged-in clerks opening /scan, /V and the card API.

The embedded default is `citizen-card serve` on a fresh SQLite instance (one process, 8
threads). The multi-host set-up is two `citizen-card serve --workers 2` processes on one
PostgreSQL database (the key store too) and one Redis, with requests spread over both
hosts as a load balancer would, and the batch polled and downloaded on the host that did
not start it. The 20 verifiers all come from 127.0.0.1, so the per-address verify limit
is raised for the run (20 real verifiers come from 20 addresses).

It prints per route class: requests, p50, p99 and max latency, 5xx, 429 and other
errors; the lock timeouts the servers logged; and whether `citizen-card audit verify`
passes afterwards. It exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import base64
import http.cookiejar
import io
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

CLI = Path(sys.executable).with_name("citizen-card")
PASSWORD = "soak test password, long enough"  # noqa: S105 — a throw-away instance's
P99_TARGET_SECONDS = 1.0
REGISTERING_CLERKS = 4
VERIFIERS = 20
BROWSING_CLERKS = 2
BATCH_CARDS = 200


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def photo(seed: int) -> bytes:
    rng = random.Random(seed)
    image = Image.new("RGB", (900, 1200), (rng.randrange(256), 120, 100))
    for _ in range(200):
        x, y = rng.randrange(900), rng.randrange(1200)
        image.putpixel((x, y), (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88)
    return out.getvalue()


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, dict[int, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, status: int, seconds: float) -> None:
        with self.lock:
            self.latencies[kind].append(seconds)
            self.statuses[kind][status] += 1


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


class Client:
    """One person's browser or script: a cookie jar, and the hosts it is balanced over."""

    def __init__(self, bases: list[str], stats: Stats, token: str | None = None) -> None:
        self.bases = bases
        self.stats = stats
        self.token = token
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirect()
        )
        self._turn = random.randrange(len(bases))

    def base(self, pinned: int | None = None) -> str:
        if pinned is not None:
            return self.bases[pinned % len(self.bases)]
        self._turn += 1
        return self.bases[self._turn % len(self.bases)]

    def call(
        self,
        kind: str,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        content_type: str | None = None,
        host: int | None = None,
    ) -> tuple[int, bytes, dict[str, str]]:
        headers = {}
        if content_type:
            headers["Content-Type"] = content_type
        if self.token and path.startswith("/api/v1/") and "verify" not in path:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(  # noqa: S310 — loopback URLs built here
            self.base(host) + path, data=body, method=method, headers=headers
        )
        started = time.perf_counter()
        try:
            with self.opener.open(request, timeout=60) as response:
                status, data, answer = response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as error:
            status, data, answer = error.code, error.read(), dict(error.headers)
        except OSError:
            status, data, answer = 599, b"", {}
        self.stats.add(kind, status, time.perf_counter() - started)
        return status, data, answer

    def json(self, kind: str, method: str, path: str, document: object) -> tuple[int, object]:
        status, data, _ = self.call(
            kind, method, path, body=json.dumps(document).encode(), content_type="application/json"
        )
        try:
            return status, json.loads(data) if data else None
        except ValueError:
            return status, None

    def log_in(self, username: str, host: int = 0) -> None:
        _, page, _ = self.call("page", "GET", "/login", host=host)
        token = re.search(rb'name="csrf_token" value="([^"]+)"', page)
        assert token, "no CSRF token on /login"
        form = {"username": username, "password": PASSWORD, "csrf_token": token.group(1).decode()}
        status, _, _ = self.call(
            "login",
            "POST",
            "/login",
            body=urllib.parse.urlencode(form).encode(),
            content_type="application/x-www-form-urlencoded",
            host=host,
        )
        assert status == 302, f"login failed: {status}"

    def csrf(self, path: str, host: int) -> str:
        _, page, _ = self.call("page", "GET", path, host=host)
        token = re.search(rb'name="csrf_token" value="([^"]+)"', page)
        assert token, f"no CSRF token on {path}"
        return token.group(1).decode()


class Service:
    """`citizen-card serve` processes on one instance set-up."""

    def __init__(self, root: Path, env: dict[str, str], hosts: int, workers: int) -> None:
        self.root = root
        self.env = env
        self.processes: list[subprocess.Popen[str]] = []
        self.ports = [free_port() for _ in range(hosts)]
        self.workers = workers
        self.outputs: list[str] = []
        self.logs: list[io.TextIOWrapper] = []

    def host_env(self, index: int) -> dict[str, str]:
        return self.env | {"CITIZEN_CARD_INSTANCE": str(self.root / f"host-{index}")}

    def cli(self, *args: str, stdin: str | None = None) -> str:
        result = subprocess.run(
            [str(CLI), *args],
            env=self.host_env(0),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode != 0:
            raise SystemExit(f"citizen-card {' '.join(args)} failed:\n{result.stderr}")
        return result.stdout

    def start(self) -> list[str]:
        self.cli("init")
        for index, port in enumerate(self.ports):
            if index:
                (self.root / f"host-{index}").mkdir(parents=True, exist_ok=True)
            args = [str(CLI), "serve", "--host", "127.0.0.1", "--port", str(port)]
            if self.workers > 1:
                args += ["--workers", str(self.workers)]
            # A file, not a pipe: a pipe nobody reads fills up, and the server's threads
            # then block writing their access log lines.
            log = (self.root / f"host-{index}.log").open("w")
            self.logs.append(log)
            self.processes.append(
                subprocess.Popen(
                    args, env=self.host_env(index), stdout=log, stderr=subprocess.STDOUT
                )
            )
        bases = [f"http://127.0.0.1:{port}" for port in self.ports]
        for base in bases:
            for _ in range(300):
                try:
                    with urllib.request.urlopen(base + "/healthz", timeout=2):  # noqa: S310
                        break
                except OSError:
                    time.sleep(0.1)
            else:
                self.stop()
                raise SystemExit(f"{base} did not start:\n" + "\n".join(self.outputs))
        return bases

    def stop(self) -> None:
        for process in self.processes:
            process.send_signal(signal.SIGTERM)
        for process, log in zip(self.processes, self.logs, strict=True):
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()
            self.outputs.append(Path(log.name).read_text())


def register_and_issue(client: Client, seed: int) -> str | None:
    """One resident with a photo and a card; the card number, or None on a refusal."""
    names = {"given_names": f"Soak {seed}", "family_names": random.choice(["Silva", "Diallo"])}
    status, created = client.json("register", "POST", "/api/v1/residents", names)
    if status != 201 or not isinstance(created, dict):
        return None
    resident = created["id"]
    status, _, _ = client.call(
        "photo",
        "PUT",
        f"/api/v1/residents/{resident}/photo",
        body=photo(seed),
        content_type="image/jpeg",
    )
    if status != 204:
        return None
    status, card = client.json("issue", "POST", f"/api/v1/residents/{resident}/cards", {})
    if status != 201 or not isinstance(card, dict):
        return None
    return str(card["card_number"])


def run(
    service: Service, seconds: float, batch: int, label: str
) -> tuple[Stats, dict[str, object]]:
    stats = Stats()
    bases = service.start()
    try:
        for index in range(REGISTERING_CLERKS + BROWSING_CLERKS + 1):
            service.cli(
                "create-staff",
                f"clerk{index}",
                "--role",
                "clerk",
                "--password-stdin",
                stdin=PASSWORD,
            )
        tokens = [service.cli("create-token", f"clerk{i}").strip() for i in range(7)]
        setup = Client(bases, Stats(), tokens[0])
        print(f"[{label}] preparing {batch} cards for the batch ...", flush=True)
        queue = [n for n in (register_and_issue(setup, 10_000 + i) for i in range(batch)) if n]
        # Cards the verifiers check: the QR texts of twenty more.
        qr_texts = []
        for i in range(20):
            _, created = setup.json(
                "register",
                "POST",
                "/api/v1/residents",
                {"given_names": f"Check {i}", "family_names": "Verify"},
            )
            assert isinstance(created, dict)
            resident = created["id"]
            setup.call(
                "photo",
                "PUT",
                f"/api/v1/residents/{resident}/photo",
                body=photo(i),
                content_type="image/jpeg",
            )
            _, card = setup.json("issue", "POST", f"/api/v1/residents/{resident}/cards", {})
            assert isinstance(card, dict)
            qr_texts.append(str(card["qr"]))
        print(f"[{label}] load for {seconds:.0f} s on {len(bases)} host(s) ...", flush=True)
        deadline = time.monotonic() + seconds
        done: dict[str, object] = {"batch": "not started"}
        threads = []

        def registering(index: int) -> None:
            client = Client(bases, stats, tokens[1 + index])
            seed = index * 1_000_000
            while time.monotonic() < deadline:
                seed += 1
                register_and_issue(client, seed)
                time.sleep(0.5)

        def verifying(index: int) -> None:
            client = Client(bases, stats)
            while time.monotonic() < deadline:
                client.call("verify page", "GET", "/V")
                client.call("public file", "GET", "/.well-known/jwks.json")
                client.call("public file", "GET", "/status/1")
                client.json("verify api", "POST", "/api/v1/verify", {"qr": random.choice(qr_texts)})
                time.sleep(random.uniform(0.7, 1.3))

        def browsing(index: int) -> None:
            client = Client(bases, stats, tokens[5 + index % 2])
            client.log_in(f"clerk{5 + index % 2}")
            while time.monotonic() < deadline:
                client.call("staff on verify", "GET", "/scan")
                client.call("staff on verify", "GET", "/V")
                client.call("card api", "GET", f"/api/v1/cards/{random.choice(queue)}")
                time.sleep(0.3)

        def printing() -> None:
            time.sleep(5)
            client = Client(bases, stats)
            client.log_in("clerk0", host=0)
            if len(bases) > 1:
                client.log_in("clerk0", host=1)
            token = client.csrf("/cards/print", host=0)
            form = [("card", number) for number in queue] + [("csrf_token", token)]
            status, _, headers = client.call(
                "batch start",
                "POST",
                "/cards/print",
                body=urllib.parse.urlencode(form).encode(),
                content_type="application/x-www-form-urlencoded",
                host=0,
            )
            job = re.search(r"/cards/print/([0-9a-f]+)$", headers.get("Location", ""))
            if status != 302 or job is None:
                done["batch"] = f"refused ({status})"
                return
            other = 1 if len(bases) > 1 else 0
            started = time.monotonic()
            while time.monotonic() - started < 300:
                _, body, _ = client.call(
                    "batch progress", "GET", f"/cards/print/{job.group(1)}/progress", host=other
                )
                state = json.loads(body).get("state") if body else None
                if state != "running":
                    break
                time.sleep(1)
            status, pdf, _ = client.call(
                "batch download", "GET", f"/cards/print/{job.group(1)}/sheets.pdf", host=other
            )
            done["batch"] = (
                f"{len(queue)} cards in {time.monotonic() - started:.1f} s, "
                f"{len(pdf) // 1024} KB PDF ({status})"
            )

        for index in range(REGISTERING_CLERKS):
            threads.append(threading.Thread(target=registering, args=(index,)))
        for index in range(VERIFIERS):
            threads.append(threading.Thread(target=verifying, args=(index,)))
        for index in range(BROWSING_CLERKS):
            threads.append(threading.Thread(target=browsing, args=(index,)))
        threads.append(threading.Thread(target=printing))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=seconds + 400)
        done["audit"] = service.cli("audit", "verify").strip()
    finally:
        service.stop()
    output = "\n".join(service.outputs)
    done["lock timeouts"] = output.count("database busy")
    done["tracebacks"] = output.count("Traceback")
    return stats, done


def report(label: str, stats: Stats, done: dict[str, object]) -> bool:
    ok = True
    print(f"\n{label}")
    print(
        f"{'route class':<18}{'requests':>9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
        f"{'5xx':>6}{'429':>6}{'other 4xx':>10}"
    )
    for kind in sorted(stats.latencies):
        times = sorted(stats.latencies[kind])
        p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
        codes = stats.statuses[kind]
        server_errors = sum(n for code, n in codes.items() if code >= 500)
        limited = codes.get(429, 0)
        other = sum(n for code, n in codes.items() if 400 <= code < 500 and code != 429)
        print(
            f"{kind:<18}{len(times):>9}{statistics.median(times) * 1000:>9.0f}"
            f"{p99 * 1000:>9.0f}{times[-1] * 1000:>9.0f}{server_errors:>6}{limited:>6}{other:>10}"
        )
        if server_errors or p99 > P99_TARGET_SECONDS:
            ok = False
    for key, value in done.items():
        print(f"{key}: {value}")
    if done.get("lock timeouts") or done.get("tracebacks"):
        ok = False
    if "intact" not in str(done.get("audit")):
        ok = False
    print("targets met" if ok else "TARGETS MISSED")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--batch", type=int, default=BATCH_CARDS)
    parser.add_argument("--postgres", help="an EMPTY database for the two-host run (it is reset)")
    parser.add_argument("--redis", help="a Redis database for the two-host run's limits")
    args = parser.parse_args()
    if not CLI.exists():
        raise SystemExit("install the project first (scripts/setup.sh)")
    base_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "CITIZEN_CARD_VERIFY_RATE_LIMIT": "1000000 per minute",
        "CITIZEN_CARD_SEARCH_RATE_LIMIT": "100000 per hour",
    }
    root = Path(tempfile.mkdtemp(prefix="citizen-card-soak-"))
    try:
        if args.postgres:
            if not args.redis:
                raise SystemExit("the two-host run needs --redis too")
            subprocess.run(
                ["psql", args.postgres, "-qc", "DROP SCHEMA public CASCADE; CREATE SCHEMA public"],
                check=True,
            )
            secrets = {
                name: base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
                for name in ("SECRET_KEY", "MASTER_KEY", "BLIND_INDEX_KEY")
            }
            env = (
                base_env
                | {f"CITIZEN_CARD_{k}": v for k, v in secrets.items()}
                | {
                    "CITIZEN_CARD_DATABASE_URL": args.postgres,
                    "CITIZEN_CARD_KEYSTORE_URL": args.postgres,
                    "CITIZEN_CARD_RATELIMIT_STORAGE_URI": args.redis,
                }
            )
            label = "PostgreSQL + Redis, two hosts x 2 workers"
            service = Service(root, env, hosts=2, workers=2)
        else:
            label = "embedded default (SQLite, one process x 8 threads)"
            service = Service(root, base_env, hosts=1, workers=1)
        stats, done = run(service, args.seconds, args.batch, label)
        return 0 if report(label, stats, done) else 1
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
