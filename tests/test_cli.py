"""The citizen-card command, run as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CLI = [sys.executable, "-m", "citizen_card.cli"]


def run(
    instance: Path, *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CITIZEN_CARD_")}
    environment |= {"CITIZEN_CARD_INSTANCE": str(instance)} | (env or {})
    return subprocess.run(
        [*CLI, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )


@pytest.fixture
def instance(tmp_path: Path) -> Path:
    path = tmp_path / "instance"
    result = run(
        path,
        "init",
        env={"CITIZEN_CARD_ARGON2_TIME_COST": "1", "CITIZEN_CARD_ARGON2_MEMORY_KIB": "1024"},
    )
    assert result.returncode == 0, result.stderr
    assert "one-time password" in result.stdout
    return path


def test_init_creates_a_private_instance_and_twice_changes_nothing(instance: Path) -> None:
    assert (instance / "config.py").stat().st_mode & 0o077 == 0
    assert (instance / "citizen-card.sqlite3").exists()
    before = (instance / "config.py").read_text()
    again = run(instance, "init")
    assert again.returncode == 0
    assert "nothing changed" in again.stdout
    assert "one-time password" not in again.stdout
    assert (instance / "config.py").read_text() == before


def test_missing_or_broken_secrets_stop_start_up(tmp_path: Path, instance: Path) -> None:
    empty = run(tmp_path / "empty", "create-token", "admin")
    assert empty.returncode != 0
    assert "missing secret(s) SECRET_KEY, MASTER_KEY, BLIND_INDEX_KEY" in empty.stderr
    assert "citizen-card init" in empty.stderr
    broken = run(instance, "create-token", "admin", env={"CITIZEN_CARD_MASTER_KEY": "dG9vLXNob3J0"})
    assert broken.returncode != 0
    assert "MASTER_KEY must hold 32 bytes" in broken.stderr
    garbled = run(
        instance, "create-token", "admin", env={"CITIZEN_CARD_MASTER_KEY": "not base64 at all!"}
    )
    assert "MASTER_KEY is not valid base64url" in garbled.stderr


def test_create_staff_prints_or_takes_a_password(instance: Path) -> None:
    printed = run(instance, "create-staff", "ana", "--role", "clerk")
    assert printed.returncode == 0, printed.stderr
    assert "One-time password:" in printed.stdout
    given = run(
        instance,
        "create-staff",
        "rui",
        "--role",
        "auditor",
        "--password-stdin",
        stdin="a long enough passphrase\n",
    )
    assert given.returncode == 0, given.stderr
    assert "passphrase" not in given.stdout
    weak = run(
        instance, "create-staff", "eva", "--role", "clerk", "--password-stdin", stdin="short\n"
    )
    assert weak.returncode != 0
    assert "at least 12 characters" in weak.stderr
    duplicate = run(instance, "create-staff", "ana", "--role", "clerk")
    assert duplicate.returncode != 0
    assert "taken" in duplicate.stderr
    bad_role = run(instance, "create-staff", "zed", "--role", "root")
    assert bad_role.returncode != 0


def test_create_token_gives_a_working_bearer_token(instance: Path) -> None:
    run(instance, "create-staff", "ana", "--role", "clerk")
    result = run(instance, "create-token", "ana")
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    assert token.startswith("cc_")
    from citizen_card import create_app
    from citizen_card.config import load_settings

    app = create_app(load_settings(instance))
    client = app.test_client()
    created = client.post(
        "/api/v1/residents",
        json={"given_names": "A", "family_names": "B"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert created.status_code == 201
    unknown = run(instance, "create-token", "nobody")
    assert unknown.returncode != 0


def test_demo_fills_the_database(instance: Path) -> None:
    result = run(
        instance,
        "demo",
        env={"CITIZEN_CARD_ARGON2_TIME_COST": "1", "CITIZEN_CARD_ARGON2_MEMORY_KIB": "1024"},
    )
    assert result.returncode == 0, result.stderr
    assert "Registered 11 demo residents, each with a card" in result.stdout
    assert result.stdout.count("download code") == 11
    # Names print in their people's order, unspaced in Han and Hangul.
    for printed in ("王明:", "山田花子:", "김민준:", "Nguyễn Thị Hương:", "Nagy Eszter:"):
        assert f"  {printed} card " in result.stdout, printed
