"""Counter pages for cards: issue from the resident page, receipt, preview, print, batch."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from pathlib import Path

import pypdfium2
import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select

from citizen_card.context import app_context
from citizen_card.extensions import db
from citizen_card.models import AuditEvent, Card, CitySetting
from tests.conftest import csrf_token, login
from tests.images import png_bytes

POINT_MM = 25.4 / 72


def _issue(client: FlaskClient, public_id: str) -> tuple[str, str]:
    token = csrf_token(client, f"/residents/{public_id}")
    response = client.post(f"/residents/{public_id}/cards", data={"csrf_token": token})
    assert response.status_code == 201, response.get_data(as_text=True)
    page = response.get_data(as_text=True)
    number = re.search(r'class="card-number">([0-9A-Z-]{14})<', page)
    code = re.search(r'class="secret download-code">([0-9A-Z-]{14})<', page)
    assert number and code
    return number.group(1), code.group(1)


def _post(client: FlaskClient, path: str, **data: str) -> object:
    return client.post(path, data={"csrf_token": csrf_token(client, "/residents/")} | data)


def test_issue_from_the_resident_page_and_change_status(
    clerk_client: FlaskClient, make_resident: Callable[..., str], app: Flask
) -> None:
    public_id = make_resident()
    page = clerk_client.get(f"/residents/{public_id}").get_data(as_text=True)
    assert "Issue a card" in page and "No card yet." in page

    number, code = _issue(clerk_client, public_id)
    page = clerk_client.get(f"/residents/{public_id}").get_data(as_text=True)
    assert number in page and "Suspend" in page and "Issue a card" not in page
    assert code not in page  # shown on the receipt only

    card_page = clerk_client.get(f"/cards/{number}")
    assert card_page.status_code == 200
    for face in ("front", "back"):
        image = clerk_client.get(f"/cards/{number}/{face}.png")
        assert image.mimetype == "image/png"
        assert image.headers["Cache-Control"] == "no-store"
        assert Image.open(io.BytesIO(image.data)).size[0] > 400

    suspended = _post(clerk_client, f"/cards/{number}/suspend", confirm="1")
    assert suspended.status_code == 302  # type: ignore[attr-defined]
    assert "suspended" in clerk_client.get(f"/cards/{number}").get_data(as_text=True)
    not_again = _post(clerk_client, f"/cards/{number}/suspend", confirm="1")
    assert not_again.status_code == 409  # type: ignore[attr-defined]
    _post(clerk_client, f"/cards/{number}/reinstate")
    bad = _post(clerk_client, f"/cards/{number}/revoke", reason="bored", confirm="1")
    assert bad.status_code == 422  # type: ignore[attr-defined]
    _post(clerk_client, f"/cards/{number}/revoke", reason="lost", confirm="1")
    with app.app_context():
        card = db.session.execute(select(Card)).scalar_one()
        assert (card.status, card.revocation_reason) == ("revoked", "lost")
        actions = db.session.execute(
            select(AuditEvent.action).where(AuditEvent.target_ref == card.number)
        ).scalars()
        assert list(actions) == ["card.issue", "card.suspend", "card.reinstate", "card.revoke"]


def test_print_renew_replace_and_new_code(
    clerk_client: FlaskClient, make_resident: Callable[..., str], app: Flask
) -> None:
    public_id = make_resident()
    number, code = _issue(clerk_client, public_id)

    printed = _post(clerk_client, f"/cards/{number}/print")
    assert printed.mimetype == "application/pdf"  # type: ignore[attr-defined]
    document = pypdfium2.PdfDocument(printed.data)  # type: ignore[attr-defined]
    assert len(document) == 2
    handed = _post(clerk_client, f"/cards/{number}/hand-over")
    assert handed.status_code == 302  # type: ignore[attr-defined]

    fresh = _post(clerk_client, f"/cards/{number}/download-code")
    assert fresh.status_code == 200  # type: ignore[attr-defined]
    assert code not in fresh.get_data(as_text=True)  # type: ignore[attr-defined]

    renewed = _post(clerk_client, f"/cards/{number}/renew", confirm="1")
    assert renewed.status_code == 201  # type: ignore[attr-defined]
    new_number = re.search(
        r'class="card-number">([0-9A-Z-]{14})<',
        renewed.get_data(as_text=True),  # type: ignore[attr-defined]
    )
    assert new_number and new_number.group(1) != number
    # The new card is printed and handed over; only then is the old one revoked.
    _post(clerk_client, f"/cards/{new_number.group(1)}/print")
    _post(clerk_client, f"/cards/{new_number.group(1)}/hand-over")
    replaced = _post(
        clerk_client, f"/cards/{new_number.group(1)}/replace", reason="stolen", confirm="1"
    )
    assert replaced.status_code == 201  # type: ignore[attr-defined]
    with app.app_context():
        reasons = dict(db.session.execute(select(Card.number, Card.revocation_reason)).all())
        assert sorted(r for r in reasons.values() if r) == ["stolen", "superseded"]
        assert db.session.execute(
            select(Card.printed_at).where(Card.number == number.replace("-", ""))
        ).scalar_one()


def test_issue_without_photo_and_auditors_cannot(
    client: FlaskClient, make_staff: Callable[..., object], make_resident: Callable[..., str]
) -> None:
    public_id = make_resident(photo=False)
    login(client, make_staff("clerk"))  # type: ignore[arg-type]
    refused = _post(client, f"/residents/{public_id}/cards")
    assert refused.status_code == 422  # type: ignore[attr-defined]
    assert "photo" in refused.get_data(as_text=True)  # type: ignore[attr-defined]
    no_csrf = client.post(f"/residents/{public_id}/cards")
    assert no_csrf.status_code == 400


@pytest.mark.slow
def test_batch_of_23_cards_prints_on_three_duplex_sheets(
    clerk_client: FlaskClient, make_resident: Callable[..., str], app: Flask
) -> None:
    numbers = [_issue(clerk_client, make_resident(given_names=f"N{i}"))[0] for i in range(24)]
    listing = clerk_client.get("/cards/print").get_data(as_text=True)
    assert all(n.replace("-", "") in listing for n in numbers)

    selected = numbers[:23]
    started = clerk_client.post(
        "/cards/print",
        data={"csrf_token": csrf_token(clerk_client, "/cards/print"), "card": selected},
    )
    assert started.status_code == 302
    job_url = started.headers["Location"]
    job_id = job_url.rsplit("/", 1)[1]
    with app.app_context():
        assert app_context().print_jobs.wait(job_id, timeout=120)

    assert clerk_client.get(f"{job_url}/progress").json == {
        "state": "done",
        "done": 23,
        "total": 23,
    }
    assert "Download the PDF" in clerk_client.get(job_url).get_data(as_text=True)
    pdf = clerk_client.get(f"{job_url}/sheets.pdf")
    assert pdf.mimetype == "application/pdf"
    document = pypdfium2.PdfDocument(pdf.data)
    assert len(document) == 6
    for page in document:
        width, height = page.get_size()
        assert (round(width * POINT_MM, 1), round(height * POINT_MM, 1)) == (210.0, 297.0)
    # Fetched once, then gone from the instance folder.
    assert clerk_client.get(f"{job_url}/sheets.pdf").status_code == 404
    assert not list((Path(app.instance_path) / "print-jobs").glob("*.pdf"))

    with app.app_context():
        printed = db.session.scalar(select(func.count()).where(Card.printed_at.is_not(None)))
        assert printed == 23
    remaining = clerk_client.get("/cards/print").get_data(as_text=True)
    assert numbers[23].replace("-", "") in remaining
    assert numbers[0].replace("-", "") not in remaining


def test_batch_with_nothing_selected(clerk_client: FlaskClient) -> None:
    response = clerk_client.post(
        "/cards/print", data={"csrf_token": csrf_token(clerk_client, "/cards/print")}
    )
    assert response.status_code == 422


def test_city_design_page(
    client: FlaskClient, make_staff: Callable[..., object], app: Flask
) -> None:
    login(client, make_staff("admin"))  # type: ignore[arg-type]
    page = client.get("/admin/city")
    assert page.status_code == 200
    token = csrf_token(client, "/admin/city")
    logo = io.BytesIO()
    Image.new("RGBA", (120, 60), (10, 80, 120, 255)).save(logo, "PNG")
    saved = client.post(
        "/admin/city",
        data={
            "csrf_token": token,
            "city_name": "Lisboa",
            "card_title": "Cartão de residente",
            "primary_color": "#123456",
            "accent_color": "#fedcba",
            "validity_days": "730",
            "access_text": "Bibliotecas, piscinas, centros de saúde.",
            "return_address": "Praça do Município, Lisboa",
            "logo": (io.BytesIO(logo.getvalue()), "logo.png"),
        },
        content_type="multipart/form-data",
    )
    assert saved.status_code == 302
    assert "Cartão de residente" in client.get("/admin/city").get_data(as_text=True)
    preview = client.get("/admin/city/front.png")
    assert preview.mimetype == "image/png"

    bad = client.post(
        "/admin/city",
        data={"csrf_token": token, "primary_color": "red", "validity_days": "730"},
    )
    assert bad.status_code == 422
    not_png = client.post(
        "/admin/city",
        data={"csrf_token": token, "logo": (io.BytesIO(b"GIF89a..."), "logo.gif")},
        content_type="multipart/form-data",
    )
    assert not_png.status_code == 422
    with app.app_context():
        events = db.session.execute(
            select(AuditEvent.detail).where(AuditEvent.action == "city.update")
        ).scalars()
        assert [json.loads(e)["fields"] for e in events] == [
            [
                "accent_color",
                "access_text",
                "card_title",
                "primary_color",
                "return_address",
                "validity_days",
                "logo",
            ]
        ]


@pytest.mark.parametrize(
    ("logo", "message"),
    [
        (png_bytes(20000, 20000, 1, 0, rows=True), "at most 4 megapixels"),
        (png_bytes(300, 200, 8, 2, rows=False), "must be a PNG image"),
    ],
    ids=["20000 x 20000", "broken"],
)
def test_a_logo_that_cannot_be_used_is_refused_on_the_design_page(
    client: FlaskClient, make_staff: Callable[..., object], app: Flask, logo: bytes, message: str
) -> None:
    login(client, make_staff("admin"))  # type: ignore[arg-type]
    response = client.post(
        "/admin/city",
        data={
            "csrf_token": csrf_token(client, "/admin/city"),
            "city_name": "Lisboa typed",
            "logo": (io.BytesIO(logo), "logo.png"),
        },
        content_type="multipart/form-data",
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in page
    assert 'value="Lisboa typed"' in page  # what the admin typed is still there
    with app.app_context():
        assert db.session.scalar(select(func.count(CitySetting.key))) == 0
