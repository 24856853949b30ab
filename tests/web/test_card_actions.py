"""Card actions that can hurt a resident go through a confirmation naming the card and
the resident; a renewal keeps the working card until the new one is handed over; the
print queue names the cards. On SQLite and PostgreSQL (races: test_handover_race.py)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from citizen_card.context import app_context
from citizen_card.extensions import db
from citizen_card.models import AuditEvent, Card
from citizen_card.services import cards
from tests.conftest import csrf_token
from verify.cardnumber import normalize_card_number


def _issue(client: FlaskClient, public_id: str) -> str:
    token = csrf_token(client, f"/residents/{public_id}")
    response = client.post(f"/residents/{public_id}/cards", data={"csrf_token": token})
    assert response.status_code == 201
    number = re.search(r'class="card-number">([0-9A-Z-]{14})<', response.get_data(as_text=True))
    assert number
    return number.group(1)


def _post(client: FlaskClient, path: str, **data: str) -> object:
    return client.post(path, data={"csrf_token": csrf_token(client, "/residents/")} | data)


def _card(app: Flask, number: str) -> Card:
    with app.app_context():
        card = db.session.execute(
            select(Card).where(Card.number == normalize_card_number(number))
        ).scalar_one()
        db.session.expunge(card)
        return card


def _count(app: Flask, action: str, **detail: object) -> int:
    with app.app_context():
        rows = db.session.execute(
            select(AuditEvent.detail).where(AuditEvent.action == action)
        ).scalars()
        return sum(1 for row in rows if detail.items() <= json.loads(row).items())


@pytest.mark.parametrize("action", ["revoke", "suspend", "replace", "renew"])
def test_each_action_asks_first_naming_the_card_and_the_resident(
    clerk_client: FlaskClient, make_resident: Callable[..., str], app: Flask, action: str
) -> None:
    public_id = make_resident(given_names="Selam", family_names="Tesfay")
    number = _issue(clerk_client, public_id)
    card_page = clerk_client.get(f"/cards/{number}").get_data(as_text=True)
    assert f"Actions for card {number}" in card_page
    assert f'href="/cards/{normalize_card_number(number)}/{action}"' in card_page

    page = clerk_client.get(f"/cards/{normalize_card_number(number)}/{action}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    issued = _card(app, number).issued_at.date().isoformat()
    for shown in ("Selam Tesfay", number, issued, "active"):
        assert shown in html
    if action in ("revoke", "replace"):
        # No reason is chosen for the clerk: the list starts empty and is required.
        select_html = re.search(r'<select id="reason".*?</select>', html, re.S)
        assert select_html and " selected" not in select_html.group(0)
        assert '<option value="">Choose a reason</option>' in select_html.group(0)
    # Looking at the confirmation named the resident: audited as a reading.
    assert _count(app, "resident.view", card=normalize_card_number(number)) == 1

    # A post that did not come from the confirmation changes nothing.
    unconfirmed = _post(clerk_client, f"/cards/{number}/{action}", reason="lost")
    assert unconfirmed.status_code == 200  # type: ignore[attr-defined]
    assert _card(app, number).status == "active"
    with app.app_context():
        assert db.session.scalar(select(func.count(Card.id))) == 1


def test_a_confirmation_without_a_reason_is_refused_with_an_error_summary(
    clerk_client: FlaskClient, make_resident: Callable[..., str], app: Flask
) -> None:
    number = _issue(clerk_client, make_resident())
    for action in ("revoke", "replace"):
        refused = _post(clerk_client, f"/cards/{number}/{action}", confirm="1", reason="")
        assert refused.status_code == 422  # type: ignore[attr-defined]
        html = refused.get_data(as_text=True)  # type: ignore[attr-defined]
        assert 'class="error-summary"' in html and 'href="#reason"' in html
        assert "Choose the reason from the list." in html
        assert "issued_in_error" not in html.split("<select")[0]  # words, not codes
        assert 'aria-invalid="true"' in html
        assert _card(app, number).status == "active"
    done = _post(clerk_client, f"/cards/{number}/revoke", confirm="1", reason="deceased")
    assert done.status_code == 302  # type: ignore[attr-defined]
    assert _card(app, number).revocation_reason == "deceased"


def _verdict(app: Flask, number: str) -> str:
    """What a verifier answers for the card's QR code now."""
    with app.app_context():
        card = db.session.execute(
            select(Card).where(Card.number == normalize_card_number(number))
        ).scalar_one()
        qr = cards.qr_of(card, settings=app_context().settings)
    answer = app.test_client().post("/api/v1/verify", json={"qr": qr})
    return str(answer.json["reason"])


def test_a_renewal_keeps_the_working_card_until_the_hand_over(
    clerk_client: FlaskClient, make_resident: Callable[..., str], app: Flask
) -> None:
    public_id = make_resident()
    old = _issue(clerk_client, public_id)
    receipt = _post(clerk_client, f"/cards/{old}/renew", confirm="1")
    assert receipt.status_code == 201  # type: ignore[attr-defined]
    html = receipt.get_data(as_text=True)  # type: ignore[attr-defined]
    new = re.search(r'class="card-number">([0-9A-Z-]{14})<', html)
    assert new
    new_number = new.group(1)
    # The receipt carries the actions: print, and (once printed) hand over.
    assert "Print the card" in html and "js-hand-over" in html
    assert f"replaces card {old}" in html
    assert (_card(app, old).status, _card(app, new_number).status) == ("active", "pending")
    # Published: the old card valid, the new one not yet (suspended until handed over).
    assert (_verdict(app, old), _verdict(app, new_number)) == ("ok", "suspended")
    resident_page = clerk_client.get(f"/residents/{public_id}").get_data(as_text=True)
    assert "waiting to be handed over" in resident_page

    state = clerk_client.get(f"/cards/{normalize_card_number(new_number)}/state.json").json
    assert state == {"state": "pending", "printed": False, "handed_over": False}
    _post(clerk_client, f"/cards/{new_number}/print")
    state = clerk_client.get(f"/cards/{normalize_card_number(new_number)}/state.json").json
    assert state == {"state": "pending", "printed": True, "handed_over": False}
    handed = _post(clerk_client, f"/cards/{new_number}/hand-over")
    assert handed.status_code == 302  # type: ignore[attr-defined]
    old_card, new_card = _card(app, old), _card(app, new_number)
    assert (old_card.status, old_card.revocation_reason) == ("revoked", "superseded")
    assert new_card.status == "active"
    assert (_verdict(app, old), _verdict(app, new_number)) == ("revoked", "ok")


def test_the_print_queue_names_each_card_for_the_clerk(
    clerk_client: FlaskClient, make_resident: Callable[..., str], app: Flask
) -> None:
    _issue(clerk_client, make_resident(given_names="Amadou", family_names="Diallo"))
    _issue(
        clerk_client,
        make_resident(given_names="فاطمة", family_names="الزهراء", latin_name="Fatima Alzahra"),
    )
    page = clerk_client.get("/cards/print").get_data(as_text=True)
    for name in ("Amadou Diallo", "فاطمة الزهراء", "Fatima Alzahra"):
        assert name in page
    assert _count(app, "cards.print_queue", results=2) == 1
