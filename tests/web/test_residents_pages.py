"""Registering, finding, editing and erasing residents through the counter pages."""

from __future__ import annotations

import io
import re
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from citizen_card.extensions import db
from citizen_card.models import AuditEvent, Resident
from tests.conftest import csrf_token, photo_bytes
from tests.forms import multipart, text_parts, urlencoded


def search(client: FlaskClient, query: str) -> str:
    token = csrf_token(client, "/residents/")
    response = client.post("/residents/", data={"q": query, "csrf_token": token})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_a_search_keeps_the_name_out_of_the_url(
    clerk_client: FlaskClient, make_resident: Callable[..., str]
) -> None:
    make_resident()
    assert "García" in search(clerk_client, "garcia")
    # A name in the query string (a bookmark, a guess) is not searched for.
    assert "García" not in clerk_client.get("/residents/?q=garcia").get_data(as_text=True)


def register(
    client: FlaskClient, photo: bytes | None = None, **fields: str
) -> tuple[int, str, str]:
    data: dict[str, object] = {
        "given_names": "Fatima",
        "family_names": "Zahra",
        "evidence": ["identity", "residence"],
        "csrf_token": csrf_token(client, "/residents/new"),
    } | fields
    if photo is not None:
        data["photo"] = (io.BytesIO(photo), "photo.jpg")
    response = client.post("/residents/new", data=data, content_type="multipart/form-data")
    return (
        response.status_code,
        response.headers.get("Location", ""),
        response.get_data(as_text=True),
    )


def test_register_with_a_photo_then_find_and_view(clerk_client: FlaskClient) -> None:
    status, location, _ = register(
        clerk_client, photo=photo_bytes(), given_names="José", family_names="Pérez"
    )
    assert status == 302
    page = clerk_client.get(location).get_data(as_text=True)
    assert "José Pérez" in page
    assert "Proof of identity" not in page  # the record page names kinds, not the form labels
    assert "identity, residence" in page
    photo_url = re.search(r'src="(/residents/[0-9a-f]+/photo\.jpg)"', page)
    assert photo_url
    photo = clerk_client.get(photo_url.group(1))
    assert photo.mimetype == "image/jpeg"
    assert photo.headers["Cache-Control"] == "no-store"
    results = search(clerk_client, "perez jose")
    assert "1 resident found" in results
    assert location in results


def test_a_broken_photo_keeps_the_form_and_stores_nothing(
    clerk_client: FlaskClient, app: Flask
) -> None:
    status, _, page = register(clerk_client, photo=b"GIF89a not really", given_names="Keep Me")
    assert status == 422
    assert "not an image that can be read" in page
    assert 'value="Keep Me"' in page  # what the clerk typed is still there
    with app.app_context():
        assert db.session.scalar(select(func.count(Resident.id))) == 0


def _post_form(client: FlaskClient, body: tuple[bytes, str]) -> tuple[int, str]:
    data, content_type = body
    response = client.post("/residents/new", data=data, content_type=content_type)
    return response.status_code, response.get_data(as_text=True)


def _count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Resident.id))) or 0


def test_a_megabyte_in_a_name_field_keeps_the_form(clerk_client: FlaskClient, app: Flask) -> None:
    fields = {
        "given_names": "x" * (1024 * 1024),
        "family_names": "Keep Me Too",
        "contact": "+351 900 000 001",
        "evidence": ["identity"],
        "csrf_token": csrf_token(clerk_client, "/residents/new"),
    }
    status, page = _post_form(clerk_client, multipart(text_parts(fields)))
    assert status == 422
    assert "Given names has more than 100 characters" in page
    assert 'id="given_names" name="given_names" value="' + "x" * 1000 + '"' in page
    assert "x" * 1001 not in page  # what was typed comes back, not a megabyte of it
    assert 'value="Keep Me Too"' in page
    assert 'value="+351 900 000 001"' in page
    assert _count(app) == 0


