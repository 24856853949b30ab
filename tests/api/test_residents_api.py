"""The residents API, through HTTP, with bearer tokens."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from citizen_card.extensions import db
from citizen_card.models import AuditEvent, Resident
from tests.conftest import photo_bytes
from tests.images import png_bytes

NEW = {"given_names": "Amadou", "family_names": "Diallo", "evidence": ["identity"]}


def count_residents(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Resident.id))) or 0


def test_register_read_update_and_erase(
    client: FlaskClient, clerk_headers: dict[str, str], app: Flask
) -> None:
    created = client.post("/api/v1/residents", json=NEW, headers=clerk_headers)
    assert created.status_code == 201
    resident_id = created.json["id"]

    read = client.get(f"/api/v1/residents/{resident_id}", headers=clerk_headers)
    assert read.status_code == 200
    assert read.json["given_names"] == "Amadou"
    assert read.json["evidence"] == ["identity"]
    assert read.json["has_photo"] is False
    assert read.headers["Cache-Control"] == "no-store"

    patched = client.patch(
        f"/api/v1/residents/{resident_id}",
        json={"used_name": "Ama", "evidence": ["residence"]},
        headers=clerk_headers,
    )
    assert patched.status_code == 200
    assert patched.json["used_name"] == "Ama"
    assert patched.json["evidence"] == ["identity", "residence"]

    photo = client.put(
        f"/api/v1/residents/{resident_id}/photo",
        data=photo_bytes(fmt="PNG"),
        headers=clerk_headers | {"Content-Type": "image/png"},
    )
    assert photo.status_code == 204
    assert client.get(f"/api/v1/residents/{resident_id}", headers=clerk_headers).json["has_photo"]

    assert (
        client.delete(f"/api/v1/residents/{resident_id}", headers=clerk_headers).status_code == 204
    )
    gone = client.get(f"/api/v1/residents/{resident_id}", headers=clerk_headers)
    assert gone.status_code == 404
    assert gone.json == {"error": "resident_not_found", "message": "No such resident."}
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)).all()
    assert [a for a in actions if a.startswith("resident.")] == [
        "resident.register",
        "resident.view",
        "resident.update",
        "resident.photo",
        "resident.view",
        "resident.erase",
    ]


def test_search_ignores_accents_and_word_order(
    client: FlaskClient, clerk_headers: dict[str, str], make_resident: Callable[..., str]
) -> None:
    garcia = make_resident(given_names="María José", family_names="García López", photo=False)
    make_resident(given_names="Jose", family_names="Martins", photo=False)
    for query in ("Garcia", "garcía", "lopez maria", "GARC", "José García"):
        found = client.post("/api/v1/residents/search", json={"q": query}, headers=clerk_headers)
        assert [r["id"] for r in found.json["residents"]] == [garcia], query
    both = client.post("/api/v1/residents/search", json={"q": "jose"}, headers=clerk_headers)
    assert len(both.json["residents"]) == 2


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b"{not json", "application/json", 400, "invalid_json"),
        (b"[1, 2]", "application/json", 400, "invalid_json"),
        (b"given_names=x", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        (b'{"given_names": 5, "family_names": "X"}', "application/json", 422, "invalid"),
        (b'{"family_names": "X"}', "application/json", 422, "required"),
        (
            b'{"given_names": "A", "family_names": "B", "nationality": "X"}',
            "application/json",
            422,
            "unknown_field",
        ),
        (
            b'{"given_names": "A", "family_names": "B", "address": "X"}',
            "application/json",
            422,
            "unknown_field",
        ),
        (
            b'{"given_names": "' + b"A" * 101 + b'", "family_names": "B"}',
            "application/json",
            422,
            "too_long",
        ),
        (b'{"given_names": "A\\u0000", "family_names": "B"}', "application/json", 422, "invalid"),
        (
            b'{"given_names": "A", "family_names": "B", "date_of_birth": "1990-13-01"}',
            "application/json",
            422,
            "invalid",
        ),
        *(
            (
                b'{"given_names": "A", "family_names": "B", "date_of_birth": "%s"}' % date.encode(),
                "application/json",
                422,
                "invalid",
            )
            # Forms that date.fromisoformat takes but nobody means (ISO basic and week dates).
            for date in ("19870314", "1987W011", "1987-W01-1", "1987-03-14T00:00", "1987-3-14")
        ),
        (
            b'{"given_names": "A", "family_names": "B", "date_of_birth": "2990-01-01"}',
            "application/json",
            422,
            "invalid",
        ),
        (
            b'{"given_names": "A", "family_names": "B", "gender": "F"}',
            "application/json",
            422,
            "not_collected",
        ),
        (
            b'{"given_names": "A", "family_names": "B", "evidence": ["passport-number"]}',
            "application/json",
            422,
            "invalid",
        ),
        (
            b'{"given_names": "A", "family_names": "B", "evidence": "identity"}',
            "application/json",
            422,
            "invalid",
        ),
        (
            '{"given_names": "Олена", "family_names": "Коваленко"}'.encode(),
            "application/json",
            422,
            "required",
        ),
    ],
)
def test_bad_input_gets_a_clear_error_and_stores_nothing(
    client: FlaskClient,
    clerk_headers: dict[str, str],
    app: Flask,
    body: bytes,
    content_type: str,
    status: int,
    code: str,
) -> None:
    response = client.post(
        "/api/v1/residents", data=body, headers=clerk_headers | {"Content-Type": content_type}
    )
    assert response.status_code == status
    assert response.json["error"] == code
    assert response.json["message"]
    assert count_residents(app) == 0


def test_huge_body_is_refused(
    client: FlaskClient, clerk_headers: dict[str, str], app: Flask
) -> None:
    huge = b'{"given_names": "' + b"A" * (20 * 1024 * 1024) + b'", "family_names": "B"}'
    response = client.post(
        "/api/v1/residents", data=huge, headers=clerk_headers | {"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json["error"] == "too_large"
    assert count_residents(app) == 0


@pytest.mark.parametrize(
    ("data", "content_type", "status", "code"),
    [
        (b"not an image at all", "image/jpeg", 422, "photo_not_image"),
        (photo_bytes()[:500], "image/jpeg", 422, "photo_not_image"),
        (photo_bytes(size=(60, 60)), "image/jpeg", 422, "photo_too_small"),
        (photo_bytes(), "image/gif", 415, "unsupported_media_type"),
        # 130 KB that would take 198 MB to decode: refused from the header.
        (png_bytes(6300, 6300, 16, 0, rows=True), "image/png", 422, "photo_too_large"),
    ],
)
def test_broken_photos_are_refused_and_nothing_changes(
    client: FlaskClient,
    clerk_headers: dict[str, str],
    make_resident: Callable[..., str],
    data: bytes,
    content_type: str,
    status: int,
    code: str,
) -> None:
    resident_id = make_resident(photo=False)
    response = client.put(
        f"/api/v1/residents/{resident_id}/photo",
        data=data,
        headers=clerk_headers | {"Content-Type": content_type},
    )
    assert response.status_code == status
    assert response.json["error"] == code
    assert (
        client.get(f"/api/v1/residents/{resident_id}", headers=clerk_headers).json["has_photo"]
        is False
    )


def test_a_phone_mpo_photo_is_stored(
    client: FlaskClient, clerk_headers: dict[str, str], make_resident: Callable[..., str]
) -> None:
    import io

    from PIL import Image

    out = io.BytesIO()
    frames = [Image.new("RGB", (900, 1200), colour) for colour in ((200, 40, 40), (0, 0, 0))]
    frames[0].save(out, "MPO", save_all=True, append_images=frames[1:])
    resident_id = make_resident(photo=False)
    response = client.put(
        f"/api/v1/residents/{resident_id}/photo",
        data=out.getvalue(),
        headers=clerk_headers | {"Content-Type": "image/jpeg"},  # what phones send
    )
    assert response.status_code == 204
    assert client.get(f"/api/v1/residents/{resident_id}", headers=clerk_headers).json["has_photo"]


def test_a_pixel_bomb_is_refused(
    client: FlaskClient, clerk_headers: dict[str, str], make_resident: Callable[..., str]
) -> None:
    import io

    from PIL import Image

    # A 20,000 x 20,000 black PNG compresses to under a megabyte but would decode to 1.2 GB.
    out = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(out, "PNG")
    resident_id = make_resident(photo=False)
    response = client.put(
        f"/api/v1/residents/{resident_id}/photo",
        data=out.getvalue(),
        headers=clerk_headers | {"Content-Type": "image/png"},
    )
    assert response.status_code == 422
    assert response.json["error"] == "photo_too_large"


@pytest.mark.parametrize(
    "header", [None, "Bearer nope", "Bearer cc_forged", "Basic abc", "Bearer "]
)
def test_missing_or_forged_tokens_are_refused(client: FlaskClient, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = client.post("/api/v1/residents", json=NEW, headers=headers)
    assert response.status_code == 401
    assert response.json["error"] == "unauthorized"


def test_only_clerks_use_the_residents_api(
    client: FlaskClient, api_token: Callable[..., str]
) -> None:
    for role in ("admin", "auditor"):
        response = client.post(
            "/api/v1/residents", json=NEW, headers={"Authorization": f"Bearer {api_token(role)}"}
        )
        assert response.status_code == 403, role


def test_unknown_ids_and_routes_answer_json(
    client: FlaskClient, clerk_headers: dict[str, str]
) -> None:
    for path in (
        "/api/v1/residents/0123456789abcdef",
        "/api/v1/residents/" + "x" * 300,
        "/api/v1/nothing",
    ):
        response = client.get(path, headers=clerk_headers)
        assert response.status_code == 404
        assert set(response.json) == {"error", "message"}
    wrong_method = client.put("/api/v1/residents", headers=clerk_headers)
    assert wrong_method.status_code == 405
    assert wrong_method.json["error"] == "method_not_allowed"


SCRIPTS = [
    {"given_names": "Åsa-Læticia", "family_names": "Ñúñez d'Ávila Øvergård"},
    {"given_names": "فاطمة", "family_names": "الزهراء", "latin_name": "Fatima Al-Zahraa"},
    {"given_names": "Олена", "family_names": "Коваленко", "latin_name": "Olena Kovalenko"},
    {"given_names": "Ελένη", "family_names": "Παπαδοπούλου", "latin_name": "Eleni Papadopoulou"},
    {"given_names": "ሰላም", "family_names": "ተስፋይ", "latin_name": "Selam Tesfay"},
    {"given_names": "明", "family_names": "王", "latin_name": "Wang Ming"},
    {"given_names": "אברהם", "family_names": "כהן", "latin_name": "Avraham Cohen"},
    {"given_names": "प्रिया", "family_names": "शर्मा", "latin_name": "Priya Sharma"},
]


@pytest.mark.parametrize("names", SCRIPTS, ids=lambda n: n.get("latin_name", "latin"))
def test_names_in_any_script_are_read_back_exactly(
    client: FlaskClient, clerk_headers: dict[str, str], names: dict[str, str]
) -> None:
    created = client.post("/api/v1/residents", json=names, headers=clerk_headers)
    assert created.status_code == 201
    read = client.get(f"/api/v1/residents/{created.json['id']}", headers=clerk_headers).json
    assert {key: read[key] for key in names} == names
    found = client.post(
        "/api/v1/residents/search", json={"q": names["family_names"]}, headers=clerk_headers
    ).json["residents"]
    assert [r["id"] for r in found] == [created.json["id"]]


FIELDS = ["given_names", "family_names", "latin_name", "used_name", "date_of_birth", "contact"]
BAD_VALUES = {
    "wrong type": 12345,
    "a list": ["Ana"],
    "10,000 characters": "A" * 10_000,
    "control characters": "Ana\u0007\u001b[31m",
}


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("kind", sorted(BAD_VALUES))
def test_every_field_refuses_bad_values(
    client: FlaskClient, clerk_headers: dict[str, str], app: Flask, field: str, kind: str
) -> None:
    body = {"given_names": "Ana", "family_names": "Silva", field: BAD_VALUES[kind]}
    response = client.post("/api/v1/residents", json=body, headers=clerk_headers)
    assert response.status_code == 422, response.json
    assert set(response.json) == {"error", "message", "field"}
    assert response.json["field"] == field
    assert count_residents(app) == 0


@pytest.mark.parametrize("field", ["given_names", "family_names"])
def test_required_names_cannot_be_empty(
    client: FlaskClient, clerk_headers: dict[str, str], app: Flask, field: str
) -> None:
    for empty in ("", "   ", None):
        body = {"given_names": "Ana", "family_names": "Silva", field: empty}
        response = client.post("/api/v1/residents", json=body, headers=clerk_headers)
        assert (response.status_code, response.json["error"]) == (422, "required")
    assert count_residents(app) == 0


def test_a_patch_with_bad_values_changes_nothing(
    client: FlaskClient, clerk_headers: dict[str, str], make_resident: Callable[..., str]
) -> None:
    resident_id = make_resident(photo=False)
    before = client.get(f"/api/v1/residents/{resident_id}", headers=clerk_headers).json
    for body in (
        {"used_name": 5},
        {"family_names": ""},
        {"contact": "x" * 10_000},
        {"nationality": "X"},
    ):
        response = client.patch(
            f"/api/v1/residents/{resident_id}", json=body, headers=clerk_headers
        )
        assert response.status_code == 422
    after = client.get(f"/api/v1/residents/{resident_id}", headers=clerk_headers).json
    assert {k: v for k, v in after.items() if k != "updated_at"} == {
        k: v for k, v in before.items() if k != "updated_at"
    }
