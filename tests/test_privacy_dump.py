"""A stolen database or instance folder reveals no name, date or photo in clear."""

from __future__ import annotations

import logging
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from citizen_card.config import Settings
from tests.conftest import photo_bytes

RESIDENTS = [
    {
        "given_names": "Zoraida",
        "family_names": "Quintanilla-Bermúdez",
        "date_of_birth": "1987-03-14",
        "contact": "zoraida.q@example.org",
    },
    {
        "given_names": "Тимофей",
        "family_names": "Ласточкин",
        "latin_name": "Timofei Lastochkin",
        "date_of_birth": "1979-11-02",
    },
    {
        "given_names": "小龙",
        "family_names": "欧阳",
        "name_order": "family_first",
        "latin_name": "Ouyang Xiaolong",
    },
    {
        "given_names": "ዮሐንስ",
        "family_names": "ገብረመድህን",
        "latin_name": "Yohannes Gebremedhin",
        "used_name": "Yoni",
    },
]


def secrets_of(resident: dict[str, str]) -> list[bytes]:
    """Every personal value as it could appear in a dump: UTF-8, and name parts alone."""
    found: list[bytes] = []
    for field, value in resident.items():
        if field == "name_order":
            # The order says roughly where someone is from: sealed too, never in clear.
            found += [b"family_first", b"given_first"]
            continue
        found.append(value.encode())
        if field == "date_of_birth":
            # A bare year would match random bytes of a hex dump; the dates in full do not.
            found.append(value.replace("-", "").encode())
        else:
            found += [part.encode() for part in value.replace("-", " ").split() if len(part) >= 4]
    # The printed form, which the index also covers: "欧阳小龙", with no space.
    found += [(resident["family_names"] + resident["given_names"]).encode()]
    return found


def fill(client: FlaskClient, headers: dict[str, str]) -> list[bytes]:
    needles: list[bytes] = []
    for resident in RESIDENTS:
        created = client.post("/api/v1/residents", json=resident, headers=headers)
        assert created.status_code == 201, created.json
        photo = client.put(
            f"/api/v1/residents/{created.json['id']}/photo",
            data=photo_bytes(),
            headers=headers | {"Content-Type": "image/jpeg"},
        )
        assert photo.status_code == 204
        # Reading and searching exercise the decrypting paths too.
        assert (
            client.get(f"/api/v1/residents/{created.json['id']}", headers=headers).status_code
            == 200
        )
        assert client.post(
            "/api/v1/residents/search", json={"q": resident["family_names"]}, headers=headers
        ).json["residents"]
        needles += secrets_of(resident)
    return needles


def assert_absent(blob: bytes, needles: list[bytes], where: str) -> None:
    leaked = [needle.decode() for needle in needles if needle in blob]
    assert leaked == [], f"personal data in clear in {where}"
    # JPEG start-of-image + JFIF/EXIF markers: a photo stored in clear would show them.
    assert b"\xff\xd8\xff\xe0" not in blob and b"\xff\xd8\xff\xdb" not in blob, (
        f"JPEG in clear in {where}"
    )


def instance_bytes(path: Path) -> bytes:
    return b"".join(f.read_bytes() for f in sorted(path.rglob("*")) if f.is_file())


def test_dumps_and_logs_hold_no_personal_data(
    app: Flask,
    client: FlaskClient,
    clerk_headers: dict[str, str],
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    needles = fill(client, clerk_headers)
    assert needles
    from citizen_card.extensions import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if settings.database_url.startswith("sqlite"):
        dump = instance_bytes(settings.instance_path)
        assert b"SQLite format 3" in dump  # the database file is really in there
        with closing(sqlite3.connect(settings.database_url.removeprefix("sqlite:///"))) as conn:
            text_dump = "\n".join(conn.iterdump()).encode()
        assert b'INSERT INTO "resident" ' in text_dump
        assert_absent(dump, needles, "the SQLite file and instance folder")
        assert_absent(text_dump, needles, "an SQL dump of the SQLite database")
    else:
        url = settings.database_url.replace("postgresql+psycopg://", "postgresql://")
        dump = subprocess.run(["pg_dump", url], capture_output=True, check=True).stdout
        assert b"COPY public.resident " in dump
        assert_absent(dump, needles, "pg_dump")
        assert_absent(instance_bytes(settings.instance_path), needles, "the instance folder")
    logs = "\n".join(record.getMessage() for record in caplog.records).encode()
    assert_absent(logs, needles, "the logs")
