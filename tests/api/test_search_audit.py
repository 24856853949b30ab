"""Search is accountable and narrow: audited, limited per account, no birth dates.

Search used to be an unaudited bulk export: a loop over three-letter prefixes returned
names, birth dates and contacts of everyone. Now every search is an audit event (who,
when, how many results, never the words), results carry only what tells people apart,
each account has a search budget, and the auditor sees searches per account and day.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from citizen_card import create_app
from citizen_card.config import Settings
from citizen_card.extensions import db
from citizen_card.models import AuditEvent, Staff
from tests.conftest import csrf_token, login

RESIDENT = {
    "given_names": "Zoraida",
    "family_names": "Quintanilla",
    "date_of_birth": "1987-03-14",
    "contact": "zoraida.q@example.org",
}


def _search(client: FlaskClient, headers: dict[str, str], query: str) -> list[dict[str, object]]:
    response = client.post("/api/v1/residents/search", json={"q": query}, headers=headers)
    assert response.status_code == 200, response.json
    residents: list[dict[str, object]] = response.json["residents"]
    return residents


def _search_events(app: Flask) -> list[AuditEvent]:
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "resident.search")
        ).all()
        db.session.expunge_all()
        return list(events)


def test_every_search_is_audited_with_a_count_and_never_the_words(
    app: Flask, client: FlaskClient, clerk_headers: dict[str, str]
) -> None:
    created = client.post("/api/v1/residents", json=RESIDENT, headers=clerk_headers)
    assert created.status_code == 201
    assert len(_search(client, clerk_headers, "Quintanilla")) == 1
    assert _search(client, clerk_headers, "Nobody Here") == []
    events = _search_events(app)
    assert [json.loads(e.detail) for e in events] == [{"results": 1}, {"results": 0}]
    assert all(e.actor_ref.startswith("staff:") for e in events)
    for event in events:
        flat = f"{event.target_type} {event.target_ref} {event.detail}".casefold()
        assert "quintanilla" not in flat and "nobody" not in flat


def test_results_tell_people_apart_without_birth_dates_or_contacts(
    client: FlaskClient, clerk_headers: dict[str, str]
) -> None:
    created = client.post("/api/v1/residents", json=RESIDENT, headers=clerk_headers).json
    issued = client.post(f"/api/v1/residents/{created['id']}/cards", headers=clerk_headers)
    assert issued.status_code == 422  # no photo yet: no card, and the result says so
    (hit,) = _search(client, clerk_headers, "zoraida")
    assert set(hit) == {"id", "printed_name", "latin_name", "registered_at", "has_photo", "card"}
    assert hit["printed_name"] == "Zoraida Quintanilla"
    assert hit["card"] is None
    body = json.dumps(hit)
    assert "1987" not in body and "example.org" not in body


def test_the_result_shows_the_current_card_and_its_state(
    client: FlaskClient, clerk_headers: dict[str, str], make_resident: Callable[..., str]
) -> None:
    public_id = make_resident(given_names="Amadou", family_names="Diallo")
    card = client.post(f"/api/v1/residents/{public_id}/cards", headers=clerk_headers).json
    client.post(f"/api/v1/cards/{card['card_number']}/suspend", headers=clerk_headers, json={})
    (hit,) = _search(client, clerk_headers, "diallo")
    assert hit["has_photo"] is True
    assert hit["card"] == {"card_number": card["card_number"], "status": "suspended"}


def test_the_name_never_goes_in_a_url(client: FlaskClient, clerk_headers: dict[str, str]) -> None:
    response = client.get(
        "/api/v1/residents", query_string={"q": "Quintanilla"}, headers=clerk_headers
    )
    assert response.status_code == 405
    assert response.json["error"] == "method_not_allowed"


def test_the_search_page_shows_no_birth_date(
    clerk_client: FlaskClient, client: FlaskClient, clerk_headers: dict[str, str], app: Flask
) -> None:
    client.post("/api/v1/residents", json=RESIDENT, headers=clerk_headers)
    token = csrf_token(clerk_client, "/residents/")
    page = clerk_client.post("/residents/", data={"q": "zoraida", "csrf_token": token})
    text = page.get_data(as_text=True)
    assert "Zoraida Quintanilla" in text
    assert "1987" not in text and "example.org" not in text
    assert "<bdi>Zoraida Quintanilla</bdi>" in text
    assert len(_search_events(app)) == 1


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


def test_each_account_has_a_search_budget(
    tight_app: Flask, make_staff: Callable[..., Staff]
) -> None:
    from citizen_card.context import app_context
    from citizen_card.services import accounts

    with tight_app.app_context():
        ctx = app_context()
        tokens = []
        for name in ("walker", "colleague"):
            staff = accounts.create_staff(
                db.session,
                username=name,
                role="clerk",
                password="correct horse battery staple",
                policy=ctx.password_policy,
                now=ctx.now(),
                actor=None,
                must_change_password=False,
            )
            tokens.append(accounts.create_api_token(db.session, staff, now=ctx.now(), actor=None))
        db.session.commit()
    client = tight_app.test_client()
    walker, colleague = ({"Authorization": f"Bearer {t}"} for t in tokens)
    for prefix in ("aaa", "aab", "aac"):
        assert (
            client.post("/api/v1/residents/search", json={"q": prefix}, headers=walker).status_code
            == 200
        )
    refused = client.post("/api/v1/residents/search", json={"q": "aad"}, headers=walker)
    assert refused.status_code == 429
    assert refused.json["error"] == "rate_limited"
    assert "(3 per hour)" in refused.json["message"]
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    # The budget is the account's own: a colleague still searches.
    assert (
        client.post("/api/v1/residents/search", json={"q": "aad"}, headers=colleague).status_code
        == 200
    )
    # A refused search is not a search: three events for the walker, one for the colleague.
    assert len(_search_events(tight_app)) == 4


def test_the_page_says_when_the_budget_is_spent(
    tight_app: Flask, make_staff: Callable[..., Staff], tmp_path: Path
) -> None:
    with tight_app.app_context():
        from citizen_card.context import app_context
        from citizen_card.services import accounts

        ctx = app_context()
        staff = accounts.create_staff(
            db.session,
            username="pager",
            role="clerk",
            password="correct horse battery staple",
            policy=ctx.password_policy,
            now=ctx.now(),
            actor=None,
            must_change_password=False,
        )
        db.session.commit()
        db.session.refresh(staff)
        db.session.expunge(staff)
    client = tight_app.test_client()
    login(client, staff)
    token = csrf_token(client, "/residents/")
    for _ in range(3):
        assert client.post("/residents/", data={"q": "abc", "csrf_token": token}).status_code == 200
    page = client.post("/residents/", data={"q": "abc", "csrf_token": token})
    assert page.status_code == 429
    assert "You can search again in" in page.get_data(as_text=True)


def test_auditors_see_searches_per_account_and_day(
    app: Flask, client: FlaskClient, make_staff: Callable[..., Staff]
) -> None:
    from citizen_card.context import app_context
    from citizen_card.services import accounts

    clerk = make_staff("clerk", username="counter-seven")
    with app.app_context():
        token = accounts.create_api_token(
            db.session, db.session.get(Staff, clerk.id), now=app_context().now(), actor=None
        )
        db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    for prefix in ("qxa", "qxb", "qxc", "qxd", "qxe"):
        _search(client, headers, prefix)
    auditor = app.test_client()
    login(auditor, make_staff("auditor"))
    page = auditor.get("/admin/searches").get_data(as_text=True)
    row = page[page.index("counter-seven") :]
    cells = row[: row.index("</tr>")]
    assert '<td class="numeric">5</td>' in cells
    assert "qxa" not in page
