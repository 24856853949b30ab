"""Bodies built to break a JSON parser get a 4xx JSON error on every JSON route, and
nothing is written: deep nesting, numbers Python cannot hold, NaN, bytes that are not
UTF-8, lone surrogates, bodies far larger than any resident."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from citizen_card.extensions import db
from citizen_card.models import AuditEvent, Card, Resident

DEEP_ARRAY = b"[" * 1000 + b"]" * 1000  # 2 KB
DEEP_FIELD = b'{"given_names": ' + b"[" * 1000 + b"]" * 1000 + b', "family_names": "B"}'
DEEP_OBJECT = b'{"a":' * 1000 + b"1" + b"}" * 1000

HOSTILE = {
    "deep array": (DEEP_ARRAY, 400, "invalid_json"),
    "deep array in a field": (DEEP_FIELD, 400, "invalid_json"),
    "deep object": (DEEP_OBJECT, 400, "invalid_json"),
    "nine levels": (b'{"evidence": [[[[[[[[["identity"]]]]]]]]]}', 400, "invalid_json"),
    "5000-digit integer": (b'{"reason": "lost", "n": ' + b"9" * 5000 + b"}", 400, "invalid_json"),
    "NaN": (b'{"reason": "lost", "n": NaN}', 400, "invalid_json"),
    "Infinity": (b'{"q": "x", "n": -Infinity}', 400, "invalid_json"),
    "float out of range": (b'{"q": "x", "n": 1e400}', 400, "invalid_json"),
    "latin-1 bytes": (b'{"given_names": "Jos\xe9", "family_names": "B"}', 400, "invalid_json"),
    "UTF-16": ('{"given_names": "A", "family_names": "B"}'.encode("utf-16"), 400, "invalid_json"),
    "lone surrogate": (b'{"given_names": "\\ud800", "family_names": "B"}', 400, "invalid_json"),
    "surrogate key": (b'{"\\udc00": "x"}', 400, "invalid_json"),
    "65 KiB": (b'{"q": "' + b"a" * (65 * 1024) + b'"}', 413, "too_large"),
}


def counts(app: Flask) -> tuple[int, int, int]:
    with app.app_context():
        return (
            db.session.scalar(select(func.count(Resident.id))) or 0,
            db.session.scalar(select(func.count(Card.id))) or 0,
            db.session.scalar(select(func.count(AuditEvent.seq))) or 0,
        )


@pytest.fixture
def json_routes(
    client: FlaskClient, clerk_headers: dict[str, str], make_resident: Callable[..., str]
) -> list[tuple[str, str]]:
    resident = make_resident()
    card = client.post(f"/api/v1/residents/{resident}/cards", headers=clerk_headers).json
    number = card["card_number"]
    return [
        ("POST", "/api/v1/residents"),
        ("PATCH", f"/api/v1/residents/{resident}"),
        ("POST", "/api/v1/residents/search"),
        ("POST", f"/api/v1/cards/{number}/revoke"),
        ("POST", f"/api/v1/cards/{number}/suspend"),
        ("POST", f"/api/v1/cards/{number}/reinstate"),
    ]


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_bodies_get_a_json_error_and_change_nothing(
    app: Flask,
    client: FlaskClient,
    clerk_headers: dict[str, str],
    json_routes: list[tuple[str, str]],
    name: str,
) -> None:
    body, status, code = HOSTILE[name]
    before = counts(app)
    for method, path in json_routes:
        response = client.open(
            path,
            method=method,
            data=body,
            headers=clerk_headers | {"Content-Type": "application/json"},
        )
        where = f"{method} {path.split('/')[3]}"
        assert response.status_code == status, where
        assert response.json is not None, where
        assert response.json["error"] == code, where
        assert response.json["message"], where
    assert counts(app) == before


def test_the_largest_real_resident_fits_in_a_json_body(
    client: FlaskClient, clerk_headers: dict[str, str]
) -> None:
    # Every field at its limit, every character escaped as \\uXXXX (6 bytes) by the client.
    body = {
        "given_names": "\u0627" * 100,
        "family_names": "\u0628" * 100,
        "latin_name": "A" * 200,
        "used_name": "\u062c" * 100,
        "contact": "\u062f" * 200,
        "evidence": ["identity", "residence"],
    }
    created = client.post("/api/v1/residents", json=body, headers=clerk_headers)
    assert created.status_code == 201, created.json


@pytest.mark.parametrize(
    ("method", "suffix", "body", "status", "code"),
    [
        ("POST", "revoke", {"reason": "lost", "note": "x"}, 422, "unknown_field"),
        ("POST", "suspend", {"reason": "lost"}, 422, "unknown_field"),
        ("POST", "reinstate", [], 400, "invalid_json"),
    ],
)
def test_card_actions_refuse_fields_they_do_not_take(
    app: Flask,
    client: FlaskClient,
    clerk_headers: dict[str, str],
    make_resident: Callable[..., str],
    method: str,
    suffix: str,
    body: object,
    status: int,
    code: str,
) -> None:
    resident = make_resident()
    number = client.post(f"/api/v1/residents/{resident}/cards", headers=clerk_headers).json[
        "card_number"
    ]
    before = counts(app)
    response = client.open(
        f"/api/v1/cards/{number}/{suffix}", method=method, json=body, headers=clerk_headers
    )
    assert (response.status_code, response.json["error"]) == (status, code)
    assert counts(app) == before


def test_suspend_without_a_body_still_works(
    client: FlaskClient, clerk_headers: dict[str, str], make_resident: Callable[..., str]
) -> None:
    resident = make_resident()
    number = client.post(f"/api/v1/residents/{resident}/cards", headers=clerk_headers).json[
        "card_number"
    ]
    suspended = client.post(f"/api/v1/cards/{number}/suspend", headers=clerk_headers)
    assert suspended.status_code == 200
    assert suspended.json["status"] == "suspended"
    reinstated = client.post(f"/api/v1/cards/{number}/reinstate", headers=clerk_headers, json={})
    assert reinstated.status_code == 200


def test_a_search_longer_than_documented_is_refused(
    client: FlaskClient, clerk_headers: dict[str, str], app: Flask
) -> None:
    before = counts(app)
    response = client.post("/api/v1/residents/search", json={"q": "a" * 201}, headers=clerk_headers)
    assert response.status_code == 422
    assert (response.json["error"], response.json["field"]) == ("too_long", "q")
    assert counts(app) == before


@pytest.mark.parametrize(
    "body",
    [
        b'{"qr": "x", "n": ' + b"9" * 5000 + b"}",
        b'{"qr": ' + b"9" * 5000 + b"}",
        b"[" * 1000 + b"]" * 1000,
    ],
    ids=["huge integer beside qr", "huge integer as qr", "deep array"],
)
def test_verify_refuses_unreadable_bodies_without_a_login(client: FlaskClient, body: bytes) -> None:
    response = client.post(
        "/api/v1/verify", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert set(response.json) == {"error", "message"}
