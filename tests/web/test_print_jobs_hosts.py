"""Batch printing works on any host behind a load balancer.

Two app instances stand for two hosts: each has its own instance folder (so nothing
passes through files), and they share the database and the key store, as a city's
set-up does. A clerk starts a batch on one; the progress page and the download are
answered by the other. Erasing a resident on either withdraws sheets that show them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from citizen_card import create_app
from citizen_card.context import app_context
from citizen_card.extensions import db
from citizen_card.models import Staff
from citizen_card.services import accounts, keyring
from citizen_card.services.keystore import open_keystore
from tests.conftest import TEST_PASSWORD, csrf_token, login, make_settings, photo_bytes


@pytest.fixture
def hosts(tmp_path: Path, database_url: str) -> Iterator[tuple[Flask, Flask]]:
    (tmp_path / "instance").mkdir(exist_ok=True)  # where the SQLite database_url points
    keystore = f"sqlite:///{tmp_path / 'shared-keystore.sqlite3'}"
    apps = []
    for name in ("host-a", "host-b"):
        settings = make_settings(tmp_path / name, database_url, keystore_url=keystore)
        apps.append(create_app(settings))
    with apps[0].app_context():
        db.create_all()
        keyring.ensure_signing_key(db.session, app_context().settings, now=app_context().now())
        db.session.commit()
    yield apps[0], apps[1]
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    open_keystore(keystore).engine.dispose()


def _clerk(app: Flask) -> tuple[Staff, str]:
    with app.app_context():
        ctx = app_context()
        staff = accounts.create_staff(
            db.session,
            username="printer-clerk",
            role="clerk",
            password=TEST_PASSWORD,
            policy=ctx.password_policy,
            now=ctx.now(),
            actor=None,
            must_change_password=False,
        )
        token = accounts.create_api_token(db.session, staff, now=ctx.now(), actor=None)
        db.session.commit()
        db.session.refresh(staff)
        db.session.expunge(staff)
    return staff, token


def _cards(client: FlaskClient, token: str, names: list[str]) -> list[tuple[str, str]]:
    """(resident id, card number) for a new resident with a photo and a card, per name."""
    headers = {"Authorization": f"Bearer {token}"}
    made = []
    for name in names:
        resident = client.post(
            "/api/v1/residents",
            json={"given_names": name, "family_names": "Printer"},
            headers=headers,
        ).json["id"]
        client.put(
            f"/api/v1/residents/{resident}/photo",
            data=photo_bytes(),
            headers=headers | {"Content-Type": "image/jpeg"},
        )
        card = client.post(f"/api/v1/residents/{resident}/cards", headers=headers).json
        made.append((resident, card["card_number"]))
    return made


def _start(client: FlaskClient, numbers: list[str]) -> str:
    response = client.post(
        "/cards/print", data={"card": numbers, "csrf_token": csrf_token(client, "/cards/print")}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    match = re.search(r"/cards/print/([0-9a-f]+)$", response.headers["Location"])
    assert match
    return match.group(1)


def test_progress_and_download_on_the_other_host(hosts: tuple[Flask, Flask]) -> None:
    host_a, host_b = hosts
    staff, token = _clerk(host_a)
    on_a, on_b = host_a.test_client(), host_b.test_client()
    login(on_a, staff)
    login(on_b, staff)
    made = _cards(on_a, token, ["Ana", "Bruno", "Chiara"])

    job_id = _start(on_a, [number for _, number in made])
    with host_a.app_context():
        assert app_context().print_jobs.wait(job_id, timeout=120)

    progress = on_b.get(f"/cards/print/{job_id}/progress")
    assert progress.json == {"state": "done", "done": 3, "total": 3}
    page = on_b.get(f"/cards/print/{job_id}").get_data(as_text=True)
    assert "3 cards are ready." in page
    sheets = on_b.get(f"/cards/print/{job_id}/sheets.pdf")
    assert sheets.status_code == 200 and sheets.data.startswith(b"%PDF-")
    # Handed out once, whichever host is asked next.
    assert on_a.get(f"/cards/print/{job_id}/sheets.pdf").status_code == 404
    assert on_a.get(f"/cards/print/{job_id}/progress").json["state"] == "fetched"
    # Nothing of the job went through either host's instance folder.
    for app in hosts:
        folder = Path(app.instance_path)
        assert not list(folder.rglob("*.pdf")) and not (folder / "print-jobs").exists()


def test_an_erasure_withdraws_sheets_that_show_the_resident(hosts: tuple[Flask, Flask]) -> None:
    host_a, host_b = hosts
    staff, token = _clerk(host_a)
    on_a, on_b = host_a.test_client(), host_b.test_client()
    login(on_a, staff)
    login(on_b, staff)
    made = _cards(on_a, token, ["Dara", "Emeka"])
    job_id = _start(on_a, [number for _, number in made])
    with host_a.app_context():
        assert app_context().print_jobs.wait(job_id, timeout=120)

    erased = on_b.delete(
        f"/api/v1/residents/{made[0][0]}", headers={"Authorization": f"Bearer {token}"}
    )
    assert erased.status_code == 204

    assert on_a.get(f"/cards/print/{job_id}/sheets.pdf").status_code == 404
    page = on_a.get(f"/cards/print/{job_id}").get_data(as_text=True)
    assert "These sheets were withdrawn" in page