def test_a_photo_field_that_is_not_a_file_is_said_and_keeps_the_form(
    clerk_client: FlaskClient, app: Flask
) -> None:
    # A form posted without enctype="multipart/form-data" sends the file's name as text.
    fields = {
        "given_names": "Keep Me",
        "family_names": "Zahra",
        "photo": "IMG_0042.jpg",
        "csrf_token": csrf_token(clerk_client, "/residents/new"),
    }
    for body in (urlencoded(text_parts(fields)), multipart(text_parts(fields))):
        status, page = _post_form(clerk_client, body)
        assert status == 422
        assert "The file did not arrive" in page
        assert 'value="Keep Me"' in page
    assert _count(app) == 0


def test_a_name_that_is_not_utf8_is_said_and_the_rest_kept(
    clerk_client: FlaskClient, app: Flask
) -> None:
    token = csrf_token(clerk_client, "/residents/new")
    parts = [
        ("given_names", "José".encode("latin-1"), None),  # a Latin-1 client
        ("family_names", b"Zahra", None),
        ("csrf_token", token.encode(), None),
    ]
    # Multipart carries the bytes as they are (URL-encoded forms keep a bad %E9 as text).
    status, page = _post_form(clerk_client, multipart(parts))
    assert status == 422
    assert "cannot be printed" in page
    assert 'value="Zahra"' in page
    assert _count(app) == 0


def test_a_date_of_birth_in_another_form_is_refused(clerk_client: FlaskClient) -> None:
    status, _, page = register(clerk_client, date_of_birth="1987W011")
    assert status == 422
    assert "must be a date (YYYY-MM-DD)" in page


def test_non_latin_names_need_their_latin_form(clerk_client: FlaskClient) -> None:
    status, _, page = register(clerk_client, given_names="Олена", family_names="Коваленко")
    assert status == 422
    assert "Latin form" in page
    assert 'aria-invalid="true"' in page
    status, location, _ = register(
        clerk_client, given_names="Олена", family_names="Коваленко", latin_name="Olena Kovalenko"
    )
    assert status == 302
    assert "Olena Kovalenko" in clerk_client.get(location).get_data(as_text=True)
    found = search(clerk_client, "kovalenko")
    assert "Олена Коваленко" in found


def test_edit_keeps_fields_and_records_evidence(clerk_client: FlaskClient, app: Flask) -> None:
    _, location, _ = register(clerk_client)
    public_id = location.rsplit("/", 1)[1]
    form = clerk_client.get(f"/residents/{public_id}/edit").get_data(as_text=True)
    assert 'value="Fatima"' in form
    response = clerk_client.post(
        f"/residents/{public_id}/edit",
        data={
            "given_names": "Fatima",
            "family_names": "Zahra",
            "used_name": "Fati",
            "contact": "+351 900 000 000",
            "csrf_token": csrf_token(clerk_client, f"/residents/{public_id}/edit"),
        },
    )
    assert response.status_code == 302
    page = clerk_client.get(location).get_data(as_text=True)
    assert "Fati" in page and "+351 900 000 000" in page
    with app.app_context():
        detail = db.session.scalars(
            select(AuditEvent.detail).where(AuditEvent.action == "resident.update")
        ).one()
    assert detail == '{"evidence":[],"fields":["contact","used_name"]}'


def test_erase_needs_confirmation_then_removes_everything(
    clerk_client: FlaskClient, app: Flask
) -> None:
    _, location, _ = register(clerk_client)
    public_id = location.rsplit("/", 1)[1]
    token = csrf_token(clerk_client, f"/residents/{public_id}/erase")
    refused = clerk_client.post(f"/residents/{public_id}/erase", data={"csrf_token": token})
    assert refused.status_code == 422
    done = clerk_client.post(
        f"/residents/{public_id}/erase", data={"csrf_token": token, "confirm": "erase"}
    )
    assert done.status_code == 302
    assert clerk_client.get(location).status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count(Resident.id))) == 0


def test_unknown_resident_is_a_helpful_404(clerk_client: FlaskClient) -> None:
    response = clerk_client.get("/residents/ffffffffffffffff")
    assert response.status_code == 404
    assert "No such resident." in response.get_data(as_text=True)


def test_search_with_nothing_to_match_says_so(
    clerk_client: FlaskClient, make_resident: Callable[..., str]
) -> None:
    make_resident()
    page = search(clerk_client, "zzzz")
    assert "0 residents found" in page
    assert "No resident matches" in page
