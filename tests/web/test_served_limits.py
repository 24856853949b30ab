"""Limits hold as configured when the service runs as README says, not just in-process.

Before, `citizen-card serve` ran two gunicorn workers with the default ``memory://``
storage: each counted on its own, so every limit doubled (20 of 25 logins against 10 a
minute). Now the embedded default is one process with threads, several processes need a
shared storage, and these tests fire more than each limit at a real server: from several
threads at once on the embedded default, and across two workers sharing Redis.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from pathlib import Path

import pytest

from tests.live_server import CLI, Server, start_server
from verify.cardnumber import new_card_number

LOGIN_PER_ACCOUNT = 10  # web/auth.py: "10 per minute;30 per hour"
VERIFY_PER_ADDRESS = 120  # Settings.verify_rate_limit: "120 per minute"
MY_CARD_PER_CARD = 5  # web/portal.py: "5 per 15 minutes;10 per day"


def _logins(server: Server, attempts: int) -> list[int]:
    return [
        server.form("/login", {"username": "admin", "password": "not the password at all"})[0]
        for _ in range(attempts)
    ]


def _verify_in_threads(server: Server, total: int, threads: int = 5) -> list[int]:
    statuses: list[int] = []
    lock = threading.Lock()
    body = json.dumps({"qr": "HTTPS://VERIFY.EXAMPLE/V#AAAA"}).encode()

    def run(count: int) -> None:
        for _ in range(count):
            status = server.request(
                "POST", "/api/v1/verify", body=body, headers={"Content-Type": "application/json"}
            )[0]
            with lock:
                statuses.append(status)

    workers = [threading.Thread(target=run, args=(total // threads,)) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    return statuses


def test_the_embedded_default_counts_every_limit_once(tmp_path: Path) -> None:
    with start_server(tmp_path / "instance") as server:
        assert _logins(server, LOGIN_PER_ACCOUNT + 3) == [401] * LOGIN_PER_ACCOUNT + [429] * 3
        statuses = _verify_in_threads(server, VERIFY_PER_ADDRESS + 30)
        assert statuses.count(200) == VERIFY_PER_ADDRESS
        assert statuses.count(429) == 30
        number = new_card_number()
        downloads = [
            server.form("/my-card", {"card_number": number, "code": "AAAA-AAAA-AAAA"})[0]
            for _ in range(MY_CARD_PER_CARD + 2)
        ]
        assert downloads == [400] * MY_CARD_PER_CARD + [429] * 2
        output = server.stop()
    assert "1 process(es), 8 threads each" in output


def test_several_processes_need_a_shared_storage(tmp_path: Path) -> None:
    if not CLI.exists():
        pytest.skip("the citizen-card command is not installed in this environment")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "CITIZEN_CARD_INSTANCE": str(tmp_path / "instance"),
    }
    subprocess.run([str(CLI), "init"], env=env, capture_output=True, check=True, timeout=120)
    refused = subprocess.run(
        [str(CLI), "serve", "--port", "0", "--workers", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 1
    assert "would each count their own rate limits" in refused.stderr


def test_two_workers_sharing_redis_count_every_limit_once(tmp_path: Path) -> None:
    redis_url = os.environ.get("TEST_REDIS_URL")
    if not redis_url:
        pytest.skip("shared rate limits need TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/0)")
    env = {"CITIZEN_CARD_RATELIMIT_STORAGE_URI": redis_url}
    with start_server(tmp_path / "instance", "--workers", "2", env=env) as server:
        assert _logins(server, LOGIN_PER_ACCOUNT + 3) == [401] * LOGIN_PER_ACCOUNT + [429] * 3
        statuses = _verify_in_threads(server, VERIFY_PER_ADDRESS + 30)
        assert statuses.count(200) == VERIFY_PER_ADDRESS
        assert statuses.count(429) == 30
        output = server.stop()
    assert "2 process(es)" in output
    # Both workers answered: gunicorn names each worker it boots.
    assert output.count("Booting worker") == 2
