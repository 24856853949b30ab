"""The residents API and names: their order, search in every convention and by card
number, and the question a likely duplicate raises."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from citizen_card import create_app
from citizen_card.config import Settings
from citizen_card.extensions import db
from citizen_card.models import AuditEvent
from tests.api.test_residents_api import count_residents

CHINESE = {
    "given_names": "小龙",
    "family_names": "李",
    "name_order": "family_first",
    "latin_name": "Li Xiaolong",
}
ARABIC = {
    "given_names": "محمد",
    "family_names": "عبد الرحمن",
    "latin_name": "Mohammed Abdelrahman",
    "date_of_birth": "1990-05-01",
}


def _search(client: FlaskClient, headers: dict[str, str], query: str) -> list[str]:
    found = client.post("/api/v1/residents/search", json={"q": query}, headers=headers)
    assert found.status_code == 200, found.json
    return [hit["id"] for hit in found.json["residents"]]


def test_the_name_order_is_taken_returned_and_changed(
    client: FlaskClient, clerk_headers: dict[str, str]
) -> None:
    created = client.post("/api/v1/residents", json=CHINESE, headers=clerk_headers)
    assert created.status_code == 201
    url = f"/api/v1/residents/{created.json['id']}"
    read = client.get(url, headers=clerk_headers).json
    assert (read["name_order"], read["printed_name"]) == ("family_first", "李小龙")

    patched = client.patch(url, json={"name_order": "given_first"}, headers=clerk_headers)
    assert patched.status_code == 200
    assert (patched.json["name_order"], patched.json["printed_name"]) == ("given_first", "小龙李")

    refused = client.patch(url, json={"name_order": "surname_first"}, headers=clerk_headers)
    assert refused.status_code == 422
    assert (refused.json["error"], refused.json["field"]) == ("invalid", "name_order")

    plain = client.post(
        "/api/v1/residents", json={"given_names": "Amadou", "family_names": "Diallo"},
        headers=clerk_headers,
    )  # fmt: skip
    read = client.get(f"/api/v1/residents/{plain.json['id']}", headers=clerk_headers).json
    assert (read["name_order"], read["printed_name"]) == ("given_first", "Amadou Diallo")


def test_search_in_the_name_own_convention_and_by_card_number(
    client: FlaskClient, clerk_headers: dict[str, str]
) -> None:
    li = client.post("/api/v1/residents", json=CHINESE, headers=clerk_headers).json["id"]
    for query in ("李小龙", "李 小龙", "Xiaolong Li", "Li Xiaolong"):
        assert _search(client, clerk_headers, query) == [li], query

    client.put(
        f"/api/v1/residents/{li}/photo",
        data=_photo(),
        headers=clerk_headers | {"Content-Type": "image/jpeg"},
    )
    card = client.post(f"/api/v1/residents/{li}/cards", headers=clerk_headers).json
    number = card["card_number"]  # XXXX-XXXX-XXXX
    for query in (number, number.replace("-", "").lower(), number.replace("-", " ")):
        assert _search(client, clerk_headers, query) == [li], query
    (hit,) = client.post(
        "/api/v1/residents/search", json={"q": number}, headers=clerk_headers
    ).json["residents"]
    assert hit["printed_name"] == "李小龙"
    assert hit["card"] == {"card_number": number, "status": "active"}


def _photo() -> bytes:
    from tests.conftest import photo_bytes

    return photo_bytes()


def test_a_likely_duplicate_answers_409_until_confirmed(
    client: FlaskClient, clerk_headers: dict[str, str], app: Flask
) -> None:
    first = client.post("/api/v1/residents", json=ARABIC, headers=clerk_headers)
    assert first.status_code == 201
    before = count_residents(app)

    again = client.post("/api/v1/residents", json=ARABIC | {"contact": "x@example.org"},
                        headers=clerk_headers)  # fmt: skip
    assert again.status_code == 409
    assert again.json["error"] == "likely_duplicate"
    assert "same names and date of birth" in again.json["message"]
    # What a search shows, and no more: no date of birth, no contact.
    assert again.json["residents"] == [
        {
            "id": first.json["id"],
            "printed_name": "محمد عبد الرحمن",
            "latin_name": "Mohammed Abdelrahman",
            "registered_at": again.json["residents"][0]["registered_at"],
            "has_photo": False,
            "card": None,
        }
    ]
    assert "1990" not in again.get_data(as_text=True)
    assert count_residents(app) == before
    with app.app_context():
        looks = db.session.scalars(
            select(AuditEvent.detail).where(AuditEvent.action == "resident.search")
        ).all()
    assert [json.loads(detail) for detail in looks] == [{"results": 1}]

    bad = client.post("/api/v1/residents", json=ARABIC | {"confirm_duplicate": "yes"},
                      headers=clerk_headers)  # fmt: skip
    assert bad.status_code == 422
    assert (bad.json["error"], bad.json["field"]) == ("invalid", "confirm_duplicate")

    confirmed = client.post("/api/v1/residents", json=ARABIC | {"confirm_duplicate": True},
                            headers=clerk_headers)  # fmt: skip
    assert confirmed.status_code == 201
    assert count_residents(app) == before + 1
    # Another birth date: another person, no question.
    other = client.post("/api/v1/residents", json=ARABIC | {"date_of_birth": "1990-05-02"},
                        headers=clerk_headers)  # fmt: skip
    assert other.status_code == 201


@pytest.fixture
def tight_app(settings: Settings) -> Iterator[Flask]:
    """The app with a search budget of three per hour."""
    app = create_app(replace(settings, search_rate_limit="3 per hour"))
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_the_duplicate_question_counts_as_a_search(tight_app: Flask) -> None:
    """Asking about look-alikes shows who they are: it spends the search budget."""
    from citizen_card.context import app_context
    from citizen_card.services import accounts

    with tight_app.app_context():
        ctx = app_context()
        staff = accounts.create_staff(
            db.session,
            username="counter",
            role="clerk",
            password="correct horse battery staple",
            policy=ctx.password_policy,
            now=ctx.now(),
            actor=None,
            must_change_password=False,
        )
        token = accounts.create_api_token(db.session, staff, now=ctx.now(), actor=None)
        db.session.commit()
    client = tight_app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/v1/residents", json=ARABIC, headers=headers).status_code == 201
    for _ in range(3):  # the budget is three an hour
        assert client.post("/api/v1/residents", json=ARABIC, headers=headers).status_code == 409
    over = client.post("/api/v1/residents", json=ARABIC, headers=headers)
    assert over.status_code == 429
    assert "residents" not in over.json
    # A registration that finds no one spends nothing.
    other = ARABIC | {"date_of_birth": "1970-01-01"}
    assert client.post("/api/v1/residents", json=other, headers=headers).status_code == 201
