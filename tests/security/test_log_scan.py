"""The log scan plugin (tests/log_scan.py) fails a session that logged a secret."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from flask import Flask

from citizen_card.context import app_context
from citizen_card.extensions import db
from citizen_card.services import downloads, issuance, registry
from tests import log_scan

ROOT = Path(__file__).resolve().parents[2]

LEAKY_TEST = """
import logging

from tests.log_scan import remember_secret


def test_logs_a_token() -> None:
    remember_secret("cc_not-a-real-token-123")
    logging.getLogger("citizen_card.somewhere").info("token cc_not-a-real-token-123 used")
"""


def _run(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_sample.py").write_text(source)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "tests.log_scan",
            "-p",
            "no:cacheprovider",
            "-c",
            str(tmp_path / "pytest.ini"),
            str(tmp_path / "test_sample.py"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )


def test_a_logged_secret_fails_the_session(tmp_path: Path) -> None:
    result = _run(tmp_path, LEAKY_TEST)
    assert "1 passed" in result.stdout
    assert result.returncode == 1, result.stdout + result.stderr
    assert "secrets found in logs" in result.stdout
    assert "'cc_not-a…' logged by 'citizen_card.somewhere'" in result.stdout
    assert "cc_not-a-real-token-123" not in result.stdout  # shortened in the report


def test_a_clean_session_passes(tmp_path: Path) -> None:
    result = _run(tmp_path, LEAKY_TEST.replace('"token cc_not-a-real-token-123 used"', '"used"'))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "secrets found in logs" not in result.stdout


def test_find_leaks_ignores_short_values() -> None:
    lines = [("werkzeug", "GET /residents/?q=Ana 200"), ("app", "login for María José")]
    leaks = log_scan.find_leaks(lines, {"Ana", "María José"})
    assert [(leak.secret, leak.logger) for leak in leaks] == [("María José", "app")]


def test_generated_download_codes_are_watched(
    app: Flask, make_resident: Callable[..., str]
) -> None:
    # Given a card issued through the service (the plugin wraps where codes are made)
    with app.app_context():
        ctx = app_context()
        resident = registry.get(db.session, make_resident())
        issued = issuance.issue(
            db.session, resident, settings=ctx.settings, actor=None, now=ctx.now()
        )
        fresh = downloads.new_download_code(db.session, issued.card, actor=None, now=ctx.now())
        db.session.rollback()
    # Then both its first code and the one made again at the counter are looked for
    assert log_scan.is_remembered(issued.download_code)
    assert log_scan.is_remembered(fresh)
    assert not log_scan.is_remembered("ZZZZZZZZZZZZ")


def test_nothing_is_remembered_inside_not_remembering() -> None:
    with log_scan.not_remembering():
        log_scan.remember_secret("made-up-noise-4711")
    log_scan.remember_secret("a-real-secret-4711")
    assert not log_scan.is_remembered("made-up-noise-4711")
    assert log_scan.is_remembered("a-real-secret-4711")
