"""The cards API, through HTTP, with bearer tokens."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from citizen_card.extensions import db
from citizen_card.models import AuditEvent
from verify.cardnumber import format_card_number, normalize_card_number


def _issue(client: FlaskClient, headers: dict[str, str], public_id: str) -> dict[str, str]:
    response = client.post(f"/api/v1/residents/{public_id}/cards", headers=headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    body: dict[str, str] = response.json
    return body


def _actions(app: Flask, card_number: str) -> list[tuple[str, str]]:
    with app.app_context():
        rows = db.session.execute(
            select(AuditEvent)
            .where(AuditEvent.target_ref == normalize_card_number(card_number))
            .order_by(AuditEvent.seq)
        ).scalars()
        return [(r.action, r.detail) for r in rows]


def test_issue_read_suspend_reinstate_revoke(
    client: FlaskClient,
    clerk_headers: dict[str, str],
    make_resident: Callable[..., str],
    app: Flask,
) -> None:
    public_id = make_resident()
    issued = _issue(client, clerk_headers, public_id)
    assert set(issued) >= {"card_number", "qr", "expires_at", "download_code", "status"}
    assert issued["status"] == "active"
    assert issued["qr"].startswith("HTTPS://VERIFY.LISBOA.EXAMPLE/V#")
    number = issued["card_number"]
    assert number == format_card_number(number)
    assert len(issued["download_code"]) == 14

    for form in (number, normalize_card_number(number), number.lower().replace("-", " ")):
        read = client.get(f"/api/v1/cards/{form}", headers=clerk_headers)
        assert read.status_code == 200
        assert read.json["card_number"] == number
        assert read.json["resident_id"] == public_id
        assert "qr" not in read.json and "download_code" not in read.json

    suspended = client.post(f"/api/v1/cards/{number}/suspend", headers=clerk_headers)
    assert (suspended.status_code, suspended.json["status"]) == (200, "suspended")
    again = client.post(f"/api/v1/cards/{number}/suspend", headers=clerk_headers)
    assert again.status_code == 409
    assert again.json["error"] == "card_not_active"

    reinstated = client.post(f"/api/v1/cards/{number}/reinstate", headers=clerk_headers)
    assert (reinstated.status_code, reinstated.json["status"]) == (200, "active")

    revoked = client.post(
        f"/api/v1/cards/{number}/revoke", json={"reason": "stolen"}, headers=clerk_headers
    )
    assert revoked.status_code == 200
    assert (revoked.json["status"], revoked.json["revocation_reason"]) == ("revoked", "stolen")

    assert [a for a, _ in _actions(app, number)] == [
        "card.issue",
        "card.suspend",
        "card.reinstate",
        "card.revoke",
    ]
    assert json.loads(_actions(app, number)[-1][1]) == {"reason": "stolen"}
    # No name, ever, in the audit trail.
    assert all("Garc" not in detail for _, detail in _actions(app, number))


def test_issue_twice_is_a_conflict_and_without_photo_no_photo(
    client: FlaskClient, clerk_headers: dict[str, str], make_resident: Callable[..., str]
) -> None:
    public_id = make_resident()
    _issue(client, clerk_headers, public_id)
    second = client.post(f"/api/v1/residents/{public_id}/cards", headers=clerk_headers)
    assert second.status_code == 409
    assert second.json["error"] == "has_current_card"

    bare = make_resident(photo=False)
    refused = client.post(f"/api/v1/residents/{bare}/cards", headers=clerk_headers)
    assert refused.status_code == 422
    assert refused.json["error"] == "no_photo"


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    [
        ("post", "/api/v1/residents/nobody/cards", {}, 404, "resident_not_found"),
        ("get", "/api/v1/cards/XXXX", {}, 404, "card_not_found"),
        ("get", "/api/v1/cards/0000-0000-0000", {}, 404, "card_not_found"),
        ("get", "/api/v1/cards/" + "A" * 300 + "/pdf", {}, 404, "card_not_found"),
        ("post", "/api/v1/cards/ZZZZ/suspend", {}, 404, "card_not_found"),
        ("post", "/api/v1/cards/{n}/revoke", {"data": "nope"}, 415, "unsupported_media_type"),
        (
            "post",
            "/api/v1/cards/{n}/revoke",
            {"data": "{", "content_type": "application/json"},
            400,
            "invalid_json",
        ),
        ("post", "/api/v1/cards/{n}/revoke", {"json": []}, 400, "invalid_json"),
        ("post", "/api/v1/cards/{n}/revoke", {"json": {}}, 422, "invalid_reason"),
        ("post", "/api/v1/cards/{n}/revoke", {"json": {"reason": 3}}, 422, "invalid_reason"),
        ("post", "/api/v1/cards/{n}/reinstate", {}, 409, "card_not_suspended"),
    ],
)
def test_bad_input_gives_json_errors(
    client: FlaskClient,
    clerk_headers: dict[str, str],
    make_resident: Callable[..., str],
    method: str,
    path: str,
    kwargs: dict[str, object],
    status: int,
    code: str,
) -> None:
    number = _issue(client, clerk_headers, make_resident())["card_number"]
    response = getattr(client, method)(path.format(n=number), headers=clerk_headers, **kwargs)
    assert response.status_code == status
    assert response.json["error"] == code
    assert response.json["message"]


def test_tokens_and_roles(
    client: FlaskClient, api_token: Callable[..., str], make_resident: Callable[..., str]
) -> None:
    public_id = make_resident()
    assert client.post(f"/api/v1/residents/{public_id}/cards").status_code == 401
    auditor = {"Authorization": f"Bearer {api_token('auditor')}"}
    denied = client.post(f"/api/v1/residents/{public_id}/cards", headers=auditor)
    assert (denied.status_code, denied.json["error"]) == (403, "forbidden")


def test_pdf_of_a_revoked_card_is_refused(
    client: FlaskClient, clerk_headers: dict[str, str], make_resident: Callable[..., str]
) -> None:
    number = _issue(client, clerk_headers, make_resident())["card_number"]
    pdf = client.get(f"/api/v1/cards/{number}/pdf", headers=clerk_headers)
    assert pdf.status_code == 200
    assert pdf.mimetype == "application/pdf"
    assert pdf.headers["Cache-Control"] == "no-store"
    client.post(f"/api/v1/cards/{number}/revoke", json={"reason": "lost"}, headers=clerk_headers)
    gone = client.get(f"/api/v1/cards/{number}/pdf", headers=clerk_headers)
    assert (gone.status_code, gone.json["error"]) == (409, "card_revoked")
