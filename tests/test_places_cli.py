"""The places directory from the command line, run as a city's IT runs it: a fresh
instance (migrated, so 0002_places runs), an editor account, the demo places, CSV out
and back in."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from tests.test_cli import run

CHEAP = {"CITIZEN_CARD_ARGON2_TIME_COST": "1", "CITIZEN_CARD_ARGON2_MEMORY_KIB": "1024"}


@pytest.fixture
def instance(tmp_path: Path) -> Path:
    path = tmp_path / "instance"
    result = run(path, "init", env=CHEAP)
    assert result.returncode == 0, result.stderr
    return path


def test_editor_accounts_demo_places_and_csv(instance: Path, tmp_path: Path) -> None:
    editor = run(instance, "create-staff", "eda", "--role", "editor", env=CHEAP)
    assert editor.returncode == 0, editor.stderr
    assert "Created editor account eda. One-time password:" in editor.stdout

    demo = run(instance, "demo", env=CHEAP)
    assert demo.returncode == 0, demo.stderr
    assert "Added 12 demo places in 3 categories (0 were there already)" in demo.stdout
    again = run(instance, "demo", env=CHEAP)
    assert "Added 0 demo places in 3 categories (12 were there already)" in again.stdout

    exported = run(instance, "places", "export")
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert len(rows) == 12
    assert {row["category"] for row in rows} == {"library", "health", "legal_aid"}
    located = [row for row in rows if row["latitude"]]
    assert 0 < len(located) < 12
    assert {row["published"] for row in rows} == {"yes"}

    # Unpublish one in a spreadsheet-like edit and import it back.
    edited = tmp_path / "edited.csv"
    rows[0]["published"] = "no"
    with edited.open("w", encoding="utf-8", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    imported = run(instance, "places", "import", str(edited))
    assert imported.returncode == 0, imported.stderr
    assert "Imported: 0 new, 1 changed, 11 unchanged place(s)." in imported.stdout

    from citizen_card import create_app
    from citizen_card.config import load_settings
    from citizen_card.extensions import db

    app = create_app(load_settings(instance))
    client = app.test_client()
    page = client.get("/places").get_data(as_text=True)
    assert "11 places" in page
    assert client.get("/places.json").get_json()["features"][0]["type"] == "Feature"
    with app.app_context():
        db.engine.dispose()
