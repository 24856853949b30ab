"""/my-card: a resident downloads the card with its number and one-time code."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pypdfium2
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from citizen_card.extensions import db
from citizen_card.models import AuditEvent, Card
from tests.conftest import csrf_token

REFUSAL = "This card number and code do not open a card."


def _issue(client: FlaskClient, headers: dict[str, str], public_id: str) -> tuple[str, str]:
    body = client.post(f"/api/v1/residents/{public_id}/cards", headers=headers).json
    return body["card_number"], body["download_code"]


def _download(client: FlaskClient, number: str, code: str) -> object:
    token = csrf_token(client, "/my-card")
    return client.post("/my-card", data={"csrf_token": token, "card_number": number, "code": code})


def _refusal_page(response: object) -> str:
    assert response.status_code == 400  # type: ignore[attr-defined]
    page: str = response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert REFUSAL in page
    # The typed number is echoed back; nothing else about the card is.
    return re.sub(r'name="(csrf_token|card_number)" value="[^"]*"', "", page)


def test_download_once_with_number_and_code(
    client: FlaskClient,
    clerk_headers: dict[str, str],
    make_resident: Callable[..., str],
    app: Flask,
) -> None:
    form = client.get("/my-card")
    assert form.status_code == 200
    assert 'name="code"' in form.get_data(as_text=True)

    number, code = _issue(client, clerk_headers, make_resident())
    response = _download(client, number.lower().replace("-", " "), code.lower())
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert response.mimetype == "application/pdf"  # type: ignore[attr-defined]
    assert response.headers["Cache-Control"] == "no-store"  # type: ignore[attr-defined]
    document = pypdfium2.PdfDocument(response.data)  # type: ignore[attr-defined]
    assert "García López" in document[0].get_textpage().get_text_range()

    # Used: whoever has the right code hears so (a guesser, without it, cannot).
    used = _download(client, number, code)
    assert used.status_code == 400  # type: ignore[attr-defined]
    used_page = used.get_data(as_text=True)  # type: ignore[attr-defined]
    assert "This download code was used already" in used_page
    assert REFUSAL not in used_page
    assert '<a href="#code">' in used_page
    with app.app_context():
        actions = db.session.execute(
            select(AuditEvent.action).where(AuditEvent.target_ref == number.replace("-", ""))
        ).scalars()
        assert list(actions) == ["card.issue", "card.download"]


def test_every_failure_looks_the_same(
    client: FlaskClient,
    clerk_headers: dict[str, str],
    make_resident: Callable[..., str],
    app: Flask,
) -> None:
    number, code = _issue(client, clerk_headers, make_resident())
    other_number, other_code = _issue(client, clerk_headers, make_resident(given_names="Ana"))
    expired_number, expired_code = _issue(client, clerk_headers, make_resident(given_names="Rui"))
    with app.app_context():
        card = db.session.execute(
            select(Card).where(Card.number == expired_number.replace("-", ""))
        ).scalar_one()
        card.download_code_expires_at = card.issued_at - timedelta(seconds=1)
        db.session.commit()

    pages = {
        _refusal_page(_download(client, number, "AAAA-AAAA-AAAA")),
        _refusal_page(_download(client, number, other_code)),
        _refusal_page(_download(client, other_number, code)),
        _refusal_page(_download(client, "0000-0000-0001", code)),
        _refusal_page(_download(client, "nonsense", "")),
        _refusal_page(_download(client, expired_number, expired_code)),
    }
    assert len(pages) == 1
    # The failures used nothing up: the right code still works.
    assert _download(client, number, code).status_code == 200  # type: ignore[attr-defined]


def test_attempts_are_limited_per_card(
    client: FlaskClient, clerk_headers: dict[str, str], make_resident: Callable[..., str]
) -> None:
    number, code = _issue(client, clerk_headers, make_resident())
    for _ in range(5):
        _refusal_page(_download(client, number, "AAAA-AAAA-AAAA"))
    limited = _download(client, number.lower(), code)
    assert limited.status_code == 429  # type: ignore[attr-defined]
    # The page says the real limit and the real wait, not "a moment".
    page = limited.get_data(as_text=True)  # type: ignore[attr-defined]
    assert "Too many tries: at most 5 per 15 minutes. Try again in 15 minutes." in page
    assert 'class="error-summary" role="alert"' in page
    assert 850 <= int(limited.headers["Retry-After"]) <= 902  # type: ignore[attr-defined]
    # Another card is not affected by the first one's counter.
    other_number, other_code = _issue(client, clerk_headers, make_resident(given_names="Ana"))
    assert _download(client, other_number, other_code).status_code == 200  # type: ignore[attr-defined]


def test_attempts_are_limited_per_address(
    client: FlaskClient, clerk_headers: dict[str, str], make_resident: Callable[..., str]
) -> None:
    number, code = _issue(client, clerk_headers, make_resident())
    for i in range(20):
        _refusal_page(_download(client, f"0000-0000-{i:04d}", "AAAA-AAAA-AAAA"))
    limited = _download(client, number, code)
    assert limited.status_code == 429  # type: ignore[attr-defined]
    page = limited.get_data(as_text=True)  # type: ignore[attr-defined]
    assert "Too many tries: at most 20 per hour. Try again in 60 minutes." in page


def test_the_page_links_back_to_the_residents_start_page(client: FlaskClient) -> None:
    page = client.get("/my-card").get_data(as_text=True)
    assert '<a href="/">Back to the start page</a>' in page
    start = client.get("/")
    assert start.status_code == 200
    text = start.get_data(as_text=True)
    for words in (
        "The local citizenship card of",
        "does not show nationality or immigration status",
        "Where to get it",
        "How to download it",
        'href="/my-card"',
        'href="/privacy"',
        'href="/places"',
    ):
        assert words in text, words
