"""The counter pages and names: the order, the preview rendered by the server, search by
card number, and the question a likely duplicate raises, keeping the form and photo."""

from __future__ import annotations

import html
import io
import re
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from citizen_card.context import app_context
from citizen_card.extensions import db
from citizen_card.models import AuditEvent, Resident
from citizen_card.services import issuance, registry
from tests.conftest import csrf_token, photo_bytes
from tests.web.test_residents_pages import search

ARABIC = {
    "given_names": "محمد",
    "family_names": "عبد الرحمن",
    "latin_name": "Mohammed Abdelrahman",
    "date_of_birth": "1990-05-01",
}


def _post_new(
    client: FlaskClient, photo: bytes | None = None, **fields: str
) -> tuple[int, str, str]:
    data: dict[str, object] = {
        "evidence": ["identity"],
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


def _count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Resident.id))) or 0


def test_the_form_offers_the_order_and_previews_the_printed_name(
    clerk_client: FlaskClient,
) -> None:
    page = clerk_client.get("/residents/new").get_data(as_text=True)
    assert 'name="name_order" value="given_first" checked' in page
    assert 'data-unspaced="1100-11ff,' in page
    assert "js/names.js" in page

    status, location, _ = _post_new(
        clerk_client, given_names="小龙", family_names="李", name_order="family_first",
        latin_name="Li Xiaolong",
    )  # fmt: skip
    assert status == 302
    assert '<h1 dir="auto">李小龙</h1>' in clerk_client.get(location).get_data(as_text=True)

    edit = clerk_client.get(location + "/edit").get_data(as_text=True)
    assert 'value="family_first" checked' in edit
    assert re.search(r"data-printed>李小龙</p>", edit)
    assert re.search(r"data-printed-latin\s*>Li Xiaolong</p>", edit)


def test_a_form_shown_again_keeps_the_order_and_its_preview(clerk_client: FlaskClient) -> None:
    status, _, page = _post_new(
        clerk_client, given_names="Thị Ngọc Ánh", family_names="Trần", name_order="family_first",
        date_of_birth="1990-13-01",
    )  # fmt: skip
    assert status == 422
    assert 'value="family_first" checked' in page
    assert "data-printed>Trần Thị Ngọc Ánh</p>" in page


def test_search_page_finds_by_card_number(
    clerk_client: FlaskClient, make_resident: Callable[..., str], app: Flask
) -> None:
    public_id = make_resident(given_names="Eszter", family_names="Nagy", name_order="family_first")
    with app.app_context():
        c = app_context()
        issued = issuance.issue(
            db.session, registry.get(db.session, public_id), settings=c.settings, actor=None,
            now=c.now(),
        )  # fmt: skip
        db.session.commit()
        number = issued.card.number
    page = search(clerk_client, number.lower().replace("0", "o"))
    assert "1 resident found" in page
    assert "Nagy Eszter" in page
    assert f"{number[0:4]}-{number[4:8]}-{number[8:12]}" in page
    assert f"/residents/{public_id}/thumb.jpg" in page


def test_a_likely_duplicate_asks_and_keeps_what_was_typed_and_the_photo(
    clerk_client: FlaskClient, app: Flask
) -> None:
    status, first, _ = _post_new(clerk_client, photo=photo_bytes(), **ARABIC)
    assert status == 302
    before = _count(app)

    status, _, page = _post_new(
        clerk_client, photo=photo_bytes(), contact="+351 912 345 678", **ARABIC
    )
    assert status == 409
    assert _count(app) == before  # nothing saved
    assert "This person may be registered already" in page
    assert f'href="{first}"' in page  # the record it looks like, as a search lists it
    assert f"{first}/thumb.jpg" in page
    assert 'value="محمد"' in page and 'value="+351 912 345 678"' in page
    assert 'value="1990-05-01"' in page
    assert 'name="evidence" value="identity" checked' in page
    kept = re.search(r'name="photo_kept" value="([^"]+)"', page)
    assert kept
    assert 'name="confirm_duplicate" value="yes"' in page
    with app.app_context():
        looks = db.session.scalar(
            select(func.count(AuditEvent.id)).where(AuditEvent.action == "resident.search")
        )
    assert looks == 1

    # "It is another person": the same values and the kept photo, no file chosen again.
    fields = ARABIC | {"contact": "+351 912 345 678", "confirm_duplicate": "yes"}
    status, second, _ = _post_new(clerk_client, photo_kept=html.unescape(kept.group(1)), **fields)
    assert status == 302 and second != first
    assert _count(app) == before + 1
    shown = clerk_client.get(second).get_data(as_text=True)
    assert 'alt="Photo of the resident"' in shown


def test_a_kept_photo_that_is_not_one_is_refused(clerk_client: FlaskClient, app: Flask) -> None:
    before = _count(app)
    status, _, page = _post_new(
        clerk_client, given_names="Ana", family_names="Sá", photo_kept="not base64!"
    )
    assert status == 422
    assert "The photo did not arrive" in page
    assert _count(app) == before


def test_editing_the_order_changes_the_printed_name(
    clerk_client: FlaskClient, make_resident: Callable[..., str]
) -> None:
    public_id = make_resident(given_names="Ngọc Ánh", family_names="Trần")
    url = f"/residents/{public_id}"
    assert '<h1 dir="auto">Ngọc Ánh Trần</h1>' in clerk_client.get(url).get_data(as_text=True)
    response = clerk_client.post(
        url + "/edit",
        data={
            "given_names": "Ngọc Ánh",
            "family_names": "Trần",
            "name_order": "family_first",
            "csrf_token": csrf_token(clerk_client, url + "/edit"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert '<h1 dir="auto">Trần Ngọc Ánh</h1>' in clerk_client.get(url).get_data(as_text=True)
    assert "Trần Ngọc Ánh" in search(clerk_client, "tran ngoc anh")
