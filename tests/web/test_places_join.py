"""/places/join: a service asks to be listed. CSRF, a limit per address, a honeypot,
and the requester's contact gone from the database once an editor decides."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from citizen_card import create_app
from citizen_card.config import Settings
from citizen_card.extensions import db
from citizen_card.models import AuditEvent, Place, PlaceJoinRequest, Staff
from tests.conftest import csrf_token, login

REQUEST = {
    "name": "Community Sports Hall",
    "category": "sport",
    "benefit": "Free entry on weekdays.",
    "address": "5 Stadium Road",
    "website": "sportshall.example.org",
    "contact_name": "Ana Exemplo",
    "contact_email": "ana.exemplo@example.org",
    "contact_phone": "+351 900 000 000",
    "message": "Call me after 5pm, ask for Ana.",
}
CONTACT = ("Ana Exemplo", "ana.exemplo@example.org", "+351 900 000 000", "ask for Ana")


def _send(client: FlaskClient, form: dict[str, str], **environ: str) -> tuple[int, str]:
    token = csrf_token(client, "/places/join")
    response = client.post("/places/join", data=form | {"csrf_token": token}, environ_base=environ)
    return response.status_code, response.headers.get("Location", "") or response.get_data(
        as_text=True
    )


def _requests(app: Flask) -> list[PlaceJoinRequest]:
    with app.app_context():
        rows = db.session.execute(select(PlaceJoinRequest)).scalars().all()
        db.session.expunge_all()
        return list(rows)


def test_a_request_waits_for_an_editor(app: Flask, client: FlaskClient) -> None:
    status, where = _send(client, REQUEST)
    assert (status, where) == (302, "/places/join/sent")
    assert "Thank you, your request is sent" in client.get(where).get_data(as_text=True)
    (stored,) = _requests(app)
    assert stored.status == "pending"
    assert (stored.name, stored.category, stored.website) == (
        "Community Sports Hall",
        "sport",
        "https://sportshall.example.org",
    )
    assert stored.contact_email == "ana.exemplo@example.org"
    # Nothing is listed until an editor decides.
    assert "Community Sports Hall" not in client.get("/places").get_data(as_text=True)
    with app.app_context():
        event = db.session.execute(select(AuditEvent)).scalars().all()[-1]
        assert (event.action, event.target_ref) == ("place_request.create", str(stored.id))
        assert "Ana" not in event.detail


def test_problems_are_listed_and_the_form_is_kept(app: Flask, client: FlaskClient) -> None:
    form = REQUEST | {"name": "", "category": "zoo", "contact_email": "not-an-address"}
    status, page = _send(client, form)
    assert status == 422
    assert "There is a problem" in page
    summary = page.split('class="error-summary"', 1)[1].split("</div>", 1)[0]
    # In the order of the form, each linked to its field.
    assert re.findall(r'<a href="#(\w+)">', summary) == ["name", "category", "contact_email"]
    assert "Enter the name in the city&#39;s language." in summary
    assert '<a href="#contact_email">Enter an e-mail address like name@example.org.</a>' in page
    assert 'aria-invalid="true"' in page
    assert 'value="Ana Exemplo"' in page  # what was typed stays
    assert page.count("<title>Error:") == 1
    no_contact = REQUEST | {"contact_email": "", "contact_phone": ""}
    status, page = _send(client, no_contact)
    assert status == 422
    assert "Enter an e-mail address or a phone number, so we can answer you." in page
    assert _requests(app) == []


def test_the_honeypot_keeps_nothing(app: Flask, client: FlaskClient) -> None:
    status, where = _send(client, REQUEST | {"homepage": "http://spam.example"})
    assert (status, where) == (302, "/places/join/sent")  # a robot learns nothing
    assert _requests(app) == []
    page = client.get("/places/join").get_data(as_text=True)
    assert 'class="hp-field" aria-hidden="true"' in page
    assert 'name="homepage" type="text" tabindex="-1" autocomplete="off"' in page


def test_without_the_csrf_token_nothing_is_stored(app: Flask, client: FlaskClient) -> None:
    response = client.post("/places/join", data=REQUEST)
    assert response.status_code == 400
    assert _requests(app) == []


@pytest.fixture
def limited_app(settings: Settings) -> Iterator[Flask]:
    app = create_app(replace(settings, places_join_rate_limit="3 per hour"))
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_each_address_may_send_only_so_many(limited_app: Flask) -> None:
    client = limited_app.test_client()
    first = {"REMOTE_ADDR": "192.0.2.10"}
    codes = [_send(client, REQUEST, **first)[0] for _ in range(3)]
    # Bad requests and robots count too: the limit is on sending, not on succeeding.
    codes.append(_send(client, REQUEST | {"homepage": "x"}, **first)[0])
    assert codes == [302, 302, 302, 429]
    status, page = _send(client, REQUEST, **first)
    assert status == 429 and "Too many attempts" in page
    assert _send(client, REQUEST, REMOTE_ADDR="192.0.2.11")[0] == 302
    assert len(_requests(limited_app)) == 4
    # Reading the form is not limited.
    assert client.get("/places/join", environ_base=first).status_code == 200


@pytest.fixture
def redis_workers(settings: Settings) -> Iterator[tuple[Flask, Flask]]:
    import os

    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("shared rate limits need TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/0)")
    shared = replace(
        settings,
        ratelimit_storage_uri=url,
        places_join_rate_limit="2 per hour",
        extra={"RATELIMIT_KEY_PREFIX": f"test-{secrets.token_hex(4)}"},
    )
    first, second = create_app(shared), create_app(shared)
    with first.app_context():
        db.create_all()
    yield first, second
    for app in (first, second):
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_the_limit_holds_across_workers(redis_workers: tuple[Flask, Flask]) -> None:
    clients = [app.test_client() for app in redis_workers]
    address = f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.7"
    codes = [_send(clients[i % 2], REQUEST, REMOTE_ADDR=address)[0] for i in range(3)]
    assert codes == [302, 302, 429]


def _decide(app: Flask, editor: Staff, request_id: int, decision: str) -> str:
    client = app.test_client()
    login(client, editor)
    page = client.get("/manage/places/requests").get_data(as_text=True)
    assert "ana.exemplo@example.org" in page  # the editor sees how to answer
    token = csrf_token(client, "/manage/places/requests")
    response = client.post(
        f"/manage/places/requests/{request_id}", data={"decision": decision, "csrf_token": token}
    )
    assert response.status_code == 302
    again = client.post(
        f"/manage/places/requests/{request_id}", data={"decision": "reject", "csrf_token": token}
    )
    assert again.status_code == 302  # a second click says it was decided already
    return str(response.headers["Location"])


def _raw_database_text(app: Flask) -> str:
    """Every value of every join-request and place row, as the database holds them."""
    with app.app_context():
        rows = []
        for table in ("place_join_request", "place", "place_text", "audit_event"):
            rows += [
                repr(tuple(row))
                for row in db.session.execute(text(f"SELECT * FROM {table}"))  # noqa: S608 -- fixed names
            ]
        db.session.commit()
        return "\n".join(rows)


@pytest.mark.parametrize("decision", ["accept", "reject"])
def test_the_decision_deletes_the_contact(
    app: Flask, client: FlaskClient, make_staff: Callable[..., Staff], decision: str
) -> None:
    assert _send(client, REQUEST)[0] == 302
    (stored,) = _requests(app)
    assert all(part in _raw_database_text(app) for part in CONTACT)
    where = _decide(app, make_staff("editor"), stored.id, decision)
    (decided,) = _requests(app)
    assert decided.status == ("accepted" if decision == "accept" else "rejected")
    dump = _raw_database_text(app)
    assert not [part for part in CONTACT if part in dump]
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("sqlite:///"):
        # Nor in the files: the freed bytes are zeroed and the write-ahead log emptied.
        database = Path(url.removeprefix("sqlite:///"))
        files = [database, database.with_name(database.name + "-wal")]
        raw = b"".join(path.read_bytes() for path in files if path.exists())
        assert not [part for part in CONTACT if part.encode() in raw]
    with app.app_context():
        places = db.session.execute(select(Place)).scalars().all()
        if decision == "accept":
            (place,) = places
            assert where == f"/manage/places/{place.id}"
            assert decided.place_id == place.id
            assert not place.published  # an editor checks it before anyone sees it
            assert place.category == "sport" and place.website == "https://sportshall.example.org"
            assert {t.language: t.benefit for t in place.texts} == {"en": "Free entry on weekdays."}
        else:
            assert places == [] and where == "/manage/places/requests"
        # And the database refuses to bring a contact back to a decided request.
        with pytest.raises(IntegrityError, match=r"contact_until_decision|CHECK constraint"):
            db.session.execute(
                text("UPDATE place_join_request SET contact_name = 'x' WHERE id = :id"),
                {"id": stored.id},
            )
            db.session.flush()
        db.session.rollback()


def test_a_request_in_french_keeps_its_language(
    app: Flask, client: FlaskClient, make_staff: Callable[..., Staff]
) -> None:
    client.post("/language", data={"lang": "fr", "csrf_token": csrf_token(client, "/places/join")})
    french = REQUEST | {"name": "Salle de sport", "benefit": "Entrée libre en semaine."}
    assert _send(client, french)[0] == 302
    (stored,) = _requests(app)
    assert stored.language == "fr"
    _decide(app, make_staff("editor"), stored.id, "accept")
    with app.app_context():
        place = db.session.execute(select(Place)).scalar_one()
        texts = {t.language: (t.name, t.benefit) for t in place.texts}
        # The name is needed in the city's language too; the rest stays French.
        assert texts == {
            "en": ("Salle de sport", ""),
            "fr": ("Salle de sport", "Entrée libre en semaine."),
        }


def test_stale_requests_are_closed_by_purge(
    app: Flask, client: FlaskClient, runner: object
) -> None:
    from datetime import timedelta

    from click.testing import CliRunner

    from citizen_card.cli import main

    assert _send(client, REQUEST)[0] == 302
    assert _send(client, REQUEST | {"name": "Fresh"})[0] == 302
    with app.app_context():
        old = db.session.execute(
            select(PlaceJoinRequest).where(PlaceJoinRequest.name != "Fresh")
        ).scalar_one()
        old.created_at -= timedelta(days=91)
        db.session.commit()
    assert isinstance(runner, CliRunner)
    result = runner.invoke(main, ["purge"])
    assert result.exit_code == 0, result.output
    assert "Closed 1 request(s) to list a service, undecided for 90 days." in result.output
    statuses = {r.name: (r.status, r.contact_email) for r in _requests(app)}
    assert statuses == {
        "Community Sports Hall": ("rejected", None),
        "Fresh": ("pending", "ana.exemplo@example.org"),
    }
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count(AuditEvent.id)).where(AuditEvent.action == "place_request.expire")
            )
            == 1
        )


def test_a_name_too_long_is_said_once_in_any_language(app: Flask, client: FlaskClient) -> None:
    client.post("/language", data={"lang": "fr", "csrf_token": csrf_token(client, "/places/join")})
    status, page = _send(client, REQUEST | {"name": "N" * 151})
    assert status == 422
    summary = page.split('class="error-summary"', 1)[1].split("</div>", 1)[0]
    assert summary.count('<a href="#name">') == 1
    assert "Nom doit compter au plus 150 caractères." in summary  # the label is translated
