"""Forms in the GOV.UK pattern: every problem in a summary linked to its field, the message
beside the field, and a photo that passed kept across a refused try."""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select

from citizen_card.extensions import db
from citizen_card.models import Resident
from tests.conftest import csrf_token, photo_bytes


def _post(
    client: FlaskClient, path: str, photo: bytes | None = None, **fields: object
) -> tuple[int, str]:
    data: dict[str, object] = {"csrf_token": csrf_token(client, path)} | fields
    if photo is not None:
        data["photo"] = (io.BytesIO(photo), "photo.jpg")
    response = client.post(path, data=data, content_type="multipart/form-data")
    return response.status_code, response.get_data(as_text=True)


def _summary_links(page: str) -> list[str]:
    match = re.search(r'<div class="error-summary" role="alert"[^>]*>(.*?)</div>', page, re.S)
    assert match, "no error summary"
    return re.findall(r'<a href="#([a-z_]+)">', match.group(1))


def _kept(page: str) -> bytes:
    match = re.search(r'<input type="hidden" name="photo_kept" value="([^"]+)">', page)
    assert match, "the photo was not kept"
    return base64.b64decode(match.group(1))


def _count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Resident)) or 0


def test_an_empty_registration_names_every_missing_field(clerk_client: FlaskClient) -> None:
    status, page = _post(clerk_client, "/residents/new", given_names="", family_names="")
    assert status == 422
    assert _summary_links(page) == ["given_names", "family_names"]
    assert "<title>Error: " in page
    for name in ("given_names", "family_names"):
        # The message beside the field, and the field pointing at it.
        assert f'<p class="error-message" id="{name}-error">' in page
        tag = re.search(rf'<input id="{name}"[^>]*>', page, re.S)
        assert tag and 'aria-invalid="true"' in tag.group(0)
        assert f"{name}-error" in tag.group(0)
    # Fields without a problem are not marked.
    contact = re.search(r'<input id="contact"[^>]*>', page, re.S)
    assert contact and "aria-invalid" not in contact.group(0)
    assert 'aria-describedby="contact-hint"' in contact.group(0)


def test_problems_in_different_fields_are_all_named(clerk_client: FlaskClient) -> None:
    status, page = _post(
        clerk_client,
        "/residents/new",
        given_names="Олена",
        family_names="",
        date_of_birth="1987W011",
    )
    assert status == 422
    assert _summary_links(page) == ["family_names", "date_of_birth"]
    assert "The field Family names is required." in page
    assert "must be a date (YYYY-MM-DD)" in page


def test_the_photo_survives_a_refusal_and_is_saved_with_the_retry(
    clerk_client: FlaskClient, app: Flask
) -> None:
    status, page = _post(
        clerk_client, "/residents/new", photo=photo_bytes(), given_names="Selam", family_names=""
    )
    assert status == 422
    assert _summary_links(page) == ["family_names"]
    kept = _kept(page)
    # What comes back is the cleaned 35:45 photo, not the upload, shown as the preview too.
    with Image.open(io.BytesIO(kept)) as image:
        assert image.size == (420, 540)
    assert 'src="data:image/jpeg;base64,' in page
    assert _count(app) == 0

    status, page = _post(
        clerk_client,
        "/residents/new",
        given_names="Selam",
        family_names="Tesfay",
        photo_kept=base64.b64encode(kept).decode(),
    )
    assert status == 302
    with app.app_context():
        resident = db.session.scalars(select(Resident)).one()
        assert resident.photo_sealed is not None


def test_a_forged_kept_photo_is_checked_like_an_upload(
    clerk_client: FlaskClient, app: Flask
) -> None:
    status, page = _post(
        clerk_client,
        "/residents/new",
        given_names="Selam",
        family_names="Tesfay",
        photo_kept=base64.b64encode(b"not an image at all").decode(),
    )
    assert status == 422
    assert _summary_links(page) == ["photo"]
    status, page = _post(
        clerk_client,
        "/residents/new",
        given_names="Selam",
        family_names="Tesfay",
        photo_kept="%%% not base64",
    )
    assert status == 422
    assert _summary_links(page) == ["photo"]
    assert _count(app) == 0


def test_a_refused_photo_and_a_refused_name_are_named_together(
    clerk_client: FlaskClient,
) -> None:
    status, page = _post(
        clerk_client,
        "/residents/new",
        photo=b"GIF89a not a photo",
        given_names="",
        family_names="X",
    )
    assert status == 422
    assert _summary_links(page) == ["given_names", "photo"]
    assert "photo_kept" not in page


def test_the_edit_form_keeps_the_new_photo_when_a_field_is_refused(
    clerk_client: FlaskClient, make_resident: Callable[..., str]
) -> None:
    public_id = make_resident(photo=False)
    status, page = _post(
        clerk_client, f"/residents/{public_id}/edit", photo=photo_bytes(), family_names=""
    )
    assert status == 422
    assert _summary_links(page) == ["family_names"]
    assert len(_kept(page)) > 1000


def test_the_api_still_answers_with_the_first_field(
    client: FlaskClient, clerk_headers: dict[str, str]
) -> None:
    response = client.post(
        "/api/v1/residents", json={"given_names": "", "family_names": ""}, headers=clerk_headers
    )
    assert response.status_code == 422
    body = response.get_json()
    assert body["field"] == "given_names"
    assert body["error"] == "required"
