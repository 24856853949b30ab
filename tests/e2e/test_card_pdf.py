"""The PDF a clerk or a resident gets, checked as a verifier would: scan and verify."""

from __future__ import annotations

from collections.abc import Callable

import pypdfium2
import pytest
import zxingcpp
from flask import Flask
from flask.testing import FlaskClient

from citizen_card.card.qr import qr_matrix
from citizen_card.context import app_context
from citizen_card.extensions import db
from citizen_card.services import keyring
from verify.credential import VerificationResult, verify_text
from verify.trust import TrustStore
from verify.web import EXTENSION_KEY

POINT_MM = 25.4 / 72


def _trust(app: Flask) -> TrustStore:
    with app.app_context():
        return TrustStore([keyring.published_keys(db.session, app_context().settings).issuer])


def _scan(document: pypdfium2.PdfDocument, dpi: int) -> list[str]:
    image = document[0].render(scale=dpi / 72).to_pil().convert("L")
    return [
        b.text for b in zxingcpp.read_barcodes(image) if b.format == zxingcpp.BarcodeFormat.QRCode
    ]


def _scan_and_verify(
    app: Flask, document: pypdfium2.PdfDocument, qr: str
) -> list[VerificationResult]:
    """Scan the front at 300 and 150 dpi; each must read exactly ``qr``, then verify it
    as the issuer's own verify API would (its keys and status lists)."""
    trust = _trust(app)
    lists = app.extensions[EXTENSION_KEY].status_source()
    results = []
    for dpi in (300, 150):
        texts = _scan(document, dpi)
        assert texts == [qr], f"at {dpi} dpi"
        results.append(verify_text(texts[0], trust, now=int(app_context_now(app)), status=lists))
    return results


@pytest.mark.slow
def test_card_pdf_scans_and_verifies(
    client: FlaskClient,
    clerk_headers: dict[str, str],
    make_resident: Callable[..., str],
    app: Flask,
) -> None:
    public_id = make_resident(given_names="Amadou Oumar", family_names="Diallo Ndiaye")
    issued = client.post(f"/api/v1/residents/{public_id}/cards", headers=clerk_headers).json
    response = client.get(f"/api/v1/cards/{issued['card_number']}/pdf", headers=clerk_headers)
    assert response.status_code == 200
    document = pypdfium2.PdfDocument(response.data)
    assert len(document) == 2
    for page in document:
        width, height = page.get_size()
        assert width * POINT_MM == pytest.approx(85.60, abs=0.1)
        assert height * POINT_MM == pytest.approx(53.98, abs=0.1)

    for result in _scan_and_verify(app, document, issued["qr"]):
        assert (result.valid, result.reason) == (True, "ok")
        assert result.name == "Amadou Oumar Diallo Ndiaye"
        assert result.card_number == issued["card_number"]

    front = document[0].get_textpage().get_text_range()
    assert "Amadou Oumar Diallo Ndiaye" in " ".join(front.split())
    assert issued["card_number"] in front
    assert "Lisboa" in front


def app_context_now(app: Flask) -> float:
    with app.app_context():
        return app_context().now().timestamp()


@pytest.mark.slow
def test_a_card_with_a_name_in_two_forms_scans_and_verifies_both(
    client: FlaskClient,
    clerk_headers: dict[str, str],
    make_resident: Callable[..., str],
    app: Flask,
) -> None:
    # 20 Arabic letters and a 25-character Latin form: a version-11 code, printed larger.
    public_id = make_resident(
        given_names="فاطمة الزهراء",
        family_names="الحسينية",
        latin_name="Fatima Alzahra Alhusainia",
    )
    issued = client.post(f"/api/v1/residents/{public_id}/cards", headers=clerk_headers).json
    assert qr_matrix(issued["qr"]).version == 11
    pdf = client.get(f"/api/v1/cards/{issued['card_number']}/pdf", headers=clerk_headers).data
    document = pypdfium2.PdfDocument(pdf)

    for result in _scan_and_verify(app, document, issued["qr"]):
        assert (result.reason, result.name, result.latin_name) == (
            "ok",
            "فاطمة الزهراء الحسينية",
            "Fatima Alzahra Alhusainia",
        )
    # The Latin form printed is the one signed, letter for letter.
    front = " ".join(document[0].get_textpage().get_text_range().split())
    assert "Fatima Alzahra Alhusainia" in front
